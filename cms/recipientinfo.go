package cms

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Parsing of RecipientInfo (RFC 5652 §6.2) from DER.

// RecipientSummary describes one RecipientInfo without any secret: what
// "securemedia inspect" prints.
type RecipientSummary struct {
	Kind string // "password", "certificate", "kek", "key-agreement" or "other"

	// Password recipients.
	KDF        string `json:",omitempty"` // "PBKDF2"
	PRF        string `json:",omitempty"` // "HMAC-SHA256", ...
	Iterations int    `json:",omitempty"`
	SaltSize   int    `json:",omitempty"`
	KEKCipher  string `json:",omitempty"`
	// KDFKey names the key derivation (PRF, iterations, key size, salt):
	// recipients with the same KDFKey cost one PBKDF2 between them, since
	// a PasswordIdentity caches derived keys. It lets a reader count the
	// work a medium asks for before doing any.
	KDFKey string `json:"-"`

	// Certificate recipients.
	Issuer        string `json:",omitempty"` // issuer distinguished name, with SerialNumber
	SerialNumber  string `json:",omitempty"` // hex
	SubjectKeyID  string `json:",omitempty"` // hex, when identified by SubjectKeyIdentifier
	KeyEncryption string `json:",omitempty"` // "RSA PKCS#1 v1.5" or "RSAES-OAEP (SHA-256, MGF1-SHA-256)"
}

func (s RecipientSummary) String() string {
	switch s.Kind {
	case "password":
		return fmt.Sprintf("password: %s-%s, %d iterations, %d-byte salt, key wrap %s",
			s.KDF, s.PRF, s.Iterations, s.SaltSize, s.KEKCipher)
	case "certificate":
		id := "issuer " + s.Issuer + ", serial " + s.SerialNumber
		if s.SubjectKeyID != "" {
			id = "subject key identifier " + s.SubjectKeyID
		}
		return fmt.Sprintf("certificate: %s, %s", id, s.KeyEncryption)
	}
	return s.Kind
}

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// readAlgorithm reads an AlgorithmIdentifier; params is the parameters
// element (whole), or empty when absent.
func readAlgorithm(s *cryptobyte.String) (oid asn1.ObjectIdentifier, params cryptobyte.String, err error) {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, malformed("AlgorithmIdentifier")
	}
	if !seq.Empty() {
		if !seq.ReadAnyASN1Element(&params, nil) || !seq.Empty() {
			return nil, nil, malformed("AlgorithmIdentifier parameters")
		}
	}
	return oid, params, nil
}

// readCipherAlgorithm reads a content or KEK cipher AlgorithmIdentifier
// (AES or 3DES in CBC mode, parameters = the IV).
func readCipherAlgorithm(s *cryptobyte.String) (Cipher, []byte, error) {
	oid, params, err := readAlgorithm(s)
	if err != nil {
		return 0, nil, err
	}
	c, ok := cipherByOID(oid)
	if !ok {
		return 0, nil, fmt.Errorf("%w: cipher %s (this reader has AES-CBC and Triple-DES-CBC)", ErrUnsupported, oid)
	}
	var iv []byte
	if !params.ReadASN1Bytes(&iv, cbasn1.OCTET_STRING) || !params.Empty() {
		return 0, nil, malformed("cipher IV")
	}
	if len(iv) != ciphers[c].blockSize {
		return 0, nil, malformed(fmt.Sprintf("IV of %d bytes for %s", len(iv), c))
	}
	return c, iv, nil
}

// readHashAlgorithm reads a digest AlgorithmIdentifier (parameters absent or NULL).
func readHashAlgorithm(s *cryptobyte.String) (crypto.Hash, error) {
	oid, params, err := readAlgorithm(s)
	if err != nil {
		return 0, err
	}
	h, ok := hashFromOID(oid)
	if !ok {
		return 0, fmt.Errorf("%w: digest algorithm %s", ErrUnsupported, oid)
	}
	if !params.Empty() && !(len(params) == 2 && params[0] == tagNull && params[1] == 0) {
		return 0, malformed("digest algorithm parameters")
	}
	return h, nil
}

type pwriInfo struct {
	prf        crypto.Hash
	salt       []byte
	iterations int
	kekCipher  Cipher
	iv         []byte
	wrapped    []byte
}

// parsePWRI parses a PasswordRecipientInfo. Any other RecipientInfo type
// gives ErrIncorrectIdentity.
func parsePWRI(ri []byte) (*pwriInfo, error) {
	in := cryptobyte.String(ri)
	var body cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.Tag(3).ContextSpecific().Constructed()) {
		return nil, ErrIncorrectIdentity
	}
	var version int
	if !body.ReadASN1Integer(&version) || version != 0 {
		return nil, malformed("PasswordRecipientInfo version")
	}
	var kdf cryptobyte.String
	if !body.ReadASN1(&kdf, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, fmt.Errorf("%w: password recipient without keyDerivationAlgorithm", ErrUnsupported)
	}
	var kdfOID asn1.ObjectIdentifier
	var p cryptobyte.String
	if !kdf.ReadASN1ObjectIdentifier(&kdfOID) {
		return nil, malformed("keyDerivationAlgorithm")
	}
	if !kdfOID.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: key derivation %s (only PBKDF2)", ErrUnsupported, kdfOID)
	}
	if !kdf.ReadASN1(&p, cbasn1.SEQUENCE) || !kdf.Empty() {
		return nil, malformed("PBKDF2-params")
	}
	info := &pwriInfo{prf: crypto.SHA1} // RFC 8018: prf DEFAULT hmacWithSHA1
	var iter int64
	if !p.ReadASN1Bytes(&info.salt, cbasn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: PBKDF2 salt that is not an OCTET STRING", ErrUnsupported)
	}
	if !p.ReadASN1Integer(&iter) || iter < 1 {
		return nil, malformed("PBKDF2 iteration count")
	}
	if iter > MaxIterations {
		return nil, fmt.Errorf("%w: %d PBKDF2 iterations exceeds the limit of %d", ErrUnsupported, iter, MaxIterations)
	}
	info.iterations = int(iter)
	keyLength := int64(-1)
	if p.PeekASN1Tag(cbasn1.INTEGER) {
		if !p.ReadASN1Integer(&keyLength) {
			return nil, malformed("PBKDF2 keyLength")
		}
	}
	if !p.Empty() {
		oid, params, err := readAlgorithm(&p)
		if err != nil {
			return nil, err
		}
		found := false
		for _, f := range prfByOID {
			if f.oid.Equal(oid) {
				info.prf, found = f.hash, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: PBKDF2 PRF %s", ErrUnsupported, oid)
		}
		_ = params // NULL or absent; nothing to check that matters
		if !p.Empty() {
			return nil, malformed("PBKDF2-params trailing data")
		}
	}
	oid, kekParams, err := readAlgorithm(&body)
	if err != nil {
		return nil, err
	}
	if !oid.Equal(oidPWRIKEK) {
		return nil, fmt.Errorf("%w: password key encryption %s (only id-alg-PWRI-KEK)", ErrUnsupported, oid)
	}
	if info.kekCipher, info.iv, err = readCipherAlgorithm(&kekParams); err != nil {
		return nil, err
	}
	if keyLength >= 0 && keyLength != int64(ciphers[info.kekCipher].keyLen) {
		return nil, malformed("PBKDF2 keyLength differs from the key-encryption cipher's key size")
	}
	if !body.ReadASN1Bytes(&info.wrapped, cbasn1.OCTET_STRING) || !body.Empty() {
		return nil, malformed("PasswordRecipientInfo encryptedKey")
	}
	return info, nil
}

type ktriInfo struct {
	issuer  []byte // raw DER Name
	serial  *big.Int
	ski     []byte
	oaep    bool
	hash    crypto.Hash // OAEP hash
	mgfHash crypto.Hash // OAEP MGF1 hash
	label   []byte
	ek      []byte
}

// parseKTRI parses a KeyTransRecipientInfo; other types give ErrIncorrectIdentity.
func parseKTRI(ri []byte) (*ktriInfo, error) {
	in := cryptobyte.String(ri)
	var body cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) {
		return nil, ErrIncorrectIdentity
	}
	var version int
	if !body.ReadASN1Integer(&version) || (version != 0 && version != 2) {
		return nil, malformed("KeyTransRecipientInfo version")
	}
	info := &ktriInfo{}
	switch {
	case body.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias cryptobyte.String
		var issuer cryptobyte.String
		info.serial = new(big.Int)
		if !body.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(info.serial) || !ias.Empty() {
			return nil, malformed("IssuerAndSerialNumber")
		}
		info.issuer = issuer
	case body.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific()):
		if !body.ReadASN1Bytes(&info.ski, cbasn1.Tag(0).ContextSpecific()) {
			return nil, malformed("SubjectKeyIdentifier")
		}
	default:
		return nil, malformed("RecipientIdentifier")
	}
	oid, params, err := readAlgorithm(&body)
	if err != nil {
		return nil, err
	}
	switch {
	case oid.Equal(oidRSAEncryption):
	case oid.Equal(oidRSAESOAEP):
		info.oaep = true
		if err := parseOAEPParams(params, info); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: key transport %s (RSA PKCS#1 v1.5 and RSAES-OAEP only)", ErrUnsupported, oid)
	}
	if !body.ReadASN1Bytes(&info.ek, cbasn1.OCTET_STRING) || !body.Empty() {
		return nil, malformed("KeyTransRecipientInfo encryptedKey")
	}
	return info, nil
}

// parseOAEPParams reads RSAES-OAEP-params (RFC 4055 §4.1), whose fields all
// have defaults: SHA-1, MGF1 with SHA-1, empty label.
func parseOAEPParams(params cryptobyte.String, info *ktriInfo) error {
	info.hash, info.mgfHash = crypto.SHA1, crypto.SHA1
	if params.Empty() || (len(params) == 2 && params[0] == tagNull) {
		return nil
	}
	var seq cryptobyte.String
	if !params.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return malformed("RSAES-OAEP-params")
	}
	var field cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&field, &present, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return malformed("OAEP hashFunc")
	}
	if present {
		h, err := readHashAlgorithm(&field)
		if err != nil {
			return err
		}
		info.hash = h
	}
	if !seq.ReadOptionalASN1(&field, &present, cbasn1.Tag(1).ContextSpecific().Constructed()) {
		return malformed("OAEP maskGenFunc")
	}
	if present {
		oid, mgfParams, err := readAlgorithm(&field)
		if err != nil {
			return err
		}
		if !oid.Equal(oidMGF1) {
			return fmt.Errorf("%w: OAEP mask generation %s", ErrUnsupported, oid)
		}
		h, err := readHashAlgorithm(&mgfParams)
		if err != nil {
			return err
		}
		info.mgfHash = h
	}
	if !seq.ReadOptionalASN1(&field, &present, cbasn1.Tag(2).ContextSpecific().Constructed()) {
		return malformed("OAEP pSourceFunc")
	}
	if present {
		oid, p, err := readAlgorithm(&field)
		if err != nil {
			return err
		}
		if !oid.Equal(oidPSpecified) || !p.ReadASN1Bytes(&info.label, cbasn1.OCTET_STRING) {
			return malformed("OAEP pSourceFunc")
		}
	}
	if !seq.Empty() {
		return malformed("RSAES-OAEP-params trailing data")
	}
	return nil
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA1"
	case crypto.SHA224:
		return "SHA224"
	case crypto.SHA256:
		return "SHA256"
	case crypto.SHA384:
		return "SHA384"
	case crypto.SHA512:
		return "SHA512"
	}
	return h.String()
}

// summarize describes a RecipientInfo for Inspect.
func summarize(ri []byte) RecipientSummary {
	if len(ri) == 0 {
		return RecipientSummary{Kind: "other"}
	}
	switch ri[0] {
	case tagCtx3Cons:
		p, err := parsePWRI(ri)
		if err != nil {
			return RecipientSummary{Kind: "password", KDF: "unreadable: " + err.Error()}
		}
		ci, _ := p.kekCipher.info()
		return RecipientSummary{Kind: "password", KDF: "PBKDF2", PRF: "HMAC-" + hashName(p.prf),
			Iterations: p.iterations, SaltSize: len(p.salt), KEKCipher: p.kekCipher.String(),
			KDFKey: kdfKey(p.prf, p.salt, p.iterations, ci.keyLen)}
	case tagSequence:
		k, err := parseKTRI(ri)
		if err != nil {
			return RecipientSummary{Kind: "certificate", KeyEncryption: "unreadable: " + err.Error()}
		}
		s := RecipientSummary{Kind: "certificate", KeyEncryption: "RSA PKCS#1 v1.5"}
		if k.oaep {
			s.KeyEncryption = fmt.Sprintf("RSAES-OAEP (%s, MGF1-%s)", hashName(k.hash), hashName(k.mgfHash))
		}
		if k.ski != nil {
			s.SubjectKeyID = hex.EncodeToString(k.ski)
		} else {
			var name pkix.RDNSequence
			if _, err := asn1.Unmarshal(k.issuer, &name); err == nil {
				var n pkix.Name
				n.FillFromRDNSequence(&name)
				s.Issuer = n.String()
			}
			s.SerialNumber = k.serial.Text(16)
		}
		return s
	case 0xA1:
		return RecipientSummary{Kind: "key-agreement"}
	case 0xA2:
		return RecipientSummary{Kind: "kek"}
	}
	return RecipientSummary{Kind: "other"}
}
