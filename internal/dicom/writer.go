package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The writer encodes explicit VR little endian with defined lengths only:
// that is what DICOMDIR (PS3.10 §8.6) and the STD-GEN profiles require, and
// defined lengths make every offset computable before writing.

// EncodedLen returns the number of bytes AppendElement writes for e.
func EncodedLen(e *Element) int64 {
	n := int64(8)
	if longHeader(e.VR) {
		n = 12
	}
	return n + valueLen(e)
}

// ItemLen returns the encoded length of an item, header included.
func ItemLen(it *Item) int64 { return 8 + elementsLen(it.Elements) }

func elementsLen(elems []*Element) int64 {
	var n int64
	for _, c := range elems {
		n += EncodedLen(c)
	}
	return n
}

func valueLen(e *Element) int64 {
	if e.VR == "SQ" {
		var n int64
		for _, it := range e.Items {
			n += ItemLen(it)
		}
		return n
	}
	return int64(len(e.Value) + len(e.Value)%2)
}

// padByte is the byte that makes a value even (PS3.5 §6.2): NUL for UI and
// binary VRs, space for text.
func padByte(vr string) byte {
	switch vr {
	case "UI", "OB", "UN", "OD", "OF", "OL", "OV", "OW":
		return 0
	}
	return ' '
}

// AppendElement appends the explicit VR little endian encoding of e to dst.
// Values are written as they are, padded to even length; an element whose
// value is too long for its VR's 16-bit length field is an error.
func AppendElement(dst []byte, e *Element) ([]byte, error) {
	return AppendElementSyntax(dst, e, ExplicitVRLittleEndian)
}

// AppendElementSyntax appends e in explicit or implicit VR little endian
// (DIMSE command sets, PS3.7 §6.3.1, are always implicit VR little
// endian), with defined lengths. Big endian is never written (retired).
func AppendElementSyntax(dst []byte, e *Element, s Syntax) ([]byte, error) {
	if s.BigEndian {
		return dst, errors.New("dicom: writing big endian is not supported")
	}
	if s.Implicit {
		return appendImplicit(dst, e)
	}
	if e.Skipped {
		return dst, fmt.Errorf("dicom: element %v: value was skipped when read, cannot write it", e.Tag)
	}
	if len(e.VR) != 2 || !validVR(e.VR) {
		return dst, fmt.Errorf("dicom: element %v: invalid VR %q", e.Tag, e.VR)
	}
	vl := valueLen(e)
	dst = binary.LittleEndian.AppendUint16(dst, e.Tag.Group())
	dst = binary.LittleEndian.AppendUint16(dst, e.Tag.Element())
	dst = append(dst, e.VR...)
	if longHeader(e.VR) {
		if vl >= undefinedLength {
			return dst, fmt.Errorf("dicom: element %v: value too long", e.Tag)
		}
		dst = append(dst, 0, 0)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(vl))
	} else {
		if vl > 0xFFFF {
			return dst, fmt.Errorf("dicom: element %v: %d bytes do not fit VR %s", e.Tag, vl, e.VR)
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(vl))
	}
	if e.VR != "SQ" {
		dst = append(dst, e.Value...)
		if len(e.Value)%2 == 1 {
			dst = append(dst, padByte(e.VR))
		}
		return dst, nil
	}
	for _, it := range e.Items {
		var err error
		if dst, err = AppendItem(dst, it); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendImplicit(dst []byte, e *Element) ([]byte, error) {
	if e.Skipped {
		return dst, fmt.Errorf("dicom: element %v: value was skipped when read, cannot write it", e.Tag)
	}
	vl := valueLenImplicit(e)
	if vl >= undefinedLength {
		return dst, fmt.Errorf("dicom: element %v: value too long", e.Tag)
	}
	dst = binary.LittleEndian.AppendUint16(dst, e.Tag.Group())
	dst = binary.LittleEndian.AppendUint16(dst, e.Tag.Element())
	dst = binary.LittleEndian.AppendUint32(dst, uint32(vl))
	if e.VR != "SQ" {
		dst = append(dst, e.Value...)
		if len(e.Value)%2 == 1 {
			dst = append(dst, padByte(e.VR))
		}
		return dst, nil
	}
	for _, it := range e.Items {
		dst = binary.LittleEndian.AppendUint16(dst, ItemTag.Group())
		dst = binary.LittleEndian.AppendUint16(dst, ItemTag.Element())
		dst = binary.LittleEndian.AppendUint32(dst, uint32(elementsLenImplicit(it.Elements)))
		for _, c := range it.Elements {
			var err error
			if dst, err = appendImplicit(dst, c); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// elementsLenImplicit is elementsLen for implicit VR, where every header
// is 8 bytes.
func elementsLenImplicit(elems []*Element) int64 {
	var n int64
	for _, c := range elems {
		n += 8 + valueLenImplicit(c)
	}
	return n
}

func valueLenImplicit(e *Element) int64 {
	if e.VR != "SQ" {
		return valueLen(e)
	}
	var n int64
	for _, it := range e.Items {
		n += 8 + elementsLenImplicit(it.Elements)
	}
	return n
}

// AppendItem appends an item of defined length.
func AppendItem(dst []byte, it *Item) ([]byte, error) {
	dst = binary.LittleEndian.AppendUint16(dst, ItemTag.Group())
	dst = binary.LittleEndian.AppendUint16(dst, ItemTag.Element())
	dst = binary.LittleEndian.AppendUint32(dst, uint32(elementsLen(it.Elements)))
	for _, c := range it.Elements {
		var err error
		if dst, err = AppendElement(dst, c); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// Value constructors for the writer.

// StringElement builds a text element, padding as PS3.5 §6.2 asks.
func StringElement(t Tag, vr, s string) *Element {
	return &Element{Tag: t, VR: vr, Value: []byte(s)}
}

// Uint16Element builds a US element.
func Uint16Element(t Tag, v uint16) *Element {
	return &Element{Tag: t, VR: "US", Value: binary.LittleEndian.AppendUint16(nil, v)}
}

// Uint32Element builds a UL element.
func Uint32Element(t Tag, v uint32) *Element {
	return &Element{Tag: t, VR: "UL", Value: binary.LittleEndian.AppendUint32(nil, v)}
}

// AppendFileMeta appends a preamble of zeros, "DICM" and the File Meta
// Information group with its group length (PS3.10 §7.1). meta must not
// contain (0002,0000); it is computed here.
func AppendFileMeta(dst []byte, meta []*Element) ([]byte, error) {
	dst = append(dst, make([]byte, PreambleLen)...)
	dst = append(dst, "DICM"...)
	gl := Uint32Element(FileMetaInformationGroupLength, uint32(elementsLen(meta)))
	var err error
	if dst, err = AppendElement(dst, gl); err != nil {
		return dst, err
	}
	for _, e := range meta {
		if dst, err = AppendElement(dst, e); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// PadValue makes e's value (and those of its items) even-length as
// PS3.5 §6.2 requires, the way AppendElement would write it, so that an
// element compares equal to itself after a write and a read.
func PadValue(e *Element) {
	if len(e.Value)%2 == 1 {
		e.Value = append(e.Value[:len(e.Value):len(e.Value)], padByte(e.VR))
	}
	for _, it := range e.Items {
		for _, c := range it.Elements {
			PadValue(c)
		}
	}
}
