package iso9660

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// countWriter counts bytes; it is not a Seeker, like a pipe.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestSizeEqualsWrittenBytes(t *testing.T) {
	shapes := map[string][]File{
		"empty":  nil,
		"one":    {memFile(0, "DICOMDIR", 1)},
		"sample": sampleFiles(),
	}
	// A directory with enough entries to need several sectors, and files
	// on sector boundaries.
	var wide []File
	for i := 0; i < 300; i++ {
		wide = append(wide, memFile(i, fmt.Sprintf("DICOM/IM%06d", i), int64(i*1021%5000)))
	}
	wide = append(wide, memFile(1, "X/EXACT", 2048), memFile(2, "X/EXACT2", 4096), memFile(3, "X/Y.Z", 2049))
	shapes["wide"] = wide
	var many []File
	for i := 0; i < 200; i++ {
		many = append(many, memFile(i, fmt.Sprintf("D%03d/S%02d/F", i, i%7), 5))
	}
	shapes["manydirs"] = many
	for name, files := range shapes {
		for _, rr := range []bool{false, true} {
			opts := Options{VolumeID: "V", ModTime: testTime, RockRidge: rr, Joliet: !rr}
			size, err := Size(files, opts)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var c countWriter
			if err := Write(&c, files, opts); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if c.n != size || size%sectorSize != 0 {
				t.Errorf("%s rr=%v: Size %d, Write wrote %d", name, rr, size, c.n)
			}
		}
	}
}

func TestInvalidInput(t *testing.T) {
	ok := memFile(0, "DICOMDIR", 1)
	cases := map[string][]File{
		"lower case":      {memFile(0, "dicomdir", 1)},
		"long name":       {memFile(0, "ABCDEFGHI", 1)},
		"long ext":        {memFile(0, "A.TEXT", 1)},
		"dir with ext":    {memFile(0, "A.B/C", 1)},
		"trailing dot":    {memFile(0, "A.", 1)},
		"empty component": {memFile(0, "A//B", 1)},
		"nine levels":     {memFile(0, "A/B/C/D/E/F/G/H/I", 1)},
		"duplicate":       {ok, ok},
		"file and dir":    {memFile(0, "A", 1), memFile(0, "A/B", 1)},
		"dir and file":    {memFile(0, "A/B", 1), memFile(0, "A", 1)},
		"4 GiB":           {memFile(0, "BIG", 1<<32)},
		"negative":        {memFile(0, "NEG", -1)},
	}
	for name, files := range cases {
		if _, err := Size(files, Options{}); err == nil {
			t.Errorf("%s: Size accepted it", name)
		}
		if err := Write(io.Discard, files, Options{}); err == nil {
			t.Errorf("%s: Write accepted it", name)
		}
	}
	for name, o := range map[string]Options{
		"volume id lower": {VolumeID: "abc"},
		"volume id long":  {VolumeID: strings.Repeat("A", 33)},
		"publisher lower": {Publisher: "acme"},
	} {
		if _, err := Size([]File{ok}, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A layout needs no Open; Write does, and writes nothing without one.
	noOpen := []File{{Path: "X", Size: 1}}
	if _, err := Size(noOpen, Options{}); err != nil {
		t.Errorf("no open: Size refused it: %v", err)
	}
	var c countWriter
	if err := Write(&c, noOpen, Options{}); err == nil || c.n != 0 {
		t.Errorf("no open: Write wrote %d bytes, err %v", c.n, err)
	}
	if _, err := Size([]File{memFile(0, "A/B/C/D/E/F/G/H", 1)}, Options{}); err != nil {
		t.Errorf("8 levels incl. root refused: %v", err)
	}
}

func TestWrongContentSizeNamesFile(t *testing.T) {
	// Both copy paths: a reader that writes itself out in one piece
	// (io.WriterTo), and a plain one copied through a buffer.
	readers := map[string]func([]byte) io.Reader{
		"WriterTo": func(b []byte) io.Reader { return bytes.NewReader(b) },
		"Reader":   func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} },
	}
	for kind, newReader := range readers {
		for _, n := range []int{9, 11, 200000} {
			f := File{Path: "DICOM/IM000001", Size: 10, Open: func() (io.Reader, error) {
				return newReader(make([]byte, n)), nil
			}}
			err := Write(io.Discard, []File{f}, Options{})
			if !errors.Is(err, ErrSize) || !strings.Contains(err.Error(), "DICOM/IM000001") {
				t.Errorf("%s, %d bytes for Size 10: %v", kind, n, err)
			}
		}
	}
	boom := errors.New("boom")
	f := File{Path: "X", Size: 1, Open: func() (io.Reader, error) { return nil, boom }}
	if err := Write(io.Discard, []File{f}, Options{}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "X") {
		t.Errorf("open error: %v", err)
	}
}

// TestPathTableOrder checks ECMA-119 9.4 ordering and the both-endian PVD
// fields directly in the bytes.
func TestPathTableOrder(t *testing.T) {
	files := []File{memFile(0, "B/Z/F", 1), memFile(0, "A/Y/F", 1), memFile(0, "A/X/F", 1), memFile(0, "B/A/F", 1)}
	_, img := buildImage(t, files, Options{ModTime: testTime})
	pvd := img[16*sectorSize:]
	ptSize := le32(pvd[132:])
	if be32(pvd[136:]) != ptSize || le32(pvd[80:]) != be32(pvd[84:]) || int(le32(pvd[80:]))*sectorSize != len(img) {
		t.Fatal("both-endian PVD fields disagree")
	}
	lt := img[int(le32(pvd[140:]))*sectorSize:][:ptSize]
	var got []string
	for off := 0; off < len(lt); {
		n := int(lt[off])
		got = append(got, fmt.Sprintf("%d:%q", int(lt[off+6])|int(lt[off+7])<<8, lt[off+8:off+8+n]))
		off += 8 + n + n%2
	}
	want := `1:"\x00" 1:"A" 1:"B" 2:"X" 2:"Y" 3:"A" 3:"Z"`
	if strings.Join(got, " ") != want {
		t.Errorf("path table %s, want %s", strings.Join(got, " "), want)
	}
	// The M table (ECMA-119 9.4, big-endian numbers) holds the same records.
	mt := img[int(be32(pvd[148:]))*sectorSize:][:ptSize]
	for off := 0; off < len(mt); {
		n := int(mt[off])
		if le32(lt[off+2:]) != be32(mt[off+2:]) || lt[off+6] != mt[off+7] || !bytes.Equal(lt[off+8:off+8+n], mt[off+8:off+8+n]) {
			t.Fatalf("M path table differs from L at %d", off)
		}
		off += 8 + n + n%2
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func be32(b []byte) uint32 {
	return uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
}

// TestSizeRandomShapes compares Size with Write and with the reader on
// random trees (names of every length, sizes around sector boundaries).
func TestSizeRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	name := func(n int) string {
		const chars = "ABCXYZ019_"
		b := make([]byte, n)
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		return string(b)
	}
	for iter := 0; iter < 40; iter++ {
		seen := map[string]bool{}
		var files []File
		for i := 0; i < rng.IntN(60); i++ {
			var comps []string
			for d := rng.IntN(maxLevels); d > 0; d-- {
				comps = append(comps, "D"+name(rng.IntN(7)))
			}
			base := "F" + name(rng.IntN(8))
			if rng.IntN(2) == 0 {
				base += "." + name(1+rng.IntN(3))
			}
			p := strings.Join(append(comps, base), "/")
			if seen[p] {
				continue
			}
			seen[p] = true
			size := int64(rng.IntN(3)*sectorSize + rng.IntN(3) - 1)
			files = append(files, memFile(i, p, max(size, 0)))
		}
		opts := Options{VolumeID: name(rng.IntN(17)), ModTime: testTime, RockRidge: rng.IntN(2) == 0, Joliet: rng.IntN(2) == 0}
		size, err := Size(files, opts)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, files, opts); err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != size {
			t.Fatalf("iter %d: Size %d, wrote %d", iter, size, buf.Len())
		}
		fsys, err := Open(bytes.NewReader(buf.Bytes()), size)
		if err != nil {
			t.Fatal(err)
		}
		checkContents(t, fsys, files)
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"DICOMDIR", "README.TXT", "DICOM/P0000001/ST000001/SE000001/IM000001", "A/B/C/D/E/F/G/H", "VIEWER/LINUX/SMVIEW"} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/DICOMDIR", "DICOM/", "readme.txt", "A/B/C/D/E/F/G/H/I", "A B", "ABCDEFGHI.TXT"} {
		if CheckPath(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestOpenOrderAndNothingWrittenOnBadInput: Open is called once per file in
// slice order, and invalid input writes no byte and opens no file.
func TestOpenOrderAndNothingWrittenOnBadInput(t *testing.T) {
	var order []string
	mk := func(p string) File {
		return File{Path: p, Size: 3, Open: func() (io.Reader, error) {
			order = append(order, p)
			return strings.NewReader("abc"), nil
		}}
	}
	files := []File{mk("Z"), mk("A/B"), mk("M.TXT")}
	if err := Write(io.Discard, files, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, " "); got != "Z A/B M.TXT" {
		t.Errorf("Open order %q", got)
	}
	order = nil
	var c countWriter
	if err := Write(&c, append(files, mk("bad")), Options{}); err == nil || c.n != 0 || order != nil {
		t.Errorf("bad input: err %v, wrote %d bytes, opened %v", err, c.n, order)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disc full")
	}
	return len(p), nil
}

func TestWriterErrorIsReturned(t *testing.T) {
	for _, after := range []int{0, 40 << 10, 100 << 10} {
		err := Write(&failWriter{after: after}, sampleFiles(), Options{RockRidge: true})
		if err == nil || !strings.Contains(err.Error(), "disc full") {
			t.Errorf("failure after %d bytes: %v", after, err)
		}
	}
}

// memImage is an io.WriterAt over a byte slice of a fixed size.
type memImage []byte

func (m memImage) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, fmt.Errorf("write at %d+%d outside the %d-byte image", off, len(p), len(m))
	}
	return copy(m[off:], p), nil
}

// A Layout written out of order (the files backwards, the metadata last),
// each at its offset over zeros, is the very image Write streams.
func TestLayoutWrittenAtOffsetsEqualsWrite(t *testing.T) {
	opts := Options{VolumeID: "LAYOUT", ModTime: testTime, RockRidge: true, Joliet: true}
	files := sampleFiles()
	var want bytes.Buffer
	if err := Write(&want, files, opts); err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout(files, opts)
	if err != nil {
		t.Fatal(err)
	}
	if l.Size() != int64(want.Len()) {
		t.Fatalf("layout size %d, Write wrote %d", l.Size(), want.Len())
	}
	img := make(memImage, l.Size())
	for i := len(files) - 1; i >= 0; i-- {
		r, _ := files[i].Open()
		b, _ := io.ReadAll(r)
		if _, err := img.WriteAt(b, l.Offset(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.WriteMeta(io.NewOffsetWriter(img, 0)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img, want.Bytes()) {
		t.Fatal("the image written at the layout's offsets differs from Write's")
	}
}
