// Reconciliation (IHE IRWF): the patient attributes of a data set are
// changed to the local patient identity. Patient ID, Issuer of Patient ID
// and Patient's Name are replaced, every UID is kept, and the original
// values are preserved in Other Patient IDs Sequence (0010,1002) and in a
// new item of Original Attributes Sequence (0400,0561) (PS3.3 C.12.1.1.9).
// Only the elements concerned are re-encoded. Every other element is
// copied byte for byte, and everything from the first element after
// (0400,0561), pixel data included, is streamed without being parsed.

package importer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Change is the new patient identity; empty fields are left alone.
type Change struct {
	PatientID, Issuer, PatientName string
	// System names the modifying system in Original Attributes Sequence.
	System string
	// Now is the modification time (zero: time.Now()).
	Now time.Time
}

// Empty reports whether c changes nothing.
func (c Change) Empty() bool { return c.PatientID == "" && c.Issuer == "" && c.PatientName == "" }

// Key identifies the change without revealing it (no patient data), for
// resume state files.
func (c Change) Key() string {
	if c.Empty() {
		return ""
	}
	h := sha256.Sum256([]byte(c.PatientID + "\x00" + c.Issuer + "\x00" + c.PatientName))
	return fmt.Sprintf("%x", h[:6])
}

// ErrSyntax is returned for data sets this package does not rewrite.
var ErrSyntax = errors.New("patient attributes can be changed only in little endian, non-deflated data sets")

// Rewrite returns the data set read from src, encoded in transfer syntax
// ts, with c applied.
func Rewrite(src io.Reader, ts string, c Change) (io.Reader, error) {
	syn, deflated := dicom.SyntaxOf(ts)
	if deflated || syn.BigEndian {
		return nil, ErrSyntax
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	var seen bytes.Buffer
	r := dicom.NewReader(io.TeeReader(src, &seen), 0, syn)
	elems, err := r.ReadUntil(dicom.OriginalAttributesSequence + 1)
	if err != nil {
		return nil, err
	}
	head, err := rewriteHead(seen.Bytes(), r.Pos(), elems, syn, c)
	if err != nil {
		return nil, err
	}
	// seen holds what the reader buffered beyond Pos; src the rest.
	return io.MultiReader(bytes.NewReader(head), bytes.NewReader(seen.Bytes()[r.Pos():]), src), nil
}

// Check validates the new values before anything is sent.
func (c Change) Check() error {
	for _, v := range []string{c.PatientID, c.Issuer, c.PatientName} {
		for _, ch := range v {
			if ch < 0x20 || ch > 0x7E || ch == '\\' {
				// A non-ASCII value would need the data set's own
				// character set, which may not be able to express it.
				return fmt.Errorf("new patient attributes must be printable ASCII without backslash")
			}
		}
	}
	if len(c.PatientID) > 64 || len(c.Issuer) > 64 {
		return fmt.Errorf("patient ID and issuer are at most 64 characters (LO)")
	}
	return nil
}

// rewriteHead re-encodes the elements read (raw bytes in raw[:end]):
// untouched ones are copied, changed or new ones encoded, in tag order.
func rewriteHead(raw []byte, end int64, elems []*dicom.Element, syn dicom.Syntax, c Change) ([]byte, error) {
	changed := c.changes(elems)
	byTag := map[dicom.Tag]*dicom.Element{}
	for _, e := range changed {
		byTag[e.Tag] = e
	}
	var out []byte
	for i, e := range elems {
		if _, ok := byTag[e.Tag]; ok {
			continue // replaced below, in order
		}
		next := end
		if i+1 < len(elems) {
			next = elems[i+1].Offset
		}
		out = appendInOrder(out, byTag, e.Tag, syn)
		out = append(out, raw[e.Offset:next]...)
	}
	out = appendInOrder(out, byTag, dicom.OriginalAttributesSequence+1, syn)
	if len(byTag) != 0 {
		return nil, fmt.Errorf("internal error: %d elements not written", len(byTag))
	}
	return out, nil
}

// appendInOrder writes the pending elements whose tags come before t.
func appendInOrder(out []byte, pending map[dicom.Tag]*dicom.Element, t dicom.Tag, syn dicom.Syntax) []byte {
	var tags []dicom.Tag
	for tag := range pending {
		if tag < t {
			tags = append(tags, tag)
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i] < tags[j] })
	for _, tag := range tags {
		e := pending[tag]
		dicom.PadValue(e)
		out, _ = dicom.AppendElementSyntax(out, e, syn)
		delete(pending, tag)
	}
	return out
}

func str(t dicom.Tag, vr, v string) *dicom.Element { return dicom.StringElement(t, vr, v) }

// changes computes the new and changed elements.
func (c Change) changes(elems []*dicom.Element) []*dicom.Element {
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	var out, originals []*dicom.Element
	set := func(t dicom.Tag, vr, v string) {
		if v == "" {
			return
		}
		old := dicom.Find(elems, t)
		if old != nil && old.String() == v {
			return
		}
		if old != nil {
			originals = append(originals, old)
		} else {
			originals = append(originals, str(t, vr, "")) // was absent: recorded empty
		}
		out = append(out, str(t, vr, v))
	}
	set(dicom.PatientName, "PN", c.PatientName)
	set(dicom.PatientID, "LO", c.PatientID)
	set(dicom.IssuerOfPatientID, "LO", c.Issuer)
	if len(originals) == 0 {
		return nil
	}
	sort.Slice(originals, func(i, j int) bool { return originals[i].Tag < originals[j].Tag })
	if c.PatientID != "" {
		out = append(out, otherIDs(elems))
	}
	system := c.System
	if system == "" {
		system = "SECUREMEDIA"
	}
	item := &dicom.Item{Elements: []*dicom.Element{
		{Tag: dicom.ModifiedAttributesSequence, VR: "SQ", Items: []*dicom.Item{{Elements: originals}}},
		str(dicom.AttributeModificationDateTime, "DT", now.UTC().Format("20060102150405")),
		str(dicom.ModifyingSystem, "LO", system),
		str(dicom.SourceOfPreviousValues, "LO", ""),
		str(dicom.ReasonForTheAttributeModification, "CS", "COERCE"),
	}}
	oa := &dicom.Element{Tag: dicom.OriginalAttributesSequence, VR: "SQ"}
	if old := dicom.Find(elems, dicom.OriginalAttributesSequence); old != nil && old.IsSequence() {
		oa.Items = append(oa.Items, old.Items...)
	}
	oa.Items = append(oa.Items, item)
	return append(out, oa)
}

// otherIDs keeps the original Patient ID (and issuer) in Other Patient IDs
// Sequence, after any items already there.
func otherIDs(elems []*dicom.Element) *dicom.Element {
	seq := &dicom.Element{Tag: dicom.OtherPatientIDsSequence, VR: "SQ"}
	if old := dicom.Find(elems, dicom.OtherPatientIDsSequence); old != nil && old.IsSequence() {
		seq.Items = append(seq.Items, old.Items...)
	}
	it := &dicom.Item{}
	if id := dicom.Find(elems, dicom.PatientID); id != nil {
		it.Elements = append(it.Elements, id)
	} else {
		it.Elements = append(it.Elements, str(dicom.PatientID, "LO", ""))
	}
	if is := dicom.Find(elems, dicom.IssuerOfPatientID); is != nil {
		it.Elements = append(it.Elements, is)
	}
	it.Elements = append(it.Elements, str(dicom.TypeOfPatientID, "CS", "TEXT"))
	seq.Items = append(seq.Items, it)
	return seq
}
