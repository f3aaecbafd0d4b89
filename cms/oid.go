package cms

import (
	"crypto"
	"encoding/asn1"
)

// Object identifiers (RFC 5652, 3211, 3370, 3565, 3560, 4055, 8018).
var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidDigestedData  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 5}

	oidAES128CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3   = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}

	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPWRIKEK    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 9}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAESOAEP     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidPSpecified    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 9}
	oidSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidSHA224WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}

	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
)

// digestByOID maps digest algorithm OIDs PS3.15 D.1.1 allows (plus SHA-224,
// which costs nothing) to hashes.
var digestByOID = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{oidSHA1, crypto.SHA1}, {oidSHA224, crypto.SHA224}, {oidSHA256, crypto.SHA256},
	{oidSHA384, crypto.SHA384}, {oidSHA512, crypto.SHA512},
}

func hashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, d := range digestByOID {
		if d.oid.Equal(oid) {
			return d.hash, true
		}
	}
	return 0, false
}

func oidFromHash(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	for _, d := range digestByOID {
		if d.hash == h {
			return d.oid, true
		}
	}
	return nil, false
}

// prfByOID maps PBKDF2 pseudo-random functions to their hashes.
var prfByOID = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{oidHMACSHA1, crypto.SHA1}, {oidHMACSHA224, crypto.SHA224}, {oidHMACSHA256, crypto.SHA256},
	{oidHMACSHA384, crypto.SHA384}, {oidHMACSHA512, crypto.SHA512},
}

// signatureHashByOID maps RSA PKCS #1 v1.5 signature OIDs to their hashes;
// rsaEncryption itself means "the SignerInfo's digest algorithm".
var signatureHashByOID = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{oidSHA1WithRSA, crypto.SHA1}, {oidSHA224WithRSA, crypto.SHA224}, {oidSHA256WithRSA, crypto.SHA256},
	{oidSHA384WithRSA, crypto.SHA384}, {oidSHA512WithRSA, crypto.SHA512},
}

func oidName(oid asn1.ObjectIdentifier) string {
	switch {
	case oid.Equal(oidData):
		return "id-data"
	case oid.Equal(oidSignedData):
		return "id-signedData"
	case oid.Equal(oidEnvelopedData):
		return "id-envelopedData"
	case oid.Equal(oidDigestedData):
		return "id-digestedData"
	}
	return oid.String()
}
