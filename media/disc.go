package media

import (
	"bytes"
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

	image      io.ReaderAt // an ISO image's bytes; nil for a folder
	imageSize  int64
	files      []*surveyedFile // the survey, once made
	surveyErr  error
	maxKDFWork int64
	listed     bool            // the DICOMDIR was read
	dirErr     error           // why Salvage could not read the DICOMDIR
	keyChecked bool            // the identities opened a sealed file (or the DICOMDIR)
	manifest   []manifestEntry // nil when the medium has none
	binding    []byte          // what the sealed DICOMDIR says of the manifest
}

// Open opens a folder or mounted disc (path is a directory) or an ISO
// image (path is a file).
func Open(p string) (*Disc, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return OpenFS(os.DirFS(p)), nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	d, err := OpenImage(f, st.Size(), p)
	if err != nil {
		f.Close()
		return nil, err
	}
	d.closer = f
	return d, nil
}

// OpenFS opens the medium whose root folder is fsys: for one, the folder
// a user picked in a browser, read through the browser's File objects
// (INDEX.HTM, cmd/discpage).
func OpenFS(fsys fs.FS) *Disc { return &Disc{fsys: fsys, dirName: "DICOMDIR"} }

// OpenImage opens an ISO image of size bytes read through r, wherever its
// bytes are: a disc device (/dev/sr0, \\.\D: — the whole disc, without the
// system's own file system in between), a file, or a test's simulation of
// a slow drive. The image is read on demand, never copied. name is how
// errors name the image (a path, a device). Close does not close r: its
// owner does.
func OpenImage(r io.ReaderAt, size int64, name string) (*Disc, error) {
	fsys, err := iso9660.Open(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Disc{fsys: fsys, image: r, imageSize: size, dirName: "DICOMDIR"}, nil
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

// NameMismatches lists, for an ISO image, every file whose ISO 9660 name
// differs from its Rock Ridge or Joliet name: Windows reads the ISO 9660
// (or Joliet) names, other systems the Rock Ridge ones, so such a disc
// opens differently on each. None for a folder.
func (d *Disc) NameMismatches() ([]string, error) {
	if d.image == nil {
		return nil, nil
	}
	ms, err := iso9660.CompareNames(d.image, d.imageSize)
	var out []string
	if err != nil { // a damaged part of the image: report it, and the rest
		out = append(out, "the image's names could not all be compared: "+err.Error())
	}
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s: the image's names differ: ISO 9660 %s, Joliet %s, Rock Ridge %s",
			m.Path, orNone(m.ISO), orNone(m.Joliet), orNone(m.RockRidge)))
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

// Close releases the medium.
func (d *Disc) Close() error {
	if d.closer != nil {
		return d.closer.Close()
	}
	return nil
}

// ErrNoDICOMDIR: the medium has no DICOMDIR at its root, and no DICOM
// file was found on it either: there is nothing to read.
var ErrNoDICOMDIR = errors.New("no DICOMDIR and no DICOM files: not a DICOM medium")

// SameName tells whether a name as a medium shows it is the given one,
// ignoring case and the ISO 9660 version suffix some systems show
// ("dicomdir;1", "DICOMDIR.").
func SameName(onMedium, want string) bool { return strings.EqualFold(trimVersion(onMedium), want) }

// trimVersion removes the ISO 9660 ";1" version and a trailing "." from
// a name as a medium shows it.
func trimVersion(name string) string { return strings.TrimSuffix(strings.TrimSuffix(name, ";1"), ".") }

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

// Unlock takes stock of the medium and reads its DICOMDIR, decrypting it
// with the identities when it is sealed (a wrong password is reported
// here, after one key derivation), and keeps the identities for the other
// files. A plain medium needs none. Before any key is derived, the work
// the medium's sealed files ask for is counted: beyond the limit
// (SetMaxKDFWork) Unlock refuses at once (ErrKDFLimit).
//
// A medium without a DICOMDIR is opened too: its DICOM files are found by
// scanning (Listed reports false). Files the DICOMDIR does not list are
// scanned the same way; missing ones are reported by Missing, files that
// are not DICOM by Others.
func (d *Disc) Unlock(ids ...Identity) error { return d.unlock(ids, false) }

// Salvage is Unlock for a damaged medium: when the DICOMDIR cannot be read
// (but not for a wrong password or key), the tree is built by scanning
// every file instead, and DICOMDIRError says what went wrong.
func (d *Disc) Salvage(ids ...Identity) error { return d.unlock(ids, true) }

// DICOMDIRError is why Salvage could not read the DICOMDIR (nil if it
// could, or if there is none).
func (d *Disc) DICOMDIRError() error { return d.dirErr }

func (d *Disc) unlock(ids []Identity, salvage bool) error {
	d.ids = ids
	files, err := d.survey()
	if err != nil {
		return err
	}
	if err := d.checkKDFWork(ids); err != nil {
		return err
	}
	d.tree, d.listed, d.dirErr = &tree{byRecord: map[*dicomdir.Record]*Instance{}}, false, nil
	switch t, err := d.readDICOMDIR(); {
	case errors.Is(err, ErrNoDICOMDIR):
	case err != nil && salvage && !errors.Is(err, ErrWrongPassword) && !errors.Is(err, ErrNoRecipient) && !errors.Is(err, ErrPolicy):
		d.dirErr = err
		d.tree.warnings = append(d.tree.warnings, "the DICOMDIR cannot be read ("+err.Error()+"): every file was scanned instead")
	case err != nil:
		d.tree = nil
		return err
	default:
		d.tree, d.listed = t, true
	}
	if !d.sealed {
		if err := d.checkKey(files); err != nil {
			d.tree = nil
			return err
		}
	}
	d.loadManifest()
	if err := d.takeStock(files); err != nil {
		d.tree = nil
		return err
	}
	if !d.listed && len(d.tree.instances) == 0 {
		d.tree = nil
		return ErrNoDICOMDIR
	}
	return nil
}

// readDICOMDIR reads the DICOMDIR's tree, and whether it is sealed and
// what it says of the manifest; ErrNoDICOMDIR when the medium has none.
func (d *Disc) readDICOMDIR() (*tree, error) {
	r, cr, err := d.openPath(d.dirName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoDICOMDIR
	}
	if err != nil {
		return nil, fmt.Errorf("DICOMDIR: %w", err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxDICOMDIR+1))
	if err != nil {
		return nil, fmt.Errorf("DICOMDIR: %w", err)
	}
	if len(data) > maxDICOMDIR {
		return nil, fmt.Errorf("DICOMDIR larger than %d bytes: %w", maxDICOMDIR, ErrTooLarge)
	}
	dir, err := dicomdir.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("DICOMDIR: %w", err)
	}
	d.sealed, d.binding = cr != nil, manifestBinding(dir)
	if cr != nil {
		d.cipher = cr.Info().ContentCipher
		d.keyChecked = true
	}
	return buildTree(dir), nil
}

// Warnings are the deviations of the DICOMDIR that reading it tolerated
// (records not reachable from the root, unusual hierarchy).
func (d *Disc) Warnings() []string { return d.tree.warnings }

// Unlocked reports whether Unlock (or Salvage) has taken stock of the
// medium.
func (d *Disc) Unlocked() bool { return d.tree != nil }

// Sealed reports whether the medium is encrypted: its DICOMDIR is sealed,
// or, without a sealed DICOMDIR, some of its files are (SealedFiles).
func (d *Disc) Sealed() bool { return d.sealed || d.SealedFiles() > 0 }

// SealedFiles counts the sealed files of the medium.
func (d *Disc) SealedFiles() int { return d.countKind(kindSealed) }

// PlainFiles counts the plain DICOM files of the medium.
func (d *Disc) PlainFiles() int { return d.countKind(kindPlain) }

func (d *Disc) countKind(k fileKind) int {
	n := 0
	for _, f := range d.files {
		if f.kind == k {
			n++
		}
	}
	return n
}

// Cipher names the content cipher of a sealed medium (e.g. AES-256-CBC),
// "" for a plain one.
func (d *Disc) Cipher() string {
	if !d.Sealed() {
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
		return nil, nil, d.fileError(err)
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
// File, decrypted if it is sealed. The file is first checked against its
// directory record (ErrMismatch when it holds another instance). Read it to
// its end before trusting what it gave: a damaged or altered file, or a
// plain one cut short, is reported there (ErrDamaged).
func (d *Disc) OpenInstance(in *Instance) (io.ReadCloser, error) {
	r, _, _, err := d.openInstance(in, nil)
	return r, err
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
	if in.lost != nil {
		return 0, in.lostError()
	}
	st, err := fs.Stat(d, in.mediumPath())
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// CheckRecords checks that every file the unlocked DICOMDIR references is
// there and is the instance its record says (OpenInstance's check), and
// reads each to its end, so a sealed one's integrity, and a plain one's
// structure, is checked too. It returns one error per problem, naming the
// file.
func (d *Disc) CheckRecords() []error {
	var errs []error
	for _, in := range d.Instances() {
		if err := d.readInstance(in); err != nil {
			errs = append(errs, fmt.Errorf("%s record: %s: %w", in.RecordType, in.Path(), err))
		}
	}
	return errs
}

// readInstance reads an instance's file to its end through OpenInstance.
func (d *Disc) readInstance(in *Instance) error {
	r, err := d.OpenInstance(in)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
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
