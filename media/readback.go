package media

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
)

// CheckWritten reads the written medium back (a folder, or an ISO image
// through the ISO reader) and compares every file with what was written:
// size and SHA-256. It needs no key: the hashes are the ones computed while
// writing, the same ones sealed into the MANIFEST.
func (p *Plan) CheckWritten(path string) (int, error) {
	if len(p.written) != len(p.Entries) {
		return 0, fmt.Errorf("media: nothing written yet")
	}
	d, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	for i, e := range p.Entries {
		if p.written[i] == nil {
			return i, fmt.Errorf("%s was not written", e.Path)
		}
		real, err := d.lookup(e.Path)
		if err != nil {
			return i, fmt.Errorf("%s: missing on the medium", e.Path)
		}
		f, err := d.fsys.Open(real)
		if err != nil {
			return i, err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return i, fmt.Errorf("%s: %w", e.Path, err)
		}
		if n != e.Size || !bytes.Equal(h.Sum(nil), p.written[i][:]) {
			return i, fmt.Errorf("%s: reads back different from what was written", e.Path)
		}
	}
	return len(p.Entries), nil
}
