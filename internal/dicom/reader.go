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
	// MaxElements bounds the elements, sequence items and pixel data
	// fragments read in total; one more fails with ErrMalformed. The
	// reader keeps every item of a sequence in memory until the element
	// that holds them is returned, so this (with MaxValue) is what bounds
	// its memory on hostile input. Zero means no limit.
	MaxElements int
	// ImplicitVR, if set, gives the VRs of an implicit VR data set in place
	// of the small built-in dictionary: FullVR, for showing every element
	// (pixeldata.Describe).
	ImplicitVR func(Tag) string
	elements   int
	scratch    [12]byte // element headers
}

// count records one more element, item or fragment against MaxElements.
func (r *Reader) count() error {
	r.elements++
	if r.MaxElements > 0 && r.elements > r.MaxElements {
		return r.errorf("more than %d elements, items and fragments", r.MaxElements)
	}
	return nil
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
	if len(b) == 0 && err == io.EOF {
		return 0, io.EOF
	}
	if err != nil {
		return 0, r.readError(r.pos, err, "an element header", "the data ends inside an element header")
	}
	o := r.syntax.order()
	return NewTag(o.Uint16(b), o.Uint16(b[2:])), nil
}

// Next reads the next element, including all items of a sequence. It
// returns io.EOF at the clean end of the stream.
func (r *Reader) Next() (*Element, error) {
	if _, err := r.br.Peek(1); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		// A deflated stream cut short ends with io.ErrUnexpectedEOF:
		// that is a truncation, not a clean end.
		return nil, r.readError(r.pos, err, "the next element", "the data ends before the end of its encoding")
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
	return r.errorAt(r.pos, format, args...)
}

func (r *Reader) errorAt(off int64, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrMalformed, off, fmt.Sprintf(format, args...))
}

// readError describes a read of what, which starts at off, that stopped
// early with err: a truncation (told by truncated) when the data ended, or
// the underlying read error, wrapped, when it did not.
func (r *Reader) readError(off int64, err error, what, truncated string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return r.errorAt(off, "truncated: %s", truncated)
	}
	return fmt.Errorf("%w at offset %d: reading %s: %w", ErrMalformed, off, what, err)
}

// ended reports whether the data ends here, before another byte; a read
// error other than the end is returned as such.
func (r *Reader) ended() (bool, error) {
	_, err := r.br.Peek(1)
	switch {
	case err == nil:
		return false, nil
	case err == io.EOF:
		return true, nil
	}
	return true, r.readError(r.pos, err, "the next element", "the data ends before the end of its encoding")
}

// fill reads len(b) bytes into b; c is how many it got.
func (r *Reader) fill(b []byte) (c int, err error) {
	c, err = io.ReadFull(r.br, b)
	r.pos += int64(c)
	return c, err
}

// short describes a read of what (starting at off) that got c of n bytes.
func (r *Reader) short(off int64, err error, what string, c, n int) error {
	return r.readError(off, err, what, fmt.Sprintf("the data ends inside %s (%d of %d bytes)", what, c, n))
}

// header reads a tag, VR and length. Delimiters (group FFFE) have no VR in
// any syntax. kind names what the header introduces, and seq (if not 0)
// the sequence it is in, for errors.
func (r *Reader) header(s Syntax, kind string, seq Tag) (t Tag, vr string, length uint32, err error) {
	off := r.pos
	b := r.scratch[:8]
	if c, err := r.fill(b); err != nil {
		what := "the header of " + kind
		if seq != 0 {
			what += fmt.Sprintf(" of sequence %v", seq)
		}
		return 0, "", 0, r.short(off, err, what, c, len(b))
	}
	o := s.order()
	t = NewTag(o.Uint16(b), o.Uint16(b[2:]))
	if t.Group() == 0xFFFE || s.Implicit {
		vr = ""
		if t.Group() != 0xFFFE {
			vr = VROf(t)
			if r.ImplicitVR != nil {
				vr = r.ImplicitVR(t)
			}
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
	l := r.scratch[8:12]
	if c, err := r.fill(l); err != nil {
		return 0, "", 0, r.short(off, err, fmt.Sprintf("the length of element %v", t), c, len(l))
	}
	return t, vr, o.Uint32(l), nil
}

func validVR(vr string) bool {
	return vr[0] >= 'A' && vr[0] <= 'Z' && vr[1] >= 'A' && vr[1] <= 'Z'
}

func (r *Reader) element(depth int, s Syntax) (*Element, error) {
	off := r.pos
	if err := r.count(); err != nil {
		return nil, err
	}
	t, vr, length, err := r.header(s, "an element", 0)
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

// value reads (or skips) the value of e, of defined length.
func (r *Reader) value(e *Element) error {
	n := int64(e.Length)
	var dst io.Writer = io.Discard
	var buf bytes.Buffer
	switch {
	case r.MaxValue > 0 && n > r.MaxValue:
		e.Skipped = true
	case n <= inMemoryLimit:
		v := make([]byte, n)
		c, err := io.ReadFull(r.br, v)
		r.pos += int64(c)
		if err != nil {
			return r.shortValue(e, n, int64(c), err)
		}
		e.Value = v
		return nil
	default:
		dst = &buf
	}
	c, err := io.CopyN(dst, r.br, n)
	r.pos += c
	if err != nil {
		return r.shortValue(e, n, c, err)
	}
	if dst == &buf {
		e.Value = buf.Bytes()
	}
	return nil
}

// shortValue describes the value of e, declared n bytes long, that ended
// after got bytes.
func (r *Reader) shortValue(e *Element, n, got int64, err error) error {
	name := fmt.Sprintf("element %v", e.Tag)
	switch e.Tag {
	case PixelData:
		name = fmt.Sprintf("pixel data %v", e.Tag)
	case ItemTag:
		name = "a pixel data fragment"
	}
	return r.readError(e.Offset, err, "the value of "+name,
		fmt.Sprintf("%s declares %d bytes, the data ends %d bytes short", name, n, n-got))
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
		if ended, err := r.ended(); err != nil {
			return err
		} else if ended && e.Length == undefinedLength {
			return r.errorAt(e.Offset, "truncated: sequence %v of undefined length has no sequence delimiter, the data ends at offset %d", e.Tag, r.pos)
		} else if ended {
			return r.errorAt(e.Offset, "truncated: sequence %v declares %d bytes, the data ends %d bytes short", e.Tag, e.Length, end-r.pos)
		}
		off := r.pos
		if err := r.count(); err != nil {
			return err
		}
		t, _, length, err := r.header(Syntax{BigEndian: s.BigEndian, Implicit: true}, "an item", e.Tag)
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
		if err := r.item(it, e.Tag, length, depth, s); err != nil {
			return err
		}
		e.Items = append(e.Items, it)
	}
	if r.pos != end {
		return r.errorf("sequence %v overruns its length", e.Tag)
	}
	return nil
}

// item reads the elements of it, an item of sequence seq.
func (r *Reader) item(it *Item, seq Tag, length uint32, depth int, s Syntax) error {
	end := r.pos + int64(length)
	for length == undefinedLength || r.pos < end {
		if length != undefinedLength && r.atCleanEnd() {
			return nil
		}
		if ended, err := r.ended(); err != nil {
			return err
		} else if ended && length == undefinedLength {
			return r.errorAt(it.Offset, "truncated: item of sequence %v, of undefined length, has no item delimiter, the data ends at offset %d", seq, r.pos)
		} else if ended {
			return r.errorAt(it.Offset, "truncated: item of sequence %v declares %d bytes, the data ends %d bytes short", seq, length, end-r.pos)
		}
		if length == undefinedLength {
			t, err := r.peekTag(s)
			if err != nil {
				return err
			}
			if t == ItemDelimitationTag {
				off := r.pos
				if c, err := r.fill(r.scratch[:8]); err != nil {
					return r.short(off, err, "an item delimiter", c, 8)
				}
				return nil
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
		return 0, r.readError(r.pos, err, "an element header", fmt.Sprintf("the data ends inside an element header (%d of 8 bytes)", len(b)))
	}
	o := s.order()
	return NewTag(o.Uint16(b), o.Uint16(b[2:])), nil
}

// fragments reads encapsulated pixel data (PS3.5 §A.4) as items whose one
// pseudo-element holds the fragment bytes.
func (r *Reader) fragments(e *Element) error {
	for {
		if ended, err := r.ended(); err != nil {
			return err
		} else if ended {
			return r.errorAt(e.Offset, "truncated: encapsulated pixel data %v has no sequence delimiter, the data ends at offset %d", e.Tag, r.pos)
		}
		off := r.pos
		if err := r.count(); err != nil {
			return err
		}
		t, _, length, err := r.header(Syntax{Implicit: true}, "a pixel data fragment", 0)
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
