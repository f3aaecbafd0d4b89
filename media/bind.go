package media

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
)

// Every instance read through a Disc is bound to its place on the medium:
// before the first byte is given out, the file's header is compared with
// the directory record that named it (and the patient, study and series
// the record sits under); a file copied in from another disc, or two files
// swapped, is refused there, whatever its size and however well it is
// sealed. Then the whole file is parsed as it streams, so that a plain
// file cut short is reported as damaged at its end, as a sealed one's
// digest would be.

// ErrMismatch: a file holds another instance than the directory record
// that names it. It is also ErrDamaged.
var ErrMismatch = errors.New("holds another instance than its directory record names")

// ErrMissing: a file the DICOMDIR references is not on the medium.
var ErrMissing = errors.New("missing: the DICOMDIR references it, the medium does not have it")

// maxCheckedHeader bounds what is held of an instance to read its header
// before any of it is given out: DICOM headers are a few kilobytes; one
// longer than this is refused as unreadable.
const maxCheckedHeader = 4 << 20

// openInstance opens an instance's file, checked as described above, and
// returns the header it was checked by (its Path is the record's, its Size
// that of the bytes read for it). wrapRaw, when not nil, wraps the file's
// recorded bytes (to count or hash them); cr is the decrypting reader of a
// sealed file.
func (d *Disc) openInstance(in *Instance, wrapRaw func(io.Reader) io.Reader) (rc io.ReadCloser, cr *cms.Reader, got *dicomdir.Instance, err error) {
	if in.lost != nil {
		return nil, nil, nil, in.lostError()
	}
	if !in.Scanned { // a DICOMDIR's File ID is untrusted; a scanned path came from the medium's own listing
		if err := dicomdir.ValidFileID(in.FileID); err != nil {
			return nil, nil, nil, err
		}
	}
	f, err := d.Open(in.mediumPath())
	if err != nil {
		return nil, nil, nil, err
	}
	var raw io.Reader = f
	if wrapRaw != nil {
		raw = wrapRaw(f)
	}
	r, cr, err := d.content(chunked(f, raw))
	if err != nil {
		f.Close()
		return nil, nil, nil, d.fileError(err)
	}
	r = classifyingReader{r}
	head, got, reason, err := readHeader(r, in.Path())
	if err == nil {
		err = in.bind(got, reason)
	}
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	return newCheckedReader(io.MultiReader(bytes.NewReader(head), r), f), cr, got, nil
}

// mediumChunk is the most one read of a file asks of the medium. A drive
// serves one read at a time, so two files read at once (a slice and its
// neighbour, a preview) in cms's 64 KiB pieces make a CD-ROM seek between
// them at every piece, 80 ms each; in pieces of 1 MiB a CT slice is one
// read, and one seek.
const mediumChunk = 1 << 20

// chunked reads raw, the bytes of f, in pieces of up to mediumChunk bytes
// (and no more than f's size, so a small file costs no large buffer).
func chunked(f fs.File, raw io.Reader) io.Reader {
	n := int64(mediumChunk)
	if st, err := f.Stat(); err == nil && st.Size() < n {
		n = st.Size()
	}
	return bufio.NewReaderSize(raw, int(n))
}

// readHeader reads the start of a plain DICOM stream (at most
// maxCheckedHeader bytes, which it returns) and the instance its header
// describes: nil and the reason when it is not one, nil and no reason for
// a DICOMDIR. path names the instance.
func readHeader(r io.Reader, path string) (head []byte, in *dicomdir.Instance, reason string, err error) {
	head, err = io.ReadAll(io.LimitReader(r, maxCheckedHeader))
	if err != nil {
		return nil, nil, "", err
	}
	in, reason, err = dicomdir.ReadInstanceAt(bytes.NewReader(head), int64(len(head)), path)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: unreadable header: %v", ErrDamaged, err)
	}
	return head, in, reason, nil
}

// bind compares got, the header of the instance's file (or why it is not
// an instance), with the instance's record: what the record leaves out is
// not compared.
func (in *Instance) bind(got *dicomdir.Instance, reason string) error {
	switch {
	case got == nil && reason == "":
		return fmt.Errorf("%w: a DICOMDIR where an instance should be", ErrMismatch)
	case got == nil:
		return fmt.Errorf("%w: not a readable DICOM instance: %s", ErrDamaged, reason)
	}
	type field struct{ what, want, got string }
	fields := []field{
		{"SOP Instance UID", in.SOPInstanceUID, got.SOPInstanceUID},
		{"SOP Class UID", in.SOPClassUID, got.SOPClassUID},
		{"Transfer Syntax UID", in.TransferSyntaxUID, got.TransferSyntaxUID},
	}
	if se := in.Series; se != nil {
		fields = append(fields, field{"Series Instance UID", se.UID, got.Value(dicom.SeriesInstanceUID)},
			field{"Study Instance UID", se.Study.UID, got.Value(dicom.StudyInstanceUID)})
		// A file without a Patient ID sits under one the DICOMDIR's maker
		// had to give it (Type 1 in a PATIENT record); ours is recognised
		// as such, and then the file must have none.
		p := se.Study.Patient
		if id, gotID := p.ID, got.Value(dicom.PatientID); (id != "" || p.standIn) && gotID != "" && id != gotID {
			// The values are patient data: they are not shown.
			return fmt.Errorf("%w: its Patient ID is not the one of the patient its record is under", mismatch())
		}
	}
	for _, f := range fields {
		if f.want != "" && f.want != f.got {
			return fmt.Errorf("%w: the file has %s %s, the record says %s", mismatch(), f.what, f.got, f.want)
		}
	}
	return nil
}

// mismatch is ErrMismatch that is also ErrDamaged.
func mismatch() error { return &codecError{ours: []error{ErrMismatch, ErrDamaged}, err: ErrMismatch} }

// fileError turns an error opening a file of an unlocked medium into what
// it means: once the medium's password has opened a sealed file, another
// file it does not open is damaged (or not of this medium), not a wrong
// password to ask again.
func (d *Disc) fileError(err error) error {
	if d.keyChecked && (errors.Is(err, cms.ErrWrongPassword) || errors.Is(err, cms.ErrNoRecipient)) {
		return fmt.Errorf("%w: its key does not open with the password or key that opened the medium: damaged, or not of this medium (%v)", ErrDamaged, err)
	}
	return classify(err)
}

// checkedReader parses what it passes on, in a goroutine fed through a
// pipe, and reports at the end of the stream a file that does not parse
// to its end, or whose pixel data is shorter than its header implies.
type checkedReader struct {
	r      io.Reader
	pw     *io.PipeWriter
	result chan error
	closer io.Closer
	err    error // once set, every Read returns it
}

func newCheckedReader(r io.Reader, c io.Closer) *checkedReader {
	pr, pw := io.Pipe()
	cr := &checkedReader{r: r, pw: pw, result: make(chan error, 1), closer: c}
	go func() {
		_, err := dicom.CheckFile(pr)
		io.Copy(io.Discard, pr) // what it did not need, so writes never block
		cr.result <- err
	}()
	return cr
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if n > 0 {
		c.pw.Write(p[:n]) // fails only once the checker stopped reading
	}
	switch {
	case err == io.EOF:
		c.pw.Close()
		c.err = io.EOF
		if cerr := <-c.result; cerr != nil {
			c.err = &codecError{ours: []error{ErrDamaged}, err: fmt.Errorf("damaged DICOM file: %w", cerr)}
		}
		return n, c.err
	case err != nil:
		c.stop(err)
	}
	return n, err
}

func (c *checkedReader) stop(err error) {
	c.pw.CloseWithError(err)
	<-c.result
	c.err = err
}

func (c *checkedReader) Close() error {
	if c.err == nil {
		c.stop(errors.New("closed"))
	}
	return c.closer.Close()
}

// mediumPath is where the instance's file is on the medium: as found by
// the survey, or as its record names it.
func (in *Instance) mediumPath() string {
	if in.onMedium != "" {
		return in.onMedium
	}
	return in.Path()
}

func (in *Instance) lostError() error {
	if errors.Is(in.lost, ErrMissing) {
		return in.lost
	}
	return fmt.Errorf("unreadable: %w", in.lost)
}
