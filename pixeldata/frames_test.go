package pixeldata

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

const (
	jpegBaselineUID = "1.2.840.10008.1.2.4.50"
	sharedCorpus    = "../../shared/corpus"
)

// Frames of encapsulated pixel data are found by the Extended Offset
// Table, the Basic Offset Table, or (without either) by where each JPEG
// codestream ends (FFD9); a single frame is all its fragments.
func TestEncapsulatedFrames(t *testing.T) {
	a1, a2 := []byte{0xFF, 0xD8, 1, 2}, []byte{3, 0xFF, 0xD9}             // frame 1 in two fragments (padded to even)
	b1 := []byte{0xFF, 0xD8, 5, 6, 0xFF, 0xD9}                            // frame 2
	c1, c2, c3 := []byte{0xFF, 0xD8}, []byte{7, 8}, []byte{9, 0xFF, 0xD9} // frame 3 in three
	frags := [][]byte{a1, a2, b1, c1, c2, c3}
	want := [][]byte{append(append([]byte{}, a1...), 3, 0xFF, 0xD9, 0), b1, {0xFF, 0xD8, 7, 8, 9, 0xFF, 0xD9, 0}}
	// Offsets from the first fragment's item tag: 8-byte item headers.
	offs := []uint32{0, uint32(8 + 4 + 8 + 4), uint32(8 + 4 + 8 + 4 + 8 + 6)}
	for _, c := range []struct {
		name string
		s    dicomtest.Image
	}{
		{"end markers", dicomtest.Image{Fragments: frags}},
		{"basic offset table", dicomtest.Image{Fragments: frags, BOT: offs}},
		{"extended offset table", dicomtest.Image{Fragments: frags, EOT: []uint64{uint64(offs[0]), uint64(offs[1]), uint64(offs[2])}}},
	} {
		c.s.UID, c.s.TS, c.s.Rows, c.s.Cols, c.s.Bits, c.s.Photometric, c.s.Frames = "20", jpegBaselineUID, 2, 2, 8, "MONOCHROME2", "3"
		for n := range 3 {
			in, got, err := frameOf(t, c.s, n)
			if err != nil || !bytes.Equal(got, want[n]) {
				t.Errorf("%s: frame %d = %x, %v; want %x", c.name, n+1, got, err, want[n])
			}
			if in.Codec != CodecJPEG {
				t.Errorf("codec %q", in.Codec)
			}
		}
		if _, _, err := frameOf(t, c.s, 3); err == nil || !strings.Contains(err.Error(), "no frame 4") {
			t.Errorf("%s: frame 4: %v", c.name, err)
		}
	}
	one := dicomtest.Image{UID: "21", TS: jpegBaselineUID, Rows: 2, Cols: 2, Bits: 8, Photometric: "MONOCHROME2", Fragments: [][]byte{{1, 2}, {3, 4}}}
	if _, got, err := frameOf(t, one, 0); err != nil || !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Errorf("one frame in two fragments: %x %v", got, err)
	}
	bad := dicomtest.Image{UID: "22", TS: jpegBaselineUID, Rows: 2, Cols: 2, Bits: 8, Photometric: "MONOCHROME2", Frames: "3", Fragments: frags, BOT: []uint32{0, 12}}
	if _, _, err := frameOf(t, bad, 0); err == nil || !strings.Contains(err.Error(), "offset table") {
		t.Errorf("offset table of the wrong size: %v", err)
	}
}

// rleSegments encodes each segment as literal runs (the simplest valid
// PackBits) behind a PS3.5 G.5 header.
func rleSegments(segs ...[]byte) []byte {
	hdr := make([]byte, 64)
	binary.LittleEndian.PutUint32(hdr, uint32(len(segs)))
	var body []byte
	for i, s := range segs {
		binary.LittleEndian.PutUint32(hdr[4+4*i:], uint32(64+len(body)))
		for len(s) > 0 {
			k := min(len(s), 128)
			body = append(body, byte(k-1))
			body = append(body, s[:k]...)
			s = s[k:]
		}
	}
	return append(hdr, body...)
}

// RLE: the most significant byte comes first in its own segment, colour
// samples by plane; runs repeat (PS3.5 G.3).
func TestRLE(t *testing.T) {
	s := dicomtest.Image{UID: "23", TS: "1.2.840.10008.1.2.5", Rows: 1, Cols: 3, Bits: 16, Photometric: "MONOCHROME2",
		Fragment: rleSegments([]byte{0x12, 0x34, 0x56}, []byte{0xAB, 0xCD, 0xEF})}
	if _, got, err := frameOf(t, s, 0); err != nil || !bytes.Equal(got, []byte{0xAB, 0x12, 0xCD, 0x34, 0xEF, 0x56}) {
		t.Fatalf("16-bit: %x %v", got, err)
	}
	// 0xFE: repeat the next byte 3 times; 0x80 is a no-op.
	run := append(make([]byte, 64), 0x80, 0xFE, 7, 0)
	binary.LittleEndian.PutUint32(run, 1)
	binary.LittleEndian.PutUint32(run[4:], 64)
	s = dicomtest.Image{UID: "24", TS: "1.2.840.10008.1.2.5", Rows: 1, Cols: 3, Bits: 8, Photometric: "MONOCHROME2", Fragment: run}
	if _, got, err := frameOf(t, s, 0); err != nil || !bytes.Equal(got, []byte{7, 7, 7}) {
		t.Fatalf("run: %x %v", got, err)
	}
	s = dicomtest.Image{UID: "25", TS: "1.2.840.10008.1.2.5", Rows: 1, Cols: 4, Bits: 8, Photometric: "MONOCHROME2", Fragment: run}
	if _, _, err := frameOf(t, s, 0); err == nil || !strings.Contains(err.Error(), "RLE data is damaged") {
		t.Fatalf("short segment: %v", err)
	}
}

// Our RLE decoder gives the bytes dcmtk's dcmdrle gives, for the corpus's
// RLE files (8 and 16 bits, RGB, multi-frame).
func TestRLEMatchesDcmdrle(t *testing.T) {
	dcmdrle := testtool.Require(t, "dcmdrle")
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	dir := t.TempDir()
	for _, name := range []string{"MR_small_RLE.dcm", "SC_rgb_rle.dcm", "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_2frame.dcm"} {
		src := filepath.Join(sharedCorpus, "pydicom/test_files", name)
		ref := filepath.Join(dir, name)
		if out, err := exec.Command(dcmdrle, src, ref).CombinedOutput(); err != nil {
			t.Fatalf("dcmdrle %s: %v\n%s", name, err, out)
		}
		in, _, err := readFile(t, src)
		if err != nil {
			t.Fatal(err)
		}
		for n := range in.Frames {
			_, got, err := readFile(t, src, n)
			if err != nil {
				t.Fatalf("%s frame %d: %v", name, n, err)
			}
			rin, want, err := readFile(t, ref, n)
			if err != nil {
				t.Fatal(err)
			}
			if rin.Planar == 0 && in.SamplesPerPixel == 3 {
				want = toPlanar(want, in.SamplesPerPixel, in.BitsAllocated/8)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s frame %d differs from dcmdrle", name, n+1)
			}
		}
	}
}

// readFile reads frame n (default 0) of a file.
func readFile(t *testing.T, path string, n ...int) (*Info, []byte, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, br, err := readInfo(f)
	if err != nil {
		return nil, nil, err
	}
	if in.Unsupported != "" {
		t.Fatalf("%s: %s", path, in.Unsupported)
	}
	k := 0
	if len(n) > 0 {
		k = n[0]
	}
	pix, err := readFrame(br, in, k)
	return in, pix, err
}

// toPlanar turns colour-by-pixel samples into colour-by-plane.
func toPlanar(b []byte, spp, bps int) []byte {
	out := make([]byte, len(b))
	pixels := len(b) / (spp * bps)
	for p := range pixels {
		for s := range spp {
			copy(out[(s*pixels+p)*bps:][:bps], b[(p*spp+s)*bps:][:bps])
		}
	}
	return out
}

// FuzzRLE: any fragment decodes to exactly the frame's size or fails; it
// never panics nor allocates more than the frame.
func FuzzRLE(f *testing.F) {
	f.Add(rleSegments([]byte{1, 2, 3}, []byte{4, 5, 6}), 1, 3, 16, 1)
	f.Add(rleSegments([]byte{1}, []byte{2}, []byte{3}), 1, 1, 8, 3)
	f.Add(append(rleSegments([]byte{}), 0xFE, 9), 2, 2, 8, 1)
	f.Fuzz(func(t *testing.T, frag []byte, rows, cols, bits, spp int) {
		rows, cols = 1+abs(rows)%64, 1+abs(cols)%64
		bits = 8 * (1 + abs(bits)%2)
		spp = []int{1, 3}[abs(spp)%2]
		in := &Info{Rows: rows, Cols: cols, BitsAllocated: bits, SamplesPerPixel: spp}
		out, err := decodeRLE(in, frag)
		if err == nil && len(out) != rows*cols*spp*bits/8 {
			t.Fatalf("decoded %d bytes for %d×%d×%d×%d", len(out), rows, cols, spp, bits/8)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// FuzzFrame: any bytes, read as a decrypted file, give a frame or an
// error: reading the header and then frame 0–3 never panics. Frames up to
// 16 MB are tried (larger ones only make the fuzzer slow; readN's bound is
// checked in TestReadNGrowsWithData).
func FuzzFrame(f *testing.F) {
	for _, s := range []dicomtest.Image{
		{UID: "1", Rows: 2, Cols: 3, Bits: 16, Photometric: "MONOCHROME2", Pixels: dicomtest.U16(1, 2, 3, 4, 5, 6)},
		{UID: "2", Rows: 1, Cols: 2, Bits: 8, SPP: 3, Photometric: "RGB", Frames: "2", Pixels: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{UID: "3", TS: "1.2.840.10008.1.2.5", Rows: 1, Cols: 3, Bits: 8, Photometric: "MONOCHROME2", Fragment: rleSegments([]byte{1, 2, 3})},
		{UID: "4", TS: "1.2.840.10008.1.2.4.90", Rows: 2, Cols: 2, Bits: 16, Photometric: "MONOCHROME2", Frames: "2",
			Fragments: [][]byte{{0xFF, 0x4F, 0xFF, 0xD9}, {0xFF, 0x4F, 0xFF, 0xD9}}, BOT: []uint32{0, 12}},
		{UID: "5", TS: "1.2.840.10008.1.2.4.50", Rows: 2, Cols: 2, Bits: 8, Photometric: "MONOCHROME2", Frames: "2",
			Fragments: [][]byte{{0xFF, 0xD8, 0xFF, 0xD9}, {0xFF, 0xD8}, {0xFF, 0xD9}}},
	} {
		f.Add(dicomtest.ImageBytes(f, s), uint8(0))
		f.Add(dicomtest.ImageBytes(f, s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		in, br, err := readInfo(bytes.NewReader(data))
		if err != nil || in.Unsupported != "" || in.frameBytes() > 16<<20 {
			return
		}
		frame, err := readFrame(br, in, int(n%4))
		if err == nil && len(frame) == 0 {
			t.Fatalf("frame %d: no bytes and no error", n%4)
		}
	})
}

// TestReadNGrowsWithData: a length word claiming 500 MB in front of a few
// bytes costs memory for the bytes, not for the claim.
func TestReadNGrowsWithData(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := readN(bytes.NewReader(make([]byte, 10)), 500<<20); err == nil {
		t.Fatal("500 MB read from 10 bytes")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("reading 10 bytes of a claimed 500 MB allocated %d MB", got>>20)
	}
	for _, n := range []int64{0, 1, 4<<20 - 1, 4 << 20, 9<<20 + 3} {
		src := make([]byte, n+5)
		for i := range src {
			src[i] = byte(i * 7)
		}
		got, err := readN(bytes.NewReader(src), n)
		if err != nil || !bytes.Equal(got, src[:n]) {
			t.Errorf("readN of %d bytes: %d bytes, %v", n, len(got), err)
		}
	}
}
