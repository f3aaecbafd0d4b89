package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// burn --device writes the disc through xorriso (its stdio: pseudo-drive
// here), reads it back, and the drive's contents are a medium isoinfo
// reads and verify accepts; no image is left behind when -o is not given.
// A drive that cannot be had fails before anything is written.
func TestBurnToADrive(t *testing.T) {
	testtool.Require(t, "xorriso")
	isoinfo := testtool.Require(t, "isoinfo")
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	disc := filepath.Join(dir, "drive.img")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r := cli(t, "", "burn", sampleStudy, "--device", "stdio:"+disc, "--password-file", pw, "--no-viewer", "--label", "DRIVETEST")
	r.expect(t, 0, "identical to the checked image")
	if !strings.HasPrefix(r.stdout, "stdio:"+disc+": cd") {
		t.Errorf("summary: %s", r.stdout)
	}
	out, err := exec.Command(isoinfo, "-d", "-i", disc).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Volume id: DRIVETEST") {
		t.Fatalf("isoinfo on the drive: %v\n%s", err, out)
	}
	// xorriso, reading the drive as a drive, finds the medium's files.
	if out, err := exec.Command("xorriso", "-indev", "stdio:"+disc, "-ls", "/").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "'DICOMDIR'") || !strings.Contains(string(out), "'README.TXT'") {
		t.Errorf("xorriso -indev on the drive: %v\n%s", err, out)
	}
	cli(t, "", "verify", disc, "--password-file", pw).expect(t, 0, "")
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the staged image was left in TMPDIR: %v", left)
	}

	bad := "stdio:" + filepath.Join(dir, "no", "such", "drive.img")
	iso := filepath.Join(dir, "kept.iso")
	r = cli(t, "", "burn", sampleStudy, "-o", iso, "--device", bad, "--password-file", pw, "--no-viewer")
	r.expect(t, exitFailure, "Cannot acquire drive")
	mustNotExist(t, iso)
	cli(t, "", "burn", sampleStudy, "--device", "stdio:"+disc, "--media", "usb", "--password-file", pw).expect(t, exitUsage, "does not go with --media usb")
}
