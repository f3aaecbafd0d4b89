package pixeldata

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// frameOf reads frame n of a generated file.
func frameOf(t *testing.T, s dicomtest.Image, n int) (*Info, []byte, error) {
	t.Helper()
	in, br, err := readInfo(bytes.NewReader(dicomtest.ImageBytes(t, s)))
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
	s := dicomtest.Image{UID: "11", TS: "1.2.840.10008.1.2", Rows: 1, Cols: 3, Bits: 16, Stored: 12, PixRep: 1,
		Pixels: dicomtest.U16(0xFFF, 0, 1), WC: `0\40`, WW: `3\400`, Slope: "2", Intercept: "-1024"}
	in, pix, err := frameOf(t, s, 0)
	if err != nil || !bytes.Equal(pix, dicomtest.U16(0xFFF, 0, 1)) {
		t.Fatalf("frame %v %v", pix, err)
	}
	if in.Photometric != "MONOCHROME2" || !in.syntax.Implicit || in.Codec != CodecNative || in.Slope != 2 || in.Intercept != -1024 ||
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
		if err != nil || in.Codec != CodecNative {
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
	s := dicomtest.Image{UID: "5", Rows: 1, Cols: 2, Bits: 8, Photometric: "MONOCHROME2", Frames: "2", Pixels: []byte{0, 1, 2, 3}}
	in, br, err := readInfo(bytes.NewReader(dicomtest.ImageBytes(t, s)))
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
		s    dicomtest.Image
		want string
	}{
		{dicomtest.Image{UID: "6", TS: "1.2.840.10008.1.2.4.201", Rows: 2, Cols: 2, Bits: 16, Photometric: "MONOCHROME2", Fragment: []byte("htj2k")}, "compressed (HTJ2K Lossless)"},
		{dicomtest.Image{UID: "7", Rows: MaxSide + 1, Cols: 1, Bits: 8, Photometric: "MONOCHROME2", Pixels: make([]byte, MaxSide+1)}, "larger than the viewer shows"},
		{dicomtest.Image{UID: "8", Rows: 1, Cols: 1, Bits: 8, Photometric: "PALETTE COLOR", Pixels: []byte{1}}, "PALETTE COLOR"},
		{dicomtest.Image{UID: "9", Rows: 1, Cols: 1, Bits: 32, Photometric: "MONOCHROME2", Pixels: []byte{1, 2, 3, 4}}, "32 bits"},
	} {
		in, _, err := readInfo(bytes.NewReader(dicomtest.ImageBytes(t, c.s)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(in.Unsupported, c.want) {
			t.Errorf("%s: %q does not say %q", c.s.UID, in.Unsupported, c.want)
		}
	}
	// Pixel data shorter than the size says.
	s := dicomtest.Image{UID: "10", Rows: 4, Cols: 4, Bits: 16, Photometric: "MONOCHROME2", Pixels: dicomtest.U16(1, 2)}
	in, br, _ := readInfo(bytes.NewReader(dicomtest.ImageBytes(t, s)))
	if _, err := readFrame(br, in, 0); err == nil || !strings.Contains(err.Error(), "shorter") {
		t.Fatalf("short pixel data: %v", err)
	}
	if _, _, err := readInfo(strings.NewReader("not dicom")); err == nil {
		t.Fatal("garbage accepted")
	}
}

// The geometry and technique of a real CT, as dcmdump shows them: what
// measuring, orientation markers and the annotation on the image use.
func TestGeometryOfARealCT(t *testing.T) {
	in := corpusInfo(t, "pydicom/test_files/CT_small.dcm")
	g := in.Geometry
	if len(g.PixelSpacing) != 2 || g.PixelSpacing[0] != 0.661468 || g.PixelSpacing[1] != 0.661468 ||
		len(g.Orientation) != 6 || g.Orientation[0] != 1 || g.Orientation[4] != 1 || len(g.Position) != 3 || g.Position[2] != -75.699997 ||
		g.SliceLocation != "-77.2040634155" || g.SliceThickness != "5.000000" || g.FrameOfReference != "1.3.6.1.4.1.5962.1.4.1.1.20040119072730.12322" ||
		g.ImagerPixelSpacing != nil || g.FrameTime != 0 {
		t.Errorf("geometry: %+v", g)
	}
	if in.Technique != (Technique{KVP: "120", Exposure: "170"}) {
		t.Errorf("technique: %+v", in.Technique)
	}
}

func TestPositiveRefusesZeroSpacing(t *testing.T) {
	if positive([]float64{0.5, 0}, 2) != nil || positive([]float64{0.5}, 2) != nil || positive([]float64{33}, 1) == nil {
		t.Error("positive")
	}
}

// An Enhanced CT keeps its geometry, rescale and window in functional
// groups: each frame's position (as dcmdump reads them, in order), frame
// 1's as the image's, the shared orientation, spacing, thickness, window
// and rescale.
func TestEnhancedCTFunctionalGroups(t *testing.T) {
	dcmdump := testtool.Require(t, "dcmdump")
	in := corpusInfo(t, "suyashkumar-dicom/5.dcm")
	out, err := exec.Command(dcmdump, "-q", filepath.Join(sharedCorpus, "suyashkumar-dicom/5.dcm")).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want [][]float64
	for _, m := range regexp.MustCompile(`\(0020,0032\) DS \[([^\]]*)\]`).FindAllStringSubmatch(string(out), -1) {
		var p []float64
		for _, s := range strings.Split(m[1], `\`) {
			v, _ := strconv.ParseFloat(s, 64)
			p = append(p, v)
		}
		want = append(want, p)
	}
	g := in.Geometry
	if in.Frames != 2 || len(want) != 2 || len(g.Frames) != 2 {
		t.Fatalf("%d frames, %d positions from dcmdump, %d frame geometries", in.Frames, len(want), len(g.Frames))
	}
	for k, fg := range g.Frames {
		if !slices.Equal(fg.Position, want[k]) || !slices.Equal(fg.Orientation, []float64{-1, 0, 0, 0, 1, 0}) ||
			!slices.Equal(fg.PixelSpacing, []float64{0.388672, 0.388672}) || fg.SliceThickness != "10.0000" {
			t.Errorf("frame %d: %+v, dcmdump's position %v", k+1, fg, want[k])
		}
	}
	if g.Frames[0].SliceLocation != "-159.00" || g.Frames[1].SliceLocation != "-149.00" {
		t.Errorf("slice locations %q, %q (want the frames' z, -159 and -149)", g.Frames[0].SliceLocation, g.Frames[1].SliceLocation)
	}
	if !slices.Equal(g.Position, want[0]) || g.SliceLocation != "-159.00" || g.PixelSpacing == nil || g.Orientation == nil {
		t.Errorf("the image's geometry is not frame 1's: %+v", g)
	}
	if in.Intercept != -1024 || in.Slope != 1 || !slices.Equal(in.WindowCenters, []float64{49}) || !slices.Equal(in.WindowWidths, []float64{102}) {
		t.Errorf("rescale %g/%g, windows %v/%v", in.Slope, in.Intercept, in.WindowCenters, in.WindowWidths)
	}
}

// An enhanced MR's technique is in its MR Timing and MR Echo macros (TE is
// Effective Echo Time, an FD), a frame's own overriding the shared one.
func TestEnhancedMRTechnique(t *testing.T) {
	seq := func(tag dicom.Tag, elems ...*dicom.Element) *dicom.Element {
		return &dicom.Element{Tag: tag, VR: "SQ", Items: []*dicom.Item{{Elements: elems}}}
	}
	fd := func(tag dicom.Tag, v float64) *dicom.Element {
		return &dicom.Element{Tag: tag, VR: "FD", Value: binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))}
	}
	ds := func(tag dicom.Tag, v string) *dicom.Element { return dicom.StringElement(tag, "DS", v) }
	b := dicomtest.ImageBytes(t, dicomtest.Image{UID: "1", Rows: 2, Cols: 2, Bits: 8, Photometric: "MONOCHROME2", Frames: "2",
		Pixels: make([]byte, 8), Attrs: []*dicom.Element{
			seq(dicom.SharedFunctionalGroupsSequence,
				seq(dicom.MRTimingAndRelatedParametersSequence, ds(dicom.RepetitionTime, "2000")),
				seq(dicom.PixelMeasuresSequence, ds(dicom.PixelSpacing, `0.5\0.5`))),
			{Tag: dicom.PerFrameFunctionalGroupsSequence, VR: "SQ", Items: []*dicom.Item{
				{Elements: []*dicom.Element{seq(dicom.MREchoSequence, fd(dicom.EffectiveEchoTime, 4.5)),
					seq(dicom.PlanePositionSequence, ds(dicom.ImagePositionPatient, `0\0\10`)),
					seq(dicom.PlaneOrientationSequence, ds(dicom.ImageOrientationPatient, `1\0\0\0\1\0`))}},
				{Elements: []*dicom.Element{seq(dicom.MREchoSequence, fd(dicom.EffectiveEchoTime, 9)),
					seq(dicom.PlanePositionSequence, ds(dicom.ImagePositionPatient, `0\0\12.5`)),
					seq(dicom.PlaneOrientationSequence, ds(dicom.ImageOrientationPatient, `1\0\0\0\1\0`)),
					seq(dicom.PixelMeasuresSequence, ds(dicom.PixelSpacing, `0.25\0.25`))}},
			}},
		}})
	in, _, err := readInfo(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if in.Technique.RepetitionTime != "2000" || in.Technique.EchoTime != "4.5" {
		t.Errorf("technique %+v", in.Technique)
	}
	g := in.Geometry.Frames
	if len(g) != 2 || g[0].SliceLocation != "10.00" || g[1].SliceLocation != "12.50" ||
		!slices.Equal(g[0].PixelSpacing, []float64{0.5, 0.5}) || !slices.Equal(g[1].PixelSpacing, []float64{0.25, 0.25}) {
		t.Errorf("frames %+v", g)
	}
}

// corpusInfo reads the header of a file of the shared corpus.
func corpusInfo(t *testing.T, name string) *Info {
	t.Helper()
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	f, err := os.Open(filepath.Join(sharedCorpus, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, _, err := readInfo(f)
	if err != nil {
		t.Fatal(err)
	}
	return in
}
