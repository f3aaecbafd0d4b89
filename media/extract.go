package media

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/atomicfile"
)

// ExtractResult summarises an extraction.
type ExtractResult struct {
	Instances int
	Directory *dicomdir.Directory
}

// Extract decrypts every instance the DICOMDIR references into dir as a
// plain, standard File-set with a freshly built DICOMDIR (so the output is
// conformant whatever tool made the medium). dir must not exist or be
// empty; it appears complete or not at all. Every file's integrity is
// checked before the result is published.
func (d *Disc) Extract(dir string, progress func(int64)) (res *ExtractResult, err error) {
	staging, publish, err := stage(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	raw := filepath.Join(staging, ".raw")
	if err := os.Mkdir(raw, 0o700); err != nil {
		return nil, err
	}
	var instances []*dicomdir.Instance
	for i, id := range d.Instances() {
		tmp := filepath.Join(raw, strconv.Itoa(i))
		if err := d.extractOne(id, tmp, progress); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(id...), err)
		}
		in, reason, err := dicomdir.ReadInstance(tmp)
		if err != nil {
			return nil, fmt.Errorf("%s: decrypted, but %w", filepath.Join(id...), err)
		}
		if in == nil {
			return nil, fmt.Errorf("%s: decrypted, but not a DICOM instance: %s", filepath.Join(id...), reason)
		}
		instances = append(instances, in)
	}
	if len(instances) == 0 {
		return nil, fmt.Errorf("the DICOMDIR references no files")
	}
	b, err := dicomdir.Build(instances, dicomdir.BuildOptions{FileSetID: d.dir.FileSetID, AllowConflicts: true})
	if err != nil {
		return nil, err
	}
	for _, pl := range b.Placements {
		dst := filepath.Join(append([]string{staging}, pl.FileID...)...)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(pl.Instance.Path, dst); err != nil {
			return nil, err
		}
	}
	if err := os.RemoveAll(raw); err != nil {
		return nil, err
	}
	data, err := dicomdir.Marshal(b.Directory)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(staging, "DICOMDIR"), data, 0o644); err != nil {
		return nil, err
	}
	if err := atomicfile.SyncTree(staging); err != nil {
		return nil, err
	}
	if err := publish(); err != nil {
		return nil, err
	}
	return &ExtractResult{Instances: len(b.Placements), Directory: b.Directory}, nil
}

// extractOne decrypts one instance to dst; an integrity failure surfaces
// from the copy, before anything is published.
func (d *Disc) extractOne(id []string, dst string, progress func(int64)) error {
	r, err := d.OpenFile(id)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = io.Copy(w, &countReader{r: r, progress: progress})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
