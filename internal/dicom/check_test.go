package dicom_test

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

const corpus = "../../../shared/corpus"

// corpusFile is one Part 10 file of the shared corpus, by MANIFEST.tsv.
type corpusFile struct {
	path   string // relative to corpus
	part10 bool   // has the DICM prefix
}

func corpusFiles(t *testing.T) []corpusFile {
	t.Helper()
	testtool.RequirePath(t, corpus, "the shared corpus")
	b, err := os.ReadFile(filepath.Join(corpus, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	col := map[string]int{}
	for i, name := range strings.Split(lines[0], "\t") {
		col[name] = i
	}
	var out []corpusFile
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		out = append(out, corpusFile{path: f[col["path"]], part10: f[col["part10_dicm"]] == "yes"})
	}
	if len(out) < 100 {
		t.Fatalf("MANIFEST.tsv lists only %d files", len(out))
	}
	return out
}

// brokenCorpus are the corpus's Part 10 files that are not whole, with
// what CheckFile must say about them.
var brokenCorpus = map[string]string{
	// Cut short on purpose by pydicom's authors.
	"pydicom/test_files/MR_truncated.dcm":     "offset 1488: truncated: pixel data (7FE0,0010) declares 8192 bytes, the data ends 62 bytes short",
	"pydicom/test_files/rtplan_truncated.dcm": "offset 1410: truncated: element (300A,00B0) declares 976 bytes, the data ends 265 bytes short",
	// Elements were removed from the last record without fixing its
	// item length (dcmtk and dicomdir.Parse accept it as a short length).
	"pydicom/dicomdirtests/DICOMDIR-nooffset": "offset 10860: truncated: item of sequence (0004,1220) declares 248 bytes, the data ends 24 bytes short",
	// No transfer syntax: its data set cannot be read.
	"pydicom/test_files/meta_missing_tsyntax.dcm": "file meta information has no Transfer Syntax UID",
}

func checkBytes(b []byte) (*dicom.Header, error) { return dicom.CheckFile(bytes.NewReader(b)) }

// Every whole Part 10 file of the corpus passes, whatever its transfer
// syntax; the broken ones fail saying why, the ones without a DICM
// prefix fail with ErrNotPart10.
func TestCheckFileCorpus(t *testing.T) {
	syntaxes := map[string]int{}
	for _, cf := range corpusFiles(t) {
		b, err := os.ReadFile(filepath.Join(corpus, cf.path))
		if err != nil {
			t.Fatal(err)
		}
		h, err := checkBytes(b)
		switch want, broken := brokenCorpus[cf.path]; {
		case !cf.part10:
			if !errors.Is(err, dicom.ErrNotPart10) {
				t.Errorf("%s: got %v, want ErrNotPart10", cf.path, err)
			}
		case broken:
			if !errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: got %v, want ErrMalformed with %q", cf.path, err, want)
			}
		case err != nil:
			t.Errorf("%s: %v", cf.path, err)
		case h == nil || h.TransferSyntaxUID == "" || h.TransferSyntaxUID != h.MetaString(dicom.TransferSyntaxUID):
			t.Errorf("%s: header %+v", cf.path, h)
		default:
			syntaxes[h.TransferSyntaxUID]++
		}
	}
	// The corpus must have exercised what CheckFile claims to handle.
	for uid, what := range map[string]string{
		dicom.ExplicitVRLittleEndianUID: "explicit VR little endian",
		dicom.ImplicitVRLittleEndianUID: "implicit VR little endian",
		dicom.ExplicitVRBigEndianUID:    "big endian",
		dicom.DeflatedExplicitVRUID:     "deflated",
		"1.2.840.10008.1.2.4.50":        "encapsulated JPEG baseline",
		"1.2.840.10008.1.2.4.90":        "encapsulated JPEG 2000",
		"1.2.840.10008.1.2.5":           "encapsulated RLE",
	} {
		if syntaxes[uid] == 0 {
			t.Errorf("no %s file of the corpus passed", what)
		}
	}
	t.Logf("passed, by transfer syntax: %v", syntaxes)
}

var offsetRE = regexp.MustCompile(`at offset (\d+)`)

// errOffset returns the offset an error names, or -1.
func errOffset(err error) int64 {
	m := offsetRE.FindStringSubmatch(err.Error())
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// wantTruncated fails unless err reports a truncation, wrapping
// ErrMalformed, at an offset within the first cut bytes (for a plain
// file; a deflated one counts inflated bytes).
func wantTruncated(t *testing.T, name string, cut int, deflated bool, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s cut to %d bytes: passed", name, cut)
	case !errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), "truncated"):
		t.Errorf("%s cut to %d bytes: got %v, want a truncation wrapping ErrMalformed", name, cut, err)
	case !deflated && (errOffset(err) < 0 || errOffset(err) > int64(cut)):
		t.Errorf("%s cut to %d bytes: %v: the offset is not within the file", name, cut, err)
	}
}

// topLevelStarts returns the offsets at which top-level data set elements
// start in a plain (not deflated) file, and the data set's offset.
func topLevelStarts(t *testing.T, b []byte) (map[int64]bool, int64) {
	t.Helper()
	h, r, err := dicom.ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r.MaxValue = 64
	starts := map[int64]bool{}
	for {
		e, err := r.Next()
		if err == io.EOF {
			return starts, h.DataSetOffset
		}
		if err != nil {
			t.Fatal(err)
		}
		starts[e.Offset] = true
	}
}

// Every whole corpus file cut inside its meta information, its data set or
// its last byte fails with ErrMalformed. A cut exactly between two
// top-level elements (but the first) leaves a whole, shorter data set,
// which no reader can tell; those cuts are only counted.
func TestCheckFileTruncatedCorpus(t *testing.T) {
	cuts, between := 0, 0
	for _, cf := range corpusFiles(t) {
		if _, broken := brokenCorpus[cf.path]; broken || !cf.part10 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(corpus, cf.path))
		if err != nil {
			t.Fatal(err)
		}
		h, err := checkBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", cf.path, err)
		}
		var starts map[int64]bool
		if !h.Deflated {
			starts, _ = topLevelStarts(t, b)
		}
		ds := int(h.DataSetOffset)
		for _, cut := range []int{30000, len(b) / 2, len(b) - 1, len(b) - 2, 0, 100, 132, 140, ds - 1, ds} {
			if cut >= len(b) {
				continue
			}
			_, err := checkBytes(b[:cut])
			if cut > ds && starts[int64(cut)] {
				between++
				continue
			}
			cuts++
			wantTruncated(t, cf.path, cut, h.Deflated, err)
			if cut < dicom.PreambleLen+4 && !errors.Is(err, dicom.ErrNotPart10) {
				t.Errorf("%s cut to %d bytes: %v does not say ErrNotPart10", cf.path, cut, err)
			}
		}
	}
	t.Logf("%d cuts failed as they must, %d fell between top-level elements", cuts, between)
	if cuts < 1000 {
		t.Errorf("only %d cuts checked", cuts)
	}
}

// The error names the element and how much of it is missing.
func TestCheckFileTruncatedPixelDataMessage(t *testing.T) {
	b := dicomtest.ImageBytes(t, dicomtest.Image{UID: "1", Rows: 512, Cols: 512, Bits: 16, Pixels: make([]byte, 512*512*2)})
	i := bytes.Index(b, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W'})
	_, err := checkBytes(b[:len(b)-494000])
	want := fmt.Sprintf("malformed DICOM data at offset %d: truncated: pixel data (7FE0,0010) declares 524288 bytes, the data ends 494000 bytes short", i)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// raw builds a data set byte by byte, explicit VR little endian.
type raw struct {
	b      []byte
	starts []int // offsets of the top-level elements
}

func (w *raw) tag(t dicom.Tag) {
	w.b = binary.LittleEndian.AppendUint16(w.b, t.Group())
	w.b = binary.LittleEndian.AppendUint16(w.b, t.Element())
}

// header appends an element header; long VRs take a 32-bit length.
func (w *raw) header(t dicom.Tag, vr string, n uint32) {
	w.tag(t)
	w.b = append(w.b, vr...)
	switch vr {
	case "OB", "OW", "SQ", "UN", "UT":
		w.b = append(w.b, 0, 0)
		w.b = binary.LittleEndian.AppendUint32(w.b, n)
	default:
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(n))
	}
}

func (w *raw) delim(t dicom.Tag, n uint32) {
	w.tag(t)
	w.b = binary.LittleEndian.AppendUint32(w.b, n)
}

func (w *raw) top() { w.starts = append(w.starts, len(w.b)) }

func (w *raw) element(e *dicom.Element) {
	var err error
	if w.b, err = dicom.AppendElement(w.b, e); err != nil {
		panic(err)
	}
}

// marks are places in the structured file, for the expected messages.
type marks struct {
	inDefinedItem     int // after the header of an item of defined length
	beforeItemDelim   int // before an item delimiter (nested item)
	beforeSeqDelim    int // before a sequence delimiter
	betweenFragments  int // after the first fragment
	inFragment        int // inside the second fragment
	definedSeq, undef int // offsets of the two sequences
	pixelData         int
}

// structured returns a Part 10 file with a sequence of defined length,
// nested sequences and items of undefined length, and encapsulated pixel
// data, in the syntax given by ts (explicit VR little endian encoding),
// and places in it.
func structured(ts string) (*raw, marks) {
	var m marks
	meta := []*dicom.Element{
		{Tag: dicom.FileMetaInformationVersion, VR: "OB", Value: []byte{0, 1}},
		dicom.StringElement(dicom.MediaStorageSOPClassUID, "UI", "1.2.840.10008.5.1.4.1.1.7"),
		dicom.StringElement(dicom.MediaStorageSOPInstanceUID, "UI", "2.25.77"),
		dicom.StringElement(dicom.TransferSyntaxUID, "UI", ts),
	}
	b, err := dicom.AppendFileMeta(nil, meta)
	if err != nil {
		panic(err)
	}
	w := &raw{b: b}
	w.top()
	w.element(dicom.StringElement(dicom.SOPClassUID, "UI", "1.2.840.10008.5.1.4.1.1.7"))
	w.top()
	m.definedSeq = len(w.b)
	w.element(&dicom.Element{Tag: dicom.ReferencedImageSequence, VR: "SQ", Items: []*dicom.Item{{Elements: []*dicom.Element{
		dicom.StringElement(dicom.ReferencedSOPClassUID, "UI", "1.2.840.10008.5.1.4.1.1.2"),
		dicom.StringElement(dicom.ReferencedSOPInstanceUID, "UI", "2.25.78"),
	}}}})
	m.inDefinedItem = m.definedSeq + 12 + 8
	for _, e := range []*dicom.Element{
		dicom.Uint16Element(dicom.SamplesPerPixel, 1),
		dicom.StringElement(dicom.PhotometricInterpretation, "CS", "MONOCHROME2"),
		dicom.Uint16Element(dicom.Rows, 2),
		dicom.Uint16Element(dicom.Columns, 2),
		dicom.Uint16Element(dicom.BitsAllocated, 8),
	} {
		w.top()
		w.element(e)
	}
	// Content Sequence, undefined lengths throughout, one nested level.
	w.top()
	m.undef = len(w.b)
	w.header(dicom.ContentSequence, "SQ", dicom.UndefinedLength)
	w.delim(dicom.ItemTag, dicom.UndefinedLength)
	w.element(dicom.StringElement(dicom.ValueType, "CS", "CODE"))
	w.header(dicom.ConceptNameCodeSequence, "SQ", dicom.UndefinedLength)
	w.delim(dicom.ItemTag, dicom.UndefinedLength)
	w.element(dicom.StringElement(dicom.CodeValue, "SH", "121071"))
	m.beforeItemDelim = len(w.b)
	w.delim(dicom.ItemDelimitationTag, 0)
	w.delim(dicom.SequenceDelimitationTag, 0)
	w.delim(dicom.ItemDelimitationTag, 0)
	m.beforeSeqDelim = len(w.b)
	w.delim(dicom.SequenceDelimitationTag, 0)
	// Encapsulated pixel data: a Basic Offset Table and two fragments.
	w.top()
	m.pixelData = len(w.b)
	w.header(dicom.PixelData, "OB", dicom.UndefinedLength)
	w.delim(dicom.ItemTag, 4)
	w.b = append(w.b, 0, 0, 0, 0)
	w.delim(dicom.ItemTag, 6)
	w.b = append(w.b, 1, 2, 3, 4, 5, 6)
	m.betweenFragments = len(w.b)
	w.delim(dicom.ItemTag, 4)
	m.inFragment = len(w.b) + 2
	w.b = append(w.b, 7, 8, 9, 10)
	w.delim(dicom.SequenceDelimitationTag, 0)
	return w, m
}

// Cut at every byte, a file of sequences, items and fragments of defined
// and undefined length fails with a truncation; only cuts between two
// top-level elements pass, as they must.
func TestCheckFileTruncatedEverywhere(t *testing.T) {
	w, m := structured("1.2.840.10008.1.2.4.50")
	if _, err := checkBytes(w.b); err != nil {
		t.Fatalf("whole file: %v", err)
	}
	between := map[int]bool{}
	for _, s := range w.starts[1:] {
		between[s] = true
	}
	for cut := 0; cut < len(w.b); cut++ {
		h, err := checkBytes(w.b[:cut])
		if between[cut] {
			if err != nil || h == nil {
				t.Errorf("cut between top-level elements at %d: %v", cut, err)
			}
			continue
		}
		wantTruncated(t, "structured file", cut, false, err)
	}
	for _, c := range []struct {
		cut  int
		want string
	}{
		{10, "at offset 10: truncated: the file ends inside the 132-byte preamble and DICM prefix"},
		{136, "at offset 132: truncated: the data ends inside the header of an element (4 of 8 bytes)"},
		{142, "at offset 132: truncated: element (0002,0000) declares 4 bytes, the data ends 2 bytes short"},
		{bytes.Index(w.b, []byte{0x02, 0x00, 0x10, 0x00, 'U', 'I'}), "truncated: the file ends inside the file meta information (file meta information has no Transfer Syntax UID)"},
		{w.starts[0], fmt.Sprintf("at offset %d: truncated: the file ends after the file meta information, with no data set", w.starts[0])},
		{m.definedSeq + 5, fmt.Sprintf("at offset %d: truncated: the data ends inside the header of an element (5 of 8 bytes)", m.definedSeq)},
		{m.definedSeq + 10, fmt.Sprintf("at offset %d: truncated: the data ends inside the length of element (0008,1140) (2 of 4 bytes)", m.definedSeq)},
		{m.definedSeq + 12, fmt.Sprintf("at offset %d: truncated: sequence (0008,1140) declares", m.definedSeq)},
		{m.inDefinedItem, fmt.Sprintf("at offset %d: truncated: item of sequence (0008,1140) declares", m.definedSeq+12)},
		{m.beforeItemDelim, "truncated: item of sequence (0040,A043), of undefined length, has no item delimiter"},
		{m.beforeItemDelim + 6, fmt.Sprintf("at offset %d: truncated: the data ends inside an item delimiter (6 of 8 bytes)", m.beforeItemDelim)},
		{m.beforeSeqDelim, fmt.Sprintf("at offset %d: truncated: sequence (0040,A730) of undefined length has no sequence delimiter, the data ends at offset %d", m.undef, m.beforeSeqDelim)},
		{m.betweenFragments, fmt.Sprintf("at offset %d: truncated: encapsulated pixel data (7FE0,0010) has no sequence delimiter", m.pixelData)},
		{m.inFragment, fmt.Sprintf("at offset %d: truncated: a pixel data fragment declares 4 bytes, the data ends 2 bytes short", m.betweenFragments)},
		{len(w.b) - 4, "truncated: the data ends inside the header of a pixel data fragment (4 of 8 bytes)"},
	} {
		_, err := checkBytes(w.b[:c.cut])
		if err == nil || !errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("cut at %d: got %v, want %q", c.cut, err, c.want)
		}
	}
}

// deflate returns the Part 10 file b with its data set deflated and the
// transfer syntax set to Deflated Explicit VR Little Endian.
func deflate(t *testing.T, b []byte) []byte {
	t.Helper()
	h, _, err := dicom.ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var meta []*dicom.Element
	for _, e := range h.Meta {
		switch e.Tag {
		case dicom.FileMetaInformationGroupLength:
		case dicom.TransferSyntaxUID:
			meta = append(meta, dicom.StringElement(e.Tag, "UI", dicom.DeflatedExplicitVRUID))
		default:
			meta = append(meta, e)
		}
	}
	out, err := dicom.AppendFileMeta(nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(b[h.DataSetOffset:])
	fw.Close()
	return append(out, buf.Bytes()...)
}

// A deflated file passes whole, with a NUL pad or a right gzip trailer;
// cut anywhere in its deflated bytes, or followed by anything else, it
// fails.
func TestCheckFileDeflated(t *testing.T) {
	w, _ := structured(dicom.ExplicitVRLittleEndianUID)
	plain := w.b
	b := deflate(t, plain)
	h, err := checkBytes(b)
	if err != nil || !h.Deflated {
		t.Fatalf("whole deflated file: %v %+v", err, h)
	}
	for cut := int(h.DataSetOffset); cut < len(b); cut++ {
		_, err := checkBytes(b[:cut])
		wantTruncated(t, "deflated file", cut, true, err)
	}
	ph, _, err := dicom.ReadHeader(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	ds := plain[ph.DataSetOffset:]
	var trailer []byte
	trailer = binary.LittleEndian.AppendUint32(trailer, crc32.ChecksumIEEE(ds))
	trailer = binary.LittleEndian.AppendUint32(trailer, uint32(len(ds)))
	badCRC := bytes.Clone(trailer)
	badCRC[0] ^= 1
	for _, c := range []struct {
		name, tail, want string
	}{
		{"a NUL pad", "\x00", ""},
		{"a gzip trailer", string(trailer), ""},
		{"a gzip trailer with a wrong CRC", string(badCRC), "the gzip trailer after the deflated data set does not match it"},
		{"a gzip trailer with a wrong length", string(trailer[:4]) + "\x01\x00\x00\x00", "does not match it"},
		{"junk", "junk", "4 bytes follow the end of the deflated data set: a truncated gzip trailer, or junk"},
		{"a non-NUL byte", "x", "1 bytes follow the end of the deflated data set"},
		{"two NULs", "\x00\x00", "2 bytes follow the end of the deflated data set"},
		{"a gzip trailer and a NUL", string(trailer) + "\x00", "9 bytes follow the end of the deflated data set"},
		{"a longer tail", strings.Repeat("z", 1000), "1000 bytes follow the end of the deflated data set"},
	} {
		_, err := checkBytes(append(bytes.Clone(b), c.tail...))
		if c.want == "" && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.want != "" && (!errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// A corrupt deflate stream is a read error, not a clean end.
	bad := bytes.Clone(b)
	for i := int(h.DataSetOffset) + 1; i < len(bad); i++ {
		bad[i] = 0xFF
	}
	if _, err := checkBytes(bad); !errors.Is(err, dicom.ErrMalformed) {
		t.Errorf("corrupt deflate stream: %v", err)
	}
}

// shortenPixelData returns b with its top-level Pixel Data (of defined
// length) shorter by n bytes, length field and value both, and the
// original length.
func shortenPixelData(t *testing.T, b []byte, n int) ([]byte, uint32) {
	t.Helper()
	h, r, err := dicom.ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r.MaxValue = 64
	for {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("no pixel data: %v", err)
		}
		if e.Tag != dicom.PixelData {
			continue
		}
		if e.Length == dicom.UndefinedLength {
			t.Fatal("encapsulated pixel data")
		}
		var o binary.ByteOrder = binary.LittleEndian
		if h.Syntax.BigEndian {
			o = binary.BigEndian
		}
		lenAt := e.Offset + 8 // explicit VR: OB/OW have a 32-bit length after 8 bytes
		if h.Syntax.Implicit {
			lenAt = e.Offset + 4
		}
		if o.Uint32(b[lenAt:]) != e.Length {
			t.Fatalf("length field not found at %d", lenAt)
		}
		out := bytes.Clone(b)
		o.PutUint32(out[lenAt:], e.Length-uint32(n))
		end := int(lenAt) + 4 + int(e.Length)
		return append(out[:end-n], b[end:]...), e.Length
	}
}

// Native pixel data shortened consistently (its length field too) reads as
// a whole element; only the size its header implies shows it is cut.
func TestCheckFileShortPixelData(t *testing.T) {
	testtool.RequirePath(t, corpus, "the shared corpus")
	for _, c := range []struct {
		path  string
		short int
	}{
		{"pydicom/test_files/CT_small.dcm", 2},                     // explicit little endian
		{"pydicom/test_files/MR_small_implicit.dcm", 2},            // implicit
		{"pydicom/test_files/MR_small_bigendian.dcm", 2},           // big endian length field
		{"pydicom/test_files/liver_1frame.dcm", 2},                 // 1 bit allocated
		{"pydicom/test_files/SC_rgb_small_odd.dcm", 2},             // 27 bytes padded to 28
		{"pydicom/test_files/SC_ybr_full_422_uncompressed.dcm", 2}, // 4:2:2 subsampled
		{"pydicom/test_files/rtdose_expb.dcm", 400},                // 15 frames, one missing
		{"suyashkumar-dicom/5.dcm", 524288},                        // 2 frames, one missing
	} {
		b, err := os.ReadFile(filepath.Join(corpus, c.path))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkBytes(b); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		short, n := shortenPixelData(t, b, c.short)
		_, err = checkBytes(short)
		want := fmt.Sprintf("pixel data (7FE0,0010) holds %d bytes, its header implies ", int(n)-c.short)
		if !errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s shortened by %d: got %v, want %q", c.path, c.short, err, want)
		}
	}
}

// The implied size follows Rows, Columns, Samples per Pixel, Bits
// Allocated and Number of Frames, in every syntax; one byte of padding
// and longer values pass.
func TestCheckFileImpliedSize(t *testing.T) {
	for _, c := range []struct {
		name    string
		img     dicomtest.Image
		implied int // 0: no size check
		n       int // bytes given
	}{
		{"16 bit, exact", dicomtest.Image{Rows: 4, Cols: 3, Bits: 16}, 24, 24},
		{"16 bit, short", dicomtest.Image{Rows: 4, Cols: 3, Bits: 16}, 24, 22},
		{"16 bit, longer", dicomtest.Image{Rows: 4, Cols: 3, Bits: 16}, 24, 40},
		{"implicit VR, short", dicomtest.Image{TS: dicom.ImplicitVRLittleEndianUID, Rows: 4, Cols: 3, Bits: 16}, 24, 22},
		{"8 bit odd, padded", dicomtest.Image{Rows: 3, Cols: 3, Bits: 8}, 9, 10},
		{"8 bit odd, short", dicomtest.Image{Rows: 3, Cols: 3, Bits: 8}, 9, 8},
		{"RGB", dicomtest.Image{Rows: 2, Cols: 2, Bits: 8, SPP: 3, Photometric: "RGB"}, 12, 10},
		{"YBR_FULL_422 exact", dicomtest.Image{Rows: 2, Cols: 2, Bits: 8, SPP: 3, Photometric: "YBR_FULL_422"}, 8, 8},
		{"YBR_FULL_422 short", dicomtest.Image{Rows: 2, Cols: 2, Bits: 8, SPP: 3, Photometric: "YBR_FULL_422"}, 8, 6},
		{"3 frames", dicomtest.Image{Rows: 2, Cols: 2, Bits: 16, Frames: "3"}, 24, 24},
		{"3 frames, one missing", dicomtest.Image{Rows: 2, Cols: 2, Bits: 16, Frames: "3"}, 24, 16},
		{"frames with spaces", dicomtest.Image{Rows: 2, Cols: 2, Bits: 16, Frames: " 3"}, 24, 16},
		{"frames with a sign", dicomtest.Image{Rows: 2, Cols: 2, Bits: 16, Frames: "+3"}, 24, 16},
		{"1 bit, 3x3", dicomtest.Image{Rows: 3, Cols: 3, Bits: 1, Stored: 1}, 2, 2},
		{"1 bit, 4x4 frames 3, short", dicomtest.Image{Rows: 4, Cols: 4, Bits: 1, Stored: 1, Frames: "3"}, 6, 4},
		{"32 bit", dicomtest.Image{Rows: 2, Cols: 2, Bits: 32}, 16, 14},
		// Number of Frames that is no number: the size is unknown.
		{"unreadable frames", dicomtest.Image{Rows: 2, Cols: 2, Bits: 16, Frames: "1A"}, 0, 2},
	} {
		c.img.Pixels = make([]byte, c.n)
		b := dicomtest.ImageBytes(t, c.img)
		_, err := checkBytes(b)
		given := c.n + c.n%2
		if c.implied == 0 || given >= c.implied {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		want := fmt.Sprintf("pixel data (7FE0,0010) holds %d bytes, its header implies %d (", given, c.implied)
		if !errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", c.name, err, want)
		}
	}
}

// Encapsulated pixel data needs its Basic Offset Table item and at least
// one fragment, then its sequence delimiter.
func TestCheckFileEncapsulated(t *testing.T) {
	w, m := structured("1.2.840.10008.1.2.4.50")
	head := w.b[:m.pixelData]
	build := func(bot []byte, frags ...[]byte) []byte {
		x := &raw{b: bytes.Clone(head)}
		x.header(dicom.PixelData, "OB", dicom.UndefinedLength)
		if bot != nil {
			x.delim(dicom.ItemTag, uint32(len(bot)))
			x.b = append(x.b, bot...)
		}
		for _, f := range frags {
			x.delim(dicom.ItemTag, uint32(len(f)))
			x.b = append(x.b, f...)
		}
		x.delim(dicom.SequenceDelimitationTag, 0)
		return x.b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty offset table, one fragment", build([]byte{}, []byte{1, 2}), ""},
		{"offset table, two fragments", build([]byte{0, 0, 0, 0}, []byte{1, 2}, []byte{3, 4}), ""},
		{"no items", build(nil), "encapsulated pixel data (7FE0,0010) holds 0 items, not a basic offset table and at least one fragment"},
		{"only an offset table", build([]byte{0, 0, 0, 0}), "holds 1 items"},
		{"offset table of 6 bytes", build([]byte{0, 0, 0, 0, 0, 0}, []byte{1, 2}), "the basic offset table of pixel data (7FE0,0010) is 6 bytes long, not a multiple of 4"},
		{"fragment of undefined length", func() []byte {
			b := build([]byte{}, []byte{1, 2})
			binary.LittleEndian.PutUint32(b[len(b)-14:], dicom.UndefinedLength)
			return b
		}(), "pixel data: expected a fragment"},
		{"another element instead of the delimiter", func() []byte {
			b := build([]byte{}, []byte{1, 2})
			return append(b[:len(b)-8], w.b[w.starts[0]:w.starts[1]]...)
		}(), "pixel data: expected a fragment, found (0008,0016)"},
	} {
		_, err := checkBytes(c.b)
		if c.want == "" && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.want != "" && (!errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// dicomtest's own encapsulated images pass.
	for _, img := range []dicomtest.Image{
		{TS: "1.2.840.10008.1.2.4.50", Rows: 2, Cols: 2, Bits: 8, Fragment: []byte{0xFF, 0xD8, 0xFF, 0xD9}},
		{TS: "1.2.840.10008.1.2.5", Rows: 2, Cols: 2, Bits: 8, Frames: "2", Fragments: [][]byte{{1}, {2, 3, 4}}, BOT: []uint32{0, 10}},
	} {
		if _, err := checkBytes(dicomtest.ImageBytes(t, img)); err != nil {
			t.Errorf("%+v: %v", img, err)
		}
	}
}

// Bytes after the last element fail, whether they are too short for an
// element, parse as one out of tag order, or repeat the pixel data;
// Data Set Trailing Padding (FFFC,FFFC), in order, passes.
func TestCheckFileTrailingJunk(t *testing.T) {
	testtool.RequirePath(t, corpus, "the shared corpus")
	name := func(vr string) []byte {
		b, err := dicom.AppendElement(nil, dicom.StringElement(dicom.PatientName, "PN", "Junk^Trailing"))
		if err != nil {
			t.Fatal(err)
		}
		copy(b[4:6], vr)
		return b
	}
	padding := func(syntax dicom.Syntax) []byte {
		b, _ := dicom.AppendElementSyntax(nil, &dicom.Element{Tag: dicom.NewTag(0xFFFC, 0xFFFC), VR: "OB", Value: make([]byte, 16)}, syntax)
		return b
	}
	files := map[string][]byte{
		"generated explicit": dicomtest.ImageBytes(t, dicomtest.Image{Rows: 2, Cols: 2, Bits: 16, Pixels: make([]byte, 8)}),
		"generated implicit": dicomtest.ImageBytes(t, dicomtest.Image{TS: dicom.ImplicitVRLittleEndianUID, Rows: 2, Cols: 2, Bits: 16, Pixels: make([]byte, 8)}),
	}
	for _, p := range []string{"pydicom/test_files/CT_small.dcm", "pydicom/test_files/MR_small_implicit.dcm",
		"pydicom/test_files/MR_small_bigendian.dcm", "pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm", "pydicom/test_files/test-SR.dcm"} {
		b, err := os.ReadFile(filepath.Join(corpus, p))
		if err != nil {
			t.Fatal(err)
		}
		files[p] = b
	}
	for fname, b := range files {
		h, err := checkBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", fname, err)
		}
		pixelTag := []byte{0xE0, 0x7F, 0x10, 0x00}
		if h.Syntax.BigEndian {
			pixelTag = []byte{0x7F, 0xE0, 0x00, 0x10}
		}
		var pixels []byte // the pixel data element, if last
		if i := bytes.LastIndex(b, pixelTag); i >= 0 {
			pixels = b[i:]
		}
		starts, _ := topLevelStarts(t, b)
		last := int64(0)
		for s := range starts {
			last = max(last, s)
		}
		endsPadded := bytes.HasPrefix(b[last:], []byte{0xFC, 0xFF, 0xFC, 0xFF})
		for _, c := range []struct {
			name string
			junk []byte
		}{
			{"one byte", []byte{0}},
			{"text", []byte("junk")},
			{"seven bytes", []byte("garbage")},
			{"eight zero bytes", make([]byte, 8)},
			{"a kilobyte of zeros", make([]byte, 1024)},
			{"0xFF bytes", bytes.Repeat([]byte{0xFF}, 64)},
			{"an element out of order", name("PN")},
			{"an element with a bad VR", name("pn")},
			{"the pixel data again", pixels},
			{"padding then zeros", append(padding(h.Syntax), make([]byte, 8)...)},
		} {
			if c.junk == nil {
				continue // no pixel data
			}
			_, err := checkBytes(append(bytes.Clone(b), c.junk...))
			if !errors.Is(err, dicom.ErrMalformed) {
				t.Errorf("%s + %s: got %v, want ErrMalformed", fname, c.name, err)
			}
		}
		if !h.Syntax.BigEndian { // AppendElementSyntax writes no big endian
			_, err := checkBytes(append(bytes.Clone(b), padding(h.Syntax)...))
			if !endsPadded && err != nil {
				t.Errorf("%s + trailing padding: %v", fname, err)
			}
			if endsPadded && !errors.Is(err, dicom.ErrMalformed) {
				t.Errorf("%s + a second trailing padding: got %v, want ErrMalformed", fname, err)
			}
		}
	}
}

// Rows × Columns × Number of Frames beyond 64 bits does not wrap round: the
// product saturates (at 2^64 bits, 2^61 bytes).
func TestCheckFileHugeImpliedSize(t *testing.T) {
	b := dicomtest.ImageBytes(t, dicomtest.Image{Rows: 65535, Cols: 65535, Bits: 16, Frames: "999999999999", Pixels: make([]byte, 8)})
	_, err := checkBytes(b)
	if want := "holds 8 bytes, its header implies 2305843009213693952 ("; !errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// failingReader returns its bytes, then err.
type failingReader struct {
	b   []byte
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, f.err
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// A read error (a scratched disc) anywhere fails the check and is kept in
// the chain, not taken for the end of the file.
func TestCheckFileReadError(t *testing.T) {
	errDisc := errors.New("input/output error")
	w, m := structured("1.2.840.10008.1.2.4.50")
	d := deflate(t, w.b)
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"in the preamble", w.b[:50]},
		{"in the meta information", w.b[:150]},
		{"between top-level elements", w.b[:w.starts[2]]},
		{"in a sequence", w.b[:m.beforeSeqDelim]},
		{"between fragments", w.b[:m.betweenFragments]},
		{"in a value", w.b[:m.inFragment]},
		{"in a deflated data set", d[:len(d)-10]},
		{"after a deflated data set", d},
	} {
		_, err := dicom.CheckFile(&failingReader{b: c.b, err: errDisc})
		if !errors.Is(err, dicom.ErrMalformed) || !errors.Is(err, errDisc) {
			t.Errorf("%s: got %v, want ErrMalformed wrapping the read error", c.name, err)
		}
	}
}

// A file with no DICM prefix is ErrNotPart10, not a truncation.
func TestCheckFileNotPart10(t *testing.T) {
	b := make([]byte, 200)
	if _, err := checkBytes(b); !errors.Is(err, dicom.ErrNotPart10) || errors.Is(err, dicom.ErrMalformed) {
		t.Fatalf("got %v", err)
	}
}

// Values are read past, not held: a 32 MiB image checks in little memory.
// A sequence of more items than MaxElements fails rather than growing.
func TestCheckFileBounded(t *testing.T) {
	img := dicomtest.ImageBytes(t, dicomtest.Image{Rows: 4096, Cols: 4096, Bits: 16, Pixels: []byte{}})
	// The empty Pixel Data element ends the file: give it 32 MiB of zeros,
	// streamed rather than built.
	binary.LittleEndian.PutUint32(img[len(img)-4:], 4096*4096*2)
	big := io.MultiReader(bytes.NewReader(img), io.LimitReader(zeros{}, 4096*4096*2))
	alloc := allocated(func() {
		if _, err := dicom.CheckFile(big); err != nil {
			t.Fatal(err)
		}
	})
	if alloc > 1<<20 {
		t.Errorf("checking a 32 MiB image allocated %d bytes", alloc)
	}

	// A sequence of undefined length with 1<<20 empty items, 8 bytes each.
	w, _ := structured(dicom.ExplicitVRLittleEndianUID)
	x := &raw{b: bytes.Clone(w.b[:w.starts[1]])}
	x.header(dicom.ReferencedImageSequence, "SQ", dicom.UndefinedLength)
	items := bytes.Repeat([]byte{0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0}, 1<<20)
	var err error
	alloc = allocated(func() {
		_, err = dicom.CheckFile(io.MultiReader(bytes.NewReader(x.b), bytes.NewReader(items), bytes.NewReader(items)))
	})
	if !errors.Is(err, dicom.ErrMalformed) || !strings.Contains(err.Error(), "more than 1048576 elements, items and fragments") {
		t.Errorf("2<<20 items: got %v", err)
	}
	t.Logf("2<<20 items: %d bytes allocated before failing", alloc)
	if alloc > 128<<20 {
		t.Errorf("2<<20 items allocated %d bytes", alloc)
	}
}

// The element bound counts elements, items and fragments.
func TestReaderMaxElements(t *testing.T) {
	w, _ := structured(dicom.ExplicitVRLittleEndianUID)
	count := func(limit int) error {
		_, r, err := dicom.ReadHeader(bytes.NewReader(w.b))
		if err != nil {
			t.Fatal(err)
		}
		r.MaxElements = limit
		for {
			if _, err := r.Next(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	// 9 top-level elements; 1 item with 2 elements; in the content
	// sequence 2 items, 3 elements and 2 sequence delimiters (item
	// delimiters are only peeked); 3 fragments and a sequence delimiter.
	const n = 9 + 3 + 7 + 4
	if err := count(n); err != nil {
		t.Fatalf("limit %d: %v", n, err)
	}
	if err := count(n - 1); !errors.Is(err, dicom.ErrMalformed) {
		t.Fatalf("limit %d: got %v", n-1, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// fuzzSeeds are small corpus files of each kind, to start from.
var fuzzSeeds = []string{
	"pydicom/test_files/SC_rgb_small_odd.dcm",      // native RGB, odd length
	"pydicom/test_files/SC_rgb_small_odd_jpeg.dcm", // encapsulated JPEG
	"pydicom/test_files/image_dfl.dcm",             // deflated, gzip trailer
	"pydicom/test_files/rtdose_expb_1frame.dcm",    // big endian
	"pydicom/test_files/empty_charset_LEI.dcm",     // implicit
	"pydicom/test_files/nested_priv_SQ.dcm",        // nested sequences
	"pydicom/test_files/UN_sequence.dcm",           // UN of undefined length
	"pydicom/dicomdirtests/DICOMDIR-empty.dcm",
}

// CheckFile never panics; it passes only with a header, and a plain file
// that passes fails without its last byte (which belongs to its last
// element). Errors are ErrMalformed or ErrNotPart10.
func FuzzCheckFile(f *testing.F) {
	w, _ := structured("1.2.840.10008.1.2.4.50")
	f.Add(w.b)
	f.Add(dicomtest.ImageBytes(f, dicomtest.Image{Rows: 2, Cols: 2, Bits: 16, Frames: "2", Pixels: make([]byte, 16)}))
	for _, p := range fuzzSeeds {
		b, err := os.ReadFile(filepath.Join(corpus, p))
		if err != nil {
			continue
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:len(b)-1])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := checkBytes(data)
		if err != nil {
			if h != nil {
				t.Fatal("a header with an error")
			}
			if !errors.Is(err, dicom.ErrMalformed) && !errors.Is(err, dicom.ErrNotPart10) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		if h == nil || h.TransferSyntaxUID == "" {
			t.Fatalf("passed without a header: %+v", h)
		}
		if !h.Deflated {
			if _, err := checkBytes(data[:len(data)-1]); err == nil {
				t.Fatalf("passed whole and without its last byte")
			}
		}
	})
}
