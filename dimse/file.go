package dimse

import (
	"errors"
	"io"
	"os"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Tags read from a data set to address it.
const ()

// ErrNoSOPInstance is returned for a file that is not a SOP instance (no
// SOP Class or SOP Instance UID): no PACS could store it.
var ErrNoSOPInstance = errors.New("not a SOP instance (no SOP Class UID or SOP Instance UID)")

// FileInstance describes a DICOM Part 10 file for SendAll. Its data set is
// sent exactly as stored after the File Meta Information, which is never
// sent. A file whose Transfer Syntax UID says explicit VR while its data
// set is implicit (or the reverse) is labelled by what it really is, since
// sending it under the wrong label would corrupt it at the peer.
func FileInstance(path string) (*Instance, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	in, off, err := describe(func() (io.ReadCloser, error) { return os.Open(path) }, fi.Size())
	if err != nil {
		return nil, err
	}
	in.Label = path
	in.Open = func() (io.ReadCloser, error) { return openAt(path, off) }
	return in, nil
}

// StreamInstance describes an instance whose Part 10 bytes come from open,
// which may be called more than once (a decrypting reader of a sealed file,
// say). size is the Part 10 size, or an estimate: it is used for progress.
// Open re-opens the stream and skips the File Meta Information.
func StreamInstance(open func() (io.ReadCloser, error), size int64, label string) (*Instance, error) {
	in, off, err := describe(open, size)
	if err != nil {
		return nil, err
	}
	in.Label = label
	in.Open = func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, err
		}
		if _, err := io.CopyN(io.Discard, rc, off); err != nil {
			rc.Close()
			return nil, err
		}
		return rc, nil
	}
	return in, nil
}

// describe reads the header of a Part 10 stream: the instance's UIDs, its
// transfer syntax, and where the data set starts.
func describe(open func() (io.ReadCloser, error), size int64) (*Instance, int64, error) {
	f, err := open()
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h, r, err := dicom.ReadHeader(f)
	if err != nil {
		return nil, 0, err
	}
	in := &Instance{TransferSyntaxUID: h.TransferSyntaxUID, Size: size - h.DataSetOffset}
	if !h.Deflated && !h.Syntax.BigEndian {
		in.TransferSyntaxUID = relabel(h)
	}
	r.MaxValue = 1 << 16
	elems, err := r.ReadUntil(dicom.SOPInstanceUID + 1)
	if err != nil {
		return nil, 0, err
	}
	in.SOPClassUID = firstOf(dicom.Find(elems, dicom.SOPClassUID).String(), h.MetaString(dicom.MediaStorageSOPClassUID))
	in.SOPInstanceUID = firstOf(dicom.Find(elems, dicom.SOPInstanceUID).String(), h.MetaString(dicom.MediaStorageSOPInstanceUID))
	if in.SOPClassUID == "" || in.SOPInstanceUID == "" {
		return nil, 0, ErrNoSOPInstance
	}
	return in, h.DataSetOffset, nil
}

// relabel corrects a lying uncompressed transfer syntax label.
func relabel(h *dicom.Header) string {
	switch h.TransferSyntaxUID {
	case ImplicitVRLittleEndian, ExplicitVRLittleEndian:
		if h.Syntax.Implicit {
			return ImplicitVRLittleEndian
		}
		return ExplicitVRLittleEndian
	}
	return h.TransferSyntaxUID
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func openAt(path string, off int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
