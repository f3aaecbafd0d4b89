// Package dicomdir reads and writes the DICOMDIR of a DICOM File-set: the
// Basic Directory IOD of PS3.3 Annex F, stored as described in PS3.10 §8.
//
// A Directory is a tree of Records (PATIENT → STUDY → SERIES → instance
// records such as IMAGE or SR DOCUMENT). Encode writes it as explicit VR
// little endian with defined lengths, so that every record offset (counted
// from byte 0 of the file, preamble included, to the record's Item tag) is
// exact; Parse reads any DICOMDIR (explicit or implicit VR, little or big
// endian, items in any order) back into the same tree. Build makes a
// Directory from scanned instances; Scan finds them.
//
// Key values are copied as the original bytes together with the Specific
// Character Set of the instance they came from, never re-encoded.
package dicomdir

import (
	"strings"

	"github.com/securemedia/securemedia/internal/dicom"
)

// MediaStorageDirectoryStorage is the SOP Class UID of a DICOMDIR.
const MediaStorageDirectoryStorage = "1.2.840.10008.1.3.10"

// Directory is a parsed or built DICOMDIR.
type Directory struct {
	FileSetID  string // (0004,1130), ≤ 16 characters of A–Z 0–9 _ and space
	FileSetUID string // (0002,0003), the SOP Instance UID of the DICOMDIR
	Records    []*Record
	// Warnings lists deviations Parse tolerated (records not reachable
	// from the root, missing offsets, unusual hierarchy).
	Warnings []string
}

// Record is one directory record. Elements holds every element of the
// record except the four that encode the tree and record type
// ((0004,1400), (0004,1410), (0004,1420), (0004,1430)), in ascending tag
// order, with values in little endian.
type Record struct {
	Type     string
	Elements []*dicom.Element
	Children []*Record
}

// Get returns the record's element with tag t, or nil.
func (r *Record) Get(t dicom.Tag) *dicom.Element { return dicom.Find(r.Elements, t) }

// Value returns the element's value with trailing padding removed; "" if
// absent. The bytes are in the record's Specific Character Set.
func (r *Record) Value(t dicom.Tag) string { return r.Get(t).String() }

// FileID returns the Referenced File ID components, nil if the record
// references no file.
func (r *Record) FileID() []string { return r.Get(dicom.ReferencedFileID).Strings() }

// Path returns the File ID as a slash-separated relative path.
func (r *Record) Path() string { return strings.Join(r.FileID(), "/") }

// Set replaces or adds an element, keeping Elements in tag order.
func (r *Record) Set(e *dicom.Element) {
	for i, c := range r.Elements {
		switch {
		case c.Tag == e.Tag:
			r.Elements[i] = e
			return
		case c.Tag > e.Tag:
			r.Elements = append(r.Elements[:i], append([]*dicom.Element{e}, r.Elements[i:]...)...)
			return
		}
	}
	r.Elements = append(r.Elements, e)
}

// Walk calls fn for every record in depth-first order (a record before its
// children), with the record's depth (0 for the root entity).
func (d *Directory) Walk(fn func(r *Record, depth int)) {
	var walk func(rs []*Record, depth int)
	walk = func(rs []*Record, depth int) {
		for _, r := range rs {
			fn(r, depth)
			walk(r.Children, depth+1)
		}
	}
	walk(d.Records, 0)
}

// Equal reports whether two directories hold the same File-set identity and
// the same records with the same elements (ignoring warnings).
func Equal(a, b *Directory) bool {
	return a.FileSetID == b.FileSetID && a.FileSetUID == b.FileSetUID && equalRecords(a.Records, b.Records)
}

func equalRecords(a, b []*Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !dicom.EqualElements(a[i].Elements, b[i].Elements) ||
			!equalRecords(a[i].Children, b[i].Children) {
			return false
		}
	}
	return true
}
