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
	"strings"
	"sync/atomic"
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

	written, flushed int64 // bytes written through Write; bytes handed to writeback
	ahead            *flusher
	flushedAhead     int64 // written when the last background flush was asked for

	writtenAt atomic.Int64 // bytes written through WriteAt
}

// writebackChunk is how much written data Write lets pile up before it asks
// the system to start writing it to the device.
const writebackChunk = 32 << 20

// Write writes to the temporary file. Every writebackChunk bytes it starts
// the device write of what came before, without waiting for it, and every
// flushAhead bytes a background fsync (see flusher), so that the fsync
// in Commit finds little left to do: a large image is flushed while the
// rest is still being produced instead of all at the end.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.written += int64(n)
	if f.written-f.flushed >= writebackChunk {
		startWriteback(f.File, f.flushed, f.written-f.flushed)
		f.flushed = f.written
	}
	if !f.NoSync && f.written-f.flushedAhead >= flushAhead {
		f.ahead.poke()
		f.flushedAhead = f.written
	}
	return n, err
}

// WriteAt writes p at off in the temporary file. Unlike Write it is safe
// for concurrent use, for a file whose parts are produced in parallel (an
// image whose layout is known): every writebackChunk bytes written in all
// it starts the device write of the whole file, and every flushAhead bytes
// a background fsync, as Write does.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	total := f.writtenAt.Add(int64(n))
	before := total - int64(n)
	if total/writebackChunk != before/writebackChunk {
		startWriteback(f.File, 0, 0)
	}
	if !f.NoSync && total/flushAhead != before/flushAhead {
		f.ahead.poke()
	}
	return n, err
}

// stopFlushingAhead waits for background flushes; Commit and Abort call it
// before they close the file.
func (f *File) stopFlushingAhead() {
	if f.ahead != nil {
		f.ahead.stop()
	}
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
	f.ahead = newFlusher(func() { _ = f.File.Sync() })
	if err := tmp.Chmod(0o600); err != nil {
		f.Abort()
		return nil, err
	}
	return f, nil
}

// Commit flushes the data to stable storage and renames the file into place.
func (f *File) Commit() error { return f.CommitChecked(nil) }

// CommitChecked is Commit with a last check of the complete file, which
// runs on its temporary name while the data is flushed: reading back an
// image costs no extra time when it overlaps the flush, and a file that
// fails the check is never published.
func (f *File) CommitChecked(check func(tmpPath string) error) error {
	if f.done {
		return errors.New("atomicfile: already finished")
	}
	f.done = true
	f.stopFlushingAhead()
	flush := f.Sync
	if f.NoSync {
		flush = func() error {
			startWriteback(f.File, 0, 0) // the Dir's SyncTree will find it under way
			return nil
		}
	}
	err := alongside(flush, check, f.Name())
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

// alongside runs flush and check(path) at the same time and returns the
// first error (the flush's first).
func alongside(flush func() error, check func(string) error, path string) error {
	if check == nil {
		return flush()
	}
	flushed := make(chan error, 1)
	go func() { flushed <- flush() }()
	cerr := check(path)
	if ferr := <-flushed; ferr != nil {
		return ferr
	}
	return cerr
}

// Abort discards the temporary file. It is safe to call more than once and
// after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.stopFlushingAhead()
	f.Close()
	os.Remove(f.Name())
}

// Dir is an output directory under construction. Files go into Path, a
// temporary directory; Commit flushes them and publishes them under the
// final name, Abort removes them.
type Dir struct {
	Path      string // the temporary directory to write into
	final     string
	inside    bool // Path is inside final (an existing empty folder)
	overwrite bool
	done      bool

	ahead   *flusher
	written atomic.Int64 // bytes reported through FileDone
}

// CreateDir starts writing directory path:
//   - a path that does not exist is built as a hidden sibling and renamed;
//   - an existing empty folder (such as the root of a freshly formatted
//     stick, which cannot be replaced) gets a hidden staging folder whose
//     entries Commit moves up; hidden entries and "System Volume
//     Information" do not count as content;
//   - an existing folder with content is an ErrExists error, unless
//     overwrite is set, in which case Commit replaces it.
func CreateDir(path string, overwrite bool) (*Dir, error) {
	ents, err := os.ReadDir(path)
	switch {
	case os.IsNotExist(err):
		return siblingDir(path, false)
	case err != nil:
		return nil, err
	case hasContent(ents) && overwrite:
		return siblingDir(path, true)
	case hasContent(ents):
		return nil, fmt.Errorf("%s is not empty: give a new or empty folder (or --force to replace it): %w", path, ErrExists)
	}
	tmp, err := os.MkdirTemp(path, ".securemedia-tmp-*")
	if err != nil {
		return nil, err
	}
	return newDir(tmp, path, true, false), nil
}

func newDir(tmp, final string, inside, overwrite bool) *Dir {
	d := &Dir{Path: tmp, final: final, inside: inside, overwrite: overwrite}
	d.ahead = treeFlusher(tmp)
	return d
}

func hasContent(ents []fs.DirEntry) bool {
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") && !strings.EqualFold(e.Name(), "System Volume Information") {
			return true
		}
	}
	return false
}

func siblingDir(path string, overwrite bool) (*Dir, error) {
	parent, base := filepath.Split(filepath.Clean(path))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	return newDir(tmp, path, false, overwrite), nil
}

// Commit flushes the directory's files to stable storage (SyncTree) and
// publishes them. On error nothing is published and the files are removed.
func (d *Dir) Commit() error { return d.CommitChecked(nil) }

// CommitChecked is Commit with a last check of the complete tree, which
// runs on the staging folder while the files are flushed; a tree that
// fails the check is never published.
func (d *Dir) CommitChecked(check func(stagingPath string) error) error {
	if d.done {
		return errors.New("atomicfile: already finished")
	}
	d.done = true
	d.ahead.stop()
	err := alongside(func() error { return SyncTree(d.Path) }, check, d.Path)
	if err == nil && d.inside {
		err = d.moveUp()
	} else if err == nil {
		err = d.rename()
	}
	if err != nil {
		os.RemoveAll(d.Path)
	}
	return err
}

// moveUp moves the staged entries into the existing folder.
func (d *Dir) moveUp() error {
	ents, err := os.ReadDir(d.Path)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(d.Path, e.Name()), filepath.Join(d.final, e.Name())); err != nil {
			return err
		}
	}
	return os.Remove(d.Path)
}

// rename puts the staged folder in place of the final name, moving an
// existing one aside first when overwriting.
func (d *Dir) rename() error {
	if err := os.Chmod(d.Path, 0o755); err != nil {
		return err
	}
	var old string
	if _, err := os.Lstat(d.final); err == nil && d.overwrite {
		old = d.Path + ".old"
		if err := os.Rename(d.final, old); err != nil {
			return err
		}
	}
	if err := os.Rename(d.Path, d.final); err != nil {
		if old != "" {
			os.Rename(old, d.final)
		}
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
	d.ahead.stop()
	os.RemoveAll(d.Path)
}

// FileDone tells the Dir that f, a file of n bytes written under it, is
// complete: it starts the device write of f without waiting, and after
// every treeFlushAhead bytes so reported a background flush of the tree (see
// flusher), so that the one in Commit finds little left to do. It is safe
// for concurrent use, and must not be called once Commit or Abort has
// begun.
func (d *Dir) FileDone(f *os.File, n int64) {
	startWriteback(f, 0, 0)
	total := d.written.Add(n)
	if total/treeFlushAhead != (total-n)/treeFlushAhead {
		d.ahead.poke()
	}
}

// WriteTemp writes b to a new file in dir named after pattern (as
// os.CreateTemp), mode 0600, flushed to stable storage and closed, and
// returns its name: for a file to be published under a name only if that
// name is free (a hard link fails where a rename would replace), which the
// caller does, then removes the temporary name.
func WriteTemp(dir, pattern string, b []byte) (string, error) {
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
