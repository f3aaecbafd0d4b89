package main

import (
	"path/filepath"
	"strings"
	"testing"
)

var pydicomDirtests = filepath.Join(sharedCorpus, "pydicom/dicomdirtests")

func TestLsPydicomDICOMDIRs(t *testing.T) {
	requireSharedCorpus(t)
	want := []string{
		"Patient #1  Doe^Archibald  [ID 77654033]",
		"  Study #1  2001-01-01  XR C Spine Comp Min 4 Views  (3 series, 3 instances)  UID 1.3.6.1.4.1.5962.1.1.0.0.0.1196527414.5534.0.1",
		"    Series #1  number 1  CR  1 IMAGE  UID 1.3.6.1.4.1.5962.1.1.0.0.0.1196527414.5534.0.10",
		"Patient #2  Doe^Peter  [ID 98890234]",
		"    Series #13  number 700  MR  7 IMAGE  UID 1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.118",
	}
	for _, name := range []string{"DICOMDIR", "DICOMDIR-bigEnd", "DICOMDIR-implicit", "DICOMDIR-reordered"} {
		code, out, stderr := runIndexLs(t, "ls", filepath.Join(pydicomDirtests, name))
		if code != 0 || stderr != "" {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		for _, w := range want {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("%s: output lacks %q:\n%s", name, w, out)
			}
		}
	}
	// A folder holding a DICOMDIR works too; warnings go to stderr.
	if code, out, _ := runIndexLs(t, "ls", pydicomDirtests); code != 0 || !strings.Contains(out, want[0]) {
		t.Errorf("folder: exit %d\n%s", code, out)
	}
	if code, _, stderr := runIndexLs(t, "ls", filepath.Join(pydicomDirtests, "DICOMDIR-nopatient")); code != 0 || !strings.Contains(stderr, "warning: IMAGE record at level 0") {
		t.Errorf("nopatient: exit %d: %s", code, stderr)
	}
}

func TestLsErrors(t *testing.T) {
	requireSharedCorpus(t)
	if code, _, stderr := runIndexLs(t, "ls", filepath.Join(pydicomDirtests, "77654033/CR1/6154")); code != exitFailure || !strings.Contains(stderr, "not a DICOMDIR") {
		t.Errorf("image given to ls: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runIndexLs(t, "ls", t.TempDir()); code != exitFailure || !strings.Contains(stderr, "no DICOMDIR") {
		t.Errorf("empty folder: exit %d: %s", code, stderr)
	}
	if code, _, _ := runIndexLs(t, "ls"); code != exitUsage {
		t.Errorf("no argument: exit %d", code)
	}
	// The pydicom DICOMDIR references files that are all present.
	if code, _, stderr := runIndexLs(t, "ls", "--verify", pydicomDirtests); code != 0 {
		t.Errorf("--verify on pydicom's File-set: exit %d: %s", code, stderr)
	}
}

// Names are shown decoded from their character set.
func TestLsDecodesNames(t *testing.T) {
	requireSharedCorpus(t)
	fs := mustIndex(t, "--allow-conflicts", filepath.Join(sharedCorpus, "pydicom/charset_files"))
	code, out, stderr := runIndexLs(t, "ls", fs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"Yamada^Tarou=山田^太郎=やまだ^たろう", "Buc^Jérôme", "Wang^XiaoDong=王^小东=", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう", "Hong^Gildong=洪^吉洞=홍^길동", "Διονυσιος", "Люкceмбypг", "שרון^דבורה", "قباني^لنزار"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// A Color Palette is indexed at the root, outside any patient.
func TestIndexPalette(t *testing.T) {
	requireSharedCorpus(t)
	fs := mustIndex(t, filepath.Join(sharedCorpus, "pydicom/palettes"), filepath.Join(pydicomDirtests, "77654033/CR1"))
	checkResolves(t, fs)
	checkDcmtk(t, fs)
	checkDciodvfy(t, fs, nil)
	code, out, _ := runIndexLs(t, "ls", fs)
	if code != 0 || !strings.Contains(out, "\nPALETTE HOT_IRON\n") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
