package media

import (
	"io"
	"os"
	"path/filepath"

	"github.com/securemedia/securemedia/internal/atomicfile"
)

// WriteFolder writes the medium as a folder (a USB stick or any
// directory). dir must not exist, or be an empty folder (such as the root
// of a freshly formatted stick), or overwrite must be set, in which case a
// complete new folder replaces it; the files appear there only once all are
// written and read back (CheckWritten). progress, if not nil, gets the
// bytes written as they go.
func (p *Plan) WriteFolder(dir string, overwrite bool, progress func(int64)) error {
	out, err := atomicfile.CreateDir(dir, overwrite)
	if err != nil {
		return err
	}
	defer out.Abort()
	sources, stop := p.sources(progress)
	defer stop()
	for _, s := range sources {
		if err := writeSource(out, s); err != nil {
			return err
		}
	}
	return out.CommitChecked(p.readBack) // read back during one flush for the whole tree, then publish
}

func writeSource(out *atomicfile.Dir, s source) error {
	dst := filepath.Join(out.Path, filepath.FromSlash(s.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	r, err := s.open()
	if err != nil {
		return err
	}
	defer r.Close()
	perm := os.FileMode(0o644)
	if s.Mode&0o111 != 0 {
		perm = 0o755 // the viewer programs
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, r)
	if err != nil {
		f.Close()
		return err
	}
	out.FileDone(f, n)
	return f.Close()
}
