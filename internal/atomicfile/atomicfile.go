// Package atomicfile writes a file so that it appears under its final name
// complete or not at all: data goes to a temporary file in the same
// directory, which Commit renames into place and Abort removes. A failed
// command therefore never leaves a partial output behind.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned by Create when the destination exists and overwrite
// was not requested.
var ErrExists = errors.New("output exists")

// File is an output file under construction. Write to it, then call Commit
// or Abort; calling Abort after Commit is a no-op, so "defer f.Abort()" is
// the idiom.
type File struct {
	*os.File
	final string
	perm  fs.FileMode
	done  bool
	// NoSync skips the fsync in Commit, for files inside a Dir, which
	// SyncTree flushes all at once before the Dir is committed.
	NoSync bool
}

// Create starts writing path. The temporary file has mode 0600 while it is
// written (sealed or decrypted patient data is nobody else's business);
// Commit applies perm. If overwrite is false and path exists, Create fails
// with ErrExists.
func Create(path string, perm fs.FileMode, overwrite bool) (*File, error) {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s: %w (use --force to replace it)", path, ErrExists)
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	f := &File{File: tmp, final: path, perm: perm}
	if err := tmp.Chmod(0o600); err != nil {
		f.Abort()
		return nil, err
	}
	return f, nil
}

// Commit flushes the data to stable storage and renames the file into place.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already finished")
	}
	f.done = true
	var err error
	if !f.NoSync {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(f.perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.final)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Abort discards the temporary file. It is safe to call more than once and
// after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// Dir is an output directory under construction: files go into a temporary
// sibling directory, which Commit renames into place.
type Dir struct {
	Path      string // the temporary directory to write into
	final     string
	overwrite bool
	done      bool
}

// CreateDir starts writing directory path. If path exists, CreateDir fails
// with ErrExists unless overwrite is set, in which case Commit replaces it.
func CreateDir(path string, overwrite bool) (*Dir, error) {
	if _, err := os.Lstat(path); err == nil && !overwrite {
		return nil, fmt.Errorf("%s: %w (use --force to replace it)", path, ErrExists)
	}
	parent, base := filepath.Split(filepath.Clean(path))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &Dir{Path: tmp, final: path, overwrite: overwrite}, nil
}

// Commit flushes the directory's files to stable storage (SyncTree) and
// moves it into place, replacing an existing one only if overwrite was
// requested.
func (d *Dir) Commit() error {
	if d.done {
		return errors.New("atomicfile: already finished")
	}
	d.done = true
	if err := SyncTree(d.Path); err != nil {
		os.RemoveAll(d.Path)
		return err
	}
	if err := os.Chmod(d.Path, 0o755); err != nil {
		os.RemoveAll(d.Path)
		return err
	}
	var old string
	if _, err := os.Lstat(d.final); err == nil && d.overwrite {
		old = d.Path + ".old"
		if err := os.Rename(d.final, old); err != nil {
			os.RemoveAll(d.Path)
			return err
		}
	}
	if err := os.Rename(d.Path, d.final); err != nil {
		if old != "" {
			os.Rename(old, d.final)
		}
		os.RemoveAll(d.Path)
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// Abort removes the temporary directory and all it holds.
func (d *Dir) Abort() {
	if d.done {
		return
	}
	d.done = true
	os.RemoveAll(d.Path)
}
