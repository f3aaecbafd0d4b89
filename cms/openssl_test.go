package cms

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// Interop with "openssl cms", a CMS implementation we did not write: it must
// open what we seal, and we must open what it seals.

const corpusDir = "../../shared/corpus"

func runOpenSSL(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

// wrapContentInfo wraps a DER DigestedData/SignedData in ContentInfo, which
// "openssl cms -digest_verify/-verify" expect (openssl -decrypt returns the
// bare inner structure we encrypted).
func wrapContentInfo(oid []byte, inner []byte) []byte {
	body := appendHeader(nil, tagCtx0Cons, int64(len(inner)))
	body = append(append(oid, body...), inner...)
	return append(appendHeader(nil, tagSequence, int64(len(body))), body...)
}

// corpusFiles lists every file of the shared corpus (DICOM and DICOMDIR).
func corpusFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasSuffix(p, ".tsv") && !strings.Contains(p, "LICENSES") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		testtool.Missing(t, "corpus not available: "+err.Error())
	}
	if len(files) < 100 {
		t.Fatalf("corpus has only %d files", len(files))
	}
	return files
}

// TestOpenSSLOpensWhatWeSeal seals every corpus file four ways (password;
// certificate with PKCS#1 v1.5 by issuer and serial; certificate with OAEP
// by subject key identifier; password and certificate together), has openssl decrypt it and verify the inner
// DigestedData, and compares the result with the input.
func TestOpenSSLOpensWhatWeSeal(t *testing.T) {
	testtool.Require(t, "openssl")
	keys := testKeys(t)
	pw := passwordRecipient(t)
	files := corpusFiles(t)
	variants := []struct {
		name string
		rs   []Recipient
		open [][]string // openssl -decrypt argument sets, each must work
	}{
		{"password", []Recipient{pw}, [][]string{{"-pwri_password", testPassword}}},
		{"cert-v1.5", []Recipient{keys[0].recipient(t, nil)}, [][]string{{"-recip", keys[0].certPEM, "-inkey", keys[0].keyPEM}}},
		{"cert-oaep-keyid", []Recipient{keys[0].recipient(t, &CertificateOptions{OAEP: true, SubjectKeyID: true})}, [][]string{{"-recip", keys[0].certPEM, "-inkey", keys[0].keyPEM}}},
		{"password+cert", []Recipient{pw, keys[1].recipient(t, nil)}, [][]string{
			{"-pwri_password", testPassword}, {"-recip", keys[1].certPEM, "-inkey", keys[1].keyPEM}}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for i, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				sealed := filepath.Join(dir, "sealed")
				os.WriteFile(sealed, seal(t, data, nil, v.rs...), 0o600)
				// Every file is opened by the first way; a sample by all of them.
				ways := v.open[:1]
				if i%10 == 0 {
					ways = v.open
				}
				for _, way := range ways {
					inner := filepath.Join(dir, "inner")
					runOpenSSL(t, append([]string{"cms", "-decrypt", "-binary", "-inform", "DER", "-in", sealed, "-out", inner}, way...)...)
					checkDigestVerify(t, dir, inner, data, f)
				}
			}
		})
	}
}

// checkDigestVerify has openssl check the DigestedData and compares its
// content with want.
func checkDigestVerify(t *testing.T, dir, innerPath string, want []byte, name string) {
	t.Helper()
	inner, err := os.ReadFile(innerPath)
	if err != nil {
		t.Fatal(err)
	}
	ci := filepath.Join(dir, "ci")
	os.WriteFile(ci, wrapContentInfo(encodeOID(oidDigestedData), inner), 0o600)
	out := filepath.Join(dir, "out")
	runOpenSSL(t, "cms", "-digest_verify", "-binary", "-inform", "DER", "-in", ci, "-out", out)
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: openssl returned %d bytes that differ from the %d-byte input", name, len(got), len(want))
	}
}

// TestOpenSSLVerifiesOurSignature: sign-then-encrypt, checked by openssl.
func TestOpenSSLVerifiesOurSignature(t *testing.T) {
	testtool.Require(t, "openssl")
	keys := testKeys(t)
	signer, err := NewSigner(keys[2].cert, keys[2].key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := sampleDICOM(t)
	sealed := filepath.Join(dir, "sealed")
	os.WriteFile(sealed, seal(t, data, &Options{Signer: signer}, passwordRecipient(t)), 0o600)
	inner := filepath.Join(dir, "inner")
	runOpenSSL(t, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", sealed, "-out", inner, "-pwri_password", testPassword)
	innerDER, _ := os.ReadFile(inner)
	ci := filepath.Join(dir, "ci")
	os.WriteFile(ci, wrapContentInfo(encodeOID(oidSignedData), innerDER), 0o600)
	out := filepath.Join(dir, "out")
	runOpenSSL(t, "cms", "-verify", "-binary", "-inform", "DER", "-in", ci, "-CAfile", keys[2].certPEM, "-out", out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("openssl -verify returned different content")
	}
}

// TestWeOpenWhatOpenSSLSeals covers openssl's password defaults, every
// content cipher, issuer+serial and -keyid recipients, OAEP, -stream (BER:
// indefinite lengths, constructed OCTET STRING) and sign-then-encrypt.
func TestWeOpenWhatOpenSSLSeals(t *testing.T) {
	testtool.Require(t, "openssl")
	keys := testKeys(t)
	dir := t.TempDir()
	data := sampleDICOM(t)
	in := filepath.Join(dir, "in.dcm")
	os.WriteFile(in, data, 0o600)
	big := bytes.Repeat(data, 40) // > 64 KiB: several -stream chunks
	inBig := filepath.Join(dir, "big.dcm")
	os.WriteFile(inBig, big, 0o600)

	signed := filepath.Join(dir, "signed.der")
	runOpenSSL(t, "cms", "-sign", "-binary", "-nodetach", "-in", in, "-signer", keys[2].certPEM, "-inkey", keys[2].keyPEM, "-outform", "DER", "-out", signed)
	digested := filepath.Join(dir, "digested.der")
	runOpenSSL(t, "cms", "-digest_create", "-binary", "-md", "sha256", "-in", in, "-outform", "DER", "-out", digested)

	const pw = "openssl-made password"
	recip := []string{keys[0].certPEM}
	oaep := []string{"-recip", keys[0].certPEM, "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256"}
	cases := []struct {
		name  string
		in    string
		args  []string
		want  []byte
		inner string
		pw    bool
	}{
		{"pwri-defaults", in, []string{"-pwri_password", pw}, data, "id-data", true},
		{"pwri-aes128", in, []string{"-aes128", "-pwri_password", pw}, data, "id-data", true},
		{"pwri-aes192", in, []string{"-aes192", "-pwri_password", pw}, data, "id-data", true},
		{"pwri-aes256", in, []string{"-aes256", "-pwri_password", pw}, data, "id-data", true},
		{"pwri-des3", in, []string{"-des3", "-pwri_password", pw}, data, "id-data", true},
		{"pwri-stream", inBig, []string{"-aes256", "-stream", "-pwri_password", pw}, big, "id-data", true},
		{"recip-issuer-serial", in, append([]string{"-aes256"}, recip...), data, "id-data", false},
		{"recip-keyid", in, append([]string{"-aes128", "-keyid"}, recip...), data, "id-data", false},
		{"recip-oaep", in, append([]string{"-aes256"}, oaep...), data, "id-data", false},
		{"recip-stream", inBig, append([]string{"-aes192", "-stream"}, recip...), big, "id-data", false},
		{"sign-then-encrypt", signed, []string{"-aes256", "-pwri_password", pw}, data, "ContentInfo(SignedData)", true},
		{"digest-then-encrypt", digested, []string{"-aes256", "-pwri_password", pw}, data, "ContentInfo(DigestedData)", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name+".p7m")
			runOpenSSL(t, append([]string{"cms", "-encrypt", "-binary", "-in", c.in, "-outform", "DER", "-out", out}, c.args...)...)
			sealed, _ := os.ReadFile(out)
			var id Identity = keys[0].identity(t)
			if c.pw {
				id = passwordIdentity(t, pw)
			}
			got, info, err := open(sealed, id)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Fatalf("got %d bytes, differing from the %d-byte input", len(got), len(c.want))
			}
			if info.Inner != c.inner {
				t.Errorf("inner %q, want %q", info.Inner, c.inner)
			}
			if strings.Contains(c.name, "stream") && info.Encoding != "BER" {
				t.Errorf("encoding %q, want BER for -stream", info.Encoding)
			}
			if c.name == "sign-then-encrypt" && (len(info.Signers) != 1 || !info.Signers[0].Certificate.Equal(keys[2].cert)) {
				t.Errorf("signer not reported: %+v", info.Signers)
			}
		})
	}
}
