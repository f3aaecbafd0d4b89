package dimse

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Command Field values (PS3.7 §E.1).
const (
	cStoreRQ  = 0x0001
	cStoreRSP = 0x8001
	cFindRQ   = 0x0020
	cFindRSP  = 0x8020
	cGetRQ    = 0x0010
	cGetRSP   = 0x8010
	cMoveRQ   = 0x0021
	cMoveRSP  = 0x8021
	cEchoRQ   = 0x0030
	cEchoRSP  = 0x8030
	cCancelRQ = 0x0FFF
)

// Command elements of C-MOVE and C-GET (PS3.7 §E.1, Table E.1-1) that the
// dicom package's table of tags leaves out.
const (
	tagMoveDestination        dicom.Tag = 0x00000600
	tagRemainingSubOperations dicom.Tag = 0x00001020
	tagCompletedSubOperations dicom.Tag = 0x00001021
	tagFailedSubOperations    dicom.Tag = 0x00001022
	tagWarningSubOperations   dicom.Tag = 0x00001023
)

// noDataSet is the Command Data Set Type meaning "no data set" (PS3.7 §E.1).
const noDataSet = 0x0101

// VerificationSOPClass is the SOP Class of C-ECHO (PS3.4 Annex A).
const VerificationSOPClass = "1.2.840.10008.1.1"

// maxCommandBytes bounds a command set: real ones are a few hundred bytes.
const maxCommandBytes = 64 << 10

// Command is a decoded DIMSE command set.
type command struct {
	Field                 uint16
	MessageID             uint16
	MessageIDRespondedTo  uint16
	AffectedSOPClass      string
	AffectedSOPInstance   string
	Priority              uint16
	HasDataSet            bool
	Status                uint16
	ErrorComment          string
	OffendingElementsTags []dicom.Tag
	MoveDestination       string
	// SubOps are the Number of Remaining, Completed, Failed and Warning
	// Sub-operations of a C-MOVE or C-GET response, -1 where absent.
	SubOps [4]int
}

func usElem(t dicom.Tag, v uint16) *dicom.Element { return dicom.Uint16Element(t, v) }

// encode builds the command set in implicit VR little endian with its
// group length first (PS3.7 §6.3.1).
func (c *command) encode() ([]byte, error) {
	elems := []*dicom.Element{usElem(dicom.CommandField, c.Field)}
	if c.Field == cCancelRQ {
		// C-CANCEL-RQ names the request it cancels, and nothing else
		// (PS3.7 Table 9.3-3).
		elems = append(elems, usElem(dicom.MessageIDBeingRespondedTo, c.MessageIDRespondedTo))
		return encodeCommandSet(append(elems, usElem(dicom.CommandDataSetType, noDataSet)))
	}
	if c.AffectedSOPClass != "" {
		elems = append(elems, dicom.StringElement(dicom.AffectedSOPClassUID, "UI", c.AffectedSOPClass))
	}
	if c.AffectedSOPInstance != "" {
		elems = append(elems, dicom.StringElement(dicom.AffectedSOPInstanceUID, "UI", c.AffectedSOPInstance))
	}
	if c.Field&0x8000 == 0 {
		elems = append(elems, usElem(dicom.MessageID, c.MessageID))
		switch c.Field {
		case cStoreRQ, cFindRQ, cGetRQ:
			elems = append(elems, usElem(dicom.Priority, c.Priority))
		case cMoveRQ:
			elems = append(elems, usElem(dicom.Priority, c.Priority),
				dicom.StringElement(tagMoveDestination, "AE", c.MoveDestination))
		}
	} else {
		elems = append(elems, usElem(dicom.MessageIDBeingRespondedTo, c.MessageIDRespondedTo), usElem(dicom.Status, c.Status))
		if c.ErrorComment != "" {
			elems = append(elems, dicom.StringElement(dicom.ErrorComment, "LO", truncate(c.ErrorComment, 64)))
		}
		if c.Field == cMoveRSP || c.Field == cGetRSP {
			for i, n := range c.SubOps {
				if n >= 0 {
					elems = append(elems, usElem(tagRemainingSubOperations+dicom.Tag(i), uint16(n)))
				}
			}
		}
	}
	dst := uint16(noDataSet)
	if c.HasDataSet {
		dst = 0x0001
	}
	elems = append(elems, usElem(dicom.CommandDataSetType, dst))
	return encodeCommandSet(elems)
}

// encodeCommandSet encodes elems in tag order, after their group length.
func encodeCommandSet(elems []*dicom.Element) ([]byte, error) {
	sort.Slice(elems, func(i, j int) bool { return elems[i].Tag < elems[j].Tag })
	var body []byte
	for _, e := range elems {
		dicom.PadValue(e)
		var err error
		if body, err = dicom.AppendElementSyntax(body, e, dicom.ImplicitVRLittleEndian); err != nil {
			return nil, err
		}
	}
	gl, _ := dicom.AppendElementSyntax(nil, dicom.Uint32Element(dicom.CommandGroupLength, uint32(len(body))), dicom.ImplicitVRLittleEndian)
	return append(gl, body...), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// decodeCommand parses an implicit VR little endian command set. Only
// group 0000 elements of defined length are allowed.
func decodeCommand(b []byte) (*command, error) {
	c := &command{SubOps: [4]int{-1, -1, -1, -1}}
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, protoErr("truncated command element")
		}
		t := dicom.NewTag(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]))
		n := binary.LittleEndian.Uint32(b[4:])
		if t.Group() != 0 || uint64(n) > uint64(len(b)-8) {
			return nil, protoErr("bad command element %v of length %d", t, n)
		}
		c.set(t, b[8:8+n])
		b = b[8+n:]
	}
	if c.Field == 0 {
		return nil, protoErr("command set without Command Field")
	}
	return c, nil
}

func (c *command) set(t dicom.Tag, v []byte) {
	us := func() uint16 {
		if len(v) < 2 {
			return 0
		}
		return binary.LittleEndian.Uint16(v)
	}
	str := func() string { return (&dicom.Element{Value: v}).String() }
	switch t {
	case dicom.CommandField:
		c.Field = us()
	case dicom.MessageID:
		c.MessageID = us()
	case dicom.MessageIDBeingRespondedTo:
		c.MessageIDRespondedTo = us()
	case dicom.AffectedSOPClassUID:
		c.AffectedSOPClass = str()
	case dicom.AffectedSOPInstanceUID:
		c.AffectedSOPInstance = str()
	case dicom.Priority:
		c.Priority = us()
	case dicom.CommandDataSetType:
		c.HasDataSet = us() != noDataSet
	case dicom.Status:
		c.Status = us()
	case dicom.ErrorComment:
		c.ErrorComment = str()
	case tagMoveDestination:
		c.MoveDestination = str()
	case tagRemainingSubOperations, tagCompletedSubOperations, tagFailedSubOperations, tagWarningSubOperations:
		if len(v) >= 2 {
			c.SubOps[t-tagRemainingSubOperations] = int(us())
		}
	case dicom.OffendingElement:
		for i := 0; i+4 <= len(v); i += 4 {
			c.OffendingElementsTags = append(c.OffendingElementsTags,
				dicom.NewTag(binary.LittleEndian.Uint16(v[i:]), binary.LittleEndian.Uint16(v[i+2:])))
		}
	}
}

// Kind classifies a DIMSE status (PS3.7 Annex C).
type Kind int

// Status kinds.
const (
	Success Kind = iota
	Warning
	Failure
)

func (k Kind) String() string {
	return [...]string{"success", "warning", "failure"}[k]
}

// Status is the outcome of a DIMSE operation as the peer reported it.
type Status struct {
	Code              uint16
	ErrorComment      string
	OffendingElements []dicom.Tag
}

// Kind maps the code to success, warning or failure (PS3.7 Annex C,
// PS3.4 Table B.2-1): 0000 success; 0001 and Bxxx warnings; the rest,
// including Cancel (FE00) for a store, failure.
func (s Status) Kind() Kind {
	switch {
	case s.Code == 0:
		return Success
	case s.Code == 0x0001 || s.Code&0xF000 == 0xB000:
		return Warning
	}
	return Failure
}

// Meaning describes the code in words (PS3.4 Table B.2-1, PS3.7 Annex C).
func (s Status) Meaning() string {
	switch c := s.Code; {
	case c == 0x0000:
		return "success"
	case c == 0xFE00:
		return "cancelled"
	case c == 0xFF00 || c == 0xFF01:
		return "pending"
	case c == 0xB000:
		return "warning: coercion of data elements"
	case c == 0xB006:
		return "warning: elements discarded"
	case c == 0xB007:
		return "warning: data set does not match SOP Class"
	case c == 0xA801:
		return "refused: move destination unknown"
	case c&0xFF00 == 0xA700:
		return "refused: out of resources"
	case c&0xFF00 == 0xA900:
		return "error: data set does not match SOP Class"
	case c&0xF000 == 0xC000:
		return "error: cannot understand"
	case c == 0x0122:
		return "refused: SOP Class not supported"
	case c == 0x0124:
		return "refused: not authorized"
	case c == 0x0110:
		return "processing failure"
	case c == 0x0111:
		return "duplicate SOP Instance"
	case c == 0x0117:
		return "invalid SOP Instance"
	case c == 0x0211:
		return "unrecognized operation"
	case c == 0x0212:
		return "mistyped argument"
	case c == 0x0213:
		return "resource limitation"
	case c&0xF000 == 0xB000:
		return "warning"
	}
	return "failure"
}

// String gives the code, its meaning and the peer's own words.
func (s Status) String() string {
	out := fmt.Sprintf("%04X %s", s.Code, s.Meaning())
	if len(s.OffendingElements) > 0 {
		out += fmt.Sprintf(" (offending elements %v)", s.OffendingElements)
	}
	if s.ErrorComment != "" {
		out += ": " + s.ErrorComment
	}
	return out
}
