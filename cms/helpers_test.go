package cms

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Test-only keys and certificates, generated fresh for every test run.

type testPKI struct {
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	certPEM string // file paths, for openssl
	keyPEM  string
}

var (
	pkiOnce sync.Once
	pkiDir  string
	pkis    [3]*testPKI
)

// testKeys returns three RSA-2048 identities (recipient A, recipient B,
// signer), each with a Subject Key Identifier, written as PEM files.
func testKeys(t testing.TB) [3]*testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cms-test-pki-")
		if err != nil {
			panic(err)
		}
		pkiDir = dir
		for i, cn := range []string{"Test Recipient A (test only)", "Test Recipient B (test only)", "Test Signer (test only)"} {
			pkis[i] = newTestPKI(dir, cn, int64(1000+i))
		}
	})
	return pkis
}

func newTestPKI(dir, cn string, serial int64) *testPKI {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	ski := sha1.Sum(spki)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"SecureMedia tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		SubjectKeyId: ski[:],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &testPKI{cert: cert, key: key,
		certPEM: filepath.Join(dir, fmt.Sprint(serial, "-cert.pem")), keyPEM: filepath.Join(dir, fmt.Sprint(serial, "-key.pem"))}
	os.WriteFile(p.certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(p.keyPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return p
}

func (p *testPKI) identity(t testing.TB) *CertificateIdentity {
	t.Helper()
	id, err := NewCertificateIdentity(p.cert, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (p *testPKI) recipient(t testing.TB, opts *CertificateOptions) *CertificateRecipient {
	t.Helper()
	r, err := NewCertificateRecipient(p.cert, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const testPassword = "correct horse battery staple"

var (
	pwOnce sync.Once
	pwRcpt *PasswordRecipient
)

// passwordRecipient derives the key once for the whole test binary, as a
// disc does.
func passwordRecipient(t testing.TB) *PasswordRecipient {
	t.Helper()
	pwOnce.Do(func() {
		var err error
		pwRcpt, err = NewPasswordRecipient([]byte(testPassword), &PasswordParams{Iterations: MinIterations})
		if err != nil {
			panic(err)
		}
	})
	return pwRcpt
}

func passwordIdentity(t testing.TB, pw string) *PasswordIdentity {
	t.Helper()
	id, err := NewPasswordIdentity([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// seal seals data and checks that SealedSize predicted the size exactly.
func seal(t testing.TB, data []byte, opts *Options, rs ...Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := Encrypt(&buf, int64(len(data)), opts, rs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want, err := SealedSize(int64(len(data)), opts, rs...)
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != want {
		t.Fatalf("SealedSize = %d, Encrypt wrote %d", want, buf.Len())
	}
	return buf.Bytes()
}

// open decrypts sealed completely, returning the plaintext and the info.
func open(sealed []byte, ids ...Identity) ([]byte, *Info, error) {
	r, err := Decrypt(bytes.NewReader(sealed), ids...)
	if err != nil {
		return nil, nil, err
	}
	var out bytes.Buffer
	_, err = out.ReadFrom(r)
	return out.Bytes(), r.Info(), err
}

// sampleDICOM returns a small real DICOM file from the bundled sample study.
func sampleDICOM(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/sample-study/77654033/CR1/6154")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
