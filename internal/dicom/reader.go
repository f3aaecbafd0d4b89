package dicom

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Syntax is the encoding of a data set: VR explicit or implicit, byte order.
type Syntax struct {
	Implicit  bool
	BigEndian bool
}

// The transfer syntaxes the codec understands (PS3.5 §10 and Annex A).
var (
	ExplicitVRLittleEndian = Syntax{}
	ImplicitVRLittleEndian = Syntax{Implicit: true}
	ExplicitVRBigEndian    = Syntax{BigEndian: true}
)

// Well-known transfer syntax UIDs.
const (
	ImplicitVRLittleEndianUID = "1.2.840.10008.1.2"
	ExplicitVRLittleEndianUID = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRUID     = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndianUID    = "1.2.840.10008.1.2.2"
)

// SyntaxOf maps a transfer syntax UID to the encoding of its data set.
// Every compressed (encapsulated) syntax encodes the data set as explicit
// VR little endian; deflated reports the deflate wrapper (PS3.5 §A.5).
func SyntaxOf(uid string) (s Syntax, deflated bool) {
	switch uid {
	case ImplicitVRLittleEndianUID:
		return ImplicitVRLittleEndian, false
	case ExplicitVRBigEndianUID:
		return ExplicitVRBigEndian, false
	case DeflatedExplicitVRUID, "1.2.840.10008.1.2.8.1": // the latter is JPIP referenced deflate
		return ExplicitVRLittleEndian, true
	}
	return ExplicitVRLittleEndian, false
}

func (s Syntax) order() binary.ByteOrder {
	if s.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Errors returned by the reader. Each is wrapped with the offset at which
// the problem was found.
var (
	ErrMalformed = errors.New("malformed DICOM data")
	ErrNotPart10 = errors.New("not a DICOM Part 10 file (no DICM prefix at byte 128)")
)

// maxDepth bounds sequence nesting; real data rarely exceeds 5 levels, and
// the bound keeps hostile input from exhausting the stack.
const maxDepth = 32

// inMemoryLimit is the largest value allocated in one piece up front;
// longer values are read through a growing buffer so that a lying length
// field cannot force a large allocation.
const inMemoryLimit = 1 << 16

// Reader reads data elements one at a time from a stream.
type Reader struct {
	br     *bufio.Reader
	pos    int64
	syntax Syntax
	// MaxValue is the longest value kept in memory; longer values are
	// skipped (Element.Skipped). Zero means no limit.
	MaxValue int64
	// AllowShortLengths accepts a stream that ends cleanly between two
	// elements inside a sequence or item whose declared length runs past
	// the end, as dcmtk does; Truncated then reports that it happened.
	AllowShortLengths bool
	Truncated         bool
}

// atCleanEnd reports whether the stream ended exactly here and the caller
// accepts short lengths; it records the fact.
func (r *Reader) atCleanEnd() bool {
	if !r.AllowShortLengths {
		return false
	}
	if _, err := r.br.Peek(1); err == nil {
		return false
	}
	r.Truncated = true
	return true
}

// NewReader reads a data set encoded with syntax from r. pos is the offset
// of r's first byte in the file, so that Element.Offset counts from byte 0
// of the file (as DICOMDIR offsets do).
func NewReader(r io.Reader, pos int64, syntax Syntax) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, pos: pos, syntax: syntax}
}

// Pos returns the offset of the next unread byte.
func (r *Reader) Pos() int64 { return r.pos }

// Syntax returns the encoding the reader decodes.
func (r *Reader) Syntax() Syntax { return r.syntax }

// PeekTag returns the tag of the next element without consuming it; io.EOF
// at the clean end of the stream.
func (r *Reader) PeekTag() (Tag, error) {
	b, err := r.br.Peek(4)
	if len(b) == 0 && err != nil {
		return 0, io.EOF
	}
	if err != nil {
		return 0, r.errorf("truncated tag")
	}
	o := r.syntax.order()
	return NewTag(o.Uint16(b), o.Uint16(b[2:])), nil
}

// Next reads the next element, including all items of a sequence. It
// returns io.EOF at the clean end of the stream.
func (r *Reader) Next() (*Element, error) {
	if _, err := r.br.Peek(1); err != nil {
		return nil, io.EOF
	}
	return r.element(0, r.syntax)
}

// ReadUntil reads top-level elements until the next tag is at least stop
// (which is not consumed) or the stream ends.
func (r *Reader) ReadUntil(stop Tag) ([]*Element, error) {
	var out []*Element
	for {
		t, err := r.PeekTag()
		if err == io.EOF || (err == nil && t >= stop) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		e, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrMalformed, r.pos, fmt.Sprintf(format, args...))
}

func (r *Reader) read(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, r.errorf("unexpected end of data")
	}
	r.pos += int64(n)
	return b, nil
}

// header reads a tag, VR and length. Delimiters (group FFFE) have no VR in
// any syntax.
func (r *Reader) header(s Syntax) (t Tag, vr string, length uint32, err error) {
	b, err := r.read(8)
	if err != nil {
		return 0, "", 0, err
	}
	o := s.order()
	t = NewTag(o.Uint16(b), o.Uint16(b[2:]))
	if t.Group() == 0xFFFE || s.Implicit {
		vr = ""
		if t.Group() != 0xFFFE {
			vr = VROf(t)
		}
		return t, vr, o.Uint32(b[4:]), nil
	}
	vr = string(b[4:6])
	if !validVR(vr) {
		return 0, "", 0, r.errorf("element %v: invalid VR %q", t, vr)
	}
	if !longHeader(vr) {
		return t, vr, uint32(o.Uint16(b[6:])), nil
	}
	l, err := r.read(4)
	if err != nil {
		return 0, "", 0, err
	}
	return t, vr, o.Uint32(l), nil
}

func validVR(vr string) bool {
	return vr[0] >= 'A' && vr[0] <= 'Z' && vr[1] >= 'A' && vr[1] <= 'Z'
}

func (r *Reader) element(depth int, s Syntax) (*Element, error) {
	off := r.pos
	t, vr, length, err := r.header(s)
	if err != nil {
		return nil, err
	}
	if t.Group() == 0xFFFE {
		return nil, r.errorf("unexpected delimiter %v", t)
	}
	e := &Element{Tag: t, VR: vr, Length: length, Offset: off}
	switch {
	case vr == "SQ":
		return e, r.sequence(e, depth, s)
	case vr == "UN" && length == undefinedLength:
		// CP-246: a UN of undefined length is a sequence encoded in
		// implicit VR little endian, whatever the outer syntax.
		return e, r.sequence(e, depth, ImplicitVRLittleEndian)
	case length == undefinedLength && t == PixelData:
		// Encapsulated pixel data: fragments are items of raw bytes.
		return e, r.fragments(e)
	case length == undefinedLength && s.Implicit:
		// Implicit VR with undefined length can only be a sequence
		// whose tag our small dictionary does not know.
		e.VR = "SQ"
		return e, r.sequence(e, depth, s)
	case length == undefinedLength:
		return nil, r.errorf("element %v (%s) has undefined length", t, vr)
	}
	return e, r.value(e)
}

func (r *Reader) value(e *Element) error {
	n := int64(e.Length)
	if r.MaxValue > 0 && n > r.MaxValue {
		e.Skipped = true
		c, _ := io.CopyN(io.Discard, r.br, n)
		r.pos += c
		if c != n {
			return r.errorf("element %v: value of %d bytes truncated", e.Tag, n)
		}
		return nil
	}
	if n <= inMemoryLimit {
		v, err := r.read(int(n))
		e.Value = v
		return err
	}
	var buf bytes.Buffer
	c, _ := io.CopyN(&buf, r.br, n)
	r.pos += c
	if c != n {
		return r.errorf("element %v: value of %d bytes truncated", e.Tag, n)
	}
	e.Value = buf.Bytes()
	return nil
}

// sequence reads the items of e, of defined or undefined length.
func (r *Reader) sequence(e *Element, depth int, s Syntax) error {
	if depth >= maxDepth {
		return r.errorf("sequences nested deeper than %d", maxDepth)
	}
	e.VR = "SQ"
	end := r.pos + int64(e.Length)
	for e.Length == undefinedLength || r.pos < end {
		if e.Length != undefinedLength && r.atCleanEnd() {
			return nil
		}
		off := r.pos
		t, _, length, err := r.header(Syntax{BigEndian: s.BigEndian, Implicit: true})
		if err != nil {
			return err
		}
		switch t {
		case SequenceDelimitationTag:
			if e.Length != undefinedLength {
				return r.errorf("sequence delimiter in a sequence of defined length")
			}
			return nil
		case ItemTag:
		default:
			return r.errorf("sequence %v: expected an item, found %v", e.Tag, t)
		}
		it := &Item{Offset: off}
		if err := r.item(it, length, depth, s); err != nil {
			return err
		}
		e.Items = append(e.Items, it)
	}
	if r.pos != end {
		return r.errorf("sequence %v overruns its length", e.Tag)
	}
	return nil
}

func (r *Reader) item(it *Item, length uint32, depth int, s Syntax) error {
	end := r.pos + int64(length)
	for length == undefinedLength || r.pos < end {
		if length != undefinedLength && r.atCleanEnd() {
			return nil
		}
		if length == undefinedLength {
			t, err := r.peekTag(s)
			if err != nil {
				return err
			}
			if t == ItemDelimitationTag {
				_, err := r.read(8)
				return err
			}
		}
		c, err := r.element(depth+1, s)
		if err != nil {
			return err
		}
		it.Elements = append(it.Elements, c)
	}
	if r.pos != end {
		return r.errorf("item at offset %d overruns its length", it.Offset)
	}
	return nil
}

func (r *Reader) peekTag(s Syntax) (Tag, error) {
	b, err := r.br.Peek(4)
	if err != nil {
		return 0, r.errorf("unexpected end of data")
	}
	o := s.order()
	return NewTag(o.Uint16(b), o.Uint16(b[2:])), nil
}

// fragments reads encapsulated pixel data (PS3.5 §A.4) as items whose one
// pseudo-element holds the fragment bytes.
func (r *Reader) fragments(e *Element) error {
	for {
		off := r.pos
		t, _, length, err := r.header(Syntax{Implicit: true})
		if err != nil {
			return err
		}
		if t == SequenceDelimitationTag {
			return nil
		}
		if t != ItemTag || length == undefinedLength {
			return r.errorf("pixel data: expected a fragment, found %v", t)
		}
		frag := &Element{Tag: ItemTag, VR: "OB", Length: length, Offset: off}
		if err := r.value(frag); err != nil {
			return err
		}
		e.Items = append(e.Items, &Item{Offset: off, Elements: []*Element{frag}})
	}
}
