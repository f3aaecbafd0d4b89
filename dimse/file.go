package dimse

import (
	"errors"
	"io"
	"os"

	"github.com/securemedia/securemedia/internal/dicom"
)

// ErrNoSOPInstance is returned for a file that is not a SOP instance (no
// SOP Class or SOP Instance UID): no PACS could store it.
var ErrNoSOPInstance = errors.New("not a SOP instance (no SOP Class UID or SOP Instance UID)")

// FileInstance describes a DICOM Part 10 file for Send. Its data set is
// sent exactly as stored after the File Meta Information, which is never
// sent. A file whose Transfer Syntax UID says explicit VR while its data
// set is implicit (or the reverse) is labelled by what it really is, since
// sending it under the wrong label would corrupt it at the peer.
func FileInstance(path string) (*Instance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := ReadHeader(f)
	if err != nil {
		return nil, err
	}
	in := &Instance{SOPClassUID: h.SOPClassUID, SOPInstanceUID: h.SOPInstanceUID, TransferSyntaxUID: h.TransferSyntaxUID,
		Size: fi.Size() - h.DataSetOffset, Label: path}
	in.Open = func() (*DataSet, error) {
		f, err := openAt(path, h.DataSetOffset)
		if err != nil {
			return nil, err
		}
		return &DataSet{ReadCloser: f}, nil
	}
	return in, nil
}

// Header is what the start of a DICOM Part 10 stream says about its
// instance.
type Header struct {
	SOPClassUID, SOPInstanceUID string
	// TransferSyntaxUID is the data set's encoding: the File Meta's label,
	// corrected when an uncompressed data set is not what its label says.
	TransferSyntaxUID string
	DataSetOffset     int64 // where the data set starts, after the File Meta
}

// ReadHeader reads the start of a Part 10 stream: the File Meta
// Information and the data set up to the SOP Instance UID. The data set's
// UIDs win over the File Meta's copies. It fails with ErrNoSOPInstance for
// a file that is not a SOP instance.
func ReadHeader(r io.Reader) (*Header, error) {
	h, dr, err := dicom.ReadHeader(r)
	if err != nil {
		return nil, err
	}
	out := &Header{TransferSyntaxUID: h.TransferSyntaxUID, DataSetOffset: h.DataSetOffset}
	if !h.Deflated && !h.Syntax.BigEndian {
		out.TransferSyntaxUID = relabel(h)
	}
	dr.MaxValue = 1 << 16
	elems, err := dr.ReadUntil(dicom.SOPInstanceUID + 1)
	if err != nil {
		return nil, err
	}
	out.SOPClassUID = firstOf(dicom.Find(elems, dicom.SOPClassUID).String(), h.MetaString(dicom.MediaStorageSOPClassUID))
	out.SOPInstanceUID = firstOf(dicom.Find(elems, dicom.SOPInstanceUID).String(), h.MetaString(dicom.MediaStorageSOPInstanceUID))
	if out.SOPClassUID == "" || out.SOPInstanceUID == "" {
		return nil, ErrNoSOPInstance
	}
	return out, nil
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
