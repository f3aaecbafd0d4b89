package cms

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The content inside the envelope. PS3.15 D.1.1: "The encrypted content
// shall be Signed-data or Digested-data" (digest SHA-1/256/384/512,
// signature RSA). We encrypt the DER encoding of the DigestedData or
// SignedData SEQUENCE itself and name its type in EncryptedContentInfo
// (form C of the standards digest); the eContent it encapsulates, as id-data,
// is the complete DICOM File (PS3.10 §7.4).

// innerLayout is the encoding of the inner content around the file bytes.
type innerLayout struct {
	contentType []byte      // DER OID for EncryptedContentInfo.contentType
	header      []byte      // bytes before the file
	hash        crypto.Hash // digest over the file, 0 for plain data
	trailerLen  int64
	trailer     func(digest []byte) ([]byte, error) // bytes after the file
	size        int64                               // header + file + trailer
}

func newInnerLayout(n int64, o *Options) (innerLayout, error) {
	switch {
	case o.PlainData && o.Signer != nil:
		return innerLayout{}, fmt.Errorf("cms: PlainData and Signer exclude each other")
	case o.PlainData:
		return innerLayout{contentType: encodeOID(oidData), size: n,
			trailer: func([]byte) ([]byte, error) { return nil, nil }}, nil
	case o.Signer != nil:
		return signedLayout(n, o.Digest, o.Signer)
	default:
		return digestedLayout(n, o.Digest)
	}
}

func digestAlgorithmDER(h crypto.Hash) ([]byte, error) {
	oid, ok := oidFromHash(h)
	if !ok || !h.Available() {
		return nil, fmt.Errorf("%w: digest %v (PS3.15 allows SHA-1, SHA-256, SHA-384, SHA-512)", ErrUnsupported, h)
	}
	var b cryptobyte.Builder
	addAlgorithm(&b, oid, nil) // RFC 5754 §2: parameters absent for SHA-2
	return b.Bytes()
}

// encapHeader encodes EncapsulatedContentInfo{id-data, [0] EXPLICIT OCTET
// STRING} up to the first content byte, for n content bytes.
func encapHeader(n int64) []byte {
	oid := encodeOID(oidData)
	octet := tlvSize(n)
	h := appendHeader(nil, tagSequence, int64(len(oid))+tlvSize(octet))
	h = append(h, oid...)
	h = appendHeader(h, tagCtx0Cons, octet)
	return appendHeader(h, tagOctetString, n)
}

// digestedLayout: DigestedData ::= SEQUENCE { version 0, digestAlgorithm,
// encapContentInfo, digest OCTET STRING } (RFC 5652 §7).
func digestedLayout(n int64, h crypto.Hash) (innerLayout, error) {
	alg, err := digestAlgorithmDER(h)
	if err != nil {
		return innerLayout{}, err
	}
	encap := encapHeader(n)
	version := []byte{tagInteger, 1, 0}
	trailerLen := tlvSize(int64(h.Size()))
	body := int64(len(version)+len(alg)+len(encap)) + n + trailerLen
	hdr := appendHeader(nil, tagSequence, body)
	hdr = append(hdr, version...)
	hdr = append(hdr, alg...)
	hdr = append(hdr, encap...)
	return innerLayout{
		contentType: encodeOID(oidDigestedData),
		header:      hdr,
		hash:        h,
		trailerLen:  trailerLen,
		trailer: func(d []byte) ([]byte, error) {
			return append(appendHeader(nil, tagOctetString, int64(len(d))), d...), nil
		},
		size: tlvSize(body),
	}, nil
}

// Signer signs sealed content (SignedData) with an RSA key.
type Signer struct {
	Cert  *x509.Certificate
	Chain []*x509.Certificate // intermediates to include, optional
	Key   crypto.Signer
	// Time is the signingTime attribute; zero means now.
	Time time.Time
}

// NewSigner checks that key is an RSA key (PS3.15 D.1.1) of at least
// MinRSABits that belongs to cert.
func NewSigner(cert *x509.Certificate, key crypto.Signer) (*Signer, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: signing certificate has a %T key; PS3.15 D.1.1 signatures are RSA", ErrUnsupported, cert.PublicKey)
	}
	if kp, ok := key.Public().(*rsa.PublicKey); !ok || !kp.Equal(pub) {
		return nil, fmt.Errorf("cms: the signing key does not belong to certificate %q", cert.Subject)
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("%w: %d-bit RSA signing key (at least %d)", ErrWeakParameters, pub.N.BitLen(), MinRSABits)
	}
	return &Signer{Cert: cert, Key: key}, nil
}

// signedLayout: SignedData ::= SEQUENCE { version 1, digestAlgorithms SET,
// encapContentInfo, certificates [0] IMPLICIT, signerInfos SET }
// (RFC 5652 §5). Every length is fixed before signing: the signature is as
// long as the RSA modulus and the signed attributes have fixed-size values.
func signedLayout(n int64, h crypto.Hash, s *Signer) (innerLayout, error) {
	pub, ok := s.Cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return innerLayout{}, fmt.Errorf("%w: signing key is not RSA", ErrUnsupported)
	}
	alg, err := digestAlgorithmDER(h)
	if err != nil {
		return innerLayout{}, err
	}
	when := s.Time
	if when.IsZero() {
		when = time.Now()
	}
	when = when.UTC().Truncate(time.Second)
	sigLen := (pub.N.BitLen() + 7) / 8
	// signerInfo encodes the SignerInfo; with a nil digest it returns a
	// placeholder of the final size.
	signerInfo := func(digest []byte) ([]byte, error) {
		sig := make([]byte, sigLen)
		placeholder := digest == nil
		if placeholder {
			digest = make([]byte, h.Size())
		}
		attrs := signedAttributes(digest, when)
		if !placeholder {
			hh := h.New()
			hh.Write(attrs)
			var err error
			if sig, err = s.Key.Sign(nil, hh.Sum(nil), h); err != nil {
				return nil, err
			}
			if len(sig) != sigLen {
				return nil, fmt.Errorf("cms: signature of %d bytes, expected %d", len(sig), sigLen)
			}
		}
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(s.Cert.RawIssuer)
				b.AddASN1BigInt(s.Cert.SerialNumber)
			})
			b.AddBytes(alg)
			// [0] IMPLICIT SET OF Attribute: same content, context tag.
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddBytes(setContent(attrs))
			})
			addAlgorithm(b, oidRSAEncryption, nullParams)
			b.AddASN1OctetString(sig)
		})
		return b.Bytes()
	}
	placeholder, err := signerInfo(nil)
	if err != nil {
		return innerLayout{}, err
	}
	var certs []byte
	for _, c := range append([]*x509.Certificate{s.Cert}, s.Chain...) {
		certs = append(certs, c.Raw...)
	}
	trailerLen := tlvSize(int64(len(certs))) + tlvSize(int64(len(placeholder)))
	digestAlgs := appendHeader(nil, tagSet, int64(len(alg)))
	digestAlgs = append(digestAlgs, alg...)
	encap := encapHeader(n)
	version := []byte{tagInteger, 1, 1}
	body := int64(len(version)+len(digestAlgs)+len(encap)) + n + trailerLen
	hdr := appendHeader(nil, tagSequence, body)
	hdr = append(hdr, version...)
	hdr = append(hdr, digestAlgs...)
	hdr = append(hdr, encap...)
	return innerLayout{
		contentType: encodeOID(oidSignedData),
		header:      hdr,
		hash:        h,
		trailerLen:  trailerLen,
		trailer: func(d []byte) ([]byte, error) {
			si, err := signerInfo(d)
			if err != nil {
				return nil, err
			}
			t := appendHeader(nil, tagCtx0Cons, int64(len(certs)))
			t = append(t, certs...)
			t = appendHeader(t, tagSet, int64(len(si)))
			return append(t, si...), nil
		},
		size: tlvSize(body),
	}, nil
}

// signedAttributes returns the DER SET OF Attribute that is signed
// (RFC 5652 §5.4): contentType, signingTime and messageDigest, sorted as
// DER requires.
func signedAttributes(digest []byte, when time.Time) []byte {
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	attrs := [][]byte{
		attr(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }),
		attr(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(when) }),
		attr(oidAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
	}
	slices.SortFunc(attrs, bytes.Compare)
	var content []byte
	for _, a := range attrs {
		content = append(content, a...)
	}
	return append(appendHeader(nil, tagSet, int64(len(content))), content...)
}

// setContent strips the SET header off a DER SET.
func setContent(set []byte) []byte {
	s := cryptobyte.String(set)
	var c cryptobyte.String
	s.ReadASN1(&c, cbasn1.SET)
	return c
}
