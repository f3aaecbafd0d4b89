package media

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/securemedia/securemedia/internal/atomicfile"
)

// WriteFolder writes the medium as a folder (a USB stick or any
// directory). dir must not exist, or be an empty folder (such as the root
// of a freshly formatted stick); the files appear there only once all are
// written. progress, if not nil, gets the bytes written as they go.
func (p *Plan) WriteFolder(dir string, progress func(int64)) (err error) {
	staging, publish, err := stage(dir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	sources, stop := p.sources(progress)
	defer stop()
	for _, s := range sources {
		if err := writeSource(staging, s); err != nil {
			return err
		}
	}
	// One flush for the whole tree before publishing, not one per file.
	if err := atomicfile.SyncTree(staging); err != nil {
		return err
	}
	return publish()
}

func writeSource(root string, s source) error {
	dst := filepath.Join(root, filepath.FromSlash(s.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	r, err := s.open()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stage returns where to write and how to publish the result. A missing
// dir is built as a sibling temporary folder and renamed; an existing empty
// dir (a mount point cannot be replaced) gets a hidden staging folder whose
// entries are moved up at the end.
func stage(dir string) (string, func() error, error) {
	ents, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		parent, base := filepath.Split(filepath.Clean(dir))
		if parent == "" {
			parent = "."
		}
		tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
		if err != nil {
			return "", nil, err
		}
		return tmp, func() error {
			if err := os.Chmod(tmp, 0o755); err != nil {
				return err
			}
			return os.Rename(tmp, dir)
		}, nil
	case err != nil:
		return "", nil, err
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") && !strings.EqualFold(e.Name(), "System Volume Information") {
			return "", nil, fmt.Errorf("%s is not empty: give a new folder or an empty one", dir)
		}
	}
	tmp, err := os.MkdirTemp(dir, ".securemedia-tmp-*")
	if err != nil {
		return "", nil, err
	}
	return tmp, func() error {
		moved, err := os.ReadDir(tmp)
		if err != nil {
			return err
		}
		for _, e := range moved {
			if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
		return os.Remove(tmp)
	}, nil
}
