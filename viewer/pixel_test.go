package viewer

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"
)

// decode runs the whole pipeline on a generated file.
func decode(t *testing.T, s synth, wc, ww float64) (*imageInfo, image.Image) {
	t.Helper()
	in, br, err := readInfo(bytes.NewReader(synthBytes(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	if in.Unsupported != "" {
		t.Fatalf("unsupported: %s", in.Unsupported)
	}
	pix, err := readFrame(br, in, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, _, _ := render(in, pix, wc, ww, false)
	return in, img
}

func grays(img image.Image) []uint8 { return img.(*image.Gray).Pix }

func TestWindowFunction(t *testing.T) {
	// PS3.3 C.11.2.1.2.1 with c=100, w=201 (0 up to -0.5, 255 above
	// 199.5), truncated to an integer as dcmtk does.
	for _, c := range []struct {
		x    float64
		want uint8
	}{{-1, 0}, {-0.5, 0}, {0, 0}, {1, 1}, {99.5, 127}, {199, 254}, {199.5, 255}, {201, 255}} {
		if got := window(c.x, 100, 201); got != c.want {
			t.Errorf("window(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}

// Rescale slope and intercept are applied before the window, and signed
// values are sign-extended from Bits Stored.
func TestRescaleAndSigned(t *testing.T) {
	// 12 bits stored, signed: 0xFFF is -1, 0x800 is -2048.
	s := synth{uid: "1", rows: 1, cols: 4, bits: 16, stored: 12, pixrep: 1, photometric: "MONOCHROME2",
		slope: "2", intercept: "-1000", pixels: u16(0xFFF, 0x800, 0, 0x7FF|0xF000)}
	in, _ := decode(t, s, nan, nan)
	vals := modalityValues(in, s.pixels)
	want := []float64{-1002, -2048*2 - 1000, -1000, 2047*2 - 1000}
	for i := range want {
		if vals[i] != want[i] {
			t.Errorf("value %d = %v, want %v", i, vals[i], want[i])
		}
	}
	// A window centred on -1000 (stored 0), 1000 wide.
	_, img := decode(t, s, -1000, 1000)
	if g := grays(img); g[0] != 127 || g[1] != 0 || g[2] != 127 || g[3] != 255 {
		t.Errorf("windowed: %v", g)
	}
}

// MONOCHROME1 shows low values white.
func TestMonochrome1Inverted(t *testing.T) {
	base := synth{uid: "2", rows: 1, cols: 3, bits: 16, pixels: u16(0, 500, 1000), wc: "500", ww: "1000"}
	m2, m1 := base, base
	m2.photometric, m1.photometric = "MONOCHROME2", "MONOCHROME1"
	_, a := decode(t, m2, nan, nan)
	_, b := decode(t, m1, nan, nan)
	ga, gb := grays(a), grays(b)
	if ga[0] != 0 || ga[2] != 255 {
		t.Fatalf("MONOCHROME2: %v", ga)
	}
	// Inverted before truncation (as dcmtk does): off by at most one.
	for i := range ga {
		if sum := int(gb[i]) + int(ga[i]); sum != 255 && sum != 254 {
			t.Fatalf("MONOCHROME1 %v is not MONOCHROME2 %v inverted", gb, ga)
		}
	}
}

// Without a window in the file the full range of values is used; 8-bit
// data works too.
func TestDefaultWindowAndEightBit(t *testing.T) {
	s := synth{uid: "3", rows: 2, cols: 2, bits: 8, photometric: "MONOCHROME2", pixels: []byte{10, 20, 30, 40}}
	_, img := decode(t, s, nan, nan)
	g := grays(img)
	if g[0] != 0 || g[3] != 255 || !(g[1] < g[2]) {
		t.Fatalf("min/max window: %v", g)
	}
}

// Implicit VR little endian (the DICOM default) decodes the same way.
func TestImplicitVR(t *testing.T) {
	s := synth{uid: "11", ts: "1.2.840.10008.1.2", rows: 1, cols: 3, bits: 16, stored: 12, pixrep: 1,
		pixels: u16(0xFFF, 0, 1), wc: "0", ww: "3"}
	in, img := decode(t, s, nan, nan)
	if in.Photometric != "MONOCHROME2" || !in.syntax.Implicit {
		t.Fatalf("info: %+v", in)
	}
	// -1, 0, 1 through the window 0/3 (signed: 0xFFF is -1).
	if g := grays(img); g[0] != 63 || g[1] != 191 || g[2] != 255 {
		t.Fatalf("implicit VR: %v", g)
	}
}

func TestRGB(t *testing.T) {
	s := synth{uid: "4", rows: 1, cols: 2, spp: 3, bits: 8, photometric: "RGB", pixels: []byte{255, 0, 0, 0, 0, 255}}
	_, img := decode(t, s, nan, nan)
	rgba := img.(*image.RGBA)
	if !bytes.Equal(rgba.Pix, []byte{255, 0, 0, 255, 0, 0, 255, 255}) {
		t.Fatalf("RGB: %v", rgba.Pix)
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
		{synth{uid: "6", ts: "1.2.840.10008.1.2.4.90", rows: 2, cols: 2, bits: 16, photometric: "MONOCHROME2", fragment: []byte("j2k")}, "compressed (JPEG 2000 Lossless)"},
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

// BenchmarkRender512 is one 512×512 16-bit CT frame: header, frame, window, PNG.
func BenchmarkRender512(b *testing.B) {
	pix := make([]byte, 512*512*2)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	file := synthBytes(b, synth{uid: "b", rows: 512, cols: 512, bits: 16, stored: 12, pixrep: 1, photometric: "MONOCHROME2",
		slope: "1", intercept: "-1024", wc: "40", ww: "400", pixels: pix})
	for b.Loop() {
		in, br, err := readInfo(bytes.NewReader(file))
		if err != nil {
			b.Fatal(err)
		}
		frame, err := readFrame(br, in, 0)
		if err != nil {
			b.Fatal(err)
		}
		img, _, _ := render(in, frame, nan, nan, false)
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(io.Discard, img); err != nil {
			b.Fatal(err)
		}
	}
}

func TestShrink(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 200, 100))
	for i := range src.Pix {
		if i%200 >= 100 {
			src.Pix[i] = 255
		}
	}
	got := shrink(src, 96)
	if b := got.Bounds(); b.Dx() != 96 || b.Dy() != 48 {
		t.Fatalf("size %v", b)
	}
	l, _, _, _ := got.At(10, 10).RGBA()
	r, _, _, _ := got.At(90, 10).RGBA()
	if l != 0 || r != 0xffff {
		t.Fatalf("left %d right %d", l, r)
	}
	if small := image.NewGray(image.Rect(0, 0, 16, 16)); shrink(small, 96) != image.Image(small) {
		t.Fatal("a small image was scaled")
	}
}
