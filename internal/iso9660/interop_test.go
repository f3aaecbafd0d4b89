package iso9660

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// run runs a tool and returns its combined output, failing on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(testtool.Require(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestIsoinfoAcceptsImage(t *testing.T) {
	for _, rr := range []bool{false, true} {
		img, _ := buildImage(t, sampleFiles(), Options{VolumeID: "FILESET1", ModTime: testTime, RockRidge: rr, Publisher: "SECUREMEDIA"})
		d := run(t, "isoinfo", "-d", "-i", img)
		for _, want := range []string{"Volume id: FILESET1\n", "Logical block size is: 2048", "Publisher id: SECUREMEDIA"} {
			if !strings.Contains(d, want) {
				t.Errorf("rr=%v: isoinfo -d lacks %q:\n%s", rr, want, d)
			}
		}
		if got := strings.Contains(d, "Rock Ridge signatures version 1 found"); got != rr {
			t.Errorf("rr=%v: isoinfo -d Rock Ridge detection %v:\n%s", rr, got, d)
		}
		l := run(t, "isoinfo", "-l", "-i", img)
		for _, want := range []string{"DICOMDIR.;1", "README.TXT;1", "IM000005.;1", "Directory listing of /A/B/C/D/E/F/G/", "Nov 22 2026"} {
			if !strings.Contains(l, want) {
				t.Errorf("rr=%v: isoinfo -l lacks %q:\n%s", rr, want, l)
			}
		}
		if v := run(t, "isovfy", img); !strings.Contains(v, "No errors found") {
			t.Errorf("rr=%v: isovfy:\n%s", rr, v)
		}
	}
}

// wideFiles has a directory of several sectors and an empty last file.
func wideFiles() []File {
	var files []File
	for i := 0; i < 300; i++ {
		files = append(files, memFile(i, fmt.Sprintf("DICOM/IM%06d", i), int64(i*1021%5000)))
	}
	return append(files, memFile(1, "X/Y.Z", 2049), memFile(2, "X/EMPTY", 0))
}

func TestToolsAcceptWideDirectory(t *testing.T) {
	files := wideFiles()
	img, _ := buildImage(t, files, Options{VolumeID: "WIDE", ModTime: testTime, RockRidge: true})
	if v := run(t, "isovfy", img); !strings.Contains(v, "No errors found") {
		t.Errorf("isovfy:\n%s", v)
	}
	if p := run(t, "isoinfo", "-p", "-i", img); !strings.Contains(p, "DICOM") || !strings.Contains(p, "X") {
		t.Errorf("isoinfo -p:\n%s", p)
	}
	dir := filepath.Join(t.TempDir(), "x")
	out := run(t, "xorriso", "-osirrox", "on", "-indev", img, "-extract", "/", dir)
	if strings.Contains(out, "SORRY") || strings.Contains(out, "WARNING") {
		t.Errorf("xorriso:\n%s", out)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		want, _ := readAllFile(f)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v", f.Path, err)
		}
	}
}

func TestJolietTree(t *testing.T) {
	files := sampleFiles()
	for _, rr := range []bool{false, true} {
		img, b := buildImage(t, files, Options{VolumeID: "FILESET1", ModTime: testTime, RockRidge: rr, Joliet: true})
		d := run(t, "isoinfo", "-d", "-i", img)
		if !strings.Contains(d, "Joliet with UCS level 3 found") || !strings.Contains(d, "Volume id: FILESET1") {
			t.Errorf("isoinfo -d:\n%s", d)
		}
		l := run(t, "isoinfo", "-J", "-l", "-i", img)
		for _, w := range []string{" DICOMDIR ", " README.TXT ", "Directory listing of /A/B/C/D/E/F/G/", " SMVIEW "} {
			if !strings.Contains(l, w) {
				t.Errorf("isoinfo -J -l lacks %q:\n%s", w, l)
			}
		}
		if v := run(t, "isovfy", img); !strings.Contains(v, "No errors found") {
			t.Errorf("isovfy:\n%s", v)
		}
		// xorriso reads the Joliet tree when told to ignore Rock Ridge.
		dir := filepath.Join(t.TempDir(), "x")
		out := run(t, "xorriso", "-rockridge", "off", "-joliet", "on", "-osirrox", "on", "-indev", img, "-extract", "/", dir)
		if strings.Contains(out, "SORRY") || strings.Contains(out, "WARNING") {
			t.Errorf("xorriso:\n%s", out)
		}
		for _, f := range files {
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			want, _ := readAllFile(f)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("rr=%v: Joliet %s: %v", rr, f.Path, err)
			}
		}
		fsys := openBytes(t, b)
		if got := fsys.(*image).joliet; got == rr {
			t.Errorf("rr=%v: reader used Joliet tree: %v", rr, got)
		}
		checkContents(t, fsys, files)
	}
}

func TestIsoinfoRockRidgeModes(t *testing.T) {
	img, _ := buildImage(t, sampleFiles(), Options{VolumeID: "FILESET1", ModTime: testTime, RockRidge: true})
	l := run(t, "isoinfo", "-R", "-l", "-i", img)
	for _, line := range strings.Split(l, "\n") {
		switch {
		case strings.HasSuffix(line, " SMVIEW "):
			if !strings.HasPrefix(line, "-r-xr-xr-x") {
				t.Errorf("SMVIEW: %q, want -r-xr-xr-x", line)
			}
		case strings.HasSuffix(line, " DICOMDIR "), strings.HasSuffix(line, " README.TXT "):
			if !strings.HasPrefix(line, "-r--r--r--") {
				t.Errorf("%q, want -r--r--r--", line)
			}
		}
	}
	if !strings.Contains(l, " SMVIEW ") || strings.Contains(l, ";1") {
		t.Errorf("isoinfo -R -l does not show Rock Ridge names:\n%s", l)
	}
}

func TestVolumeIDSpacePadded(t *testing.T) {
	_, b := buildImage(t, sampleFiles(), Options{VolumeID: "FILESET1", ModTime: testTime})
	// PS3.12 F.1.1: Volume Identifier at PVD bytes 41-72 (1-based), i.e.
	// image bytes 32808..32839, space-padded.
	if got, want := string(b[32808:32840]), "FILESET1"+strings.Repeat(" ", 24); got != want {
		t.Errorf("volume id field %q, want %q", got, want)
	}
}

func TestXorrisoExtractsIdentical(t *testing.T) {
	files := sampleFiles()
	img, _ := buildImage(t, files, Options{VolumeID: "FILESET1", ModTime: testTime, RockRidge: true})
	ls := run(t, "xorriso", "-indev", img, "-find", "/", "-exec", "lsdl")
	for _, w := range []string{"-r-xr-xr-x    1 0        0            5000 Nov 22 12:34 '/VIEWER/LINUX/SMVIEW'", "'/DICOMDIR'", "Volume id    : 'FILESET1'"} {
		if !strings.Contains(ls, w) {
			t.Errorf("xorriso lsdl lacks %q:\n%s", w, ls)
		}
	}
	for _, bad := range []string{"WARNING", "SORRY", "FAILURE"} {
		if strings.Contains(ls, bad) {
			t.Errorf("xorriso reports %s:\n%s", bad, ls)
		}
	}
	dir := filepath.Join(t.TempDir(), "x")
	run(t, "xorriso", "-osirrox", "on", "-indev", img, "-extract", "/", dir)
	for i, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := readAllFile(files[i])
		if !bytes.Equal(got, want) {
			t.Errorf("%s: extracted content differs (%d vs %d bytes)", f.Path, len(got), len(want))
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "VIEWER/LINUX/SMVIEW")); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("SMVIEW extracted mode %v, %v; want 0555", fi.Mode(), err)
	}
}
