package pixeldata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Describe reads a whole DICOM File and returns every data element, File
// Meta Information included, as text a person reads (the viewer's tag
// browser): names from dicom.Lookup, text decoded by the data set's Specific
// Character Set, numbers as numbers, bulk data by its size, sequences as
// nested items. It reads r to its end, so that a sealed file's integrity
// check has run before anything is shown. Hostile input is bounded: values
// longer than a few kilobytes are not kept, and the elements read are
// limited (an error past that).
func Describe(r io.Reader) ([]*Node, error) {
	h, dr, err := dicom.ReadHeader(r)
	if err != nil {
		return nil, err
	}
	dr.MaxValue, dr.MaxElements, dr.ImplicitVR = describeValueKept, describeMaxNodes, dicom.FullVR
	var elems []*dicom.Element
	for {
		e, err := dr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
	}
	// What the reader left (a deflated data set's wrapper, trailing
	// padding) is read too: the end of a sealed file is its check.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if dr.Syntax().BigEndian {
		order = binary.BigEndian
	}
	f := describer{order: order, cs: dicom.Find(elems, dicom.SpecificCharacterSet), implicit: dr.Syntax().Implicit}
	if pr, ok := dicom.Find(elems, dicom.PixelRepresentation).Uint(f.order); ok && pr == 1 {
		f.signed = true
	}
	meta := describer{order: binary.LittleEndian}
	var out []*Node
	for _, e := range h.Meta {
		out = append(out, meta.node(e))
	}
	for _, e := range elems {
		out = append(out, f.node(e))
	}
	return out, nil
}

// Bounds on a hostile file: the values kept for display, the elements read
// and the text shown of each value.
const (
	describeValueKept = 4 << 10
	describeMaxNodes  = 20000
	describeShown     = 300 // characters of a text value
	describeNumbers   = 32  // numbers of a binary value
)

// Node is one element as a person reads it.
type Node struct {
	Tag     string    `json:"tag"`  // (0010,0010)
	Name    string    `json:"name"` // Patient Name; "" when not known here
	VR      string    `json:"vr"`
	Value   string    `json:"value,omitempty"`
	Private bool      `json:"private,omitempty"`
	Items   [][]*Node `json:"items,omitempty"` // of a sequence
}

// describer turns elements into text the way a reader expects.
type describer struct {
	order    binary.ByteOrder
	cs       *dicom.Element
	implicit bool
	signed   bool // Pixel Representation 1: the "US or SS" attributes are SS
}

// usOrSS are the attributes whose VR is US or SS by Pixel Representation
// (PS3.5 §6.2, "US or SS"): an implicit VR data set leaves it to the reader.
var usOrSS = map[dicom.Tag]bool{0x00280106: true, 0x00280107: true, 0x00280108: true, 0x00280109: true,
	0x00280120: true, 0x00280121: true, 0x00281101: true, 0x00281102: true, 0x00281103: true}

func (f describer) node(e *dicom.Element) *Node {
	keyword, _ := dicom.Lookup(e.Tag)
	n := &Node{Tag: e.Tag.String(), Name: spaced(keyword), VR: e.VR, Private: e.Tag.Group()%2 == 1}
	if f.implicit && f.signed && usOrSS[e.Tag] {
		n.VR = "SS"
	}
	if el := e.Tag.Element(); n.Private && el >= 0x10 && el <= 0xFF {
		n.Name = "Private Creator" // PS3.5 §7.8.1: (gggg,0010-00FF) reserve the blocks
	}
	switch {
	case e.IsSequence() || (e.Tag == dicom.PixelData && e.Items != nil):
		for _, it := range e.Items {
			var item []*Node
			for _, c := range it.Elements {
				item = append(item, f.node(c))
			}
			n.Items = append(n.Items, item)
		}
		if e.Tag == dicom.PixelData {
			n.Value = fmt.Sprintf("encapsulated, %d fragments", len(e.Items))
			n.Items = nil // the fragments' bytes say nothing to a reader
		}
	case e.Skipped:
		n.Value = fmt.Sprintf("(%s, not shown)", byteCount(int64(e.Length)))
	default:
		n.Value = f.value(e, n.VR)
	}
	return n
}

// value formats a short value by its VR.
func (f describer) value(e *dicom.Element, vr string) string {
	switch vr {
	case "US", "SS", "UL", "SL", "FL", "FD", "AT", "SV", "UV":
		return numbers(e.Value, vr, f.order)
	case "OB", "OW", "OF", "OD", "OL", "OV", "UN":
		return bulk(e.Value)
	}
	return clip(dicom.DecodeText(f.cs, e))
}

// numbers formats a binary numeric value, at most describeNumbers of them.
func numbers(b []byte, vr string, order binary.ByteOrder) string {
	size := map[string]int{"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8, "AT": 4, "SV": 8, "UV": 8}[vr]
	var out []string
	for off := 0; off+size <= len(b) && len(out) < describeNumbers; off += size {
		out = append(out, number(b[off:off+size], vr, order))
	}
	s := strings.Join(out, `\`)
	if total := len(b) / size; total > len(out) {
		s += fmt.Sprintf(`\… (%d values)`, total)
	}
	return s
}

func number(b []byte, vr string, order binary.ByteOrder) string {
	switch vr {
	case "US":
		return fmt.Sprint(order.Uint16(b))
	case "SS":
		return fmt.Sprint(int16(order.Uint16(b)))
	case "UL":
		return fmt.Sprint(order.Uint32(b))
	case "SL":
		return fmt.Sprint(int32(order.Uint32(b)))
	case "FL":
		return fmt.Sprint(math.Float32frombits(order.Uint32(b)))
	case "FD":
		return fmt.Sprint(math.Float64frombits(order.Uint64(b)))
	case "AT":
		return dicom.NewTag(order.Uint16(b), order.Uint16(b[2:])).String()
	case "SV":
		return fmt.Sprint(int64(order.Uint64(b)))
	}
	return fmt.Sprint(order.Uint64(b))
}

// bulk describes binary data by its size and first bytes.
func bulk(b []byte) string {
	head := b
	if len(head) > 8 {
		head = head[:8]
	}
	s := byteCount(int64(len(b)))
	if len(head) > 0 {
		s += fmt.Sprintf(": % x", head)
		if len(b) > len(head) {
			s += " …"
		}
	}
	return s
}

func byteCount(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// clip shortens long text and makes control characters visible, so that
// a hostile value cannot reshape the page.
func clip(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == describeShown {
			b.WriteString(" …")
			break
		}
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			b.WriteRune(' ')
		case r == utf8.RuneError || unicode.IsControl(r):
			b.WriteRune('�')
		default:
			b.WriteRune(r)
		}
		n++
	}
	return b.String()
}

// spaced turns a PS3.6 keyword into words: PatientBirthDate → "Patient
// Birth Date", SOPInstanceUID → "SOP Instance UID".
func spaced(keyword string) string {
	rs := []rune(keyword)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				b.WriteRune(' ')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
