package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate recipients: KeyTransRecipientInfo with RSA (RFC 5652 §6.2.1,
// RFC 3370 §4.2 for PKCS #1 v1.5, RFC 3560 for RSAES-OAEP).

// MinRSABits is the smallest RSA modulus accepted for sealing.
const MinRSABits = 2048

// CertificateOptions choose how a CertificateRecipient is written.
type CertificateOptions struct {
	// OAEP selects RSAES-OAEP with SHA-256 and MGF1-SHA-256 instead of
	// PKCS #1 v1.5, the PS3.15 baseline that every reader has.
	OAEP bool
	// SubjectKeyID identifies the recipient by its certificate's Subject
	// Key Identifier (KeyTransRecipientInfo version 2) instead of issuer and
	// serial number (version 0, the default).
	SubjectKeyID bool
}

// CertificateRecipient seals for the holder of an RSA certificate's key.
type CertificateRecipient struct {
	cert *x509.Certificate
	pub  *rsa.PublicKey
	opts CertificateOptions
}

// NewCertificateRecipient checks that cert has an RSA key of at least
// MinRSABits (and a Subject Key Identifier when opts asks for it).
func NewCertificateRecipient(cert *x509.Certificate, opts *CertificateOptions) (*CertificateRecipient, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: certificate %q has a %T key; PS3.15 D.1.1 key transport is RSA", ErrUnsupported, cert.Subject, cert.PublicKey)
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("%w: certificate %q has a %d-bit RSA key (at least %d)", ErrWeakParameters, cert.Subject, pub.N.BitLen(), MinRSABits)
	}
	r := &CertificateRecipient{cert: cert, pub: pub}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.SubjectKeyID && len(cert.SubjectKeyId) == 0 {
		return nil, fmt.Errorf("cms: certificate %q has no Subject Key Identifier extension; identify it by issuer and serial number instead", cert.Subject)
	}
	return r, nil
}

// WrapKey implements Recipient.
func (r *CertificateRecipient) WrapKey(cek []byte, rnd io.Reader) ([]byte, error) {
	var ek []byte
	var err error
	if r.opts.OAEP {
		ek, err = rsa.EncryptOAEP(sha256.New(), rnd, r.pub, cek, nil)
	} else {
		// PKCS #1 v1.5 is deprecated in Go 1.26, but it is the RSA key
		// transport PS3.15 D.1.1 names ("encoding per RFC 3370", §4.2.1)
		// and the one every DICOM reader implements; OAEP is opt-in.
		//lint:ignore SA1019 required for PS3.15 D.1.1 interoperability (RFC 3370 §4.2.1)
		ek, err = rsa.EncryptPKCS1v15(rnd, r.pub, cek)
	}
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if r.opts.SubjectKeyID {
			b.AddASN1Int64(2)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(r.cert.SubjectKeyId) })
		} else {
			b.AddASN1Int64(0)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(r.cert.RawIssuer)
				b.AddASN1BigInt(r.cert.SerialNumber)
			})
		}
		if r.opts.OAEP {
			addAlgorithm(b, oidRSAESOAEP, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						addAlgorithm(b, oidSHA256, nil)
					})
					b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						addAlgorithm(b, oidMGF1, func(b *cryptobyte.Builder) { addAlgorithm(b, oidSHA256, nil) })
					})
				})
			})
		} else {
			addAlgorithm(b, oidRSAEncryption, nullParams) // RFC 3370 §4.2.1: NULL, present
		}
		b.AddASN1OctetString(ek)
	})
	return b.Bytes()
}

// CertificateIdentity opens certificate recipients with the private key.
type CertificateIdentity struct {
	cert *x509.Certificate
	key  crypto.Decrypter
}

// NewCertificateIdentity pairs a certificate with its RSA private key (any
// crypto.Decrypter, so a key in a token works) and checks they match.
func NewCertificateIdentity(cert *x509.Certificate, key crypto.Decrypter) (*CertificateIdentity, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: certificate %q has a %T key, not RSA", ErrUnsupported, cert.Subject, cert.PublicKey)
	}
	if kp, ok := key.Public().(*rsa.PublicKey); !ok || !kp.Equal(pub) {
		return nil, fmt.Errorf("cms: the private key does not belong to certificate %q", cert.Subject)
	}
	return &CertificateIdentity{cert: cert, key: key}, nil
}

// Certificate returns the identity's certificate.
func (id *CertificateIdentity) Certificate() *x509.Certificate { return id.cert }

func (id *CertificateIdentity) matches(k *ktriInfo) bool {
	if k.ski != nil {
		return len(id.cert.SubjectKeyId) > 0 && bytes.Equal(k.ski, id.cert.SubjectKeyId)
	}
	return bytes.Equal(k.issuer, id.cert.RawIssuer) && k.serial.Cmp(id.cert.SerialNumber) == 0
}

// UnwrapKey implements Identity. PKCS #1 v1.5 is decrypted in constant
// time with a random fallback key (RFC 3218 §2.3.2), so a bad encrypted key
// shows up later as damaged content, not as a distinguishable error.
func (id *CertificateIdentity) UnwrapKey(ri []byte, cekSize int) ([]byte, error) {
	k, err := parseKTRI(ri)
	if err != nil {
		return nil, err
	}
	if !id.matches(k) {
		return nil, ErrIncorrectIdentity
	}
	if k.oaep {
		cek, err := id.key.Decrypt(rand.Reader, k.ek, &rsa.OAEPOptions{Hash: k.hash, MGFHash: k.mgfHash, Label: k.label})
		if err != nil {
			return nil, fmt.Errorf("%w: RSA-OAEP key transport failed", ErrDamaged)
		}
		return cek, nil
	}
	//lint:ignore SA1019 PS3.15 D.1.1 files use PKCS #1 v1.5 key transport (RFC 3370 §4.2.1); decrypted with the constant-time session-key API
	cek, err := id.key.Decrypt(rand.Reader, k.ek, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: cekSize})
	if err != nil {
		return nil, fmt.Errorf("%w: RSA key transport failed", ErrDamaged)
	}
	return cek, nil
}

// Certificate returns the recipient's certificate.
func (r *CertificateRecipient) Certificate() *x509.Certificate { return r.cert }
