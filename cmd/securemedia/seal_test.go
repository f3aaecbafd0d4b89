package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/testtool"
)

// CLI contract tests: what scripts and users see (exit codes, messages, no
// partial output), through run() exactly as main calls it.

type result struct {
	code           int
	stdout, stderr string
}

func cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) expect(t *testing.T, code int, stderrHas string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, stderrHas) {
		t.Fatalf("exit %d (want %d), stderr %q (want it to contain %q)", r.code, code, r.stderr, stderrHas)
	}
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s exists after a failure", path)
	}
	// Nor any temporary leftovers next to it.
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

const sampleFile = "../../testdata/sample-study/77654033/CR1/6154"

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The password file gets a trailing newline, as editors and echo write it.
func passwordFile(t *testing.T, dir string) string {
	return writeFile(t, dir, "pw.txt", "a test passphrase, long enough\n")
}

func TestSealUnsealContract(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	sealed := filepath.Join(dir, "sealed")
	cli(t, "", "seal", "--password-file", pw, sampleFile, "-o", sealed).expect(t, 0, "sealed 1 file")
	back := filepath.Join(dir, "back.dcm")
	cli(t, "", "unseal", "--password-file", pw, sealed, "-o", back).expect(t, 0, "integrity checked")
	want, _ := os.ReadFile(sampleFile)
	got, _ := os.ReadFile(back)
	if !bytes.Equal(got, want) {
		t.Fatal("unseal did not restore the input byte for byte")
	}
	// The same password without the newline, from the environment.
	t.Setenv("SM_TEST_PW", "a test passphrase, long enough")
	cli(t, "", "unseal", "--password-env", "SM_TEST_PW", sealed, "-o", filepath.Join(dir, "env.dcm")).expect(t, 0, "")
	// And from standard input.
	cli(t, "a test passphrase, long enough\n", "unseal", "--password-file", "-", sealed, "-o", filepath.Join(dir, "stdin.dcm")).expect(t, 0, "")
	// Output exists: refused without --force, replaced with it.
	cli(t, "", "unseal", "--password-file", pw, sealed, "-o", back).expect(t, 1, "use --force")
	cli(t, "", "unseal", "--password-file", pw, sealed, "-o", back, "--force").expect(t, 0, "")
}

func TestNoPasswordOnTheCommandLine(t *testing.T) {
	r := cli(t, "", "seal", "--password", "secret", sampleFile, "-o", filepath.Join(t.TempDir(), "x"))
	r.expect(t, exitUsage, "unknown flag")
	// No password source and no terminal: a clear error, not a hang.
	out := filepath.Join(t.TempDir(), "x")
	cli(t, "", "seal", sampleFile, "-o", out).expect(t, exitUsage, "use --password-file FILE or --password-env NAME")
	r = cli(t, "", "burn", sampleStudy, "-o", out)
	r.expect(t, exitUsage, "use --password-file FILE, --password-env NAME, or --generate-password for a new one")
	mustNotExist(t, out)
}

func TestFailuresHaveTheirOwnExitCodes(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	sealed := filepath.Join(dir, "sealed")
	cli(t, "", "seal", "--password-file", pw, sampleFile, "-o", sealed).expect(t, 0, "")
	orig, _ := os.ReadFile(sealed)
	variant := func(name string, edit func([]byte) []byte) string {
		return writeFile(t, dir, name, string(edit(bytes.Clone(orig))))
	}
	wrongPW := writeFile(t, dir, "wrong.txt", "not the right passphrase")
	cases := []struct {
		name, in, pwFile string
		code             int
		msg              string
	}{
		{"wrong password", sealed, wrongPW, exitBadPassword, "wrong password"},
		{"tampered middle", variant("mid", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), pw, exitIntegrity, "digest does not match"},
		{"tampered last block", variant("last", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), pw, exitDamaged, "damaged"},
		{"truncated", variant("trunc", func(b []byte) []byte { return b[:len(b)-100] }), pw, exitMalformed, "truncated"},
		{"plain DICOM", sampleFile, pw, exitNotCMS, "unencrypted DICOM"},
		{"not DICOM at all", writeFile(t, dir, "text", "hello"), pw, exitNotCMS, "not a Secure DICOM File"},
		{"non-ASCII password", sealed, writeFile(t, dir, "latin.txt", "pässwörd-long-enough"), exitPolicy, "printable US-ASCII"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
			cli(t, "", "unseal", "--password-file", c.pwFile, c.in, "-o", out).expect(t, c.code, c.msg)
			mustNotExist(t, out)
		})
	}
	t.Run("non-ASCII password when sealing", func(t *testing.T) {
		out := filepath.Join(dir, "out-seal")
		cli(t, "", "seal", "--password-file", filepath.Join(dir, "latin.txt"), sampleFile, "-o", out).expect(t, exitPolicy, "printable US-ASCII")
		mustNotExist(t, out)
	})
	t.Run("weak password when sealing", func(t *testing.T) {
		out := filepath.Join(dir, "out-weak")
		cli(t, "", "seal", "--password-file", writeFile(t, dir, "short.txt", "short"), sampleFile, "-o", out).expect(t, exitPolicy, "shorter than 12")
		mustNotExist(t, out)
	})
}

// Test-only certificates, generated per run.
var (
	certOnce sync.Once
	certDir  string
)

// testCert returns PEM paths of a fresh RSA-2048 certificate and key.
func testCert(t *testing.T, name string) (cert, key string) {
	t.Helper()
	certOnce.Do(func() { certDir, _ = os.MkdirTemp("", "sm-cli-test-") })
	cert, key = filepath.Join(certDir, name+".pem"), filepath.Join(certDir, name+".key")
	if _, err := os.Stat(cert); err == nil {
		return cert, key
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name + " (test only)"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), SubjectKeyId: []byte(name)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	return cert, key
}

func TestCertificateRecipientsAndSigning(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	siteCert, siteKey := testCert(t, "site")
	escrowCert, escrowKey := testCert(t, "escrow")
	otherCert, otherKey := testCert(t, "other")
	signCert, signKey := testCert(t, "signer")
	want, _ := os.ReadFile(sampleFile)

	sealed := filepath.Join(dir, "sealed")
	cli(t, "", "seal", "--password-file", pw, "--recipient", siteCert, "--recipient", escrowCert, "--oaep",
		"--sign", signCert, "--sign-key", signKey, sampleFile, "-o", sealed).expect(t, 0, "certificate CN=escrow")

	r := cli(t, "", "inspect", sealed)
	if r.code != 0 || strings.Count(r.stdout, "recipient:") != 3 || !strings.Contains(r.stdout, "RSAES-OAEP") || strings.Contains(r.stdout, "passphrase") {
		t.Fatalf("inspect: %+v", r)
	}
	for _, pair := range [][2]string{{siteCert, siteKey}, {escrowCert, escrowKey}} {
		out := filepath.Join(dir, "by-"+filepath.Base(pair[0]))
		cli(t, "", "unseal", "--key", pair[1], "--cert", pair[0], sealed, "-o", out).expect(t, 0, "signed by CN=signer")
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Fatal("content differs")
		}
	}
	// Trust: the signer's own (self-signed) certificate as anchor passes;
	// another anchor fails, as does requiring a signature on an unsigned file.
	cli(t, "", "unseal", "--key", siteKey, "--cert", siteCert, "--trust", signCert, sealed, "-o", filepath.Join(dir, "trusted")).expect(t, 0, "trusted via")
	untrusted := filepath.Join(dir, "untrusted")
	cli(t, "", "unseal", "--key", siteKey, "--cert", siteCert, "--trust", otherCert, sealed, "-o", untrusted).expect(t, exitIntegrity, "not trusted")
	mustNotExist(t, untrusted)
	unsigned := filepath.Join(dir, "unsigned")
	cli(t, "", "seal", "--recipient", siteCert, sampleFile, "-o", unsigned).expect(t, 0, "")
	cli(t, "", "unseal", "--key", siteKey, "--cert", siteCert, "--require-signature", unsigned, "-o", untrusted).expect(t, exitIntegrity, "not signed")
	mustNotExist(t, untrusted)

	out := filepath.Join(dir, "by-other")
	cli(t, "", "unseal", "--key", otherKey, "--cert", otherCert, sealed, "-o", out).expect(t, exitNoRecipient, "no matching recipient")
	mustNotExist(t, out)
	cli(t, "", "unseal", "--key", siteKey, "--cert", otherCert, sealed, "-o", out).expect(t, exitFailure, "does not belong")
	mustNotExist(t, out)
}

func TestPKCS12(t *testing.T) {
	openssl := testtool.Require(t, "openssl")
	dir := t.TempDir()
	cert, key := testCert(t, "p12")
	p12 := filepath.Join(dir, "id.p12")
	cmd := exec.Command(openssl, "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", p12, "-passout", "pass:p12-secret")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	sealed := filepath.Join(dir, "sealed")
	cli(t, "", "seal", "--recipient", cert, sampleFile, "-o", sealed).expect(t, 0, "")
	t.Setenv("SM_P12", "p12-secret")
	cli(t, "", "unseal", "--p12", p12, "--p12-password-env", "SM_P12", sealed, "-o", filepath.Join(dir, "out")).expect(t, 0, "")
	t.Setenv("SM_P12", "wrong")
	cli(t, "", "unseal", "--p12", p12, "--p12-password-env", "SM_P12", sealed, "-o", filepath.Join(dir, "out2")).expect(t, exitFailure, "wrong password for the key file")
}

func TestFoldersAreAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	study := "../../testdata/sample-study"
	sealed := filepath.Join(dir, "sealed")
	cli(t, "", "seal", "--password-file", pw, study, "-o", sealed).expect(t, 0, "skipped")
	opened := filepath.Join(dir, "opened")
	// 31 files sealed in one run: one key derivation opens them all.
	cli(t, "", "unseal", "--password-file", pw, sealed, "-o", opened).expect(t, 0, "unsealed 31 files, integrity checked; password key derived once (PBKDF2)")
	n := 0
	filepath.WalkDir(opened, func(p string, d os.DirEntry, err error) error {
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(opened, p)
			want, _ := os.ReadFile(filepath.Join(study, rel))
			got, _ := os.ReadFile(p)
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs", rel)
			}
			n++
		}
		return nil
	})
	if n != 31 {
		t.Fatalf("%d files opened, want 31", n)
	}
	// One damaged file among many: nothing is written at all.
	victim := filepath.Join(sealed, "98892003", "MR2", "6605")
	b, _ := os.ReadFile(victim)
	b[len(b)/2] ^= 1
	os.WriteFile(victim, b, 0o600)
	out := filepath.Join(dir, "opened2")
	cli(t, "", "unseal", "--password-file", pw, sealed, "-o", out).expect(t, exitIntegrity, "6605")
	mustNotExist(t, out)
}

func TestHelpReadsLikeAManPage(t *testing.T) {
	r := cli(t, "", "--help")
	for _, cmd := range []string{"seal", "unseal", "inspect", "password", "version"} {
		if !strings.Contains(r.stdout, cmd) {
			t.Errorf("--help does not list %s", cmd)
		}
	}
	r = cli(t, "", "seal", "--help")
	for _, s := range []string{"EXAMPLES", "--password-file", "PS3.15", "Exit codes"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("seal --help lacks %q", s)
		}
	}
	r = cli(t, "", "help", "exit-codes")
	if !strings.Contains(r.stdout, "wrong password") {
		t.Error("help exit-codes lacks the table")
	}
	r = cli(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "securemedia ") {
		t.Errorf("version: %+v", r)
	}
}
