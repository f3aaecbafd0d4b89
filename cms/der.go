package cms

import (
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DER helpers for the streaming writer: the big elements (the ones holding
// file content) are written as a header followed by streamed content, so
// their length octets are computed here; small elements are built whole
// with cryptobyte.

// Tags used by this package, as single identifier octets.
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagSet         = 0x31
	tagCtx0Cons    = 0xA0 // [0] constructed (EXPLICIT, or IMPLICIT SET/SEQUENCE)
	tagCtx0Prim    = 0x80 // [0] IMPLICIT primitive (encryptedContent, SubjectKeyIdentifier)
	tagCtx1Cons    = 0xA1
	tagCtx2Cons    = 0xA2
	tagCtx3Cons    = 0xA3 // pwri
	tagCtx4Cons    = 0xA4 // ori
	tagOctetCons   = 0x24 // constructed OCTET STRING (BER only)
)

// lengthOctets is the size of a DER length field for n content bytes.
func lengthOctets(n int64) int64 {
	if n < 0x80 {
		return 1
	}
	size := int64(1)
	for v := n; v > 0; v >>= 8 {
		size++
	}
	return size
}

// tlvSize is the size of a whole DER element with n content bytes and a
// one-octet tag.
func tlvSize(n int64) int64 { return 1 + lengthOctets(n) + n }

// appendHeader appends a one-octet tag and the DER length of n.
func appendHeader(dst []byte, tag byte, n int64) []byte {
	dst = append(dst, tag)
	if n < 0x80 {
		return append(dst, byte(n))
	}
	l := lengthOctets(n) - 1
	dst = append(dst, 0x80|byte(l))
	for i := l - 1; i >= 0; i-- {
		dst = append(dst, byte(n>>(8*i)))
	}
	return dst
}

// encodeOID returns the DER of an OBJECT IDENTIFIER.
func encodeOID(oid asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(oid)
	if err != nil {
		panic("cms: bad built-in OID " + oid.String()) // only our constants reach here
	}
	return b
}

// addAlgorithm adds AlgorithmIdentifier{oid, params}. params nil means
// absent parameters; use nullParams for an explicit NULL.
func addAlgorithm(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, params func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if params != nil {
			params(b)
		}
	})
}

func nullParams(b *cryptobyte.Builder) { b.AddASN1NULL() }

func octetParams(v []byte) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) }
}
