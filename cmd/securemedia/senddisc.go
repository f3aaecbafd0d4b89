package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/media"
)

func init() { discInstances = mediaInstances }

// isMedium tells a medium (an image file, or a folder whose DICOMDIR is
// sealed) from a folder of plain DICOM files.
func isMedium(src string) bool {
	fi, err := os.Stat(src)
	if err != nil || !fi.IsDir() {
		return err == nil
	}
	f, err := os.Open(filepath.Join(src, "DICOMDIR"))
	if err != nil {
		return false
	}
	defer f.Close()
	var head [dicom.PreambleLen + 4]byte
	n, _ := io.ReadFull(f, head[:])
	return n > 0 && !dicom.IsPart10(head[:n])
}

// mediaInstances unlocks an encrypted medium and describes its instances.
// Every instance is decrypted once here, which checks its integrity and
// gives its exact size, so a damaged one is reported before anything is
// sent. Open decrypts it again, as a stream, when its turn comes; the
// integrity check at the end of that stream comes before the sender writes
// the message's last fragment, so a file that changed since is aborted,
// never stored incomplete. The medium stays open while they are sent.
func mediaInstances(_ context.Context, e *env, src string, o *sendOptions) ([]*dimse.Instance, []sendItem, error) {
	d, err := openDisc(e, src, &o.keys)
	if err != nil {
		return nil, nil, err
	}
	var out []*dimse.Instance
	var bad []sendItem
	for _, id := range d.Instances() {
		label := strings.Join(id, "/")
		size, err := plainSize(d, id)
		if err != nil {
			bad = append(bad, sendItem{label: label, result: "failed", detail: "not sent: " + err.Error(), failed: true})
			continue
		}
		in, err := dimse.StreamInstance(func() (io.ReadCloser, error) { return d.OpenFile(id) }, size, label)
		if err != nil {
			bad = append(bad, sendItem{label: label, result: "failed", detail: "not sent: " + err.Error(), failed: true})
			continue
		}
		out = append(out, in)
	}
	if len(out)+len(bad) == 0 {
		return nil, nil, errors.New("the medium's DICOMDIR references no instances")
	}
	return out, bad, nil
}

// plainSize decrypts an instance to its end (checking its integrity) and
// returns its size.
func plainSize(d *media.Disc, id []string) (int64, error) {
	r, err := d.OpenFile(id)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(io.Discard, r)
}
