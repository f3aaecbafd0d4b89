package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const fixtureDir = "testdata/openssl"

// fixtureIdentities opens the openssl fixtures: their password and their
// TEST ONLY key.
func fixtureIdentities(t testing.TB) []Identity {
	t.Helper()
	pw, err := NewPasswordIdentity([]byte("fuzz-seed-password"))
	if err != nil {
		t.Fatal(err)
	}
	pw.maxIter = 4096 // keep fuzzing fast: mutated iteration counts are refused
	certPEM, _ := os.ReadFile(filepath.Join(fixtureDir, "TEST-ONLY-cert.pem"))
	keyPEM, _ := os.ReadFile(filepath.Join(fixtureDir, "TEST-ONLY-key.pem"))
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		t.Fatal("fixture key or certificate missing")
		return nil
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := NewCertificateIdentity(cert, key.(crypto.Decrypter))
	if err != nil {
		t.Fatal(err)
	}
	return []Identity{pw, kid}
}

func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(fixtureDir, "*.der"))
	if len(names) < 6 {
		t.Fatalf("expected the openssl fixtures in %s, found %d", fixtureDir, len(names))
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

// TestOpenSSLFixtures opens the committed openssl-made files (so the reader
// is checked against openssl even where openssl is not installed).
func TestOpenSSLFixtures(t *testing.T) {
	payload, err := os.ReadFile(filepath.Join(fixtureDir, "payload.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	ids := fixtureIdentities(t)
	for name, sealed := range fixtures(t) {
		got, info, err := open(sealed, ids...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("%s: content differs", name)
		}
		if name == "signed-then-pwri.der" && len(info.Signers) != 1 {
			t.Fatalf("%s: signer not verified", name)
		}
	}
}

// FuzzDecrypt: no input may panic the reader or make it allocate by a
// declared length; bad input gets an error.
func FuzzDecrypt(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	ids := fixtureIdentities(f)
	// Our own DigestedData and SignedData output, sealed for the fixture
	// certificate so the fuzzer can reach the inner parsers cheaply.
	kid := ids[1].(*CertificateIdentity)
	rcpt, err := NewCertificateRecipient(kid.cert, nil)
	if err != nil {
		f.Fatal(err)
	}
	signer, err := NewSigner(kid.cert, kid.key.(crypto.Signer))
	if err != nil {
		f.Fatal(err)
	}
	for _, opts := range []*Options{nil, {Signer: signer}, {Cipher: AES128CBC, PlainData: true}} {
		var buf bytes.Buffer
		w, err := Encrypt(&buf, 150, opts, rcpt)
		if err != nil {
			f.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte{7}, 150))
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := Inspect(bytes.NewReader(in)); err != nil {
			return
		}
		r, err := Decrypt(bytes.NewReader(in), ids...)
		if err != nil {
			return
		}
		io.Copy(io.Discard, r)
	})
}

// FuzzBERToDER: the normaliser never panics, and its output is a fixed point.
func FuzzBERToDER(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 0xAA, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := berToDER(in)
		if err != nil {
			return
		}
		again, err := berToDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point: %x -> %x -> %x (%v)", in, out, again, err)
		}
	})
}
