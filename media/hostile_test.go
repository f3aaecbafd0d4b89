package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// burnOther burns a second study, another patient, with the same password
// as burnFolder's.
func burnOther(t *testing.T) (*Plan, string) {
	t.Helper()
	in := t.TempDir()
	if _, err := dicomtest.Set(in, 1, 1, 1, 3); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(context.Background(), []string{in}, Options{Medium: USB, Recipients: []cms.Recipient{recipient(t)}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "other")
	if err := p.WriteFolder(context.Background(), dir, false, nil); err != nil {
		t.Fatal(err)
	}
	return p, dir
}

// makeISO writes a folder as an ISO image with xorriso, as a tampered
// disc would be re-burned.
func makeISO(t *testing.T, dir string) string {
	t.Helper()
	testtool.Require(t, "xorriso")
	iso := filepath.Join(t.TempDir(), "disc.iso")
	if out, err := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", iso, dir).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}
	return iso
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	return dst
}

// named reports whether a problem names the file.
func named(problems []Problem, file string) bool {
	for _, p := range problems {
		if strings.EqualFold(p.Path, file) {
			return true
		}
	}
	return false
}

// Each way of tampering with a medium of ours is caught, naming the file,
// by verify and by extract (which reads through OpenInstance, as send and
// the viewer do), on a USB folder and on an ISO image.
func TestTamperedMediaAreCaught(t *testing.T) {
	pa, a := burnFolder(t)
	pb, b := burnOther(t)
	victim := pa.Entries[5].Path // an instance of disc A
	partner := pa.Entries[6].Path
	for _, c := range []struct {
		name, file string
		tamper     func(dir string)
	}{
		{"substituted from another disc", victim, func(dir string) {
			data, _ := os.ReadFile(filepath.Join(b, filepath.FromSlash(pb.Entries[3].Path)))
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(victim)), data, 0o644)
		}},
		{"two files swapped", victim, func(dir string) {
			x, y := filepath.Join(dir, filepath.FromSlash(victim)), filepath.Join(dir, filepath.FromSlash(partner))
			xb, _ := os.ReadFile(x)
			yb, _ := os.ReadFile(y)
			os.WriteFile(x, yb, 0o644)
			os.WriteFile(y, xb, 0o644)
		}},
		{"manifest deleted", manifestName, func(dir string) { os.Remove(filepath.Join(dir, manifestName)) }},
		{"program added", "EVIL.EXE", func(dir string) { os.WriteFile(filepath.Join(dir, "EVIL.EXE"), []byte("MZ evil"), 0o755) }},
	} {
		dir := copyDir(t, a)
		c.tamper(dir)
		for _, medium := range []string{dir, makeISO(t, dir)} {
			d := unlocked(t, medium, testPassword)
			problems, _, err := d.Verify(context.Background(), nil)
			if err != nil || !named(problems, c.file) {
				t.Errorf("%s (%s): verify: %v %v", c.name, filepath.Base(medium), err, problems)
			}
			_, err = d.Extract(context.Background(), filepath.Join(t.TempDir(), "out"), nil)
			names := func(f string) bool {
				return err != nil && strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(f))
			}
			// Of two swapped files, extract stops at whichever it reads first.
			if !names(c.file) && !(c.name == "two files swapped" && names(partner)) {
				t.Errorf("%s (%s): extract: %v", c.name, filepath.Base(medium), err)
			}
		}
	}
}

// A medium whose files each carry their own salt at the highest iteration
// count is refused before any key derivation, quickly; one sealed by a tool
// that salts each file cheaply (openssl: 2048 iterations) still opens.
func TestKDFWorkIsBounded(t *testing.T) {
	r, err := cms.NewPasswordRecipient([]byte(testPassword), &cms.PasswordParams{Iterations: cms.MaxIterations})
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	plain := dicomtest.ImageBytes(t, dicomtest.Image{UID: "1", Series: "1", Rows: 4, Cols: 4, Bits: 16, Stored: 16, Pixels: make([]byte, 32)})
	w, err := cms.Encrypt(&sealed, int64(len(plain)), nil, r) // one derivation: about a second
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := cms.Inspect(bytes.NewReader(sealed.Bytes()))
	if err != nil || len(info.Recipients) != 1 {
		t.Fatal(err)
	}
	// 31 files, each with a salt of its own: the salt's bytes are changed
	// in place, which only a derivation would notice.
	salt := saltOf(t, sealed.Bytes())
	dir := t.TempDir()
	for i := range 31 {
		b := bytes.Clone(sealed.Bytes())
		at := bytes.Index(b, salt)
		b[at] ^= byte(i + 1)
		os.WriteFile(filepath.Join(dir, "F"+string(rune('A'+i%26))+string(rune('A'+i/26))), b, 0o644)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	start := time.Now()
	err = d.Unlock(identity(t, testPassword))
	if !errors.Is(err, ErrKDFLimit) || !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "--max-kdf-work") {
		t.Fatalf("unlock: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("refused after %v", took)
	}
}

// saltOf finds the PBKDF2 salt of a file sealed by cms.Encrypt: the
// OCTET STRING after the KDF OID's SEQUENCE header.
func saltOf(t *testing.T, sealed []byte) []byte {
	oid := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c} // id-PBKDF2
	at := bytes.Index(sealed, oid)
	if at < 0 {
		t.Fatal("no PBKDF2 in the sealed file")
	}
	rest := sealed[at+len(oid):]
	i := bytes.IndexByte(rest, 0x04) // the salt's OCTET STRING
	n := int(rest[i+1])
	return rest[i+2 : i+2+n]
}

// A burned image cut short at 30%, 60% and 90%, or with 1 MiB zeroed in
// the middle: salvage returns every instance the damage did not touch,
// byte for byte, and names the rest; the studies still list, since the
// DICOMDIR is at the start of the image.
func TestSalvageDamagedImage(t *testing.T) {
	in := t.TempDir()
	for i := range 40 { // 64 KiB each: the image is mostly file data, as a real one is
		dicomtest.WriteImage(t, in, dicomtest.Image{UID: fmt.Sprint(i + 1), Series: "1", Rows: 128, Cols: 256, Bits: 16, Stored: 12,
			Pixels: bytes.Repeat([]byte{byte(i), 1}, 128*256)})
	}
	p, err := NewPlan(context.Background(), []string{in}, Options{Medium: DVD, Recipients: []cms.Recipient{recipient(t)}})
	if err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(t.TempDir(), "disc.iso")
	if err := p.WriteImage(context.Background(), iso, false, nil); err != nil {
		t.Fatal(err)
	}
	img, _ := os.ReadFile(iso)
	whole := unlocked(t, iso, testPassword)
	good := filepath.Join(t.TempDir(), "good")
	if _, err := whole.Extract(context.Background(), good, nil); err != nil {
		t.Fatal(err)
	}
	// Where each instance's sealed bytes lie in the image, and what it
	// extracts to (by SOP Instance UID, which extract's names do not keep).
	type span struct{ from, to int }
	spans := map[string]span{}
	for _, in := range whole.Instances() {
		f, _ := whole.Open(in.Path())
		b := new(bytes.Buffer)
		b.ReadFrom(f)
		f.Close()
		at := bytes.Index(img, b.Bytes())
		spans[in.SOPInstanceUID] = span{at, at + b.Len()}
	}
	wantBytes := extractedByUID(t, good)
	mid := len(img) / 2
	for _, c := range []struct {
		name     string
		from, to int // the damaged bytes
		damage   func() []byte
	}{
		{"cut at 30%", len(img) * 3 / 10, len(img), func() []byte { return img[:len(img)*3/10] }},
		{"cut at 60%", len(img) * 6 / 10, len(img), func() []byte { return img[:len(img)*6/10] }},
		{"cut at 90%", len(img) * 9 / 10, len(img), func() []byte { return img[:len(img)*9/10] }},
		{"1 MiB zeroed", mid, mid + 1<<20, func() []byte {
			b := bytes.Clone(img)
			clear(b[mid : mid+1<<20])
			return b
		}},
	} {
		bad := filepath.Join(t.TempDir(), "bad.iso")
		os.WriteFile(bad, c.damage(), 0o644)
		d, err := Open(bad)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := d.Unlock(identity(t, testPassword)); err != nil || len(d.Patients()) == 0 {
			t.Errorf("%s: the studies do not list: %v", c.name, err)
		}
		if err := d.Salvage(identity(t, testPassword)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		x, err := d.StartExtract(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		x.Salvage = true
		dst := filepath.Join(filepath.Dir(x.out.Path), "out")
		res, err := x.Run(context.Background(), nil)
		if err != nil {
			t.Fatalf("%s: salvage: %v", c.name, err)
		}
		got := extractedByUID(t, dst)
		for uid, s := range spans {
			touched := s.from < c.to && s.to > c.from
			b, ok := got[uid]
			switch {
			case touched && ok:
				t.Errorf("%s: %s was damaged yet extracted", c.name, uid)
			case !touched && !ok:
				t.Errorf("%s: %s was not touched yet not extracted", c.name, uid)
			case ok && !bytes.Equal(b, wantBytes[uid]):
				t.Errorf("%s: %s extracted with other bytes", c.name, uid)
			}
		}
		if len(res.Lost) == 0 || res.Instances != len(got) {
			t.Errorf("%s: %d extracted, lost %v", c.name, res.Instances, res.Lost)
		}
		report, _ := os.ReadFile(filepath.Join(dst, SalvageReport))
		for _, l := range res.Lost {
			if !bytes.Contains(report, []byte(l.Path)) {
				t.Errorf("%s: %s does not name %s", c.name, SalvageReport, l.Path)
			}
		}
		d.Close()
	}
}

// extractedByUID reads an extracted File-set's instances by SOP Instance
// UID.
func extractedByUID(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == "DICOMDIR" || e.Name() == SalvageReport {
			return err
		}
		in, _, err := dicomdir.ReadInstance(p)
		if err != nil || in == nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, _ := os.ReadFile(p)
		out[in.SOPInstanceUID] = b
		return nil
	})
	return out
}

// On a medium its password opened, a file whose key does not open with it
// is a damaged file (exit 5), not a wrong password to ask again (exit 3).
func TestForeignKeyIsDamageNotWrongPassword(t *testing.T) {
	p, dir := burnFolder(t)
	other, err := cms.NewPasswordRecipient([]byte("another disc's password"), &cms.PasswordParams{Iterations: cms.MinIterations})
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, filepath.FromSlash(p.Entries[4].Path))
	plain, _ := os.ReadFile(filepath.Join(study, "77654033", "CR1", "6154"))
	var b bytes.Buffer
	w, err := cms.Encrypt(&b, int64(len(plain)), nil, other)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	os.WriteFile(victim, b.Bytes(), 0o644)
	d := unlocked(t, dir, testPassword)
	for _, in := range d.Instances() {
		if in.Path() != p.Entries[4].Path {
			continue
		}
		_, err := d.OpenInstance(in)
		if !errors.Is(err, ErrDamaged) || errors.Is(err, ErrWrongPassword) {
			t.Fatalf("a file sealed for another password: %v", err)
		}
		return
	}
	t.Fatal("victim not found")
}

// A File-set of 500 files, each sealed by openssl with its own salt (2048
// iterations, its default), opens: 500 derivations are far below the bound.
func TestOpenSSLPerFileSaltOpens(t *testing.T) {
	testtool.Require(t, "openssl")
	testtool.Require(t, "dcmmkdir")
	plain, made := t.TempDir(), t.TempDir()
	paths, err := dicomtest.Set(made, 1, 1, 5, 100)
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(plain, "DICOM"), 0o755)
	for i, p := range paths { // ISO 9660 Level 1 names, as dcmmkdir wants them
		os.Rename(p, filepath.Join(plain, "DICOM", fmt.Sprintf("F%07d", i)))
	}
	cmd := exec.Command("dcmmkdir", "-q", "-Pgp", "+r", "-nb", "+id", ".", "+D", "DICOMDIR", "DICOM")
	cmd.Dir = plain
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dcmmkdir: %v\n%s", err, out)
	}
	disc := filepath.Join(t.TempDir(), "disc")
	const pw = "third party password"
	n := 0
	filepath.WalkDir(plain, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(plain, p)
		dst := filepath.Join(disc, rel)
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if out, err := exec.Command("openssl", "cms", "-encrypt", "-binary", "-pwri_password", pw, "-in", p, "-outform", "DER", "-out", dst).CombinedOutput(); err != nil {
			t.Fatalf("openssl: %v\n%s", err, out)
		}
		n++
		return nil
	})
	d := unlocked(t, disc, pw)
	if work, derivations, _ := d.KDFWork(); derivations != n || work > DefaultMaxKDFWork {
		t.Fatalf("%d files: %d derivations, %d iterations", n, derivations, work)
	}
	if got := len(d.Instances()); got != 500 {
		t.Fatalf("%d instances", got)
	}
	if _, err := d.Extract(context.Background(), filepath.Join(t.TempDir(), "out"), nil); err != nil {
		t.Fatal(err)
	}
}
