package main

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A slip names the label, the date and the fingerprint that the medium's
// README.TXT and "securemedia open" show, and no patient; a second burn
// with the same --slip is refused before anything is written, and the
// first slip is untouched.
func TestBurnSlipMatchesDiscAndIsNeverReplaced(t *testing.T) {
	dir := t.TempDir()
	usb, slip := filepath.Join(dir, "usb"), filepath.Join(dir, "slip.txt")
	r := cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--no-viewer", "--generate-password", "--slip", slip, "--label", "SLIPTEST")
	r.expect(t, 0, "Password for this USB stick (shown once")
	text, err := os.ReadFile(slip)
	if err != nil {
		t.Fatal(err)
	}
	fp := regexp.MustCompile(`Fingerprint:  ([0-9A-Z]{4}-[0-9A-Z]{4})\n`).FindSubmatch(text)
	if fp == nil || !strings.Contains(string(text), "Label:        SLIPTEST\n") || !regexp.MustCompile(`Made:         20\d\d-\d\d-\d\d \d\d:\d\d UTC\n`).Match(text) {
		t.Fatalf("the slip lacks the label, date or fingerprint:\n%s", text)
	}
	for _, name := range []string{"Doe", "Archibald", "Peter", "Patient"} {
		if strings.Contains(string(text), name) {
			t.Errorf("the slip names the patient (%q) without --slip-patient-name:\n%s", name, text)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(usb, "README.TXT"))
	if !strings.Contains(string(readme), "Label:       SLIPTEST") || !strings.Contains(string(readme), "Fingerprint: "+string(fp[1])) {
		t.Errorf("README.TXT does not show the slip's label and fingerprint %s:\n%s", fp[1], readme)
	}
	if !strings.Contains(r.stdout, "fingerprint "+string(fp[1])) {
		t.Errorf("burn's summary does not show the fingerprint %s:\n%s", fp[1], r.stdout)
	}
	pw := regexp.MustCompile(`\n    (\S+)\n`).FindSubmatch(text)
	open := cli(t, "", "open", usb, "--password-file", writeFile(t, dir, "pw", string(pw[1])))
	open.expect(t, 0, "")
	if !strings.Contains(open.stdout, "fingerprint "+string(fp[1])) {
		t.Errorf("open does not show the fingerprint %s:\n%s", fp[1], open.stdout)
	}

	// The same slip again: refused at once; nothing written, the slip kept.
	other := filepath.Join(dir, "usb2")
	again := cli(t, "", "burn", sampleStudy, "-o", other, "--media", "usb", "--no-viewer", "--generate-password", "--slip", slip)
	again.expect(t, exitFailure, "is never replaced")
	if strings.Contains(again.stderr, "read back") || strings.Contains(again.stderr, "Password for this") {
		t.Errorf("the refused burn wrote a medium or made a password:\n%s", again.stderr)
	}
	mustNotExist(t, other)
	if now, _ := os.ReadFile(slip); string(now) != string(text) {
		t.Errorf("the first slip changed:\n%s", now)
	}

	// --slip goes with a generated password only; --slip-patient-name with --slip.
	cli(t, "", "burn", sampleStudy, "-o", other, "--media", "usb", "--password-file", passwordFile(t, dir), "--slip", filepath.Join(dir, "s3")).expect(t, exitUsage, "--generate-password")
	cli(t, "", "burn", sampleStudy, "-o", other, "--media", "usb", "--generate-password", "--slip-patient-name").expect(t, exitUsage, "--slip FILE")
	mustNotExist(t, other)
}

// The slip for a printer: HTML (by its name), the password and the
// fingerprint in it, the patient's name only when asked for.
func TestBurnSlipHTMLWithPatientName(t *testing.T) {
	dir := t.TempDir()
	usb, slip := filepath.Join(dir, "usb"), filepath.Join(dir, "slip.html")
	cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--no-viewer", "--generate-password", "--slip", slip, "--slip-patient-name").expect(t, 0, "")
	b, err := os.ReadFile(slip)
	if err != nil {
		t.Fatal(err)
	}
	text := html.UnescapeString(string(b))
	for _, want := range []string{"Password for your encrypted medical images", "Doe^Archibald", "Doe^Peter", "Fingerprint", "Made"} {
		if !strings.Contains(text, want) {
			t.Errorf("the HTML slip lacks %q:\n%s", want, text)
		}
	}
	if !regexp.MustCompile(`[a-z]+(-[a-z]+){7}`).MatchString(text) {
		t.Errorf("the HTML slip lacks the password:\n%s", text)
	}
}
