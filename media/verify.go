package media

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/ctxio"
)

// Problem is one thing found wrong with a medium, naming the file.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) Error() string { return p.Path + ": " + p.Err.Error() }

// ErrUnexpected: a file on a medium we wrote that its manifest does not
// list (something added since: AUTORUN.INF, a program). It is also
// ErrAltered.
var ErrUnexpected = errors.New("unexpected file: not in this medium's manifest")

// ErrNoManifest: the DICOMDIR names a manifest that is missing or is not
// the one it names. It is also ErrAltered.
var ErrNoManifest = errors.New("manifest missing or replaced")

// Problems are what unlocking found wrong with the medium as a whole: a
// manifest that its DICOMDIR names but that is missing or another one,
// and files the manifest does not list. Each names its file; a reader
// should show them before anything else.
func (d *Disc) Problems() []Problem { return d.tree.problems }

func altered(kind error, format string, args ...any) error {
	return &codecError{ours: []error{kind, ErrAltered, ErrDamaged}, err: fmt.Errorf(format, args...)}
}

// loadManifest reads the manifest, if there is one, and checks it against
// the digest the DICOMDIR names. What is wrong goes to the problems.
func (d *Disc) loadManifest() {
	d.manifest = nil
	r, _, err := d.openPath(manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		if d.binding != nil {
			d.problem(manifestName, altered(ErrNoManifest, "missing, yet the DICOMDIR says this medium has one: files may have been removed, added or replaced"))
		}
		return
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(r, 64<<20))
		r.Close()
	}
	if err != nil {
		d.problem(manifestName, fmt.Errorf("unreadable: %w", err))
		return
	}
	if d.binding != nil {
		if sum := sha256.Sum256(data); !bytes.Equal(sum[:], d.binding) {
			d.problem(manifestName, altered(ErrNoManifest, "not the manifest the DICOMDIR names: replaced"))
			return
		}
	}
	entries, err := parseManifest(data)
	if err != nil {
		d.problem(manifestName, err)
		return
	}
	d.manifest = entries
	if entries == nil {
		d.manifest = []manifestEntry{}
	}
}

func (d *Disc) problem(p string, err error) {
	d.tree.problems = append(d.tree.problems, Problem{Path: p, Err: err})
}

// Verify reads every file once. Each instance is checked against its
// directory record, decrypted or parsed to its end (padding, digest or
// signature; a plain file's structure and pixel data length) and, on a
// medium with a manifest, compared with it (size, SHA-256 of the content);
// the manifest's other files are compared with it too. The problems are
// those of Problems, every missing file, and every file that fails; the
// count is of the files checked. progress gets bytes read. The end of ctx
// stops it with ctx's error.
func (d *Disc) Verify(ctx context.Context, progress func(int64)) ([]Problem, int, error) {
	problems := append([]Problem(nil), d.Problems()...)
	listed := map[string]*manifestEntry{}
	for i := range d.manifest {
		listed[fold(d.manifest[i].path)] = &d.manifest[i]
	}
	checked := 0
	if d.listed {
		checked++ // the DICOMDIR, read (and its integrity checked) by Unlock
	}
	done := map[string]bool{}
	for _, in := range d.Instances() {
		k := fold(in.mediumPath())
		done[k] = true
		checked++
		want := listed[k]
		if d.manifest != nil && want == nil && in.lost == nil {
			continue // not in the manifest: among Problems already
		}
		if err := d.verifyInstance(ctx, in, want, progress); err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			problems = append(problems, Problem{Path: in.Path(), Err: err})
		}
	}
	for _, e := range d.manifest {
		if done[fold(e.path)] {
			continue
		}
		checked++
		if err := d.verifyFile(ctx, e, progress); err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			problems = append(problems, Problem{Path: e.path, Err: err})
		}
	}
	return problems, checked, nil
}

// verifyInstance reads one instance to its end through the checks of
// openInstance, and against its manifest entry when there is one.
func (d *Disc) verifyInstance(ctx context.Context, in *Instance, want *manifestEntry, progress func(int64)) error {
	counted := &countReader{progress: progress}
	r, sealed, _, err := d.openInstance(in, func(raw io.Reader) io.Reader { counted.r = ctxio.Reader(ctx, raw); return counted })
	if err != nil {
		return err
	}
	defer r.Close()
	return checkContent(r, sealed, counted, want)
}

// verifyFile checks a file the manifest lists that is not an instance (a
// viewer program, README.TXT).
func (d *Disc) verifyFile(ctx context.Context, want manifestEntry, progress func(int64)) error {
	f, err := d.Open(want.path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrMissing
	}
	if err != nil {
		return err
	}
	defer f.Close()
	counted := &countReader{r: ctxio.Reader(ctx, f), progress: progress}
	var src io.Reader = counted
	var sealed *cms.Reader
	if !plainOnMedium(want.path) {
		if src, sealed, err = d.content(counted); err != nil {
			return d.fileError(err)
		}
		src = classifyingReader{src}
	}
	return checkContent(src, sealed, counted, &want)
}

// checkContent reads a file's content to its end and compares it with its
// manifest entry, if any. The manifest holds the SHA-256 of the content:
// the DICOM File inside a sealed file, so a file swapped for another
// validly sealed one is caught too. A sealed file's DigestedData carries
// that digest, and decryption checks it: it is not computed twice.
func checkContent(content io.Reader, sealed *cms.Reader, counted *countReader, want *manifestEntry) error {
	var h hash.Hash = sha256.New()
	var dst io.Writer = h
	carried := false
	if sealed != nil {
		alg, _ := sealed.Digest()
		carried = alg == crypto.SHA256
	}
	if carried || want == nil {
		dst = io.Discard
	}
	if _, err := io.Copy(dst, content); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, counted); err != nil { // anything after the CMS structure
		return err
	}
	if want == nil {
		return nil
	}
	sum := h.Sum(nil)
	if carried {
		_, sum = sealed.Digest()
	}
	if counted.n != want.size {
		return altered(ErrAltered, "size %d, the manifest says %d: altered", counted.n, want.size)
	}
	if !bytes.Equal(sum, want.sha256[:]) {
		return altered(ErrAltered, "content differs from the manifest: altered or replaced")
	}
	return nil
}
