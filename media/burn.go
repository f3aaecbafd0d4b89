package media

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"runtime"
	"sync"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/ctxio"
)

// Files are the plan's files as a Writer needs them declared.
func (p *Plan) Files() []File {
	files := make([]File, len(p.Entries))
	for i, e := range p.Entries {
		files[i] = File{Path: e.Path, Size: e.Size, Mode: e.Mode}
	}
	return files
}

// ImageOptions are the volume's label and time.
func (p *Plan) ImageOptions() ImageOptions {
	return ImageOptions{Label: p.FileSetID, ModTime: p.opts.Now}
}

// ImageSize is the exact size of the medium as an ISO 9660 image.
func (p *Plan) ImageSize() (int64, error) { return ImageSize(p.Files(), p.ImageOptions()) }

// WriteImage writes the medium as an ISO 9660 image file: the layout is
// known before sealing starts, so every sealed file goes straight to its
// place in the image, none staged or copied. The image appears under path
// only when complete, read back and flushed (see Writer). It is refused
// before anything is written if it does not fit the plan's medium. The end
// of ctx stops the writing within a buffer's worth, and nothing is left.
func (p *Plan) WriteImage(ctx context.Context, path string, overwrite bool, progress func(int64)) error {
	size, err := p.ImageSize()
	if err != nil {
		return err
	}
	if err := checkFits(p.Medium, size); err != nil {
		return err
	}
	w, err := CreateImage(path, p.Files(), p.ImageOptions(), overwrite, progress)
	if err != nil {
		return err
	}
	return p.writeAndClose(ctx, w)
}

// WriteFolder writes the medium as a folder (a USB stick or any
// directory), as CreateFolder describes; ctx as for WriteImage.
func (p *Plan) WriteFolder(ctx context.Context, dir string, overwrite bool, progress func(int64)) error {
	w, err := CreateFolder(dir, p.Files(), overwrite, progress)
	if err != nil {
		return err
	}
	return p.writeAndClose(ctx, w)
}

func (p *Plan) writeAndClose(ctx context.Context, w *Writer) error {
	defer w.Abort()
	if err := p.Write(ctx, w); err != nil {
		return err
	}
	return w.closeContext(ctx)
}

// Write seals every file of the plan into w, which must have been made for
// p.Files(); the caller then closes w. The files are sealed in parallel,
// one per core, each read once from its input and encrypted straight into
// its place on the medium. The manifest, which lists every other file's
// SHA-256, comes after them, and the DICOMDIR, which holds the manifest's
// digest, last. The end of ctx stops the sealing.
func (p *Plan) Write(ctx context.Context, w *Writer) error {
	const first = 2 // p.Entries[0] is the DICOMDIR, [1] the manifest
	digests := make([][32]byte, len(p.Entries))
	err := writeEach(ctx, w, first, len(p.Entries), func(i int, dst io.Writer, chunk []byte) error {
		sum, err := p.writeEntry(ctx, dst, p.Entries[i], chunk)
		digests[i] = sum
		return err
	})
	if err != nil {
		return err
	}
	var entries []manifestEntry
	for j := first; j < len(p.Entries); j++ {
		entries = append(entries, manifestEntry{path: p.Entries[j].Path, size: p.Entries[j].Size, sha256: digests[j]})
	}
	manifest := encodeManifest(entries)
	if err := writeOne(w, manifestName, func(dst io.Writer) error {
		_, err := p.seal(dst, bytes.NewReader(manifest), int64(len(manifest)), make([]byte, sealChunk))
		return err
	}); err != nil {
		return err
	}
	dir, err := bindManifest(p.Entries[0].data, manifest)
	if err != nil {
		return err
	}
	return writeOne(w, "DICOMDIR", func(dst io.Writer) error {
		_, err := p.seal(dst, bytes.NewReader(dir), int64(len(dir)), make([]byte, sealChunk))
		return err
	})
}

// sealChunk is how much plaintext a sealing worker reads at a time.
const sealChunk = 256 << 10

// writeEach writes files from to to-1 of w, each by write, on one worker per
// core (and one more: a worker blocked in write(2) leaves its core idle).
// The first failure, or the end of parent, stops the others and is
// returned.
func writeEach(parent context.Context, w *Writer, from, to int, write func(i int, dst io.Writer, chunk []byte) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := make([]byte, sealChunk) // one plaintext buffer per worker
			for i := range next {
				err := writeOne(w, w.files[i].Path, func(dst io.Writer) error { return write(i, dst, chunk) })
				if err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := from; i < to; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// writeOne creates file name in w and writes it with write.
func writeOne(w *Writer, name string, write func(dst io.Writer) error) error {
	dst, err := w.Create(name)
	if err != nil {
		return err
	}
	if err := write(dst); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// writeEntry writes one file of the plan (but the manifest) and returns
// the SHA-256 of its content, for the manifest: of the DICOM File inside a
// sealed file, of the bytes of a plain one.
func (p *Plan) writeEntry(ctx context.Context, dst io.Writer, e Entry, chunk []byte) ([32]byte, error) {
	switch {
	case e.source != "" && e.Sealed:
		f, err := os.Open(e.source)
		if err != nil {
			return [32]byte{}, err
		}
		defer f.Close()
		sum, err := p.seal(dst, ctxio.Reader(ctx, f), e.PlainSize, chunk)
		if err != nil {
			return sum, fmt.Errorf("%s: %w", e.source, err)
		}
		return sum, nil
	case e.source != "": // a viewer program, copied as it is
		var sum [32]byte
		h := sha256.New()
		err := copyFile(ctx, io.MultiWriter(dst, h), e.source, e.Size, chunk)
		h.Sum(sum[:0])
		return sum, err
	case e.Sealed:
		return p.seal(dst, bytes.NewReader(e.data), int64(len(e.data)), chunk)
	}
	_, err := dst.Write(e.data)
	return sha256.Sum256(e.data), err
}

// seal encrypts size bytes of src into dst, reading through chunk, and
// returns the SHA-256 of the plaintext: the one the DigestedData computed
// when it uses SHA-256, else one computed on the way.
func (p *Plan) seal(dst io.Writer, src io.Reader, size int64, chunk []byte) ([32]byte, error) {
	var sum [32]byte
	var own hash.Hash
	if !p.sealsWithSHA256() {
		own = sha256.New()
		src = io.TeeReader(src, own)
	}
	w, err := cms.Encrypt(dst, size, p.opts.Seal, p.opts.Recipients...)
	if err != nil {
		return sum, err
	}
	// Hide an *os.File's WriteTo, which would copy through a fresh 32 KiB
	// buffer of its own for every file.
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{src}, chunk); err != nil {
		return sum, err
	}
	if err := w.Close(); err != nil {
		return sum, fmt.Errorf("%w (did the input change while it was read?)", err)
	}
	if own != nil {
		own.Sum(sum[:0])
	} else {
		_, d := w.Digest()
		copy(sum[:], d)
	}
	return sum, nil
}

// sealsWithSHA256 tells whether the sealed content carries a SHA-256 digest.
func (p *Plan) sealsWithSHA256() bool {
	o := p.opts.Seal
	return o == nil || !o.PlainData && (o.Digest == 0 || o.Digest == crypto.SHA256)
}

// WriteFileSet writes a plain, standard DICOM File-set into dir: every
// instance of b copied byte for byte under its File ID, and the DICOMDIR.
// dir is as for CreateFolder, and appears complete or not at all; the end
// of ctx stops the writing.
func WriteFileSet(ctx context.Context, dir string, b *dicomdir.BuildResult, progress func(int64)) error {
	data, err := dicomdir.Marshal(b.Directory)
	if err != nil {
		return err
	}
	files := make([]File, 0, len(b.Placements)+1)
	for _, pl := range b.Placements {
		files = append(files, File{Path: path.Join(pl.FileID...), Size: pl.Instance.Size, Mode: 0o444})
	}
	files = append(files, File{Path: "DICOMDIR", Size: int64(len(data)), Mode: 0o444})
	w, err := CreateFolder(dir, files, false, progress)
	if err != nil {
		return err
	}
	defer w.Abort()
	err = writeEach(ctx, w, 0, len(b.Placements), func(i int, dst io.Writer, chunk []byte) error {
		in := b.Placements[i].Instance
		return copyFile(ctx, dst, in.Path, in.Size, chunk)
	})
	if err != nil {
		return err
	}
	if err := writeOne(w, "DICOMDIR", func(dst io.Writer) error { _, err := dst.Write(data); return err }); err != nil {
		return err
	}
	return w.closeContext(ctx)
}

// copyFile copies the file name, of size bytes when planned, to dst, until
// ctx ends.
func copyFile(ctx context.Context, dst io.Writer, name string, size int64, chunk []byte) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.CopyBuffer(dst, ctxio.Reader(ctx, f), chunk)
	if err == nil && n != size {
		err = fmt.Errorf("%s changed while it was read (%d bytes, was %d)", name, n, size)
	}
	return err
}
