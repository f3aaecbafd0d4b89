package iso9660

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// damageFiles are 10 files, larger than the image's metadata together, in
// nested directories, with an empty one.
func damageFiles() []File {
	return []File{
		memFile(0, "DICOMDIR", 9000),
		memFile(1, "README.TXT", 700),
		memFile(2, "DICOM/P0000001/ST000001/IM000001", 60000),
		memFile(3, "DICOM/P0000001/ST000001/IM000002", 45000),
		memFile(4, "DICOM/P0000001/ST000002/IM000001", 80001),
		memFile(5, "DICOM/P0000002/ST000001/IM000001", 2048),
		memFile(6, "EMPTY.DAT", 0),
		memFile(7, "VIEWER/LINUX/SMVIEW", 70000),
		memFile(8, "VIEWER/WIN/SMVIEW.EXE", 53333),
		memFile(9, "DICOM/P0000002/ST000001/IM000002", 32345),
	}
}

// allPaths is every file and directory of files, as fs.WalkDir shows them.
func allPaths(files []File) []string {
	set := map[string]bool{".": true}
	for _, f := range files {
		for p := f.Path; p != "."; p = path.Dir(p) {
			set[p] = true
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for p := range set {
			if !yield(p) {
				return
			}
		}
	})
}

// walk returns the paths fs.WalkDir visits and the errors it meets, by
// path; it goes on after errors.
func walk(t *testing.T, fsys fs.FS) (visited []string, errs map[string]error) {
	t.Helper()
	errs = map[string]error{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs[p] = err
			return nil
		}
		visited = append(visited, p)
		return nil
	})
	if err != nil {
		t.Fatalf("WalkDir: %v", err)
	}
	slices.Sort(visited)
	return visited, errs
}

// TestTruncatedImage cuts images at 30, 60 and 90 %: every file whose data
// lies inside reads byte for byte (an empty file has none to lose), every
// other one is listed with its size and fails with ErrOutside, and the
// walk sees every entry.
func TestTruncatedImage(t *testing.T) {
	files := damageFiles()
	for _, opts := range []Options{
		{ModTime: testTime},
		{ModTime: testTime, RockRidge: true},
		{ModTime: testTime, Joliet: true},
		{ModTime: testTime, RockRidge: true, Joliet: true},
	} {
		l, err := NewLayout(files, opts)
		if err != nil {
			t.Fatal(err)
		}
		_, b := buildImage(t, files, opts)
		for _, pct := range []int64{30, 60, 90} {
			name := fmt.Sprintf("rr=%v,joliet=%v,%d%%", opts.RockRidge, opts.Joliet, pct)
			cut := int64(len(b)) * pct / 100
			if cut <= l.Offset(0) {
				t.Fatalf("%s: the cut at %d is inside the metadata", name, cut)
			}
			// The reader both knows the image's size and returns no more.
			fsys, err := Open(bytes.NewReader(b[:cut]), cut)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			inside, outside := checkTruncated(t, name, fsys, files, func(i int) bool {
				return files[i].Size == 0 || l.Offset(i)+files[i].Size <= cut
			})
			t.Logf("%s: %d files inside, %d outside", name, inside, outside)
			if inside < 2 || outside < 2 {
				t.Errorf("%s: %d files inside, %d outside: the cut tests little", name, inside, outside)
			}
			visited, errs := walk(t, fsys)
			if want := allPaths(files); !slices.Equal(visited, want) || len(errs) > 0 {
				t.Errorf("%s: walk visited %v, errors %v; want %v", name, visited, errs, want)
			}
		}
	}
}

// checkTruncated checks every file of files in fsys, where in(i) tells
// whether files[i]'s data survived.
func checkTruncated(t *testing.T, name string, fsys fs.FS, files []File, in func(i int) bool) (inside, outside int) {
	t.Helper()
	for i, f := range files {
		fi, err := fs.Stat(fsys, f.Path)
		if err != nil || fi.Size() != f.Size {
			t.Errorf("%s: Stat %s: %v, %v", name, f.Path, fi, err)
		}
		listed := false
		list, err := fs.ReadDir(fsys, path.Dir(f.Path))
		for _, e := range list {
			if e.Name() == path.Base(f.Path) {
				info, err := e.Info()
				listed = err == nil && info.Size() == f.Size
			}
		}
		if !listed {
			t.Errorf("%s: %s not listed with its size: %v", name, f.Path, err)
		}
		got, err := fs.ReadFile(fsys, f.Path)
		if in(i) {
			inside++
			want, _ := readAllFile(f)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %s lies inside: %v, %d of %d bytes", name, f.Path, err, len(got), len(want))
			}
			continue
		}
		outside++
		if !errors.Is(err, ErrOutside) {
			t.Errorf("%s: %s lies outside: got %d bytes, error %v; want ErrOutside", name, f.Path, len(got), err)
		}
		if _, err := fsys.Open(f.Path); !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), f.Path) {
			t.Errorf("%s: Open %s: %v", name, f.Path, err)
		}
	}
	return inside, outside
}

// TestShortReaderIsNotEOF: a reader that ends before the size given to
// Open (the image file shrank, a device stops) makes reads fail with
// ErrOutside and io.ErrUnexpectedEOF, never a short read ending in io.EOF.
func TestShortReaderIsNotEOF(t *testing.T) {
	files := damageFiles()
	l, _ := NewLayout(files, Options{RockRidge: true})
	_, b := buildImage(t, files, Options{RockRidge: true})
	cut := int64(len(b)) / 2
	fsys, err := Open(bytes.NewReader(b[:cut]), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		got, err := fs.ReadFile(fsys, f.Path)
		if f.Size == 0 || l.Offset(i)+f.Size <= cut {
			if want, _ := readAllFile(f); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %v", f.Path, err)
			}
			continue
		}
		if !errors.Is(err, ErrOutside) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), f.Path) {
			t.Errorf("%s: %d bytes, %v; want ErrOutside and io.ErrUnexpectedEOF", f.Path, len(got), err)
		}
	}
}

// recordAt returns the offset in b of the record named ident (as recorded)
// in the directory whose extent starts at dir, or fails.
func recordAt(t *testing.T, b []byte, dir int64, ident string) int {
	t.Helper()
	for s := int(dir); s < int(dir)+4*sectorSize; s += sectorSize {
		for p := s; p < s+sectorSize && b[p] != 0; p += int(b[p]) {
			if string(b[p+33:p+33+int(b[p+32])]) == ident {
				return p
			}
		}
	}
	t.Fatalf("no record %q in the directory at %d", ident, dir)
	return 0
}

// rootAt is the byte offset of the root directory of volume descriptor vd
// (16: primary, 17: Joliet).
func rootAt(b []byte, vd int) int64 {
	return int64(binary.LittleEndian.Uint32(b[vd*sectorSize+156+2:])) * sectorSize
}

// TestDirectoryOutside: a directory whose extent lies past the end fails
// when listed, naming it; the rest of the image reads.
func TestDirectoryOutside(t *testing.T) {
	files := damageFiles()
	for _, rr := range []bool{false, true} {
		_, b := buildImage(t, files, Options{RockRidge: rr})
		rec := recordAt(t, b, rootAt(b, 16), "VIEWER")
		putBoth32(b[rec+2:], uint32(len(b)/sectorSize+10))
		fsys := openBytes(t, b)
		if fi, err := fs.Stat(fsys, "VIEWER"); err != nil || !fi.IsDir() {
			t.Errorf("rr=%v: Stat VIEWER: %v", rr, err)
		}
		_, err := fs.ReadDir(fsys, "VIEWER")
		if !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), "VIEWER") {
			t.Errorf("rr=%v: ReadDir VIEWER: %v", rr, err)
		}
		_, err = fs.ReadFile(fsys, "VIEWER/LINUX/SMVIEW")
		if !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), "directory VIEWER:") {
			t.Errorf("rr=%v: a file below VIEWER: %v", rr, err)
		}
		visited, errs := walk(t, fsys)
		var want []string
		for _, p := range allPaths(files) {
			if !strings.HasPrefix(p, "VIEWER/") {
				want = append(want, p)
			}
		}
		if !slices.Equal(visited, want) || len(errs) != 1 || !errors.Is(errs["VIEWER"], ErrOutside) {
			t.Errorf("rr=%v: walk visited %v, errors %v", rr, visited, errs)
		}
		for _, f := range files {
			if !strings.HasPrefix(f.Path, "VIEWER/") {
				if got, err := fs.ReadFile(fsys, f.Path); err != nil || len(got) != int(f.Size) {
					t.Errorf("rr=%v: %s: %v", rr, f.Path, err)
				}
			}
		}
	}
}

// TestCutInDirectories cuts an image right after its root directory: Open
// succeeds, the root lists every entry, the other directories fail when
// listed and the root's files read.
func TestCutInDirectories(t *testing.T) {
	files := damageFiles()
	_, b := buildImage(t, files, Options{RockRidge: true, Joliet: true})
	cut := rootAt(b, 16) + sectorSize
	fsys, err := Open(bytes.NewReader(b[:cut]), cut)
	if err != nil {
		t.Fatal(err)
	}
	list, err := fs.ReadDir(fsys, ".")
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	if err != nil || strings.Join(names, " ") != "DICOM DICOMDIR EMPTY.DAT README.TXT VIEWER" {
		t.Fatalf("root: %v, %v", names, err)
	}
	if fi, err := fs.Stat(fsys, "DICOMDIR"); err != nil || fi.Size() != 9000 {
		t.Errorf("Stat DICOMDIR: %v", err)
	}
	if _, err := fs.ReadFile(fsys, "DICOMDIR"); !errors.Is(err, ErrOutside) {
		t.Errorf("DICOMDIR: %v", err)
	}
	if got, err := fs.ReadFile(fsys, "EMPTY.DAT"); err != nil || len(got) != 0 {
		t.Errorf("an empty file has no data to lose: %v", err)
	}
	_, errs := walk(t, fsys)
	if len(errs) != 2 || !errors.Is(errs["DICOM"], ErrOutside) || !errors.Is(errs["VIEWER"], ErrOutside) {
		t.Errorf("walk errors %v", errs)
	}
}

// failingReader fails every read that touches [lo, hi).
type failingReader struct {
	r      io.ReaderAt
	lo, hi int64
}

var errMedium = errors.New("medium error")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off < f.hi && off+int64(len(p)) > f.lo {
		return 0, errMedium
	}
	return f.r.ReadAt(p, off)
}

// TestReaderErrorsPropagate: an error of the ReaderAt reaches the caller
// (errors.Is), for the file or directory it hits only.
func TestReaderErrorsPropagate(t *testing.T) {
	files := damageFiles()
	opts := Options{RockRidge: true}
	l, _ := NewLayout(files, opts)
	_, b := buildImage(t, files, opts)
	open := func(lo, hi int64) (fs.FS, error) {
		return Open(failingReader{bytes.NewReader(b), lo, hi}, int64(len(b)))
	}
	if _, err := open(16*sectorSize, 17*sectorSize); !errors.Is(err, errMedium) {
		t.Errorf("unreadable PVD: %v", err)
	}
	if _, err := open(rootAt(b, 16), rootAt(b, 16)+1); !errors.Is(err, errMedium) {
		t.Errorf("unreadable root directory: %v", err)
	}
	// The data of files[3], and the directory DICOM.
	dicom := int64(binary.LittleEndian.Uint32(b[recordAt(t, b, rootAt(b, 16), "DICOM")+2:])) * sectorSize
	for _, bad := range [][2]int64{{l.Offset(3) + 100, l.Offset(3) + 101}, {dicom, dicom + sectorSize}} {
		fsys, err := open(bad[0], bad[1])
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range files {
			_, err := fs.ReadFile(fsys, f.Path)
			hit := i == 3 && bad[0] != dicom || strings.HasPrefix(f.Path, "DICOM/") && bad[0] == dicom
			if hit != errors.Is(err, errMedium) || !hit && err != nil {
				t.Errorf("bad %v: %s: %v", bad, f.Path, err)
			}
		}
	}
}

// TestTruncatedXorrisoImage cuts an image that xorriso made at 30, 60 and
// 90 %: files whose data survived read, the others fail with ErrOutside,
// and the walk still visits everything below the surviving directories.
func TestTruncatedXorrisoImage(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	var files []File
	for i, p := range []string{"DICOMDIR", "README.TXT", "DICOM/P1/IM000001", "DICOM/P1/IM000002", "DICOM/P1/IM000003",
		"DICOM/P2/IM000001", "DICOM/P2/IM000002", "VIEWER/viewer.exe", "VIEWER/lib/Long Library Name.so", "EMPTY"} {
		size := int64(20000 + 13000*i)
		if p == "EMPTY" {
			size = 0
		}
		files = append(files, memFile(i, p, size))
		full := filepath.Join(src, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, content(i, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(t.TempDir(), "x.iso")
	// Without the 300 KiB of padding, the cuts fall in the file data.
	run(t, "xorriso", "-as", "mkisofs", "-R", "-J", "-no-pad", "-o", img, src)
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	full := openBytes(t, b).(*image)
	end := func(p string) int64 { // where the data of p ends, or its directory
		d, _, err := full.lookup(p)
		if err != nil {
			t.Fatal(err)
		}
		var e int64
		for _, x := range d.extents {
			if x.n > 0 {
				e = max(e, x.off+x.n)
			}
		}
		return e
	}
	for _, pct := range []int64{30, 60, 90} {
		name := fmt.Sprintf("xorriso %d%%", pct)
		cut := int64(len(b)) * pct / 100
		fsys, err := Open(bytes.NewReader(b[:cut]), cut)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		inside, outside := checkTruncated(t, name, fsys, files, func(i int) bool { return end(files[i].Path) <= cut })
		t.Logf("%s: %d files inside, %d outside", name, inside, outside)
		if outside == 0 {
			t.Errorf("%s: no file lies outside: the cut tests nothing", name)
		}
		var want []string
		for _, p := range allPaths(files) {
			survived := true
			for d := path.Dir(p); d != "."; d = path.Dir(d) {
				survived = survived && end(d) <= cut
			}
			if survived {
				want = append(want, p)
			}
		}
		if visited, errs := walk(t, fsys); !slices.Equal(visited, want) {
			t.Errorf("%s: walk visited %v (errors %v), want %v", name, visited, errs, want)
		}
		if m, err := CompareNames(bytes.NewReader(b[:cut]), cut); len(m) > 0 || err != nil {
			t.Errorf("%s: CompareNames: %v, %v", name, m, err)
		}
	}
}
