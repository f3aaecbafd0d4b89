package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleStudy = "../../testdata/sample-study"

func TestBurnOpenVerifyExtractUSB(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	usb := filepath.Join(dir, "usb")
	r := cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--password-file", pw, "--contact", "Test desk")
	r.expect(t, 0, "read back and checked 34 files")
	if !strings.Contains(r.stdout, "31 instances") || !strings.Contains(r.stdout, "STD-GEN-SEC-USB") {
		t.Fatalf("summary: %s", r.stdout)
	}
	r = cli(t, "", "open", usb, "--password-file", pw)
	r.expect(t, 0, "")
	if !strings.Contains(r.stdout, "Doe^Archibald") || !strings.Contains(r.stdout, "encrypted") {
		t.Fatalf("open: %s", r.stdout)
	}
	cli(t, "", "verify", usb, "--password-file", pw).expect(t, 0, "")

	// (One key derivation for a wrong password: media's
	// TestWrongPasswordIsFastAndClear counts them.)
	cli(t, "", "open", usb, "--password-file", writeFile(t, dir, "bad", "not the disc passphrase")).expect(t, exitBadPassword, "wrong password")

	out := filepath.Join(dir, "extracted")
	cli(t, "", "extract", usb, "-o", out, "--password-file", pw).expect(t, 0, "")
	if _, err := os.Stat(filepath.Join(out, "DICOMDIR")); err != nil {
		t.Fatal(err)
	}
	// The plain File-set lists like any other.
	if r := cli(t, "", "ls", out); r.code != 0 || !strings.Contains(r.stdout, "Doe^Peter") {
		t.Fatalf("ls of the extracted set: %+v", r)
	}

	// A flipped byte: verify names the file, extract leaves nothing.
	var victim string
	filepath.WalkDir(filepath.Join(usb, "DICOM"), func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() && victim == "" {
			victim = p
		}
		return nil
	})
	b, _ := os.ReadFile(victim)
	b[len(b)/3] ^= 0x04
	os.WriteFile(victim, b, 0o644)
	rel, _ := filepath.Rel(usb, victim)
	r = cli(t, "", "verify", usb, "--password-file", pw)
	r.expect(t, exitIntegrity, "1 of 33 files")
	if !strings.Contains(r.stdout, filepath.ToSlash(rel)) {
		t.Fatalf("verify does not name %s: %s", rel, r.stdout)
	}
	out2 := filepath.Join(dir, "extracted2")
	cli(t, "", "extract", usb, "-o", out2, "--password-file", pw).expect(t, exitIntegrity, filepath.ToSlash(rel))
	mustNotExist(t, out2)
}

// The CLI contract with an ISO image, as scripts call it.
func TestBurnISOContract(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	iso := filepath.Join(dir, "disc.iso")
	r := cli(t, "", "burn", sampleStudy, "-o", iso, "--password-file", pw, "--media", "cd", "--no-viewer")
	r.expect(t, 0, "read back and checked")
	if !strings.Contains(r.stdout, "STD-GEN-SEC-CD") {
		t.Fatalf("summary: %s", r.stdout)
	}
	cli(t, "", "open", iso, "--password-file", pw).expect(t, 0, "")
	cli(t, "", "verify", iso, "--password-file", pw).expect(t, 0, "")
	cli(t, "", "extract", iso, "-o", filepath.Join(dir, "x"), "--password-file", pw).expect(t, 0, "")
	cli(t, "", "open", iso, "--password-file", writeFile(t, dir, "bad", "wrong password here")).expect(t, exitBadPassword, "wrong password")
	// An existing image is not replaced without --force, and stays intact.
	cli(t, "", "burn", sampleStudy, "-o", iso, "--password-file", pw).expect(t, exitFailure, "use --force")
	cli(t, "", "verify", iso, "--password-file", pw).expect(t, 0, "")
}

func TestBurnRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	cli(t, "", "burn", sampleStudy, "-o", dir, "--password-file", pw).expect(t, exitUsage, "is a folder")
	cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "x"), "--media", "floppy", "--password-file", pw).expect(t, exitUsage, "use cd, dvd")
	cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "x"), "--label", "Smith^John", "--password-file", pw).expect(t, exitFailure, "no patient data")
	mustNotExist(t, filepath.Join(dir, "x"))
}

func TestBurnGeneratedPassword(t *testing.T) {
	dir := t.TempDir()
	usb, slip := filepath.Join(dir, "usb"), filepath.Join(dir, "slip.txt")
	r := cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--generate-password", "--slip", slip)
	r.expect(t, 0, "shown once")
	text, err := os.ReadFile(slip)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(text))
	var pw string
	for _, w := range lines {
		if strings.Count(w, "-") >= 7 {
			pw = w
		}
	}
	if pw == "" || !strings.Contains(r.stderr, pw) {
		t.Fatalf("slip %q / stderr %q", text, r.stderr)
	}
	// The password is nowhere on the medium.
	filepath.WalkDir(usb, func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), pw) {
				t.Errorf("%s contains the password", p)
			}
		}
		return nil
	})
	cli(t, "", "verify", usb, "--password-file", writeFile(t, dir, "pw", pw)).expect(t, 0, "")
}

// A USB folder that holds a disc already is replaced only with --force,
// and then only once the new one is complete: a burn that fails keeps the
// old disc whole.
func TestBurnUSBForceReplacesOnlyWhenComplete(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	usb := filepath.Join(dir, "usb")
	cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--password-file", pw, "--no-viewer", "--label", "FIRST").expect(t, 0, "")
	cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--password-file", pw, "--no-viewer", "--label", "SECOND").expect(t, exitFailure, "not empty")

	bad := filepath.Join(dir, "bad-input")
	os.MkdirAll(bad, 0o755)
	writeFile(t, bad, "notes.txt", "no DICOM here")
	if r := cli(t, "", "burn", bad, "-o", usb, "--media", "usb", "--password-file", pw, "--no-viewer", "--force"); r.code == 0 {
		t.Fatalf("burn of a folder without DICOM files succeeded: %+v", r)
	}
	if r := cli(t, "", "open", usb, "--password-file", pw); r.code != 0 || !strings.Contains(r.stdout, "FIRST") {
		t.Fatalf("after a failed --force burn the old disc should open unchanged: %+v", r)
	}

	cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--password-file", pw, "--no-viewer", "--label", "SECOND", "--force").expect(t, 0, "")
	if r := cli(t, "", "open", usb, "--password-file", pw); r.code != 0 || !strings.Contains(r.stdout, "SECOND") {
		t.Fatalf("--force did not replace the disc: %+v", r)
	}
}
