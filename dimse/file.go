package dimse

import (
	"errors"
	"io"
	"os"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Tags read from a data set to address it.
const (
	tagSOPClassUID    dicom.Tag = 0x00080016
	tagSOPInstanceUID dicom.Tag = 0x00080018
)

// ErrNoSOPInstance is returned for a file that is not a SOP instance (no
// SOP Class or SOP Instance UID): no PACS could store it.
var ErrNoSOPInstance = errors.New("not a SOP instance (no SOP Class UID or SOP Instance UID)")

// FileInstance describes a DICOM Part 10 file for SendAll. Its data set is
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
	h, r, err := dicom.ReadHeader(f)
	if err != nil {
		return nil, err
	}
	in := &Instance{TransferSyntaxUID: h.TransferSyntaxUID, Size: fi.Size() - h.DataSetOffset, Label: path}
	if !h.Deflated && !h.Syntax.BigEndian {
		in.TransferSyntaxUID = relabel(h)
	}
	r.MaxValue = 1 << 16
	elems, err := r.ReadUntil(tagSOPInstanceUID + 1)
	if err != nil {
		return nil, err
	}
	in.SOPClassUID = firstOf(dicom.Find(elems, tagSOPClassUID).String(), h.MetaString(0x00020002))
	in.SOPInstanceUID = firstOf(dicom.Find(elems, tagSOPInstanceUID).String(), h.MetaString(0x00020003))
	if in.SOPClassUID == "" || in.SOPInstanceUID == "" {
		return nil, ErrNoSOPInstance
	}
	off := h.DataSetOffset
	in.Open = func() (io.ReadCloser, error) { return openAt(path, off) }
	return in, nil
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
