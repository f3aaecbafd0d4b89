package iso9660

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func compareBytes(t *testing.T, b []byte) ([]NameMismatch, error) {
	t.Helper()
	return CompareNames(bytes.NewReader(b), int64(len(b)))
}

func allOptions() []Options {
	var out []Options
	for _, rr := range []bool{false, true} {
		for _, joliet := range []bool{false, true} {
			out = append(out, Options{VolumeID: "V", ModTime: testTime, RockRidge: rr, Joliet: joliet})
		}
	}
	return out
}

func TestCompareNamesOwnImages(t *testing.T) {
	for _, opts := range allOptions() {
		for name, files := range map[string][]File{"sample": sampleFiles(), "damage": damageFiles(), "wide": wideFiles(), "empty": nil} {
			_, b := buildImage(t, files, opts)
			if m, err := compareBytes(t, b); len(m) > 0 || err != nil {
				t.Errorf("%s rr=%v joliet=%v: %v, %v", name, opts.RockRidge, opts.Joliet, m, err)
			}
		}
	}
}

// ucs2 is s as a Joliet identifier.
func ucs2(s string) string { return encodeName(s, jolietTree) }

// patch replaces the identifier old (as recorded) with new, of the same
// length, in the directory whose extent starts at dir.
func patch(t *testing.T, b []byte, dir int64, old, new string) {
	t.Helper()
	p := recordAt(t, b, dir, old)
	copy(b[p+33:], new)
}

// TestCompareNamesAlteredISO changes DICOMDIR's ISO 9660 identifier to
// DICOMDAR, which Windows would not find while Linux (Rock Ridge) would.
func TestCompareNamesAlteredISO(t *testing.T) {
	for _, opts := range allOptions() {
		_, b := buildImage(t, sampleFiles(), opts)
		patch(t, b, rootAt(b, 16), "DICOMDIR.;1", "DICOMDAR.;1")
		m, err := compareBytes(t, b)
		want := NameMismatch{Path: "DICOMDIR", ISO: "DICOMDAR"}
		switch {
		case opts.RockRidge && opts.Joliet:
			want.RockRidge, want.Joliet = "DICOMDIR", "DICOMDIR"
		case opts.RockRidge:
			want.RockRidge = "DICOMDIR"
		case opts.Joliet:
			want.Joliet = "DICOMDIR"
		default:
			want = NameMismatch{} // one tree: nothing to disagree with
		}
		var wantList []NameMismatch
		if want.Path != "" {
			wantList = []NameMismatch{want}
		}
		if err != nil || !slices.Equal(m, wantList) {
			t.Errorf("rr=%v joliet=%v: %v, %v; want %v", opts.RockRidge, opts.Joliet, m, err, wantList)
		}
	}
}

// TestCompareNamesAlteredJoliet changes a Joliet file name and a Joliet
// directory name; the directory is still matched (by its files' data), so
// only the two names are reported.
func TestCompareNamesAlteredJoliet(t *testing.T) {
	for _, rr := range []bool{false, true} {
		_, b := buildImage(t, sampleFiles(), Options{ModTime: testTime, RockRidge: rr, Joliet: true})
		root := rootAt(b, 17)
		patch(t, b, root, ucs2("DICOMDIR"), ucs2("DICOMDOR"))
		patch(t, b, root, ucs2("VIEWER"), ucs2("VIEWOR"))
		m, err := compareBytes(t, b)
		want := []NameMismatch{
			{Path: "DICOMDIR", ISO: "DICOMDIR", Joliet: "DICOMDOR", RockRidge: "DICOMDIR"},
			{Path: "VIEWER", ISO: "VIEWER", Joliet: "VIEWOR", RockRidge: "VIEWER"},
		}
		if !rr {
			// Open shows Joliet names.
			want = []NameMismatch{
				{Path: "DICOMDOR", ISO: "DICOMDIR", Joliet: "DICOMDOR"},
				{Path: "VIEWOR", ISO: "VIEWER", Joliet: "VIEWOR"},
			}
		}
		if err != nil || !slices.Equal(m, want) {
			t.Errorf("rr=%v: %v, %v; want %v", rr, m, err, want)
		}
	}
}

// TestCompareNamesAlteredRockRidge changes a Rock Ridge NM name.
func TestCompareNamesAlteredRockRidge(t *testing.T) {
	_, b := buildImage(t, sampleFiles(), Options{ModTime: testTime, RockRidge: true})
	p := recordAt(t, b, rootAt(b, 16), "README.TXT;1")
	nm := p + bytes.Index(b[p:p+int(b[p])], []byte("NM\x0f\x01\x00README.TXT"))
	copy(b[nm+5:], "READMY.TXT")
	m, err := compareBytes(t, b)
	want := []NameMismatch{{Path: "READMY.TXT", ISO: "README.TXT", RockRidge: "READMY.TXT"}}
	if err != nil || !slices.Equal(m, want) {
		t.Errorf("%v, %v; want %v", m, err, want)
	}
}

// TestCompareNamesMissing hides a file from the Joliet tree (the
// associated-file flag, which readers skip) and moves another file's
// Joliet record to other data: each is reported as missing where it is.
func TestCompareNamesMissing(t *testing.T) {
	_, b := buildImage(t, sampleFiles(), Options{ModTime: testTime, RockRidge: true, Joliet: true})
	root := rootAt(b, 17)
	b[recordAt(t, b, root, ucs2("README.TXT"))+25] |= flagAssociated
	dicomdir := recordAt(t, b, root, ucs2("DICOMDIR"))
	putBoth32(b[dicomdir+2:], 20) // a sector of the path tables
	m, err := compareBytes(t, b)
	want := []NameMismatch{
		{Path: "DICOMDIR", Joliet: "DICOMDIR"},
		{Path: "DICOMDIR", ISO: "DICOMDIR", RockRidge: "DICOMDIR"},
		{Path: "README.TXT", ISO: "README.TXT", RockRidge: "README.TXT"},
	}
	if err != nil || !slices.Equal(m, want) {
		t.Errorf("%v, %v; want %v", m, err, want)
	}
}

// TestCompareNamesUnreadableDirectory: a directory that cannot be read is
// left out, with an error naming it; the rest is still compared.
func TestCompareNamesUnreadableDirectory(t *testing.T) {
	_, b := buildImage(t, sampleFiles(), Options{ModTime: testTime, RockRidge: true, Joliet: true})
	rec := recordAt(t, b, rootAt(b, 16), "VIEWER")
	putBoth32(b[rec+2:], uint32(len(b)/sectorSize+10))
	patch(t, b, rootAt(b, 16), "DICOMDIR.;1", "DICOMDAR.;1")
	m, err := compareBytes(t, b)
	want := []NameMismatch{{Path: "DICOMDIR", ISO: "DICOMDAR", Joliet: "DICOMDIR", RockRidge: "DICOMDIR"}}
	if !slices.Equal(m, want) || !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), "directory VIEWER") {
		t.Errorf("%v, %v; want %v and an error naming VIEWER", m, err, want)
	}
	// A directory that points at the root is reached twice.
	_, b = buildImage(t, []File{memFile(0, "A/F", 1), memFile(1, "B", 1)}, Options{RockRidge: true})
	root := rootAt(b, 16)
	putBoth32(b[recordAt(t, b, root, "A")+2:], uint32(root/sectorSize))
	if m, err := compareBytes(t, b); len(m) > 0 || err == nil || !strings.Contains(err.Error(), "directory A") {
		t.Errorf("cyclic directory: %v, %v", m, err)
	}
}

// foreignTree writes files (path: content) under a new directory.
func foreignTree(t *testing.T, files map[string]string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	for p, c := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// TestCompareNamesForeignImages: images that xorriso and genisoimage make
// of lower-case 8.3 names, long names, names Joliet cannot hold, empty
// files (which share one block) and a tree deeper than 8 levels (which
// genisoimage relocates to rr_moved) give no mismatch; altering the ISO
// 9660 name of dicomdir in them does.
func TestCompareNamesForeignImages(t *testing.T) {
	src := foreignTree(t, map[string]string{
		"dicomdir":                     "dicomdir",
		"readme.txt":                   "readme",
		"dicom/pat1/st1/im000001":      "image 1",
		"dicom/pat1/st1/im000002":      "image 2",
		"empty1":                       "",
		"empty2":                       "",
		"emptydir/empty3":              "",
		"Long Name viewer.exe":         "viewer",
		"my-file.txt":                  "dash",
		"semi;colon":                   "semicolon",
		"a.b.c":                        "dots",
		"MixedCase.Txt":                "mixed",
		".ab":                          "no name part",
		"a.":                           "trailing dot",
		"d.x/f":                        "a directory with a dot",
		"a/b/c/d/e/f/g/h/i/j/deep.txt": "deep",
		strings.Repeat("x", 70):        "long",
	})
	cases := []struct {
		tool string
		args []string
	}{
		{"xorriso", []string{"-as", "mkisofs", "-R", "-J"}},
		{"xorriso", []string{"-as", "mkisofs", "-R"}},
		{"xorriso", []string{"-as", "mkisofs", "-J"}},
		{"xorriso", []string{"-as", "mkisofs", "-R", "-J", "-joliet-long"}},
		{"genisoimage", []string{"-quiet", "-R", "-J"}},
		{"genisoimage", []string{"-quiet", "-R"}},
		{"genisoimage", []string{"-quiet", "-J"}},
	}
	for _, c := range cases {
		t.Run(c.tool+strings.Join(c.args, ""), func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "x.iso")
			run(t, c.tool, append(append([]string{}, c.args...), "-o", img, src)...)
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := compareBytes(t, b); len(m) > 0 || err != nil {
				t.Errorf("%v, %v", m, err)
			}
			patch(t, b, rootAt(b, 16), "DICOMDIR.;1", "DICOMDAR.;1")
			m, err := compareBytes(t, b)
			if err != nil || len(m) != 1 || m[0].ISO != "DICOMDAR" || m[0].Path != "dicomdir" {
				t.Errorf("altered ISO name: %v, %v", m, err)
			}
		})
	}
}

// TestCompareNamesRules checks the name rules alone.
func TestCompareNamesRules(t *testing.T) {
	for _, c := range []struct {
		iso, long string
		dir, ok   bool
	}{
		{"DICOMDIR", "dicomdir", false, true},
		{"DICOMDIR", "DICOMDIR", false, true},
		{"DICOMDAR", "DICOMDIR", false, false},
		{"README.TXT", "readme.txt", false, true},
		{"README.TXT", "readme.txx", false, false},
		{"LONG_NAM.EXE", "Long Name viewer.exe", false, true}, // not Level 1
		{"MY_FILE.TXT", "my-file.txt", false, true},
		{"A_B.C", "a.b.c", false, true},
		{"VIEWER", "viewer", true, true},
		{"VIEWER", "VIEWOR", true, false},
		{"V1_2", "v1.2", true, true}, // a directory has no extension
		{"S", "ſ", false, true},      // not ASCII: not Level 1, no Unicode folding
		{"IM1", "IM1.", false, true}, // a trailing dot is not Level 1
		{"_AB", ".ab", false, true},  // no NAME part: writers differ
		{"X", ".ab", false, true},
	} {
		if got := agreeISO(c.iso, c.long, c.dir); got != c.ok {
			t.Errorf("agreeISO(%q, %q, %v) = %v", c.iso, c.long, c.dir, got)
		}
	}
	for _, c := range []struct {
		rr, joliet string
		ok         bool
	}{
		{"Long Name viewer.exe", "Long Name viewer.exe", true},
		{"Long Name viewer.exe", "long name VIEWER.exe", true},
		{"Long Name viewer.exe", "Long Name viewer.exf", false},
		{"semi;colon", "semi_colon", true},
		{strings.Repeat("x", 70), strings.Repeat("x", 64), true},
		{strings.Repeat("x", 64), strings.Repeat("x", 63) + "y", false},
		{"name.", "name", true},
		{"ſ", "s", false},
	} {
		if got := agreeJoliet(c.rr, c.joliet); got != c.ok {
			t.Errorf("agreeJoliet(%q, %q) = %v", c.rr, c.joliet, got)
		}
	}
}

// TestCompareNamesMatching: empty files share one extent and are matched
// by name, then in order; hard links (one extent, several names) by name.
func TestCompareNamesMatching(t *testing.T) {
	node := func(name, ident string, dir bool, off, size int64) *nameNode {
		fp := int64(-1)
		if size > 0 {
			fp = off
		}
		return &nameNode{de: &dirent{name: name, ident: ident, isDir: dir, size: size}, fp: fp}
	}
	a := []*nameNode{node("e1", "E1.;1", false, 9, 0), node("e2", "E2.;1", false, 9, 0),
		node("l1", "L1.;1", false, 5, 10), node("l2", "L2.;1", false, 5, 10), node("x", "X.;1", false, 7, 3)}
	b := []*nameNode{node("E2", "", false, 9, 0), node("Q", "", false, 9, 0),
		node("l2", "", false, 5, 10), node("l1", "", false, 5, 10), node("y", "", false, 8, 3)}
	var got []string
	for _, p := range matchChildren(a, b) {
		s := func(n *nameNode) string {
			if n == nil {
				return "-"
			}
			return n.de.name
		}
		got = append(got, s(p[0])+"="+s(p[1]))
	}
	slices.Sort(got)
	if want := "-=y e1=Q e2=E2 l1=l1 l2=l2 x=-"; strings.Join(got, " ") != want {
		t.Errorf("pairs %s, want %s", strings.Join(got, " "), want)
	}
}

// TestCompareNamesLarge: a directory of many empty files, all on one
// extent, is matched in linear time.
func TestCompareNamesLarge(t *testing.T) {
	var files []File
	for i := 0; i < 5000; i++ {
		files = append(files, memFile(i, fmt.Sprintf("D/F%05d", i), 0))
	}
	_, b := buildImage(t, files, Options{RockRidge: true, Joliet: true})
	if m, err := compareBytes(t, b); len(m) > 0 || err != nil {
		t.Errorf("%d mismatches, %v", len(m), err)
	}
	if _, err := fs.Stat(openBytes(t, b), "D/F04999"); err != nil {
		t.Error(err)
	}
}
