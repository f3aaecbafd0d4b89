package dicom

import (
	"bufio"
	"compress/flate"
	"fmt"
	"io"
)

// PreambleLen is the length of the Part 10 preamble; the "DICM" prefix
// follows it (PS3.10 §7.1).
const PreambleLen = 128

// Header is the start of a Part 10 file: its File Meta Information and the
// encoding of the data set that follows.
type Header struct {
	Meta              []*Element
	TransferSyntaxUID string
	Syntax            Syntax
	Deflated          bool
	DataSetOffset     int64 // offset of the first data set byte in the file
}

// Meta returns the string value of a File Meta element, or "".
func (h *Header) MetaString(t Tag) string { return Find(h.Meta, t).String() }

// IsPart10 reports whether head, the first bytes of a file, has the "DICM"
// prefix after the 128-byte preamble (PS3.10 §7.1).
func IsPart10(head []byte) bool {
	return len(head) >= PreambleLen+4 && string(head[PreambleLen:PreambleLen+4]) == "DICM"
}

// HeaderBufferSize is the read buffer ReadHeader uses: headers are small,
// and scanning opens thousands of files.
const HeaderBufferSize = 16 << 10

// ReadHeader reads the preamble, "DICM" and the File Meta Information
// (always explicit VR little endian, PS3.10 §7.1), and returns a Reader
// positioned at the first element of the data set. It tolerates a missing
// group length, which some writers omit, by reading while the group is 0002.
//
// A *bufio.Reader of at least HeaderBufferSize is used as it is, so that a
// caller scanning thousands of files can recycle one; values read are
// always copied out of it.
func ReadHeader(r io.Reader) (*Header, *Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < HeaderBufferSize {
		br = bufio.NewReaderSize(r, HeaderBufferSize)
	}
	pre := make([]byte, PreambleLen+4)
	if _, err := io.ReadFull(br, pre); err != nil || !IsPart10(pre) {
		return nil, nil, ErrNotPart10
	}
	mr := NewReader(br, int64(len(pre)), ExplicitVRLittleEndian)
	mr.MaxValue = 1 << 16 // File Meta values are short; refuse giant ones
	h := &Header{}
	for {
		t, err := mr.PeekTag()
		if err == io.EOF || (err == nil && t.Group() != 0x0002) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		e, err := mr.Next()
		if err != nil {
			return nil, nil, fmt.Errorf("file meta information: %w", err)
		}
		if e.Skipped || e.IsSequence() {
			return nil, nil, mr.errorf("file meta element %v is not a short value", e.Tag)
		}
		h.Meta = append(h.Meta, e)
	}
	h.TransferSyntaxUID = Find(h.Meta, TransferSyntaxUID).String()
	if h.TransferSyntaxUID == "" {
		return nil, nil, fmt.Errorf("%w: file meta information has no Transfer Syntax UID", ErrMalformed)
	}
	h.Syntax, h.Deflated = SyntaxOf(h.TransferSyntaxUID)
	h.DataSetOffset = mr.Pos()
	var body io.Reader = br
	if h.Deflated {
		// PS3.5 §A.5: raw deflate (RFC 1951) of the whole data set.
		// Offsets past this point count inflated bytes.
		body = bufio.NewReader(flate.NewReader(br))
	}
	dr := NewReader(body, h.DataSetOffset, h.Syntax)
	h.Syntax = dr.sniffVR()
	dr.syntax = h.Syntax
	return h, dr, nil
}

// sniffVR corrects a transfer syntax that lies about explicit VR: some
// writers label an implicit VR data set as explicit (or the reverse). The
// first element's bytes 4–5 are an upper-case VR only in explicit VR; this
// is the test pydicom and dcmtk also apply.
func (r *Reader) sniffVR() Syntax {
	s := r.syntax
	b, err := r.br.Peek(6)
	if err != nil || s.BigEndian {
		return s
	}
	explicit := validVR(string(b[4:6]))
	if t := NewTag(uint16(b[0])|uint16(b[1])<<8, uint16(b[2])|uint16(b[3])<<8); t.Group() == 0xFFFE {
		return s
	}
	s.Implicit = !explicit
	return s
}
