package media

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
)

// Disc is an opened medium: a folder, a mounted disc or an ISO image.
type Disc struct {
	fsys   fs.FS
	closer io.Closer
	ids    []cms.Identity
	dir    *dicomdir.Directory
	sealed bool // the DICOMDIR was a Secure DICOM File
	info   *cms.Info
}

// openImage opens an ISO 9660 image file as an fs.FS; it is set by iso.go.
var openImage func(f *os.File, size int64) (fs.FS, error)

// Open opens a folder or mounted disc (path is a directory) or an ISO
// image (path is a file).
func Open(p string) (*Disc, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return &Disc{fsys: os.DirFS(p)}, nil
	}
	if openImage == nil {
		return nil, fmt.Errorf("%s: reading ISO images is not available in this build", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	fsys, err := openImage(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &Disc{fsys: fsys, closer: f}, nil
}

// Close releases the medium.
func (d *Disc) Close() error {
	if d.closer != nil {
		return d.closer.Close()
	}
	return nil
}

// ErrNoDICOMDIR: the medium has no DICOMDIR at its root.
var ErrNoDICOMDIR = errors.New("no DICOMDIR at the root: not a DICOM medium")

// SameName tells whether a name as a medium shows it is the given one,
// ignoring case and the ISO 9660 version suffix some systems show
// ("dicomdir;1", "DICOMDIR.").
func SameName(onMedium, want string) bool {
	return strings.EqualFold(strings.TrimSuffix(strings.TrimSuffix(onMedium, ";1"), "."), want)
}

// lookup finds a slash path on the medium, ignoring case and the ISO 9660
// ";1" version suffix, as readers of other systems' discs must.
func (d *Disc) lookup(p string) (string, error) {
	if _, err := fs.Stat(d.fsys, p); err == nil {
		return p, nil
	}
	cur := "."
	for _, want := range strings.Split(p, "/") {
		ents, err := fs.ReadDir(d.fsys, cur)
		if err != nil {
			return "", err
		}
		found := ""
		for _, e := range ents {
			if SameName(e.Name(), want) {
				found = e.Name()
				break
			}
		}
		if found == "" {
			return "", fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		cur = path.Join(cur, found)
	}
	return cur, nil
}

// maxDICOMDIR bounds the DICOMDIR read into memory.
const maxDICOMDIR = 256 << 20

// Unlock reads the DICOMDIR, decrypting it with the identities when it is
// sealed (a wrong password is reported here, after one key derivation), and
// keeps the identities for the other files.
func (d *Disc) Unlock(ids ...cms.Identity) error {
	d.ids = ids
	r, info, err := d.openPath("DICOMDIR")
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoDICOMDIR
	}
	if err != nil {
		return fmt.Errorf("DICOMDIR: %w", err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxDICOMDIR+1))
	if err != nil {
		return fmt.Errorf("DICOMDIR: %w", err)
	}
	if len(data) > maxDICOMDIR {
		return fmt.Errorf("DICOMDIR larger than %d bytes", maxDICOMDIR)
	}
	dir, err := dicomdir.Parse(data)
	if err != nil {
		return err
	}
	d.dir, d.sealed, d.info = dir, info != nil, info
	return nil
}

// Directory is the unlocked DICOMDIR.
func (d *Disc) Directory() *dicomdir.Directory { return d.dir }

// Sealed reports whether the medium is encrypted (its DICOMDIR is sealed).
func (d *Disc) Sealed() bool { return d.sealed }

// EnvelopeInfo describes the sealed DICOMDIR (recipients, algorithms), or
// nil for a plain medium.
func (d *Disc) EnvelopeInfo() *cms.Info { return d.info }

// open opens a file of the medium by its path as written first, and
// through lookup's case-insensitive walk only if that fails.
func (d *Disc) open(p string) (fs.File, error) {
	f, err := d.fsys.Open(p)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	real, err := d.lookup(p)
	if err != nil { // not found, or not readable far enough to tell
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return d.fsys.Open(real)
}

// openPath opens a file of the medium, decrypting it if it is a Secure
// DICOM File; plain DICOM files are passed through. The reader reports an
// integrity failure at its end.
func (d *Disc) openPath(p string) (io.ReadCloser, *cms.Info, error) {
	f, err := d.open(p)
	if err != nil {
		return nil, nil, err
	}
	r, info, err := d.content(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return readCloser{r, f}, info, nil
}

// content returns the DICOM File in the bytes of a file of the medium:
// decrypted if they are a Secure DICOM File (with its envelope's Info),
// passed through if they are a plain DICOM File.
func (d *Disc) content(raw io.Reader) (io.Reader, *cms.Info, error) {
	head := make([]byte, dicom.PreambleLen+4)
	n, err := io.ReadFull(raw, head) // a short file is Decrypt's to report
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	all := io.MultiReader(bytes.NewReader(head[:n]), raw)
	if dicom.IsPart10(head[:n]) {
		return all, nil, nil
	}
	r, err := cms.Decrypt(all, d.ids...)
	if err != nil {
		return nil, nil, err
	}
	return r, r.Info(), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// OpenFile opens the instance with the given File ID (the components of
// Referenced File ID) as a stream of the plain DICOM File.
func (d *Disc) OpenFile(fileID []string) (io.ReadCloser, error) {
	if err := dicomdir.ValidFileID(fileID); err != nil {
		return nil, err
	}
	r, _, err := d.openPath(path.Join(fileID...))
	return r, err
}

// Instances lists the File IDs of every record that references a file.
func (d *Disc) Instances() [][]string {
	var out [][]string
	d.dir.Walk(func(r *dicomdir.Record, _ int) {
		if id := r.FileID(); len(id) > 0 {
			out = append(out, id)
		}
	})
	return out
}

// Problem is one thing Verify found wrong, naming the file.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) Error() string { return p.Path + ": " + p.Err.Error() }

// Verify reads every file once: it checks each against the manifest (size,
// SHA-256 of the recorded bytes) when there is one, decrypts it completely
// (padding, digest or signature), and reports files the DICOMDIR or
// manifest names that are missing. progress gets bytes read.
func (d *Disc) Verify(progress func(int64)) ([]Problem, int, error) {
	manifest, err := d.readManifest()
	if err != nil {
		return nil, 0, err
	}
	var problems []Problem
	checked := 0
	seen := map[string]bool{}
	check := func(p string, want *manifestEntry, decrypt bool) {
		seen[strings.ToUpper(p)] = true
		checked++
		if err := d.verifyFile(p, want, decrypt, progress); err != nil {
			problems = append(problems, Problem{Path: p, Err: err})
		}
	}
	for i := range manifest {
		e := &manifest[i]
		check(e.path, e, !plainOnMedium(e.path))
	}
	for _, id := range d.Instances() {
		if p := path.Join(id...); !seen[strings.ToUpper(p)] {
			check(p, nil, true)
		}
	}
	return problems, checked, nil
}

// readManifest returns the manifest's entries, or nil if there is none.
func (d *Disc) readManifest() ([]manifestEntry, error) {
	r, _, err := d.openPath(manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", manifestName, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", manifestName, err)
	}
	return parseManifest(data)
}

func (d *Disc) verifyFile(p string, want *manifestEntry, decrypt bool, progress func(int64)) error {
	f, err := d.open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("missing")
	}
	if err != nil {
		return err
	}
	defer f.Close()
	counted := &countReader{r: f, progress: progress}
	var src io.Reader = counted
	if decrypt {
		if src, _, err = d.content(counted); err != nil {
			return err
		}
	}
	// The manifest holds the SHA-256 of the content: the DICOM File inside
	// a sealed file, so a file swapped for another validly sealed one is
	// caught too. A sealed file's DigestedData carries that digest, and
	// the decryption checks it against the content: it is not computed
	// twice.
	h := sha256.New()
	var dst io.Writer = h
	sealed, _ := src.(*cms.Reader)
	carried := false // the envelope carries the content's SHA-256
	if sealed != nil {
		alg, _ := sealed.Digest()
		carried = alg == crypto.SHA256
	}
	if carried {
		dst = io.Discard
	}
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, counted); err != nil { // anything after the CMS structure
		return err
	}
	sum := h.Sum(nil)
	if carried {
		_, sum = sealed.Digest()
	}
	if want != nil {
		if counted.n != want.size {
			return fmt.Errorf("size %d, the manifest says %d: altered", counted.n, want.size)
		}
		if !bytes.Equal(sum, want.sha256[:]) {
			return errors.New("content differs from the manifest: altered or replaced")
		}
	}
	return nil
}

type countReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress(int64(n))
	}
	return n, err
}

// FileSize is the size of a file of the medium as recorded (sealed size
// for sealed files).
func (d *Disc) FileSize(fileID []string) (int64, error) {
	p, err := d.lookup(path.Join(fileID...))
	if err != nil {
		return 0, err
	}
	st, err := fs.Stat(d.fsys, p)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
