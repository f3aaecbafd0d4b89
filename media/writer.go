package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/ctxio"
	"github.com/securemedia/securemedia/internal/iso9660"
)

// File is one file of a medium, declared to a Writer before anything is
// written.
type File struct {
	Path string      // slash-separated, as recorded (ISO 9660 Level 1 names on an image)
	Size int64       // exact bytes
	Mode fs.FileMode // permission bits: 0o555 makes an executable (the viewer programs)
}

// Writer writes a medium in the shape of archive/zip: Create a file, write
// its bytes, close it; then Close the Writer. The files are declared when
// the Writer is made, with their exact sizes, so an ISO 9660 image is laid
// out before its first byte is written and each file goes straight to its
// place: nothing is staged or copied. Files may be created in any order,
// several at once from several goroutines.
//
// The medium appears under its name only when Close succeeds: every
// declared file written in full, the medium read back and each file
// compared with what was written (size and CRC-32C, which needs no key),
// and flushed to stable storage. Abort, or a failed Close, leaves nothing.
type Writer struct {
	sink     sink
	files    []File
	index    map[string]int
	progress func(int64)

	mu       sync.Mutex
	state    []fileState
	finished bool
}

type fileState struct {
	created, done bool
	crc           uint32
}

// sink is where a Writer's files go: an image or a folder.
type sink interface {
	// open returns where file i goes, and a function to call with the
	// bytes written once it is complete.
	open(i int, f File) (io.Writer, func(n int64) error, error)
	commit(check func(path string) error) error
	abort()
}

// ImageOptions describe an ISO 9660 image.
type ImageOptions struct {
	Label   string    // volume label: up to 16 of A-Z 0-9 _ (the File-set ID)
	ModTime time.Time // recording time of the volume and its files
}

// ImageSize is the exact size of the ISO 9660 image of files.
func ImageSize(files []File, o ImageOptions) (int64, error) {
	l, err := iso9660.NewLayout(isoFiles(files, o), isoOptions(o))
	if err != nil {
		return 0, err
	}
	return l.Size(), nil
}

func isoFiles(files []File, o ImageOptions) []iso9660.File {
	out := make([]iso9660.File, len(files))
	for i, f := range files {
		out[i] = iso9660.File{Path: f.Path, Size: f.Size, Mode: f.Mode, ModTime: o.ModTime}
	}
	return out
}

func isoOptions(o ImageOptions) iso9660.Options {
	return iso9660.Options{VolumeID: o.Label, ModTime: o.ModTime, RockRidge: true,
		Publisher: "SECUREMEDIA", Application: "SECUREMEDIA"}
}

// CreateImage begins an ISO 9660 image of files at path (with Rock Ridge,
// so that the modes survive). An existing path is an error unless
// overwrite is set. progress, if not nil, is told of the bytes written as
// they go, one call at a time.
func CreateImage(path string, files []File, o ImageOptions, overwrite bool, progress func(int64)) (*Writer, error) {
	l, err := iso9660.NewLayout(isoFiles(files, o), isoOptions(o))
	if err != nil {
		return nil, err
	}
	out, err := atomicfile.Create(path, 0o644, overwrite)
	if err != nil {
		return nil, err
	}
	// The image's full size at once: whatever no file fills (the end of
	// its last sector) reads as zeros.
	if err := out.Truncate(l.Size()); err != nil {
		out.Abort()
		return nil, err
	}
	if err := l.WriteMeta(io.NewOffsetWriter(out, 0)); err != nil {
		out.Abort()
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return newWriter(&imageSink{out: out, layout: l}, files, progress), nil
}

// CreateFolder begins a folder of files at dir (a USB stick, or any
// folder). dir must not exist, or be an empty folder (such as the root of
// a freshly formatted stick), or overwrite must be set, in which case a
// complete new folder replaces it.
func CreateFolder(dir string, files []File, overwrite bool, progress func(int64)) (*Writer, error) {
	for _, f := range files {
		if !fs.ValidPath(f.Path) || f.Path == "." {
			return nil, fmt.Errorf("media: %q is not a path on a medium", f.Path)
		}
	}
	out, err := atomicfile.CreateDir(dir, overwrite)
	if err != nil {
		return nil, err
	}
	return newWriter(&folderSink{out: out}, files, progress), nil
}

func newWriter(s sink, files []File, progress func(int64)) *Writer {
	w := &Writer{sink: s, files: files, index: map[string]int{}, state: make([]fileState, len(files)), progress: progress}
	for i, f := range files {
		w.index[f.Path] = i
	}
	return w
}

// Create begins the declared file path. Write exactly its declared size,
// then Close it. It is safe to call from several goroutines, for
// different files.
func (w *Writer) Create(path string) (io.WriteCloser, error) {
	w.mu.Lock()
	i, ok := w.index[path]
	switch {
	case w.finished:
		w.mu.Unlock()
		return nil, errors.New("media: the writer is closed")
	case !ok:
		w.mu.Unlock()
		return nil, fmt.Errorf("media: %s was not declared", path)
	case w.state[i].created:
		w.mu.Unlock()
		return nil, fmt.Errorf("media: %s created twice", path)
	}
	w.state[i].created = true
	w.mu.Unlock()
	dst, done, err := w.sink.open(i, w.files[i])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e := &entry{w: w, i: i, done: done, crc: crc32.New(castagnoli)}
	e.dst = dst
	e.bw = getEntryBuffer(e)
	return e, nil
}

// Close checks that every declared file was written, reads the medium
// back and compares every file with what was written, flushes it, and
// publishes it under its name.
func (w *Writer) Close() error { return w.closeContext(context.Background()) }

// closeContext is Close, whose read-back check the end of ctx stops (and
// the medium is then discarded).
func (w *Writer) closeContext(ctx context.Context) error {
	w.mu.Lock()
	if w.finished {
		w.mu.Unlock()
		return errors.New("media: the writer is already closed")
	}
	w.finished = true
	for i, st := range w.state {
		if !st.done {
			w.mu.Unlock()
			w.sink.abort()
			return fmt.Errorf("media: %s was not written", w.files[i].Path)
		}
	}
	w.mu.Unlock()
	return w.sink.commit(func(path string) error {
		if _, err := w.checkWritten(ctx, path); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("read-back check failed: %w", err)
		}
		return nil
	})
}

// Abort discards everything written. It is safe after Close.
func (w *Writer) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.finished {
		w.finished = true
		w.sink.abort()
	}
}

// CheckWritten reads a written medium at path (the image or folder, as
// written or after copying) and compares every file with what this Writer
// wrote: size and CRC-32C. It returns the number of files checked.
func (w *Writer) CheckWritten(path string) (int, error) {
	return w.checkWritten(context.Background(), path)
}

func (w *Writer) checkWritten(ctx context.Context, path string) (int, error) {
	d, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	// Hashing is the cost; the files are independent, so use every core.
	idx := make(chan int)
	errs := make(chan error, len(w.files))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				errs <- w.checkOne(ctx, d, i)
			}
		}()
	}
	for i := range w.files {
		idx <- i
	}
	close(idx)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return len(w.files), nil
}

func (w *Writer) checkOne(ctx context.Context, d *Disc, i int) error {
	f := w.files[i]
	w.mu.Lock()
	st := w.state[i]
	w.mu.Unlock()
	if !st.done {
		return fmt.Errorf("%s was not written", f.Path)
	}
	r, err := d.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: missing on the medium", f.Path)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, ctxio.Reader(ctx, r))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if n != f.Size || h.Sum32() != st.crc {
		return fmt.Errorf("%s: reads back different from what was written", f.Path)
	}
	return nil
}

func (w *Writer) report(n int64) {
	if w.progress == nil || n == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.progress(n)
}

// castagnoli is the CRC-32C table: hardware-assisted, about ten times
// cheaper than SHA-256, and the read-back check looks for medium errors,
// not for an adversary.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// entry is one file being written: a buffer (which the codec encrypts
// straight into: bufio.Writer lends its spare capacity) over a writer that
// holds the file to its declared size and computes its CRC.
type entry struct {
	w      *Writer
	i      int
	dst    io.Writer
	done   func(n int64) error
	bw     *bufio.Writer
	crc    hash.Hash32
	n      int64
	err    error
	closed bool
}

const entryBuffer = 256 << 10

var entryBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, entryBuffer) }}

func getEntryBuffer(e *entry) *bufio.Writer {
	bw := entryBuffers.Get().(*bufio.Writer)
	bw.Reset(entryOutput{e})
	return bw
}

func (e *entry) Write(p []byte) (int, error) {
	if e.closed {
		return 0, fmt.Errorf("%s: write after close", e.w.files[e.i].Path)
	}
	return e.bw.Write(p)
}

// AvailableBuffer lends the buffer's spare capacity (see bufio.Writer).
func (e *entry) AvailableBuffer() []byte { return e.bw.AvailableBuffer() }

// Close flushes the file and checks that it has its declared size.
func (e *entry) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	err := e.bw.Flush()
	e.bw.Reset(nil)
	entryBuffers.Put(e.bw)
	f := e.w.files[e.i]
	if err == nil && e.n != f.Size {
		err = fmt.Errorf("%s: %d bytes instead of the %d declared", f.Path, e.n, f.Size)
	}
	if derr := e.done(e.n); err == nil {
		err = derr
	}
	if err == nil {
		e.w.mu.Lock()
		e.w.state[e.i].done, e.w.state[e.i].crc = true, e.crc.Sum32()
		e.w.mu.Unlock()
	}
	e.err = err
	return err
}

// entryOutput is what an entry's buffer flushes into.
type entryOutput struct{ e *entry }

func (o entryOutput) Write(p []byte) (int, error) {
	e := o.e
	f := e.w.files[e.i]
	if e.n+int64(len(p)) > f.Size {
		return 0, fmt.Errorf("%s: more than the %d bytes declared", f.Path, f.Size)
	}
	n, err := e.dst.Write(p)
	e.crc.Write(p[:n])
	e.n += int64(n)
	e.w.report(int64(n))
	if err != nil {
		return n, fmt.Errorf("%s: %w", f.Path, err)
	}
	return n, nil
}

// imageSink writes files at their places in a laid-out image.
type imageSink struct {
	out    *atomicfile.File
	layout *iso9660.Layout
}

func (s *imageSink) open(i int, f File) (io.Writer, func(int64) error, error) {
	return io.NewOffsetWriter(s.out, s.layout.Offset(i)), func(int64) error { return nil }, nil
}

func (s *imageSink) commit(check func(string) error) error { return s.out.CommitChecked(check) }
func (s *imageSink) abort()                                { s.out.Abort() }

// folderSink writes each file as a file of a staging folder.
type folderSink struct{ out *atomicfile.Dir }

func (s *folderSink) open(_ int, f File) (io.Writer, func(int64) error, error) {
	dst := filepath.Join(s.out.Path, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, nil, err
	}
	perm := os.FileMode(0o644)
	if f.Mode&0o111 != 0 {
		perm = 0o755 // the viewer programs
	}
	file, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, nil, err
	}
	return file, func(n int64) error {
		s.out.FileDone(file, n)
		return file.Close()
	}, nil
}

func (s *folderSink) commit(check func(string) error) error { return s.out.CommitChecked(check) }
func (s *folderSink) abort()                                { s.out.Abort() }

// CheckNewFolder refuses, as CreateFolder would, a folder that exists
// with content: a caller can say so before long work that would end there.
func CheckNewFolder(dir string) error {
	out, err := atomicfile.CreateDir(dir, false)
	if err != nil {
		return err
	}
	out.Abort()
	return nil
}
