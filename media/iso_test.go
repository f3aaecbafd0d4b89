package media

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/testtool"
)

const corpus = "../../shared/corpus"

func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// wrapDigested wraps openssl's -decrypt output (a bare DigestedData) in a
// ContentInfo, which "openssl cms -digest_verify" expects.
func wrapDigested(inner []byte) []byte {
	hdr := func(tag byte, n int) []byte {
		if n < 0x80 {
			return []byte{tag, byte(n)}
		}
		var l []byte
		for v := n; v > 0; v >>= 8 {
			l = append([]byte{byte(v)}, l...)
		}
		return append([]byte{tag, 0x80 | byte(len(l))}, l...)
	}
	oid := []byte{0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x05}
	body := append(append(oid, hdr(0xA0, len(inner))...), inner...)
	return append(hdr(0x30, len(body)), body...)
}

// TestISOOpensWithOtherTools burns the shared corpus to an ISO image, checks
// it with isoinfo and xorriso, extracts it with xorriso, decrypts every
// sealed file with openssl and compares the result with our extract.
func TestISOOpensWithOtherTools(t *testing.T) {
	for _, tool := range []string{"isoinfo", "xorriso", "openssl"} {
		testtool.Require(t, tool)
	}
	testtool.RequirePath(t, corpus, "the shared corpus")
	tmp := t.TempDir()
	p, err := NewPlan(context.Background(), []string{corpus}, Options{Recipients: []cms.Recipient{recipient(t)}, AllowConflicts: true, FileSetID: "CORPUS_TEST"})
	if err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(tmp, "disc.iso")
	writeChecked(t, p, iso, true)
	info := string(run(t, tmp, "isoinfo", "-d", "-i", iso))
	if !strings.Contains(info, "Volume id: CORPUS_TEST") {
		t.Fatalf("isoinfo -d:\n%s", info)
	}
	listing := string(run(t, tmp, "isoinfo", "-l", "-i", iso))
	for _, want := range []string{"DICOMDIR.;1", "MANIFEST.;1", "README.TXT;1", "IM000001.;1"} {
		if !strings.Contains(listing, want) {
			t.Fatalf("isoinfo -l lacks %s", want)
		}
	}
	if strings.Count(strings.Split(p.Entries[0].Path, "/")[0], "/") > 7 {
		t.Fatal("deeper than 8 levels")
	}
	// xorriso extracts it; every sealed file decrypts with openssl to what
	// our extract writes.
	xdir := filepath.Join(tmp, "x")
	run(t, tmp, "xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", xdir)
	d := unlocked(t, iso, testPassword)
	ours := filepath.Join(tmp, "ours")
	res, err := d.Extract(context.Background(), ours, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range p.Entries {
		if !e.Sealed || e.Path == manifestName {
			continue
		}
		sealedPath := filepath.Join(xdir, filepath.FromSlash(e.Path))
		inner := filepath.Join(tmp, "inner")
		run(t, tmp, "openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", sealedPath, "-out", inner, "-pwri_password", testPassword)
		innerDER, _ := os.ReadFile(inner)
		os.WriteFile(inner, wrapDigested(innerDER), 0o600)
		plain := filepath.Join(tmp, "plain")
		run(t, tmp, "openssl", "cms", "-digest_verify", "-binary", "-inform", "DER", "-in", inner, "-out", plain)
		got, _ := os.ReadFile(plain)
		if e.Path == "DICOMDIR" {
			// Ours names the manifest's digest; extract writes a fresh one.
			if !bytes.Contains(got, []byte(manifestRecordUID)) {
				t.Fatal("openssl's DICOMDIR does not bind the manifest")
			}
			n++
			continue
		}
		want, err := os.ReadFile(filepath.Join(ours, filepath.FromSlash(e.Path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: openssl's plaintext differs from our extract (%v)", e.Path, err)
		}
		n++
	}
	if n != res.Instances+1 {
		t.Fatalf("compared %d files, want %d instances + DICOMDIR", n, res.Instances)
	}
}

// TestISOFromSampleStudyPassesDciodvfy: the decrypted DICOMDIR of a burnt
// image is a conformant Basic Directory.
func TestISOFromSampleStudyPassesDciodvfy(t *testing.T) {
	testtool.Require(t, "dciodvfy")
	tmp := t.TempDir()
	p, err := NewPlan(context.Background(), []string{study}, Options{Medium: CD, Recipients: []cms.Recipient{recipient(t)}})
	if err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(tmp, "disc.iso")
	if err := p.WriteImage(context.Background(), iso, false, nil); err != nil {
		t.Fatal(err)
	}
	d := unlocked(t, iso, testPassword)
	r, _, err := d.openPath("DICOMDIR")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	r.Close()
	dd := filepath.Join(tmp, "DICOMDIR")
	os.WriteFile(dd, buf.Bytes(), 0o600)
	out, _ := exec.Command("dciodvfy", dd).CombinedOutput()
	if bytes.Contains(out, []byte("Error")) {
		t.Fatalf("dciodvfy on the decrypted DICOMDIR:\n%s", out)
	}
}

// A disc made entirely by other tools: dcmmkdir lays out the File-set,
// openssl seals every file with its defaults, xorriso makes the image.
func TestThirdPartyISO(t *testing.T) {
	for _, tool := range []string{"openssl", "dcmmkdir", "xorriso"} {
		testtool.Require(t, tool)
	}
	tmp := t.TempDir()
	plain := filepath.Join(tmp, "plain")
	src, _ := filepath.Abs(study)
	run(t, tmp, "cp", "-r", src, plain)
	os.Remove(filepath.Join(plain, "README.md"))
	run(t, plain, "dcmmkdir", "+I", "+r", "77654033", "98892001", "98892003")
	disc := filepath.Join(tmp, "disc")
	const pw = "third party password"
	filepath.WalkDir(plain, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(plain, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(disc, rel), 0o755)
		}
		run(t, tmp, "openssl", "cms", "-encrypt", "-binary", "-pwri_password", pw, "-in", p, "-outform", "DER", "-out", filepath.Join(disc, rel))
		return nil
	})
	iso := filepath.Join(tmp, "third.iso")
	run(t, tmp, "xorriso", "-as", "mkisofs", "-quiet", "-iso-level", "1", "-V", "THIRDPARTY", "-o", iso, disc)
	d := unlocked(t, iso, pw)
	problems, checked, err := d.Verify(context.Background(), nil)
	if err != nil || len(problems) != 0 || checked != 32 { // 31 instances and the DICOMDIR
		t.Fatalf("verify: %v %v (%d checked)", err, problems, checked)
	}
	res, err := d.Extract(context.Background(), filepath.Join(tmp, "out"), nil)
	if err != nil || res.Instances != 31 {
		t.Fatalf("extract: %v", err)
	}
}
