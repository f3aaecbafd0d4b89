package dicomdir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/securemedia/securemedia/internal/dicom"
)

// ErrNotDICOMDIR is returned for a Part 10 file whose Media Storage SOP
// Class is not Media Storage Directory Storage.
var ErrNotDICOMDIR = errors.New("not a DICOMDIR (Media Storage SOP Class is not 1.2.840.10008.1.3.10)")

// ErrBroken wraps every structural error in a DICOMDIR: bad offsets,
// cycles, missing directory information.
var ErrBroken = errors.New("broken DICOMDIR")

// MaxSize bounds the DICOMDIR files ParseFile accepts. A DICOMDIR for a
// full Blu-ray of small images is a few tens of MB.
const MaxSize = 1 << 30

// ParseFile reads and parses the DICOMDIR at path.
func ParseFile(path string) (*Directory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSize)
	}
	d, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Parse parses a DICOMDIR file held in memory. It follows the offsets of
// PS3.3 F.3.2.2 rather than the order of items in the sequence, so items
// may appear in any order. It tolerates what readers in the field
// tolerate (implicit VR or big endian encoding, missing "next"/"lower"
// offsets read as 0, records unreachable from the root) and records each
// such deviation in Directory.Warnings. Offsets that do not point at a
// record, and cycles, are errors wrapping ErrBroken.
func Parse(data []byte) (*Directory, error) {
	h, r, err := dicom.ReadHeader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if c := h.MetaString(dicom.MediaStorageSOPClassUID); c != MediaStorageDirectoryStorage {
		return nil, fmt.Errorf("%w: found %q", ErrNotDICOMDIR, c)
	}
	if h.Deflated {
		return nil, fmt.Errorf("%w: deflated transfer syntax is not allowed for a DICOMDIR", ErrBroken)
	}
	r.AllowShortLengths = true
	elems, err := r.ReadUntil(0xFFFFFFFF)
	if err != nil {
		return nil, err
	}
	if h.Syntax.BigEndian {
		for _, e := range elems {
			dicom.SwapToLittleEndian(e)
		}
	}
	d := &Directory{
		FileSetID:  dicom.Find(elems, dicom.FileSetID).String(),
		FileSetUID: h.MetaString(dicom.MediaStorageSOPInstanceUID),
	}
	seq := dicom.Find(elems, dicom.DirectoryRecordSequence)
	if seq == nil {
		return nil, fmt.Errorf("%w: no Directory Record Sequence (0004,1220)", ErrBroken)
	}
	if !seq.IsSequence() {
		return nil, fmt.Errorf("%w: (0004,1220) is not a sequence", ErrBroken)
	}
	first, ok := dicom.Find(elems, dicom.FirstDirectoryRecordOffset).Uint(binary.LittleEndian)
	if !ok {
		return nil, fmt.Errorf("%w: no Offset of the First Directory Record (0004,1200)", ErrBroken)
	}
	if r.Truncated {
		d.Warnings = append(d.Warnings, "the file ends before the declared length of the record sequence or of an item")
	}
	p := &parser{d: d, byOffset: map[int64]*item{}}
	for _, it := range seq.Items {
		ri, err := p.record(it)
		if err != nil {
			return nil, err
		}
		p.byOffset[it.Offset] = ri
		p.order = append(p.order, ri)
	}
	if d.Records, err = p.chain(int64(first), "root", 0); err != nil {
		return nil, err
	}
	p.finish()
	return d, nil
}

// item is a directory record as found in the sequence, with its links.
type item struct {
	rec         *Record
	offset      int64
	next, lower int64
	inUse       bool
	seen        bool
}

type parser struct {
	d        *Directory
	byOffset map[int64]*item
	order    []*item
}

func (p *parser) record(it *dicom.Item) (*item, error) {
	ri := &item{rec: &Record{}, offset: it.Offset, inUse: true}
	var haveNext, haveLower bool
	for _, e := range it.Elements {
		switch e.Tag {
		case dicom.NextDirectoryRecordOffset:
			v, _ := e.Uint(binary.LittleEndian)
			ri.next, haveNext = int64(v), true
		case dicom.LowerLevelDirectoryEntityOffset:
			v, _ := e.Uint(binary.LittleEndian)
			ri.lower, haveLower = int64(v), true
		case dicom.RecordInUseFlag:
			// F.3.2.2: 0000H means inactive; any other value reads as FFFFH.
			v, ok := e.Uint(binary.LittleEndian)
			ri.inUse = !ok || v != 0
		case dicom.DirectoryRecordType:
			ri.rec.Type = e.String()
		default:
			ri.rec.Elements = append(ri.rec.Elements, e)
		}
	}
	if ri.rec.Type == "" {
		return nil, fmt.Errorf("%w: record at offset %d has no Directory Record Type", ErrBroken, it.Offset)
	}
	if !haveNext || !haveLower {
		p.warnf("record %s at offset %d lacks its next/lower offset elements; read as 0", ri.rec.Type, it.Offset)
	}
	sortElements(ri.rec.Elements)
	return ri, nil
}

// maxLevels bounds the depth of the record tree. Table F.4-1 has at most
// five levels (PATIENT, STUDY, SERIES, instance, PRIVATE); the margin
// admits private extensions while keeping hostile input off the stack.
const maxLevels = 16

// chain follows "next" offsets from off and returns the records of one
// directory entity, recursing into lower levels.
func (p *parser) chain(off int64, parent string, depth int) ([]*Record, error) {
	if depth > maxLevels {
		return nil, fmt.Errorf("%w: directory entities nested deeper than %d levels", ErrBroken, maxLevels)
	}
	var out []*Record
	for off != 0 {
		ri := p.byOffset[off]
		if ri == nil {
			return nil, fmt.Errorf("%w: offset %d (from %s) does not point at a directory record", ErrBroken, off, parent)
		}
		if ri.seen {
			return nil, fmt.Errorf("%w: record at offset %d is referenced twice (cycle or shared entity)", ErrBroken, off)
		}
		ri.seen = true
		kids, err := p.chain(ri.lower, fmt.Sprintf("%s record at offset %d", ri.rec.Type, off), depth+1)
		if err != nil {
			return nil, err
		}
		ri.rec.Children = kids
		if ri.inUse {
			out = append(out, ri.rec)
		}
		off = ri.next
	}
	return out, nil
}

func (p *parser) finish() {
	n := 0
	for _, ri := range p.order {
		if !ri.seen {
			n++
		}
	}
	if n > 0 {
		p.warnf("%d directory records are not reachable from the root directory entity", n)
	}
	p.d.Walk(func(r *Record, depth int) {
		if !allowedAt(r.Type, depth) {
			p.warnf("%s record at level %d of the hierarchy (PS3.3 Table F.4-1)", r.Type, depth)
		}
	})
}

func (p *parser) warnf(format string, args ...any) {
	p.d.Warnings = append(p.d.Warnings, fmt.Sprintf(format, args...))
}

func sortElements(es []*dicom.Element) {
	// Insertion sort: records are short and usually already sorted.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Tag < es[j-1].Tag; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
