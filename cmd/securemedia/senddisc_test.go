package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataSetBytes is a Part 10 file's data set, after the File Meta.
func dataSetBytes(t *testing.T, path string) []byte {
	t.Helper()
	_, b := readPart10(t, path)
	return b
}

// An encrypted ISO goes to a PACS (our receive, in-process on 127.0.0.1)
// with the disc's password: every instance arrives with its data set
// unchanged, and nothing decrypted touches the disk on the sending side.
func TestSendEncryptedDisc(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	iso := filepath.Join(dir, "disc.iso")
	cli(t, "", "burn", sampleStudy, "-o", iso, "--password-file", pw).expect(t, 0, "")

	in := filepath.Join(dir, "pacs")
	port, _ := startReceive(t, "PACS", in)
	pacs := fmt.Sprintf("PACS@127.0.0.1:%d", port)
	state := filepath.Join(dir, "sent.tsv")
	cli(t, "", "send", iso, "--pacs", pacs, "--password-file", writeFile(t, dir, "bad", "not the password at all"), "--state", state).expect(t, exitBadPassword, "wrong password")
	r := cli(t, "", "send", iso, "--pacs", pacs, "--password-file", pw, "--state", state)
	r.expect(t, 0, "")
	if strings.Count(r.stdout, "sent") < 31 {
		t.Fatalf("send table:\n%s", r.stdout)
	}
	// Compare every received data set with the original file's.
	want := map[string][]byte{}
	filepath.WalkDir(sampleStudy, func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() && !strings.HasSuffix(p, ".md") {
			want[string(dataSetBytes(t, p))] = nil
		}
		return nil
	})
	n := 0
	filepath.WalkDir(in, func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() && strings.HasSuffix(p, ".dcm") {
			if _, ok := want[string(dataSetBytes(t, p))]; !ok {
				t.Errorf("%s: data set differs from every original", p)
			}
			n++
		}
		return nil
	})
	if n != 31 {
		t.Fatalf("%d instances received, want 31", n)
	}
}

// A damaged instance on the disc is reported and never sent.
func TestSendDamagedDiscSendsNothingAltered(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	usb := filepath.Join(dir, "usb")
	cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--password-file", pw).expect(t, 0, "")
	victim := filepath.Join(usb, "DICOM", "P0000001", "ST000001", "SE000001", "IM000001")
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(victim, b, 0o644)
	in := filepath.Join(dir, "pacs")
	port, _ := startReceive(t, "PACS", in)
	r := cli(t, "", "send", usb, "--pacs", fmt.Sprintf("PACS@127.0.0.1:%d", port), "--password-file", pw, "--state", filepath.Join(dir, "st"))
	r.expect(t, exitNotStored, "")
	if !strings.Contains(r.stdout, "DICOM/P0000001/ST000001/SE000001/IM000001") || !strings.Contains(r.stdout, "integrity") {
		t.Fatalf("table does not name the damaged instance:\n%s\n%s", r.stdout, r.stderr)
	}
	n := 0
	filepath.WalkDir(in, func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() && strings.HasSuffix(p, ".dcm") {
			n++
		}
		return nil
	})
	if n != 30 {
		t.Fatalf("%d instances received, want the 30 intact ones", n)
	}
}
