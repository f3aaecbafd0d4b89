package dicom

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

const corpus = "../../../shared/corpus"

func requireCorpus(t *testing.T) {
	t.Helper()
	testtool.RequirePath(t, corpus, "the shared corpus")
}

func readAll(t *testing.T, path string) (*Header, []*Element) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, r, err := ReadHeader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	elems, err := r.ReadUntil(0xFFFFFFFF)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h, elems
}

// A DICOMDIR written by dcmtk with defined lengths must come back byte for
// byte when re-encoded: the reader keeps raw values, the writer adds
// nothing.
func TestByteExactRoundTrip(t *testing.T) {
	requireCorpus(t)
	path := filepath.Join(corpus, "pydicom/dicomdirtests/DICOMDIR")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, elems := readAll(t, path)
	var meta []*Element
	for _, e := range h.Meta {
		if e.Tag != FileMetaInformationGroupLength {
			meta = append(meta, e)
		}
	}
	out, err := AppendFileMeta(nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	copy(out, orig[:PreambleLen]) // keep the original preamble bytes
	for _, e := range elems {
		if out, err = AppendElement(out, e); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out, orig) {
		t.Fatalf("re-encoded %d bytes differ from the original %d", len(out), len(orig))
	}
}

// Item offsets must count from byte 0 of the file; dcmdump prints them.
func TestItemOffsetsMatchDcmdump(t *testing.T) {
	requireCorpus(t)
	testtool.Require(t, "dcmdump")
	path := filepath.Join(corpus, "pydicom/dicomdirtests/DICOMDIR")
	out, err := exec.Command("dcmdump", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, m := range regexp.MustCompile(`offset=\$(\d+)`).FindAllSubmatch(out, -1) {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		want = append(want, n)
	}
	_, elems := readAll(t, path)
	seq := Find(elems, DirectoryRecordSequence)
	if seq == nil || len(seq.Items) != len(want) || len(want) == 0 {
		t.Fatalf("got %v items, dcmdump shows %d", seq, len(want))
	}
	for i, it := range seq.Items {
		if it.Offset != want[i] {
			t.Errorf("item %d at %d, dcmdump says %d", i, it.Offset, want[i])
		}
	}
}

// The implicit and big endian variants decode to the same values.
func TestSyntaxVariants(t *testing.T) {
	requireCorpus(t)
	_, ref := readAll(t, filepath.Join(corpus, "pydicom/dicomdirtests/DICOMDIR"))
	for _, name := range []string{"DICOMDIR-implicit", "DICOMDIR-bigEnd"} {
		h, elems := readAll(t, filepath.Join(corpus, "pydicom/dicomdirtests", name))
		if h.Syntax.BigEndian {
			for _, e := range elems {
				SwapToLittleEndian(e)
			}
		}
		a, b := Find(ref, DirectoryRecordSequence), Find(elems, DirectoryRecordSequence)
		if b == nil || len(a.Items) != len(b.Items) {
			t.Fatalf("%s: directory record sequence differs", name)
		}
		for i := range a.Items {
			pn := Find(a.Items[i].Elements, PatientName)
			if pn != nil && !bytes.Equal(pn.Value, Find(b.Items[i].Elements, PatientName).Value) {
				t.Errorf("%s: item %d name differs", name, i)
			}
			if x, y := Find(a.Items[i].Elements, DirectoryRecordType), Find(b.Items[i].Elements, DirectoryRecordType); x != nil && !bytes.Equal(x.Value, y.Value) {
				t.Errorf("%s: item %d record type differs", name, i)
			}
		}
	}
}

// Every Part 10 file of the corpus with a sound structure reads to its
// pixel data; the ones that are truncated or lie fail with ErrMalformed,
// never a panic.
func TestCorpusReads(t *testing.T) {
	requireCorpus(t)
	n := 0
	filepath.WalkDir(corpus, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, r, err := ReadHeader(f)
		if err != nil {
			if !errors.Is(err, ErrNotPart10) && !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v", p, err)
			}
			return nil
		}
		r.MaxValue = 1 << 16
		if _, err := r.ReadUntil(PixelData); err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", p, err)
		}
		n++
		return nil
	})
	if n < 100 {
		t.Errorf("only %d Part 10 files read", n)
	}
}

func TestHostileLengthsDoNotAllocate(t *testing.T) {
	// An OB element claiming 4 GiB - 2 bytes, followed by nothing.
	data := append(part10Prefix(), 0x09, 0x00, 0x10, 0x00, 'O', 'B', 0, 0, 0xFE, 0xFF, 0xFF, 0xFF)
	_, r, err := ReadHeader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtimeMem
	before.read()
	_, err = r.Next()
	after.read()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	if after.total-before.total > 16<<20 {
		t.Fatalf("allocated %d bytes for a lying length", after.total-before.total)
	}
}

// part10Prefix is a minimal preamble, DICM and File Meta declaring
// explicit VR little endian.
func part10Prefix() []byte {
	b, _ := AppendFileMeta(nil, []*Element{StringElement(TransferSyntaxUID, "UI", ExplicitVRLittleEndianUID)})
	return b
}

// FuzzReader starts from small seeds (under 1 KB): the fuzzer minimises
// every input that finds new coverage, and large seeds would spend the
// whole FUZZTIME budget of "make fuzz" minimising.
func FuzzReader(f *testing.F) {
	f.Add(part10Prefix())
	for _, p := range []string{"pydicom/test_files/UN_sequence.dcm", "pydicom/test_files/nested_priv_SQ.dcm",
		"pydicom/dicomdirtests/DICOMDIR-empty.dcm"} {
		if b, err := os.ReadFile(filepath.Join(corpus, p)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, r, err := ReadHeader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for {
			e, err := r.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrMalformed) {
					t.Fatalf("unexpected error type: %v", err)
				}
				return
			}
			if int64(len(e.Value)) > int64(len(data)) {
				t.Fatalf("value longer than the input")
			}
		}
	})
}

// Implicit VR output reads back to the same elements (as DIMSE command
// sets will be written and read).
func TestImplicitRoundTrip(t *testing.T) {
	requireCorpus(t)
	_, elems := readAll(t, filepath.Join(corpus, "pydicom/dicomdirtests/DICOMDIR"))
	var out []byte
	for _, e := range elems {
		var err error
		if out, err = AppendElementSyntax(out, e, ImplicitVRLittleEndian); err != nil {
			t.Fatal(err)
		}
	}
	back, err := NewReader(bytes.NewReader(out), 0, ImplicitVRLittleEndian).ReadUntil(0xFFFFFFFF)
	if err != nil {
		t.Fatal(err)
	}
	if !EqualElements(elems, back) {
		t.Fatal("implicit VR round trip differs")
	}
	if _, err := AppendElementSyntax(nil, elems[0], ExplicitVRBigEndian); err == nil {
		t.Fatal("big endian writing should be refused")
	}
}

// Implicit VR files carry no VRs: the pixel description must come from the
// dictionary, or signed images would decode as unsigned.
func TestDictionaryKnowsThePixelModule(t *testing.T) {
	for tag, want := range map[Tag]string{
		BitsStored: "US", PixelRepresentation: "US", PlanarConfiguration: "US",
		WindowCenter: "DS", WindowWidth: "DS", RescaleIntercept: "DS", RescaleSlope: "DS",
	} {
		if got := VROf(tag); got != want {
			t.Errorf("VROf(%08X) = %q, want %q", uint32(tag), got, want)
		}
	}
}

func TestDisplayDate(t *testing.T) {
	for in, want := range map[string]string{"20010316": "2001-03-16", "1995.06.26": "1995-06-26", " 2001-03-16 ": "2001-03-16",
		"": "", "2001": "2001", "1995.06-26": "1995.06-26", "2001031": "2001031"} {
		if got := DisplayDate(in); got != want {
			t.Errorf("DisplayDate(%q) = %q, want %q", in, got, want)
		}
	}
}
