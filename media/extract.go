package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/ctxio"
)

// ExtractResult summarises an extraction.
type ExtractResult struct {
	Instances int
	Directory *dicomdir.Directory
	// Lost are the files a salvage could not extract, and why, with the
	// medium's own problems (Disc.Problems); SALVAGE.TXT lists them.
	Lost []Problem
}

// SalvageReport is the name of the report a salvage writes beside the
// File-set it extracted.
const SalvageReport = "SALVAGE.TXT"

// Extract decrypts every instance the DICOMDIR references into dir as a
// plain, standard File-set with a freshly built DICOMDIR (so the output is
// conformant whatever tool made the medium). dir must not exist or be
// empty; it appears complete or not at all. Every file's integrity is
// checked before the result is published. The end of ctx stops it, and
// nothing is left.
func (d *Disc) Extract(ctx context.Context, dir string, progress func(int64)) (*ExtractResult, error) {
	x, err := d.StartExtract(dir)
	if err != nil {
		return nil, err
	}
	return x.Run(ctx, progress)
}

// Extraction is an Extract begun before the disc is unlocked (StartExtract).
type Extraction struct {
	d         *Disc
	out       *atomicfile.Dir
	raw       string // the decrypted files, numbered, until they are placed
	stop      atomic.Bool
	created   chan struct{} // closed when the file creation ends
	createErr error
	// Salvage extracts every instance that reads and checks out, instead
	// of stopping at the first that does not, and writes SalvageReport.
	Salvage bool
	// Only, when set, is the instances to extract (a selection of the
	// medium's); nil extracts all.
	Only []*Instance
}

// StartExtract begins an Extract of d into dir, possibly before d is
// unlocked: it creates the output folder, and creates the instances'
// files in the background while the caller unlocks d. Creating hundreds of
// files is a good part of an extract's work, and unlocking keeps one core
// busy on the key derivation with the other idle. Call Run once d is
// unlocked, or Abort.
func (d *Disc) StartExtract(dir string) (*Extraction, error) {
	out, err := atomicfile.CreateDir(dir, false)
	if err != nil {
		return nil, err
	}
	raw := filepath.Join(out.Path, ".raw")
	if err := os.Mkdir(raw, 0o700); err != nil {
		out.Abort()
		return nil, err
	}
	x := &Extraction{d: d, out: out, raw: raw, created: make(chan struct{})}
	go func() { x.createFiles(d.countInstanceFiles()) }() // a walk of the medium: off the caller's path too
	return x, nil
}

// createFiles creates empty files 0 to n-1 in raw, for the instances to be
// decrypted into (decryptAll creates any it does not find). n is a guess
// made before the DICOMDIR can be read: a wrong one costs a little time,
// nothing else.
func (x *Extraction) createFiles(n int) {
	defer close(x.created)
	for i := range n {
		if x.stop.Load() {
			return
		}
		f, err := os.OpenFile(x.rawPath(i), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // decryptAll was first
		}
		if err != nil {
			x.createErr = err
			return
		}
		f.Close()
	}
}

func (x *Extraction) rawPath(i int) string { return filepath.Join(x.raw, strconv.Itoa(i)) }

// stopCreating ends the background file creation and returns its error.
func (x *Extraction) stopCreating() error {
	x.stop.Store(true)
	<-x.created
	return x.createErr
}

// Abort discards the output. It is safe after Run.
func (x *Extraction) Abort() {
	x.stopCreating()
	x.out.Abort()
}

// Run extracts every instance; the disc must be unlocked by now. Without
// Salvage, a medium with problems (Disc.Problems) is refused, and the first
// instance that fails stops the extraction. The end of ctx stops it too,
// within a buffer's worth, and discards the output.
func (x *Extraction) Run(ctx context.Context, progress func(int64)) (*ExtractResult, error) {
	defer x.Abort()
	d, staging := x.d, x.out.Path
	if !d.Unlocked() {
		return nil, errors.New("media: Run before the medium was unlocked")
	}
	if !x.Salvage {
		if err := d.refuseProblems(); err != nil {
			return nil, err
		}
	}
	instances, lost, err := d.decryptAll(ctx, x, progress)
	if cerr := x.stopCreating(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	lost = append(append([]Problem(nil), d.Problems()...), lost...)
	if len(instances) == 0 {
		if len(lost) > 0 {
			return nil, fmt.Errorf("no instance could be extracted: %v", lost[0])
		}
		return nil, fmt.Errorf("the medium holds no DICOM instances")
	}
	b, data, err := d.buildFileSet(instances)
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
	if err := os.RemoveAll(x.raw); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(staging, "DICOMDIR"), data, 0o644); err != nil {
		return nil, err
	}
	if x.Salvage {
		report := salvageReport(len(b.Placements), lost)
		if err := os.WriteFile(filepath.Join(staging, SalvageReport), report, 0o644); err != nil {
			return nil, err
		}
	}
	if err := x.out.Commit(); err != nil {
		return nil, err
	}
	return &ExtractResult{Instances: len(b.Placements), Directory: b.Directory, Lost: lost}, nil
}

// refuseProblems is an error naming the medium's first problem, if it has
// any: an extraction that is not a salvage copies only a sound medium.
func (d *Disc) refuseProblems() error {
	if probs := d.Problems(); len(probs) > 0 {
		return fmt.Errorf("%v (and %d more problems of this medium): %w", probs[0], len(probs)-1, probs[0].Err)
	}
	return nil
}

// buildFileSet places the extracted instances in a fresh File-set and
// encodes its DICOMDIR, for Extract and ExtractTo alike.
func (d *Disc) buildFileSet(instances []*dicomdir.Instance) (*dicomdir.BuildResult, []byte, error) {
	b, err := dicomdir.Build(instances, dicomdir.BuildOptions{FileSetID: d.FileSetID(), AllowConflicts: true})
	if err != nil {
		return nil, nil, err
	}
	data, err := dicomdir.Marshal(b.Directory)
	if err != nil {
		return nil, nil, err
	}
	return b, data, nil
}

// salvageReport is SALVAGE.TXT: what was extracted and each file lost,
// with why. It names files and reasons only, never patient data.
func salvageReport(extracted int, lost []Problem) []byte {
	var b strings.Builder
	b.WriteString("SecureMedia salvage report\r\n\r\n")
	fmt.Fprintf(&b, "Extracted: %d instances, each decrypted (or parsed) to its end and checked\r\nagainst its directory record. They are listed in the DICOMDIR beside this file.\r\n\r\n", extracted)
	if len(lost) == 0 {
		b.WriteString("Lost: nothing.\r\n")
		return []byte(b.String())
	}
	fmt.Fprintf(&b, "Lost or not trusted: %d files\r\n\r\n", len(lost))
	for _, p := range lost {
		fmt.Fprintf(&b, "  %s\r\n      %v\r\n", p.Path, p.Err)
	}
	return []byte(b.String())
}

// countInstanceFiles guesses how many instances the medium holds before
// its DICOMDIR can be read: the files below the root, outside VIEWER.
func (d *Disc) countInstanceFiles() int {
	n := 0
	fs.WalkDir(d.fsys, ".", func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return fs.SkipDir
		case e.IsDir() && strings.EqualFold(p, "VIEWER"):
			return fs.SkipDir
		case !e.IsDir() && strings.Contains(p, "/"):
			n++
		}
		return nil
	})
	return min(n, maxGuessedFiles)
}

// maxGuessedFiles bounds the files created ahead, whatever a medium claims.
const maxGuessedFiles = 100_000

// decryptAll decrypts every referenced instance into raw/N, using every
// core (the files are independent), and reads each one's header. The first
// failure stops the work and names its file.
func (d *Disc) decryptAll(ctx context.Context, x *Extraction, progress func(int64)) ([]*dicomdir.Instance, []Problem, error) {
	ids := d.Instances()
	if x.Only != nil {
		ids = x.Only
	}
	instances := make([]*dicomdir.Instance, len(ids))
	errs := make([]error, len(ids))
	var failed atomic.Bool
	var mu sync.Mutex // progress is not safe for concurrent use
	report := func(n int64) {
		if progress != nil {
			mu.Lock()
			progress(n)
			mu.Unlock()
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) + 1 { // + 1: workers block in write(2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := range next {
				if failed.Load() {
					continue
				}
				instances[i], errs[i] = d.extractOne(ctx, x.out, ids[i], x.rawPath(i), buf, report)
				if errs[i] != nil && !x.Salvage {
					failed.Store(true)
				}
			}
		}()
	}
	for i := range ids {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var kept []*dicomdir.Instance
	var lost []Problem
	for i, err := range errs {
		switch {
		case err != nil && !x.Salvage:
			return nil, nil, fmt.Errorf("%s: %w", ids[i].Path(), err)
		case err != nil:
			lost = append(lost, Problem{Path: ids[i].Path(), Err: err})
			os.Remove(x.rawPath(i))
		default:
			kept = append(kept, instances[i])
		}
	}
	return kept, lost, nil
}

// extractOne decrypts one instance to dst (an integrity failure surfaces
// from the copy, before anything is published) and returns the header
// OpenInstance's check read, as the instance at dst.
func (d *Disc) extractOne(ctx context.Context, out *atomicfile.Dir, id *Instance, dst string, buf []byte, progress func(int64)) (*dicomdir.Instance, error) {
	r, _, got, err := d.openInstance(id, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Created ahead (StartExtract), or now; nobody else writes in the
	// private staging folder.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	n, err := io.CopyBuffer(onlyWriter{f}, &countReader{r: ctxio.Reader(ctx, r), progress: progress}, buf)
	if err == nil {
		out.FileDone(f, n)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	in := *got
	in.Path, in.Size = dst, n
	return &in, nil
}

// onlyWriter hides an *os.File's ReadFrom, so io.CopyBuffer uses the
// caller's buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
