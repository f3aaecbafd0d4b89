package media

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/testtool"
)

const study = "../testdata/sample-study"

const testPassword = "a disc passphrase for tests"

var (
	rcptOnce sync.Once
	rcpt     *cms.PasswordRecipient
)

// recipient derives one key for the whole test binary, as one disc does.
func recipient(t testing.TB) *cms.PasswordRecipient {
	rcptOnce.Do(func() {
		var err error
		if rcpt, err = cms.NewPasswordRecipient([]byte(testPassword), &cms.PasswordParams{Iterations: cms.MinIterations}); err != nil {
			panic(err)
		}
	})
	return rcpt
}

func identity(t testing.TB, pw string) *cms.PasswordIdentity {
	id, err := cms.NewPasswordIdentity([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// unlocked opens a medium and unlocks it with a password, closing it when
// the test ends.
func unlocked(t *testing.T, path, password string) *Disc {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Unlock(identity(t, password)); err != nil {
		t.Fatal(err)
	}
	return d
}

// burnFolder plans the sample study and writes it to a new folder.
func burnFolder(t *testing.T) (*Plan, string) {
	t.Helper()
	p, err := NewPlan(context.Background(), []string{study}, Options{Medium: USB, Recipients: []cms.Recipient{recipient(t)}, Contact: "Radiology test desk"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "usb")
	if err := p.WriteFolder(context.Background(), dir, false, nil); err != nil {
		t.Fatal(err)
	}
	return p, dir
}

func TestFolderRoundTrip(t *testing.T) {
	p, dir := burnFolder(t)
	if p.Counts.Instances != 31 || p.Counts.Patients != 2 || p.Counts.Studies != 6 {
		t.Fatalf("counts %+v", p.Counts)
	}
	if p.Profile != "STD-GEN-SEC-USB-JPEG" {
		t.Errorf("profile %s", p.Profile)
	}
	// Nothing readable on the medium but README.TXT, which has no PHI.
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() && d.Name() != "README.TXT" {
			b, _ := os.ReadFile(path)
			if bytes.Contains(b, []byte("DICM")) || bytes.Contains(b, []byte("77654033")) {
				t.Errorf("%s holds plaintext", path)
			}
		}
		return nil
	})
	readme, _ := os.ReadFile(filepath.Join(dir, "README.TXT"))
	if !bytes.Contains(readme, []byte("password")) || !bytes.Contains(readme, []byte("Radiology test desk")) || bytes.Contains(readme, []byte("77654033")) {
		t.Errorf("README.TXT:\n%s", readme)
	}

	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := identity(t, testPassword)
	if err := d.Unlock(id); err != nil {
		t.Fatal(err)
	}
	problems, checked, err := d.Verify(context.Background(), nil)
	if err != nil || len(problems) != 0 || checked != 33 { // 31 + DICOMDIR + README.TXT
		t.Fatalf("verify: %v %v, %d checked", err, problems, checked)
	}
	out := filepath.Join(t.TempDir(), "out")
	res, err := d.Extract(context.Background(), out, nil)
	if err != nil || res.Instances != 31 {
		t.Fatalf("extract: %v %+v", err, res)
	}
	for _, e := range p.Entries {
		if e.source == "" {
			continue
		}
		want, _ := os.ReadFile(e.source)
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(e.Path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: extracted file differs from %s (%v)", e.Path, e.source, err)
		}
	}
	if n := id.Derivations(); n != 1 {
		t.Errorf("opening, verifying and extracting cost %d PBKDF2 runs, want 1", n)
	}
	testtool.Require(t, "dciodvfy")
	cmd := exec.Command("dciodvfy", filepath.Join(out, "DICOMDIR"))
	msg, _ := cmd.CombinedOutput()
	if bytes.Contains(msg, []byte("Error")) {
		t.Fatalf("dciodvfy on the extracted DICOMDIR:\n%s", msg)
	}
}

// A wrong password is told after one key derivation, not one per file:
// counted, not timed (a loaded machine makes any time bound flaky).
func TestWrongPasswordIsFastAndClear(t *testing.T) {
	_, dir := burnFolder(t)
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := identity(t, "not the disc passphrase")
	err = d.Unlock(id)
	if !errors.Is(err, cms.ErrWrongPassword) {
		t.Fatalf("got %v, want ErrWrongPassword", err)
	}
	if n := id.Derivations(); n != 1 {
		t.Fatalf("a wrong password cost %d key derivations, want 1", n)
	}
}

func TestVerifyNamesTheDamagedFile(t *testing.T) {
	p, dir := burnFolder(t)
	victim := p.Entries[7].Path
	for _, offset := range []func(n int) int{
		func(n int) int { return 10 },    // the envelope
		func(n int) int { return n / 2 }, // the content
		func(n int) int { return n - 1 }, // the padding
	} {
		f := filepath.Join(dir, filepath.FromSlash(victim))
		orig, _ := os.ReadFile(f)
		b := bytes.Clone(orig)
		b[offset(len(b))] ^= 0x20
		os.WriteFile(f, b, 0o644)
		d := unlocked(t, dir, testPassword)
		problems, _, err := d.Verify(context.Background(), nil)
		if err != nil || len(problems) != 1 || problems[0].Path != victim {
			t.Fatalf("verify after flipping a byte of %s: %v %v", victim, err, problems)
		}
		out := filepath.Join(t.TempDir(), "out")
		if _, err := d.Extract(context.Background(), out, nil); err == nil || !strings.Contains(err.Error(), victim) {
			t.Fatalf("extract: %v", err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("extract left output behind")
		}
		os.WriteFile(f, orig, 0o644)
	}
	os.Remove(filepath.Join(dir, filepath.FromSlash(victim)))
	d := unlocked(t, dir, testPassword)
	problems, _, _ := d.Verify(context.Background(), nil)
	if len(problems) != 1 || problems[0].Path != victim || !strings.Contains(problems[0].Err.Error(), "missing") {
		t.Fatalf("missing file: %v", problems)
	}
}

func TestTooLargeForTheMedium(t *testing.T) {
	err := checkFits(CD, CD.Capacity()+5<<20)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "5.0 MiB more than a CD holds (703.1 MiB); it fits on a DVD (--media dvd, 4.4 GiB)") {
		t.Fatalf("got %v", err)
	}
	if err := checkFits(DVD, CD.Capacity()+5_000_000); err != nil {
		t.Fatal(err)
	}
}

// A disc made by other tools: every file, DICOMDIR included, sealed by
// "openssl cms -encrypt -pwri_password" with its defaults (3DES, SHA-1 PRF,
// 2048 iterations, plain id-data) over a dcmmkdir File-set.
func TestThirdPartyDisc(t *testing.T) {
	testtool.Require(t, "openssl")
	testtool.Require(t, "dcmmkdir")
	plain := filepath.Join(t.TempDir(), "plain")
	if out, err := exec.Command("cp", "-r", study, plain).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	os.Remove(filepath.Join(plain, "README.md"))
	cmd := exec.Command("dcmmkdir", "+I", "+r", "77654033", "98892001", "98892003")
	cmd.Dir = plain
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dcmmkdir: %v\n%s", err, out)
	}
	disc := filepath.Join(t.TempDir(), "disc")
	const pw = "third party password"
	filepath.WalkDir(plain, func(p string, d os.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		rel, _ := filepath.Rel(plain, p)
		dst := filepath.Join(disc, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		out, err := exec.Command("openssl", "cms", "-encrypt", "-binary", "-pwri_password", pw, "-in", p, "-outform", "DER", "-out", dst).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl: %v\n%s", err, out)
		}
		return nil
	})
	d := unlocked(t, disc, pw)
	problems, checked, err := d.Verify(context.Background(), nil)
	if err != nil || len(problems) != 0 || checked != 32 { // 31 instances and the DICOMDIR
		t.Fatalf("verify: %v %v (%d checked)", err, problems, checked)
	}
	out := filepath.Join(t.TempDir(), "out")
	if res, err := d.Extract(context.Background(), out, nil); err != nil || res.Instances != 31 {
		t.Fatalf("extract: %v", err)
	}
}

// The root of a freshly formatted stick exists and cannot be replaced: the
// files are staged inside it and moved up at the end.
func TestWriteIntoEmptyFolder(t *testing.T) {
	p, err := NewPlan(context.Background(), []string{study}, Options{Medium: USB, Recipients: []cms.Recipient{recipient(t)}})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, ".Trashes"), 0o755) // hidden entries are tolerated
	if err := p.WriteFolder(context.Background(), root, false, nil); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(root)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".Trashes DICOM DICOMDIR MANIFEST README.TXT" {
		t.Fatalf("root holds %v", names)
	}
	if err := p.WriteFolder(context.Background(), root, false, nil); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("writing into a non-empty folder: %v", err)
	}
}

// Two instances swapped on the medium both decrypt fine (same key), but
// the manifest's content digests catch the substitution.
func TestVerifyCatchesSwappedFiles(t *testing.T) {
	p, dir := burnFolder(t)
	// Two instances of the same sealed size, so only the digest can tell.
	var a, b string
	bySize := map[int64]string{}
	for _, e := range p.Entries {
		if e.source == "" {
			continue
		}
		if prev, ok := bySize[e.Size]; ok {
			a, b = prev, e.Path
			break
		}
		bySize[e.Size] = e.Path
	}
	if a == "" {
		t.Fatal("the sample study has no two instances of one size")
	}
	a, b = filepath.Join(dir, filepath.FromSlash(a)), filepath.Join(dir, filepath.FromSlash(b))
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	os.WriteFile(a, bb, 0o644)
	os.WriteFile(b, ab, 0o644)
	d := unlocked(t, dir, testPassword)
	problems, _, err := d.Verify(context.Background(), nil)
	if err != nil || len(problems) != 2 || !errors.Is(problems[0].Err, ErrMismatch) || !errors.Is(problems[1].Err, ErrMismatch) {
		t.Fatalf("verify after swapping two files: %v %v", err, problems)
	}
}

// Sealing with SHA-512 (no SHA-256 in the envelope): the manifest's SHA-256
// is computed on the way, and verify agrees with it.
func TestManifestWithOtherDigests(t *testing.T) {
	for _, opts := range []*cms.Options{{Digest: crypto.SHA512}, {PlainData: true}} {
		p, err := NewPlan(context.Background(), []string{study}, Options{Medium: USB, Seal: opts, Recipients: []cms.Recipient{recipient(t)}})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "usb")
		if err := p.WriteFolder(context.Background(), dir, false, nil); err != nil {
			t.Fatal(err)
		}
		d := unlocked(t, dir, testPassword)
		if problems, n, err := d.Verify(context.Background(), nil); err != nil || len(problems) != 0 || n != 33 {
			t.Fatalf("%+v: %v %v %d", opts, err, problems, n)
		}
	}
}

// writeChecked writes p through a Writer (an image or a folder) and then
// reads the result back again with the Writer's check, which a copy of the
// medium would also pass.
func writeChecked(t *testing.T, p *Plan, path string, image bool) {
	t.Helper()
	var w *Writer
	var err error
	if image {
		w, err = CreateImage(path, p.Files(), p.ImageOptions(), false, nil)
	} else {
		w, err = CreateFolder(path, p.Files(), false, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := p.Write(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := w.CheckWritten(path); err != nil || n != len(p.Entries) {
		t.Fatalf("read-back: %d, %v", n, err)
	}
}
