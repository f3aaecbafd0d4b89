package viewer

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// frameOf reads frame n of a generated file.
func frameOf(t *testing.T, s synth, n int) (*imageInfo, []byte, error) {
	t.Helper()
	in, br, err := readInfo(bytes.NewReader(synthBytes(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Unsupported != "" {
		t.Fatalf("unsupported: %s", in.Unsupported)
	}
	pix, err := readFrame(br, in, n)
	return in, pix, err
}

// Implicit VR little endian (the DICOM default) is served as stored, with
// its windows and rescale in the info.
func TestImplicitVR(t *testing.T) {
	s := synth{uid: "11", ts: "1.2.840.10008.1.2", rows: 1, cols: 3, bits: 16, stored: 12, pixrep: 1,
		pixels: u16(0xFFF, 0, 1), wc: `0\40`, ww: `3\400`, slope: "2", intercept: "-1024"}
	in, pix, err := frameOf(t, s, 0)
	if err != nil || !bytes.Equal(pix, u16(0xFFF, 0, 1)) {
		t.Fatalf("frame %v %v", pix, err)
	}
	if in.Photometric != "MONOCHROME2" || !in.syntax.Implicit || in.Codec != codecNative || in.Slope != 2 || in.Intercept != -1024 ||
		len(in.WindowCenters) != 2 || in.WindowCenters[1] != 40 || in.WindowWidths[1] != 400 || in.HighBit != 11 {
		t.Fatalf("info: %+v", in)
	}
}

// Big endian pixel data is served little endian: the same bytes as the
// little endian copy of the corpus's MR (16-bit), and as dcmconv +te
// writes the US (8-bit RGB).
func TestBigEndianSwapped(t *testing.T) {
	dcmconv := testtool.Require(t, "dcmconv")
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	dir := filepath.Join(sharedCorpus, "pydicom/test_files")
	us := filepath.Join(t.TempDir(), "us.dcm")
	if out, err := exec.Command(dcmconv, "+te", filepath.Join(dir, "ExplVR_BigEnd.dcm"), us).CombinedOutput(); err != nil {
		t.Fatalf("dcmconv: %v\n%s", err, out)
	}
	for be, le := range map[string]string{"MR_small_bigendian.dcm": filepath.Join(dir, "MR_small.dcm"), "ExplVR_BigEnd.dcm": us} {
		in, got, err := readFile(t, filepath.Join(dir, be))
		if err != nil || in.Codec != codecNative {
			t.Fatal(be, err, in.Codec)
		}
		_, want, err := readFile(t, le)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s", be, le)
		}
	}
}

func TestMultiFrame(t *testing.T) {
	s := synth{uid: "5", rows: 1, cols: 2, bits: 8, photometric: "MONOCHROME2", frames: "2", pixels: []byte{0, 1, 2, 3}}
	in, br, err := readInfo(bytes.NewReader(synthBytes(t, s)))
	if err != nil || in.Frames != 2 {
		t.Fatal(in, err)
	}
	pix, err := readFrame(br, in, 1)
	if err != nil || !bytes.Equal(pix, []byte{2, 3}) {
		t.Fatalf("frame 2: %v %v", pix, err)
	}
}

// What cannot be shown is said in plain words, never a crash.
func TestUnsupported(t *testing.T) {
	for _, c := range []struct {
		s    synth
		want string
	}{
		{synth{uid: "6", ts: "1.2.840.10008.1.2.4.201", rows: 2, cols: 2, bits: 16, photometric: "MONOCHROME2", fragment: []byte("htj2k")}, "compressed (HTJ2K Lossless)"},
		{synth{uid: "7", rows: MaxSide + 1, cols: 1, bits: 8, photometric: "MONOCHROME2", pixels: make([]byte, MaxSide+1)}, "larger than the viewer shows"},
		{synth{uid: "8", rows: 1, cols: 1, bits: 8, photometric: "PALETTE COLOR", pixels: []byte{1}}, "PALETTE COLOR"},
		{synth{uid: "9", rows: 1, cols: 1, bits: 32, photometric: "MONOCHROME2", pixels: []byte{1, 2, 3, 4}}, "32 bits"},
	} {
		in, _, err := readInfo(bytes.NewReader(synthBytes(t, c.s)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(in.Unsupported, c.want) {
			t.Errorf("%s: %q does not say %q", c.s.uid, in.Unsupported, c.want)
		}
	}
	// Pixel data shorter than the size says.
	s := synth{uid: "10", rows: 4, cols: 4, bits: 16, photometric: "MONOCHROME2", pixels: u16(1, 2)}
	in, br, _ := readInfo(bytes.NewReader(synthBytes(t, s)))
	if _, err := readFrame(br, in, 0); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Fatalf("short pixel data: %v", err)
	}
	if _, _, err := readInfo(strings.NewReader("not dicom")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestPersonName(t *testing.T) {
	for in, want := range map[string]string{
		"Doe^Archibald":      "Doe, Archibald",
		"Doe":                "Doe",
		"Doe^John^Q^Dr^Jr":   "Doe, Dr John Q Jr",
		"":                   "",
		"Yamada^Tarou=山田^太郎": "Yamada, Tarou = 山田, 太郎",
	} {
		if got := personName(in); got != want {
			t.Errorf("personName(%q) = %q, want %q", in, got, want)
		}
	}
}
