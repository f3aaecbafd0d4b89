package iso9660

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func openBytes(t *testing.T, b []byte) fs.FS {
	t.Helper()
	fsys, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// checkContents compares every file of files with fsys, and runs
// fstest.TestFS for fs.FS conformance.
func checkContents(t *testing.T, fsys fs.FS, files []File) {
	t.Helper()
	var names []string
	for _, f := range files {
		got, err := fs.ReadFile(fsys, f.Path)
		if err != nil {
			t.Errorf("%s: %v", f.Path, err)
			continue
		}
		want, _ := readAllFile(f)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: content differs", f.Path)
		}
		names = append(names, f.Path)
	}
	if err := fstest.TestFS(fsys, names...); err != nil {
		t.Error(err)
	}
}

func TestReadOwnImages(t *testing.T) {
	for _, rr := range []bool{false, true} {
		files := sampleFiles()
		_, b := buildImage(t, files, Options{VolumeID: "V", ModTime: testTime, RockRidge: rr})
		fsys := openBytes(t, b)
		checkContents(t, fsys, files)
		fi, err := fs.Stat(fsys, "VIEWER/LINUX/SMVIEW")
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o444)
		if rr {
			want = 0o555
		}
		if fi.Mode() != want || !fi.ModTime().Equal(testTime) || fi.Size() != 5000 {
			t.Errorf("rr=%v: SMVIEW %v %v %d", rr, fi.Mode(), fi.ModTime(), fi.Size())
		}
	}
}

func TestReadSeekReaderAt(t *testing.T) {
	files := sampleFiles()
	_, b := buildImage(t, files, Options{})
	f, err := openBytes(t, b).Open("DICOM/P0000001/ST000001/SE000001/IM000005")
	if err != nil {
		t.Fatal(err)
	}
	want := content(14, 8209)
	ra := f.(io.ReaderAt)
	got := make([]byte, 100)
	if _, err := ra.ReadAt(got, 4000); err != nil || !bytes.Equal(got, want[4000:4100]) {
		t.Errorf("ReadAt: %v", err)
	}
	if _, err := f.(io.Seeker).Seek(8200, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(f)
	if !bytes.Equal(rest, want[8200:]) {
		t.Errorf("after Seek: %d bytes", len(rest))
	}
}

// TestReadForeignImages reads images that xorriso and genisoimage made
// from a directory tree and compares every file.
func TestReadForeignImages(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	files := map[string][]byte{
		"DICOMDIR":                     content(1, 3000),
		"README.TXT":                   content(2, 10),
		"Viewer/Long Name viewer.exe":  content(3, 70000),
		"DICOM/ST000001/IM000001":      content(4, 0),
		"a/b/c/d/e/f/g/h/i/j/deep.txt": content(5, 5),
	}
	for i := 0; i < 300; i++ { // a directory of several sectors
		files[fmt.Sprintf("DICOM/ST000002/IM%06d", i)] = content(i, int64(i%7))
	}
	for p, c := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, c, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(src, "Viewer/Long Name viewer.exe"), 0o755)
	cases := []struct {
		tool string
		args []string
		rr   bool // names and modes as on disk
	}{
		{"xorriso", []string{"-as", "mkisofs", "-R"}, true},
		{"xorriso", []string{"-as", "mkisofs", "-R", "-J"}, true},
		{"xorriso", []string{"-as", "mkisofs", "-J", "-joliet-long"}, true},
		{"xorriso", []string{"-as", "mkisofs"}, false},
		{"genisoimage", []string{"-R", "-quiet"}, true}, // deep tree: RR relocation (CL/RE)
	}
	for _, c := range cases {
		t.Run(c.tool+strings.Join(c.args, ""), func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "x.iso")
			args := append(append([]string{}, c.args...), "-V", "FOREIGN", "-o", img, src)
			run(t, c.tool, args...)
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			fsys := openBytes(t, b)
			if !c.rr {
				fi, err := fs.Stat(fsys, "DICOMDIR")
				if err != nil || fi.Size() != 3000 {
					t.Errorf("plain ISO names: DICOMDIR: %v", err)
				}
				return
			}
			var names []string
			for p, want := range files {
				got, err := fs.ReadFile(fsys, p)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: %v (%d bytes)", p, err, len(got))
				}
				names = append(names, p)
			}
			if err := fstest.TestFS(fsys, names...); err != nil {
				t.Error(err)
			}
			if strings.Contains(strings.Join(c.args, " "), "-R") {
				fi, err := fs.Stat(fsys, "Viewer/Long Name viewer.exe")
				if err != nil || fi.Mode().Perm()&0o111 == 0 {
					t.Errorf("executable mode lost: %v %v", fi, err)
				}
			}
		})
	}
}

func TestReadHostileHeaders(t *testing.T) {
	_, good := buildImage(t, sampleFiles(), Options{RockRidge: true})
	for name, mutate := range map[string]func([]byte) []byte{
		"truncated":       func(b []byte) []byte { return b[:17*sectorSize] },
		"no CD001":        func(b []byte) []byte { b[16*sectorSize+1] = 'X'; return b },
		"block size 0":    func(b []byte) []byte { b[16*sectorSize+128], b[16*sectorSize+129] = 0, 0; return b },
		"root beyond end": func(b []byte) []byte { b[16*sectorSize+158] = 0xFF; b[16*sectorSize+159] = 0xFF; return b },
	} {
		b := mutate(bytes.Clone(good))
		fsys, err := Open(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			// The walk's own errors (a folder that cannot be read) count.
			err = fs.WalkDir(fsys, ".", func(_ string, _ fs.DirEntry, err error) error { return err })
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestReadCycle: a directory whose record points back at the root must not
// make a walk endless.
func TestReadCycle(t *testing.T) {
	_, b := buildImage(t, []File{memFile(0, "A/F", 1)}, Options{})
	fsys := openBytes(t, b)
	root := fsys.(*image).root.extents[0].off / sectorSize
	// Point the root's record for A at the root itself.
	rootDir := b[root*sectorSize:]
	for p := 0; rootDir[p] != 0; p += int(rootDir[p]) {
		if rootDir[p+33] == 'A' {
			copy(rootDir[p+2:], []byte{byte(root), 0, 0, 0})
		}
	}
	n, found := 0, false
	err := fs.WalkDir(openBytes(t, b), ".", func(p string, d fs.DirEntry, err error) error {
		found = found || p == "A"
		if n++; n > 1000 {
			return fmt.Errorf("walk does not end")
		}
		return nil
	})
	if err != nil || found {
		t.Errorf("cyclic directory: %v, listed %v", err, found)
	}
	if _, err := fs.Stat(openBytes(t, b), "A/A/A"); err == nil {
		t.Error("a path through the cyclic directory opens")
	}
}

// TestReadMultiExtent joins the extents of a file recorded in several
// directory records (ECMA-119 6.5.1), checked against xorriso's reading of
// the same image. Our writer never makes such files; the test patches two
// adjacent records into one file.
func TestReadMultiExtent(t *testing.T) {
	files := []File{memFile(1, "MA", 2048), memFile(2, "MB", 100)}
	_, b := buildImage(t, files, Options{ModTime: testTime})
	fsys := openBytes(t, b)
	root := b[fsys.(*image).root.extents[0].off:][:sectorSize]
	for p := 0; root[p] != 0; p += int(root[p]) {
		switch string(root[p+33 : p+33+int(root[p+32])]) {
		case "MA.;1":
			root[p+25] |= flagMulti
		case "MB.;1":
			root[p+34] = 'A'
		}
	}
	want := append(content(1, 2048), content(2, 100)...)
	got, err := fs.ReadFile(openBytes(t, b), "MA")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("multi-extent file: %v, %d bytes", err, len(got))
	}
	img := filepath.Join(t.TempDir(), "m.iso")
	os.WriteFile(img, b, 0o644)
	dir := filepath.Join(t.TempDir(), "x")
	run(t, "xorriso", "-osirrox", "on", "-indev", img, "-extract", "/", dir)
	if x, err := os.ReadFile(filepath.Join(dir, "MA")); err != nil || !bytes.Equal(x, want) {
		t.Errorf("xorriso reads %d bytes (%v), we read %d", len(x), err, len(got))
	}
}

// TestReadHostileContinuation: a CE entry declaring 4 GiB must give an
// error, not an allocation of that size.
func TestReadHostileContinuation(t *testing.T) {
	_, b := buildImage(t, []File{memFile(0, "F", 1)}, Options{RockRidge: true})
	// F's System Use is RR, PX (36 bytes), TF, NM. Replace PX by a CE entry
	// (28 bytes) and an unknown 8-byte entry that readers skip.
	i := bytes.Index(b, []byte("F.;1"))
	px := i + bytes.Index(b[i:], []byte("PX\x24\x01"))
	ce := make([]byte, 36)
	copy(ce, "CE\x1c\x01")
	putBoth32(ce[4:], 20)
	putBoth32(ce[20:], 0xFFFFFFFF)
	copy(ce[28:], "ZZ\x08\x01")
	copy(b[px:], ce)
	if _, err := fs.ReadDir(openBytes(t, b), "."); err == nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("4 GiB continuation area: %v", err)
	}
	putBoth32(b[px+20:], 10) // a sane length reads fine
	if _, err := fs.ReadDir(openBytes(t, b), "."); err != nil {
		t.Fatalf("10-byte continuation area: %v", err)
	}
}

// The directory bytes read from one image are bounded in all, not only
// per directory: past the budget, a walk fails with a clear error instead
// of reading on (a hostile image can point many records at large
// directories). Cached directories are not read, nor counted, again.
func TestReadWorkIsBounded(t *testing.T) {
	_, b := buildImage(t, sampleFiles(), Options{VolumeID: "V", ModTime: testTime, RockRidge: true})
	walk := func() (n int, err error) {
		err = fs.WalkDir(openBytes(t, b), ".", func(_ string, _ fs.DirEntry, err error) error {
			n++
			return err
		})
		return n, err
	}
	all, err := walk()
	if err != nil {
		t.Fatal(err)
	}
	old := maxImageWork
	t.Cleanup(func() { maxImageWork = old })
	maxImageWork = 3 * 2048 // fewer than the image's directories
	n, err := walk()
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "directories add up to more than") || n >= all {
		t.Fatalf("with a budget of 3 sectors: %d of %d entries walked, err %v", n, all, err)
	}
}
