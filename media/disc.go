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
	"path/filepath"
	"strings"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/iso9660"
)

// Disc is an opened medium: a folder, a mounted disc or an ISO image.
//
// A Disc is an fs.FS of the medium's files as recorded (sealed files as
// they are), found as named or, failing that, ignoring case and the ISO
// 9660 version suffix. Once unlocked it is also the study tree of its
// DICOMDIR (Patients, Instances), whose files OpenInstance decrypts.
type Disc struct {
	fsys   fs.FS
	closer io.Closer
	ids    []Identity
	tree   *tree
	sealed bool       // the DICOMDIR was a Secure DICOM File
	cipher cms.Cipher // the DICOMDIR's content cipher, when sealed
	// dirName is the DICOMDIR's name: "DICOMDIR", or the file given to
	// OpenDICOMDIR.
	dirName string
}

// Open opens a folder or mounted disc (path is a directory) or an ISO
// image (path is a file).
func Open(p string) (*Disc, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return &Disc{fsys: os.DirFS(p), dirName: "DICOMDIR"}, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	fsys, err := iso9660.Open(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &Disc{fsys: fsys, closer: f, dirName: "DICOMDIR"}, nil
}

// OpenDICOMDIR opens the File-set of a DICOMDIR file, whatever its name:
// the folder that holds it, unlocked with the identities (none for a plain
// one). Its records' files are found in that folder.
func OpenDICOMDIR(file string, ids ...Identity) (*Disc, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", file)
	}
	d := &Disc{fsys: os.DirFS(filepath.Dir(file)), dirName: filepath.Base(file)}
	if err := d.Unlock(ids...); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return d, nil
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
// keeps the identities for the other files. A plain medium needs none.
func (d *Disc) Unlock(ids ...Identity) error {
	d.ids = ids
	r, cr, err := d.openPath(d.dirName)
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
	d.tree, d.sealed = buildTree(dir), cr != nil
	if cr != nil {
		d.cipher = cr.Info().ContentCipher
	}
	return nil
}

// Warnings are the deviations of the DICOMDIR that reading it tolerated
// (records not reachable from the root, unusual hierarchy).
func (d *Disc) Warnings() []string { return d.tree.warnings }

// Unlocked reports whether Unlock has read the DICOMDIR.
func (d *Disc) Unlocked() bool { return d.tree != nil }

// Sealed reports whether the medium is encrypted (its DICOMDIR is sealed).
func (d *Disc) Sealed() bool { return d.sealed }

// Cipher names the content cipher of a sealed medium (e.g. AES-256-CBC),
// "" for a plain one.
func (d *Disc) Cipher() string {
	if !d.sealed {
		return ""
	}
	return d.cipher.String()
}

// FileSetID is the File-set ID of the unlocked DICOMDIR.
func (d *Disc) FileSetID() string { return d.tree.fileSetID }

// Patients are the patients of the unlocked DICOMDIR, in its order.
func (d *Disc) Patients() []*Patient { return d.tree.patients }

// RootRecords are the unlocked DICOMDIR's top-level records outside any
// patient.
func (d *Disc) RootRecords() []*RootRecord { return d.tree.roots }

// Instances are every record of the unlocked DICOMDIR that references a
// file, in the DICOMDIR's order.
func (d *Disc) Instances() []*Instance { return d.tree.instances }

// Open opens a file of the medium as recorded (fs.FS): by its path as
// written first, and through lookup's case-insensitive walk only if that
// fails.
func (d *Disc) Open(p string) (fs.File, error) {
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
// DICOM File (cr is then its decrypting reader); plain DICOM files are
// passed through. The reader reports an integrity failure at its end, as
// ours (classify).
func (d *Disc) openPath(p string) (rc io.ReadCloser, cr *cms.Reader, err error) {
	f, err := d.Open(p)
	if err != nil {
		return nil, nil, err
	}
	r, cr, err := d.content(f)
	if err != nil {
		f.Close()
		return nil, nil, classify(err)
	}
	return readCloser{classifyingReader{r}, f}, cr, nil
}

// content returns the DICOM File in the bytes of a file of the medium:
// decrypted if they are a Secure DICOM File (cr is its decrypting reader),
// passed through if they are a plain DICOM File.
func (d *Disc) content(raw io.Reader) (r io.Reader, cr *cms.Reader, err error) {
	head := make([]byte, dicom.PreambleLen+4)
	n, err := io.ReadFull(raw, head) // a short file is Decrypt's to report
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	all := io.MultiReader(bytes.NewReader(head[:n]), raw)
	if dicom.IsPart10(head[:n]) {
		return all, nil, nil
	}
	cr, err = cms.Decrypt(all, d.ids...)
	if err != nil {
		return nil, nil, err
	}
	return cr, cr, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// OpenInstance opens an instance's file as a stream of the plain DICOM
// File, decrypted if it is sealed. Read it to its end before trusting what
// it gave: a damaged or altered file is reported there (ErrDamaged).
func (d *Disc) OpenInstance(in *Instance) (io.ReadCloser, error) {
	if err := dicomdir.ValidFileID(in.FileID); err != nil {
		return nil, err
	}
	r, _, err := d.openPath(in.Path())
	return r, err
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
	for _, in := range d.Instances() {
		if p := in.Path(); !seen[strings.ToUpper(p)] {
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
	f, err := d.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("missing")
	}
	if err != nil {
		return err
	}
	defer f.Close()
	counted := &countReader{r: f, progress: progress}
	var src io.Reader = counted
	var sealed *cms.Reader
	if decrypt {
		if src, sealed, err = d.content(counted); err != nil {
			return classify(err)
		}
	}
	// The manifest holds the SHA-256 of the content: the DICOM File inside
	// a sealed file, so a file swapped for another validly sealed one is
	// caught too. A sealed file's DigestedData carries that digest, and
	// the decryption checks it against the content: it is not computed
	// twice.
	h := sha256.New()
	var dst io.Writer = h
	carried := false // the envelope carries the content's SHA-256
	if sealed != nil {
		alg, _ := sealed.Digest()
		carried = alg == crypto.SHA256
	}
	if carried {
		dst = io.Discard
	}
	if _, err := io.Copy(dst, src); err != nil {
		return classify(err)
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

// FileSize is the size of an instance's file as recorded (the sealed size
// of a sealed file).
func (d *Disc) FileSize(in *Instance) (int64, error) {
	st, err := fs.Stat(d, in.Path())
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// maxCheckedHeader bounds what CheckRecords reads of an instance to find
// its identity: DICOM headers are a few kilobytes.
const maxCheckedHeader = 1 << 20

// CheckRecords checks that every file the unlocked DICOMDIR references is
// there and is the instance its record says: the same SOP Instance UID,
// SOP Class UID and Transfer Syntax UID. Each file is read to its end, so
// a sealed one's integrity is checked too. It returns one error per
// problem, naming the file.
func (d *Disc) CheckRecords() []error {
	var errs []error
	for _, in := range d.Instances() {
		if err := d.checkRecord(in); err != nil {
			errs = append(errs, fmt.Errorf("%s record: %s: %w", in.RecordType, in.Path(), err))
		}
	}
	return errs
}

func (d *Disc) checkRecord(in *Instance) error {
	r, err := d.OpenInstance(in)
	if err != nil {
		return err
	}
	defer r.Close()
	head, err := io.ReadAll(io.LimitReader(r, maxCheckedHeader))
	if err != nil {
		return err
	}
	rest, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	got, reason, err := dicomdir.ReadInstanceAt(bytes.NewReader(head), int64(len(head))+rest, in.Path())
	switch {
	case err != nil:
		return err
	case got == nil:
		return fmt.Errorf("not an indexable instance: %s", reason)
	}
	return in.record.Check(got)
}

// DICOMDIRIn returns the path of the DICOMDIR file in folder dir, found
// by name as SameName allows (ISO 9660 readers may show "dicomdir" or
// "DICOMDIR.;1"); an error wrapping fs.ErrNotExist when there is none.
func DICOMDIRIn(dir string) (string, error) {
	d := &Disc{fsys: os.DirFS(dir)}
	name, err := d.lookup("DICOMDIR")
	if err == nil {
		var st fs.FileInfo
		if st, err = fs.Stat(d.fsys, name); err == nil && !st.Mode().IsRegular() {
			err = fs.ErrNotExist
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s: no DICOMDIR in this folder: %w", dir, fs.ErrNotExist)
	}
	return filepath.Join(dir, filepath.FromSlash(name)), nil
}

// IsSecure reports whether path is an encrypted medium as far as can be
// told without a key: a folder whose DICOMDIR is not a plain DICOM file
// (it is, then, a Secure DICOM File), or a file (an ISO image, whose
// DICOMDIR Unlock will read).
func IsSecure(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !st.IsDir() {
		return true
	}
	name, err := DICOMDIRIn(path)
	if err != nil {
		return false
	}
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [dicom.PreambleLen + 4]byte
	n, _ := io.ReadFull(f, head[:])
	return n > 0 && !dicom.IsPart10(head[:n])
}
