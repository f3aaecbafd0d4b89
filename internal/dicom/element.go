// Package dicom is a small, byte-preserving DICOM element codec (PS3.5
// chapter 7): it reads tags, VRs, lengths and raw value bytes from explicit
// and implicit VR little endian (and, for reading old files, explicit VR big
// endian) data sets, including File Meta Information and nested sequences,
// and it writes explicit VR little endian with defined lengths.
//
// It never re-encodes values: a string comes back exactly as its bytes
// were on disk, in whatever Specific Character Set the file used; DecodeText
// turns one into UTF-8 for display only.
//
// It is also the module's one tag dictionary (tags.go): every package names
// tags from here, by their PS3.6 keywords.
package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Tag is a data element tag, group in the high 16 bits.
type Tag uint32

// NewTag builds a tag from its group and element numbers.
func NewTag(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Group returns the group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the element number.
func (t Tag) Element() uint16 { return uint16(t) }

func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

// Delimiter tags (PS3.5 §7.5) and the undefined length.
const (
	ItemTag                 Tag    = 0xFFFEE000
	ItemDelimitationTag     Tag    = 0xFFFEE00D
	SequenceDelimitationTag Tag    = 0xFFFEE0DD
	undefinedLength                = 0xFFFFFFFF
	UndefinedLength         uint32 = undefinedLength
)

// Element is one data element. Value holds the raw value bytes exactly as
// read (in the byte order of the data set it came from), nil for sequences
// and for values the reader skipped. Items holds the items of a sequence.
type Element struct {
	Tag    Tag
	VR     string
	Value  []byte
	Items  []*Item
	Length uint32 // declared value length, possibly UndefinedLength
	Offset int64  // position of the first byte of the tag in the stream
	// Skipped is set when the reader did not keep the value because it
	// exceeded Reader.MaxValue.
	Skipped bool
}

// Item is one item of a sequence.
type Item struct {
	Offset   int64 // position of the Item tag (FFFE,E000) in the stream
	Elements []*Element
}

// IsSequence reports whether e is a sequence.
func (e *Element) IsSequence() bool { return e.VR == "SQ" }

// String returns the value as text with trailing padding (spaces and NULs)
// removed. Leading spaces are significant in DICOM and are kept; for exact
// bytes use Value.
func (e *Element) String() string {
	if e == nil {
		return ""
	}
	return strings.TrimRight(string(e.Value), " \x00")
}

// Strings splits a multi-valued string at backslashes (PS3.5 §6.4).
func (e *Element) Strings() []string {
	s := e.String()
	if s == "" {
		return nil
	}
	return strings.Split(s, `\`)
}

// Uint returns the first value of a US or UL element, decoded with order.
func (e *Element) Uint(order binary.ByteOrder) (uint32, bool) {
	if e == nil {
		return 0, false
	}
	switch {
	case e.VR == "UL" && len(e.Value) >= 4:
		return order.Uint32(e.Value), true
	case e.VR == "US" && len(e.Value) >= 2:
		return uint32(order.Uint16(e.Value)), true
	}
	return 0, false
}

// Find returns the first element with tag t in elems, or nil.
func Find(elems []*Element, t Tag) *Element {
	for _, e := range elems {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

// Equal reports whether a and b have the same tag, VR, value and items,
// ignoring offsets and declared lengths (which depend on the encoding).
func Equal(a, b *Element) bool {
	if a.Tag != b.Tag || a.VR != b.VR || !bytes.Equal(a.Value, b.Value) || len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		if !EqualElements(a.Items[i].Elements, b.Items[i].Elements) {
			return false
		}
	}
	return true
}

// EqualElements compares two element lists with Equal.
func EqualElements(a, b []*Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// longHeader reports whether a VR uses the 12-byte explicit header with a
// 32-bit length (PS3.5 §7.1.2, Table 7.1-1).
func longHeader(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// binaryVRs are the VRs whose values are byte-order dependent, with their
// unit size; they must be swapped when converting big endian to little.
var binaryVRs = map[string]int{
	"US": 2, "SS": 2, "OW": 2, "AT": 2,
	"UL": 4, "SL": 4, "FL": 4, "OF": 4, "OL": 4,
	"FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8,
}

// SwapToLittleEndian converts the values of e (and of its items) from big
// to little endian in place. Only needed for the retired Explicit VR Big
// Endian transfer syntax.
func SwapToLittleEndian(e *Element) {
	if n := binaryVRs[e.VR]; n > 0 {
		v := e.Value
		for i := 0; i+n <= len(v); i += n {
			for a, b := i, i+n-1; a < b; a, b = a+1, b-1 {
				v[a], v[b] = v[b], v[a]
			}
		}
	}
	for _, it := range e.Items {
		for _, c := range it.Elements {
			SwapToLittleEndian(c)
		}
	}
}
