package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/ctxio"
)

// A FileSink receives the files of an extracted File-set, one at a time:
// Create returns the writer for the file at name (slash-separated, the
// DICOMDIR's File ID joined, or "DICOMDIR"); it is written to its end
// before the next Create. archive/zip's (*Writer).Create is one.
type FileSink interface {
	Create(name string) (io.Writer, error)
}

// ExtractTo writes the same files, with the same bytes, that Extract writes
// into a folder (only, when not nil, selecting the instances), into sink:
// for a caller with no file system, such as the page in a browser. It reads
// each instance twice, once for the header the DICOMDIR is built from and
// once for its content, so it holds no instance in memory; an instance
// whose integrity fails stops it with an error, and what sink received is
// then to be discarded.
func (d *Disc) ExtractTo(ctx context.Context, sink FileSink, only []*Instance) (*ExtractResult, error) {
	if !d.Unlocked() {
		return nil, errors.New("media: ExtractTo before the medium was unlocked")
	}
	if err := d.refuseProblems(); err != nil {
		return nil, err
	}
	ids := d.Instances()
	if only != nil {
		ids = only
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("the medium holds no DICOM instances")
	}
	// The headers, for the DICOMDIR; Path names the instance to Build's
	// errors and, below, which one each placement is.
	heads := make([]*dicomdir.Instance, len(ids))
	byHead := make(map[*dicomdir.Instance]*Instance, len(ids))
	for i, id := range ids {
		r, _, got, err := d.openInstance(id, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id.Path(), err)
		}
		r.Close()
		in := *got
		in.Path = id.Path()
		heads[i] = &in
		byHead[heads[i]] = id
	}
	b, dir, err := d.buildFileSet(heads)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 256<<10)
	for _, pl := range b.Placements {
		if err := d.copyInstance(ctx, sink, path.Join(pl.FileID...), byHead[pl.Instance], buf); err != nil {
			return nil, err
		}
	}
	w, err := sink.Create("DICOMDIR")
	if err == nil {
		_, err = w.Write(dir)
	}
	if err != nil {
		return nil, err
	}
	return &ExtractResult{Instances: len(b.Placements), Directory: b.Directory, Lost: d.Problems()}, nil
}

// copyInstance decrypts id to its end (its integrity checked) into the
// sink's file name.
func (d *Disc) copyInstance(ctx context.Context, sink FileSink, name string, id *Instance, buf []byte) error {
	r, _, _, err := d.openInstance(id, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", id.Path(), err)
	}
	defer r.Close()
	w, err := sink.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(onlyWriter{w}, ctxio.Reader(ctx, r), buf); err != nil {
		return fmt.Errorf("%s: %w", id.Path(), err)
	}
	return nil
}
