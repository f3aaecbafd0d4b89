package dicomdir

import (
	"errors"
	"fmt"
	"io"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Implementation identification written into the File Meta Information of
// every DICOMDIR we make (PS3.7 D.3.3.2). The UID is a 2.25 (UUID-derived)
// root registered to nobody else by construction.
const (
	ImplementationClassUID    = "2.25.308765541185730027221811355046582625224"
	ImplementationVersionName = "SECUREMEDIA"
)

// Encode writes d as a DICOMDIR file: preamble, File Meta Information and
// the Basic Directory data set in explicit VR little endian with defined
// lengths (PS3.10 §8.6 requires explicit VR little endian).
//
// Records are laid out depth first (each record directly followed by its
// subtree), which is what dcmmkdir does and what readers that scan the
// sequence linearly expect. Offsets are exact: an item's encoded length
// does not depend on the offset values inside it, so one sizing pass fixes
// every position before anything is written.
func Encode(w io.Writer, d *Directory) error {
	b, err := Marshal(d)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Marshal returns the encoded DICOMDIR (see Encode).
func Marshal(d *Directory) ([]byte, error) {
	if err := checkFileSetID(d.FileSetID); err != nil {
		return nil, err
	}
	if d.FileSetUID == "" {
		return nil, errors.New("dicomdir: File-set UID is empty")
	}
	buf, err := dicom.AppendFileMeta(nil, []*dicom.Element{
		{Tag: dicom.FileMetaInformationVersion, VR: "OB", Value: []byte{0, 1}},
		dicom.StringElement(dicom.MediaStorageSOPClassUID, "UI", MediaStorageDirectoryStorage),
		dicom.StringElement(dicom.MediaStorageSOPInstanceUID, "UI", d.FileSetUID),
		dicom.StringElement(dicom.TransferSyntaxUID, "UI", dicom.ExplicitVRLittleEndianUID),
		dicom.StringElement(dicom.ImplementationClassUID, "UI", ImplementationClassUID),
		dicom.StringElement(dicom.ImplementationVersionName, "SH", ImplementationVersionName),
	})
	if err != nil {
		return nil, err
	}
	flat, err := flatten(d.Records)
	if err != nil {
		return nil, err
	}
	head := []*dicom.Element{
		dicom.StringElement(dicom.FileSetID, "CS", d.FileSetID),
		dicom.Uint32Element(dicom.FirstDirectoryRecordOffset, 0),
		dicom.Uint32Element(dicom.LastDirectoryRecordOffset, 0),
		dicom.Uint16Element(dicom.FileSetConsistencyFlag, 0), // F.3.2.1: FFFFH must not be written
	}
	// Sizing pass: position of each item's tag from byte 0 of the file.
	pos := int64(len(buf)) + 12 // + the sequence header
	for _, e := range head {
		pos += dicom.EncodedLen(e)
	}
	for _, f := range flat {
		f.offset = pos
		pos += dicom.ItemLen(f.item)
	}
	if pos > 0xFFFFFFFF {
		return nil, errors.New("dicomdir: DICOMDIR larger than 4 GiB cannot be addressed by UL offsets")
	}
	fillOffsets(flat)
	if len(d.Records) > 0 {
		head[1] = dicom.Uint32Element(dicom.FirstDirectoryRecordOffset, uint32(flat[0].offset))
		head[2] = dicom.Uint32Element(dicom.LastDirectoryRecordOffset, uint32(lastRoot(flat).offset))
	}
	seq := &dicom.Element{Tag: dicom.DirectoryRecordSequence, VR: "SQ"}
	for _, f := range flat {
		seq.Items = append(seq.Items, f.item)
	}
	for _, e := range append(head, seq) {
		if buf, err = dicom.AppendElement(buf, e); err != nil {
			return nil, err
		}
	}
	if int64(len(buf)) != pos {
		return nil, fmt.Errorf("dicomdir: internal error: encoded %d bytes, sized %d", len(buf), pos)
	}
	return buf, nil
}

// flatRecord is a record in file order with its item and links.
type flatRecord struct {
	rec          *Record
	item         *dicom.Item
	offset       int64
	next, lower  *flatRecord
	root         bool
	next32, lo32 *dicom.Element
}

func flatten(roots []*Record) ([]*flatRecord, error) {
	var out []*flatRecord
	var walk func(rs []*Record, root bool) (*flatRecord, error)
	walk = func(rs []*Record, root bool) (*flatRecord, error) {
		var first, prev *flatRecord
		for _, r := range rs {
			f, err := newFlat(r, root)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
			if f.lower, err = walk(r.Children, false); err != nil {
				return nil, err
			}
			if prev != nil {
				prev.next = f
			} else {
				first = f
			}
			prev = f
		}
		return first, nil
	}
	_, err := walk(roots, true)
	return out, err
}

func newFlat(r *Record, root bool) (*flatRecord, error) {
	if r.Type == "" {
		return nil, errors.New("dicomdir: record without a type")
	}
	f := &flatRecord{rec: r, root: root,
		next32: dicom.Uint32Element(dicom.NextDirectoryRecordOffset, 0),
		lo32:   dicom.Uint32Element(dicom.LowerLevelDirectoryEntityOffset, 0),
	}
	elems := []*dicom.Element{
		f.next32,
		dicom.Uint16Element(dicom.RecordInUseFlag, 0xFFFF), // F.3.2.2: in use; 0000H must not be written
		f.lo32,
		dicom.StringElement(dicom.DirectoryRecordType, "CS", r.Type),
	}
	prev := dicom.DirectoryRecordType
	for _, e := range r.Elements {
		if e.Tag <= prev {
			return nil, fmt.Errorf("dicomdir: %s record: element %v out of order or reserved", r.Type, e.Tag)
		}
		prev = e.Tag
		elems = append(elems, e)
	}
	f.item = &dicom.Item{Elements: elems}
	return f, nil
}

func fillOffsets(flat []*flatRecord) {
	for _, f := range flat {
		if f.next != nil {
			f.next32.Value = dicom.Uint32Element(0, uint32(f.next.offset)).Value
		}
		if f.lower != nil {
			f.lo32.Value = dicom.Uint32Element(0, uint32(f.lower.offset)).Value
		}
	}
}

func lastRoot(flat []*flatRecord) *flatRecord {
	var last *flatRecord
	for _, f := range flat {
		if f.root {
			last = f
		}
	}
	return last
}

// checkFileSetID enforces PS3.10 §8.5 / PS3.3 F.3.2.1: up to 16 characters
// of A–Z, 0–9, underscore and space.
func checkFileSetID(id string) error {
	if len(id) > 16 {
		return fmt.Errorf("dicomdir: File-set ID %q longer than 16 characters", id)
	}
	for _, c := range []byte(id) {
		if !isFileIDChar(c) && c != ' ' {
			return fmt.Errorf("dicomdir: File-set ID %q: only A-Z, 0-9, _ and space allowed", id)
		}
	}
	return nil
}

func isFileIDChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
