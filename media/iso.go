package media

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/iso9660"
)

func init() {
	openImage = func(f *os.File, size int64) (fs.FS, error) { return iso9660.Open(f, size) }
}

// isoFiles describes the medium to the ISO writer, with Rock Ridge modes.
func (p *Plan) isoFiles(sources []source) []iso9660.File {
	files := make([]iso9660.File, len(sources))
	for i, s := range sources {
		files[i] = iso9660.File{Path: s.Path, Size: s.Size, Mode: s.Mode, ModTime: p.opts.Now,
			Open: func() (io.Reader, error) { return s.open() }}
	}
	return files
}

func (p *Plan) isoOptions() iso9660.Options {
	return iso9660.Options{VolumeID: p.FileSetID, ModTime: p.opts.Now, RockRidge: true,
		Publisher: "SECUREMEDIA", Application: "SECUREMEDIA"}
}

// ImageSize is the exact size of the ISO image, computed without sealing.
func (p *Plan) ImageSize() (int64, error) {
	notCalled := func() (io.Reader, error) { return nil, fmt.Errorf("media: ImageSize reads no file") }
	files := make([]iso9660.File, len(p.Entries))
	for i, e := range p.Entries {
		files[i] = iso9660.File{Path: e.Path, Size: e.Size, Mode: e.Mode, ModTime: p.opts.Now, Open: notCalled}
	}
	return iso9660.Size(files, p.isoOptions())
}

// WriteImage writes the medium as an ISO 9660 image file in one pass: the
// layout is known before sealing starts, so no file is staged or copied.
// The image is then read back and every file compared with what was
// written (CheckWritten), while it is flushed; it appears under path only
// when complete, checked and flushed.
func (p *Plan) WriteImage(path string, overwrite bool, progress func(int64)) error {
	size, err := p.ImageSize()
	if err != nil {
		return err
	}
	if err := checkFits(p.Medium, size); err != nil {
		return err
	}
	out, err := atomicfile.Create(path, 0o644, overwrite)
	if err != nil {
		return err
	}
	defer out.Abort()
	sources, stop := p.sources(progress)
	defer stop()
	// iso9660.Write buffers the small writes; file data goes straight
	// through.
	if err := iso9660.Write(out, p.isoFiles(sources), p.isoOptions()); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return out.CommitChecked(p.readBack)
}
