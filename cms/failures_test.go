package cms

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Each way a file can fail to open gives its own error.

func TestWrongPassword(t *testing.T) {
	sealed := seal(t, sampleDICOM(t), nil, passwordRecipient(t))
	_, _, err := open(sealed, passwordIdentity(t, "not the password"))
	if !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("got %v, want ErrWrongPassword", err)
	}
}

func TestWrongKey(t *testing.T) {
	keys := testKeys(t)
	sealed := seal(t, sampleDICOM(t), nil, keys[0].recipient(t, nil))
	_, _, err := open(sealed, keys[1].identity(t))
	if !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("got %v, want ErrNoRecipient", err)
	}
	if !strings.Contains(err.Error(), "Test Recipient A") {
		t.Errorf("error does not say whom the file is sealed for: %v", err)
	}
	// A password for a file that has only a certificate recipient.
	if _, _, err := open(sealed, passwordIdentity(t, testPassword)); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("password on certificate-only file: %v, want ErrNoRecipient", err)
	}
}

// encryptedContentRange returns where the ciphertext lies in a DER file we sealed.
func encryptedContentRange(t *testing.T, sealed []byte) (int, int) {
	t.Helper()
	b := newBERReader(bytes.NewReader(sealed), ErrTruncated, ErrMalformed)
	env, err := parseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	return int(b.pos), int(b.pos + env.content.length)
}

func TestTamperedCiphertext(t *testing.T) {
	data := bytes.Repeat(sampleDICOM(t), 4)
	sealed := seal(t, data, nil, passwordRecipient(t))
	start, end := encryptedContentRange(t, sealed)
	id := passwordIdentity(t, testPassword)

	mid := bytes.Clone(sealed)
	mid[(start+end)/2] ^= 0x01 // inside the DICOM content
	if _, _, err := open(mid, id); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("flipped bit in the middle: %v, want ErrIntegrity", err)
	}
	last := bytes.Clone(sealed)
	last[end-1] ^= 0x01 // the padding block
	if _, _, err := open(last, id); !errors.Is(err, ErrDamaged) {
		t.Fatalf("flipped bit in the last block: %v, want ErrDamaged", err)
	}
	// Plain id-data has no digest: only the padding can catch damage, and
	// only at the end, which is why DigestedData is the default.
	plain := seal(t, data, &Options{PlainData: true}, passwordRecipient(t))
	_, pend := encryptedContentRange(t, plain)
	plain[pend-1] ^= 0x01
	if _, _, err := open(plain, id); !errors.Is(err, ErrDamaged) {
		t.Fatalf("plain data, flipped last block: %v, want ErrDamaged", err)
	}
}

// relabel changes EncryptedContentInfo.contentType of a file sealed as
// id-data (…07 01) to another PKCS #7 type of the same length, outside the
// encryption, to seal hand-made inner structures.
func relabel(t *testing.T, sealed []byte, to asn1.ObjectIdentifier) {
	t.Helper()
	start, _ := encryptedContentRange(t, sealed)
	i := bytes.LastIndex(sealed[:start], encodeOID(oidData))
	if i < 0 {
		t.Fatal("content type not found")
	}
	copy(sealed[i:], encodeOID(to))
}

// TestTamperedDigest seals a DigestedData whose digest is wrong (as if the
// content had been altered before encryption) and expects ErrIntegrity. It
// also checks an openssl-made ContentInfo(DigestedData) with a bad digest.
func TestTamperedDigest(t *testing.T) {
	data := sampleDICOM(t)
	layout, err := digestedLayout(int64(len(data)), 0x5 /* crypto.SHA256 */)
	if err != nil {
		t.Fatal(err)
	}
	inner := append(bytes.Clone(layout.header), data...)
	trailer, _ := layout.trailer(bytes.Repeat([]byte{0xAA}, 32))
	inner = append(inner, trailer...)
	sealed := seal(t, inner, &Options{PlainData: true}, passwordRecipient(t))
	relabel(t, sealed, oidDigestedData)
	_, _, err = open(sealed, passwordIdentity(t, testPassword))
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("got %v, want ErrIntegrity", err)
	}

	testtool.Require(t, "openssl")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.dcm")
	os.WriteFile(in, data, 0o600)
	dd := filepath.Join(dir, "dd.der")
	runOpenSSL(t, "cms", "-digest_create", "-binary", "-md", "sha256", "-in", in, "-outform", "DER", "-out", dd)
	der, _ := os.ReadFile(dd)
	der[len(der)-1] ^= 0xFF // the digest is the last element
	os.WriteFile(dd, der, 0o600)
	out := filepath.Join(dir, "sealed")
	runOpenSSL(t, "cms", "-encrypt", "-binary", "-aes256", "-pwri_password", "pw", "-in", dd, "-outform", "DER", "-out", out)
	sealed, _ = os.ReadFile(out)
	if _, _, err := open(sealed, passwordIdentity(t, "pw")); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("openssl-made bad digest: %v, want ErrIntegrity", err)
	}
}

func TestTamperedSignature(t *testing.T) {
	keys := testKeys(t)
	signer, _ := NewSigner(keys[2].cert, keys[2].key)
	data := sampleDICOM(t)
	layout, err := signedLayout(int64(len(data)), 0x5, signer)
	if err != nil {
		t.Fatal(err)
	}
	h := layout.hash.New()
	h.Write(data)
	trailer, _ := layout.trailer(h.Sum(nil))
	trailer[len(trailer)-1] ^= 0x01 // last byte of the RSA signature
	inner := append(append(bytes.Clone(layout.header), data...), trailer...)
	sealed := seal(t, inner, &Options{PlainData: true}, passwordRecipient(t))
	relabel(t, sealed, oidSignedData)
	if _, _, err := open(sealed, passwordIdentity(t, testPassword)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("got %v, want ErrIntegrity", err)
	}
}

func TestTruncated(t *testing.T) {
	sealed := seal(t, sampleDICOM(t), nil, passwordRecipient(t))
	id := passwordIdentity(t, testPassword)
	for _, n := range []int{len(sealed) - 1, len(sealed) - 17, len(sealed) / 2, 300, 40, 5} {
		_, _, err := open(sealed[:n], id)
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut to %d of %d bytes: %v, want ErrTruncated", n, len(sealed), err)
		}
	}
}

func TestNotCMS(t *testing.T) {
	id := passwordIdentity(t, testPassword)
	for name, in := range map[string][]byte{
		"plain DICOM": sampleDICOM(t),
		"text":        []byte("hello, this is not CMS at all\n"),
		"empty":       nil,
		"signed data": wrapContentInfo(encodeOID(oidSignedData), []byte{0x30, 0}),
	} {
		_, _, err := open(in, id)
		if !errors.Is(err, ErrNotEnvelopedData) {
			t.Fatalf("%s: %v, want ErrNotEnvelopedData", name, err)
		}
		if name == "plain DICOM" && !strings.Contains(err.Error(), "unencrypted DICOM") {
			t.Errorf("plain DICOM not recognised as such: %v", err)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	for _, bad := range []string{"", "pässword-long-enough", "tab\there-long-enough", "yen\u00a5sign-long-enough", "newline\n-long-enough"} {
		if _, err := NewPasswordIdentity([]byte(bad)); !errors.Is(err, ErrPasswordPolicy) {
			t.Errorf("%q accepted for opening: %v", bad, err)
		}
		if _, err := NewPasswordRecipient([]byte(bad), &PasswordParams{Iterations: MinIterations}); !errors.Is(err, ErrPasswordPolicy) {
			t.Errorf("%q accepted for sealing: %v", bad, err)
		}
	}
	if err := ValidatePassword([]byte(`123\$ ~!`)); err != nil {
		t.Errorf("printable ASCII refused: %v", err)
	}
	for _, weak := range []string{"short", " leading-space-pw", "trailing-space-pw "} {
		if err := CheckSealingPassword([]byte(weak)); !errors.Is(err, ErrPasswordPolicy) {
			t.Errorf("sealing policy accepted %q", weak)
		}
	}
	if _, err := NewPasswordRecipient([]byte(testPassword), &PasswordParams{Iterations: 2048}); !errors.Is(err, ErrWeakParameters) {
		t.Errorf("2048 iterations accepted for sealing: %v", err)
	}
	if err := ValidatePassword([]byte("pässword")); !strings.Contains(err.Error(), "byte 2") || strings.Contains(err.Error(), "ä") {
		t.Errorf("message should give the position and not the character: %v", err)
	}
}

// A hostile iteration count is refused before any PBKDF2 work.
func TestIterationCap(t *testing.T) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidPBKDF2)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(make([]byte, 16))
				b.AddASN1Int64(1 << 31)
			})
		})
		addAlgorithm(b, oidPWRIKEK, func(b *cryptobyte.Builder) { addAlgorithm(b, oidAES256CBC, octetParams(make([]byte, 16))) })
		b.AddASN1OctetString(make([]byte, 48))
	})
	id := passwordIdentity(t, testPassword)
	_, err := id.UnwrapKey(b.BytesOrPanic(), 32)
	if !errors.Is(err, ErrUnsupported) || id.Derivations() != 0 {
		t.Fatalf("2^31 iterations: %v (derivations %d), want ErrUnsupported and none", err, id.Derivations())
	}
}
