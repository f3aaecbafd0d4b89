package cms

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"hash"
	"io"
	"math/big"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Reader streams the DICOM File out of a Secure DICOM File. Its Read returns
// io.EOF only after the padding, the outer structure and the inner digest
// or signature have all been checked; any failure comes back from Read
// instead, so data read before an error must not be trusted.
type Reader struct {
	env  *envelope
	r    io.Reader // the plaintext DICOM File
	err  error
	bufs *readerBuffers // returned to the pool when Read ends

	digestAlg crypto.Hash // the DigestedData's, once checked
	digest    []byte
}

// Digest returns the hash algorithm of a DigestedData, known when Decrypt
// returns, and the digest it carried once Read has returned io.EOF, which
// means the content matched it: a reader that needs the content's hash
// (verify's manifest) need not compute it again. It returns 0 for other
// content types, and a nil digest before the end.
func (r *Reader) Digest() (crypto.Hash, []byte) {
	if r.err != io.EOF {
		return r.digestAlg, nil
	}
	return r.digestAlg, r.digest
}

// readerBuffers are the buffers a Reader decrypts and parses through,
// recycled once its Read has returned an error or io.EOF (the caller
// never holds them: Read copies out). A reader of hundreds of files, such
// as extract, otherwise allocates and clears some 200 KiB per file and
// spends a tenth of its CPU time on that and the garbage collector.
type readerBuffers struct {
	outer      *bufio.Reader // over the source, for the envelope
	plain      *bufio.Reader // over the CBC reader, for the inner BER
	cipherText [cbcChunk + 16]byte
	plainText  [cbcChunk + 16]byte
}

var readerPool = sync.Pool{New: func() any {
	return &readerBuffers{outer: bufio.NewReaderSize(nil, 64<<10), plain: bufio.NewReaderSize(nil, 64<<10)}
}}

func (b *readerBuffers) release() {
	b.outer.Reset(nil)
	b.plain.Reset(nil)
	readerPool.Put(b)
}

// Info describes the file. The inner fields are complete once Read has
// returned io.EOF.
func (r *Reader) Info() *Info { return &r.env.info }

func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	if err != nil {
		r.err = err
		if r.bufs != nil {
			r.bufs.release()
			r.bufs = nil
		}
	}
	return n, err
}

// Decrypt opens a Secure DICOM File with the first identity that fits one of
// its recipients. It reads the envelope before returning, so a wrong
// password or key is reported here, not by Read.
func Decrypt(src io.Reader, identities ...Identity) (*Reader, error) {
	bufs := readerPool.Get().(*readerBuffers)
	r, err := decrypt(src, bufs, identities)
	if err != nil {
		bufs.release()
		return nil, err
	}
	return r, nil
}

func decrypt(src io.Reader, bufs *readerBuffers, identities []Identity) (*Reader, error) {
	bufs.outer.Reset(src)
	outer := newBERReader(bufs.outer, ErrTruncated, ErrMalformed)
	env, err := parseEnvelope(outer)
	if err != nil {
		return nil, err
	}
	cek, err := env.unlock(identities)
	if err != nil {
		return nil, err
	}
	mode, err := newCBCDecrypter(ciphers[env.cipher], cek, env.iv)
	if err != nil {
		return nil, err
	}
	content, err := newContentReader(outer, env.content, nil, func() error { return finishEnvelope(outer) })
	if err != nil {
		return nil, err
	}
	bufs.plain.Reset(newCBCReaderBuffers(content, mode, bufs.cipherText[:], bufs.plainText[:]))
	plain := newBERReader(bufs.plain, ErrDamaged, ErrDamaged)
	r := &Reader{env: env, bufs: bufs}
	switch {
	case env.contentType.Equal(oidDigestedData):
		r.r, err = r.openDigested(plain)
	case env.contentType.Equal(oidSignedData):
		r.r, err = r.openSigned(plain)
	case env.contentType.Equal(oidData):
		r.r, err = r.openData(plain)
	default:
		err = fmt.Errorf("%w: encrypted content type %s", ErrUnsupported, env.contentType)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// openData handles id-data: either the DICOM File itself (form A, as GDCM
// and openssl write it) or a ContentInfo carrying DigestedData or
// SignedData (form B, e.g. "openssl cms -digest_create" then -encrypt).
func (r *Reader) openData(b *berReader) (io.Reader, error) {
	if ct, ok := sniffContentInfo(b.r); ok {
		h, err := b.next()
		if err != nil {
			return nil, err
		}
		if err := b.enter(h); err != nil {
			return nil, err
		}
		if _, err := readOID(b); err != nil {
			return nil, err
		}
		eh, err := b.expect(tagCtx0Cons, "ContentInfo content")
		if err != nil {
			return nil, err
		}
		if err := b.enter(eh); err != nil {
			return nil, err
		}
		// Two more frames (ContentInfo, [0]) to close after the inner one.
		if ct.Equal(oidDigestedData) {
			inner, err := r.openDigestedFrames(b, 2)
			r.env.info.Inner = "ContentInfo(DigestedData)"
			return inner, err
		}
		inner, err := r.openSignedFrames(b, 2)
		r.env.info.Inner = "ContentInfo(SignedData)"
		return inner, err
	}
	r.env.info.Inner = "id-data"
	return b.r, nil
}

// sniffContentInfo recognises a ContentInfo of DigestedData or SignedData at
// the start of the plaintext. A DICOM File cannot look like one: its first
// 128 bytes are a preamble, normally zero, that PS3.10 §7.5 says a careful
// writer keeps free of such content.
func sniffContentInfo(br interface{ Peek(int) ([]byte, error) }) (asn1.ObjectIdentifier, bool) {
	p, _ := br.Peek(32)
	if len(p) < 2 || p[0] != tagSequence {
		return nil, false
	}
	// Skip the SEQUENCE header by hand: its length (perhaps indefinite) is
	// checked later by the parser, not here.
	n := 2
	if p[1] > 0x80 {
		n += int(p[1] & 0x7f)
	}
	if n >= len(p) {
		return nil, false
	}
	s := cryptobyte.String(p[n:])
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return nil, false
	}
	if oid.Equal(oidDigestedData) || oid.Equal(oidSignedData) {
		return oid, true
	}
	return nil, false
}

func (r *Reader) openDigested(b *berReader) (io.Reader, error) {
	r.env.info.Inner = "DigestedData"
	return r.openDigestedFrames(b, 0)
}

// openDigestedFrames parses DigestedData (RFC 5652 §7) up to its content
// and returns a reader of the content that, at its end, checks the digest,
// closes extra enclosing frames and checks that nothing follows.
func (r *Reader) openDigestedFrames(b *berReader, extra int) (io.Reader, error) {
	alg, err := openVersioned(b, "DigestedData", tagSequence, 1024)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(alg)
	hashAlg, err := readHashAlgorithm(&s)
	if err != nil {
		return nil, err
	}
	r.env.info.Digest = hashName(hashAlg)
	r.digestAlg = hashAlg
	hh := hashAlg.New()
	return openEncapsulated(b, []hash.Hash{hh}, func() error {
		dh, err := b.expect(tagOctetString, "digest")
		if err != nil {
			return err
		}
		want, err := b.readWhole(dh, 1024)
		if err != nil {
			return err
		}
		if err := endInner(b, 1+extra); err != nil {
			return err
		}
		got := hh.Sum(nil)
		ws := cryptobyte.String(want)
		var wantDigest []byte
		if !ws.ReadASN1Bytes(&wantDigest, cbasn1.OCTET_STRING) || subtle.ConstantTimeCompare(got, wantDigest) != 1 {
			return fmt.Errorf("%w: the %s digest does not match the content", ErrIntegrity, hashName(hashAlg))
		}
		r.digest = got
		return nil
	})
}

// openVersioned enters a DigestedData or SignedData SEQUENCE, skips its
// version and returns the digest algorithm element that follows (an
// AlgorithmIdentifier, or a SET of them), read whole within max bytes.
func openVersioned(b *berReader, what string, algTag byte, max int64) ([]byte, error) {
	if _, err := b.open(tagSequence, what); err != nil {
		return nil, err
	}
	if _, err := readSmallInt(b); err != nil {
		return nil, err
	}
	ah, err := b.expect(algTag, what+" digest algorithm")
	if err != nil {
		return nil, err
	}
	return b.readWhole(ah, max)
}

// openEncapsulated parses EncapsulatedContentInfo up to its eContent and
// returns the content stream; at its end, after closes what follows.
func openEncapsulated(b *berReader, hashes []hash.Hash, after func() error) (io.Reader, error) {
	if _, err := b.open(tagSequence, "EncapsulatedContentInfo"); err != nil {
		return nil, err
	}
	oid, err := readOID(b)
	if err != nil {
		return nil, err
	}
	if !oid.Equal(oidData) {
		return nil, fmt.Errorf("%w: encapsulated content type %s (expected id-data)", ErrUnsupported, oid)
	}
	more, err := b.more()
	if err != nil {
		return nil, err
	}
	if !more {
		return nil, fmt.Errorf("%w: detached content", ErrUnsupported)
	}
	if _, err := b.open(tagCtx0Cons, "eContent"); err != nil {
		return nil, err
	}
	oh, err := b.next()
	if err != nil {
		return nil, err
	}
	if oh.tag != tagOctetString && oh.tag != tagOctetCons {
		return nil, b.fail("eContent is not an OCTET STRING")
	}
	return newContentReader(b, oh, hashes, func() error {
		if err := closeFrames(b, 2); err != nil { // [0], EncapsulatedContentInfo
			return err
		}
		return after()
	})
}

// closeFrames leaves n open elements.
func closeFrames(b *berReader, n int) error {
	for range n {
		if err := b.leave(); err != nil {
			return err
		}
	}
	return nil
}

// endInner closes the inner content's n open elements and checks that the
// decrypted stream ends there: reaching its end also verifies the padding
// and the envelope after the encrypted content.
func endInner(b *berReader, n int) error {
	if err := closeFrames(b, n); err != nil {
		return err
	}
	return b.expectEnd()
}

func readSmallInt(b *berReader) (int, error) {
	h, err := b.expect(tagInteger, "version")
	if err != nil {
		return 0, err
	}
	der, err := b.readWhole(h, 16)
	if err != nil {
		return 0, err
	}
	s := cryptobyte.String(der)
	var v int
	if !s.ReadASN1Integer(&v) {
		return 0, b.fail("bad INTEGER")
	}
	return v, nil
}

// SignerResult is a verified signer of SignedData content.
type SignerResult struct {
	Certificate *x509.Certificate
	// Others are the other certificates the SignedData carried
	// (intermediates a caller may need to build a chain to its trust anchors).
	Others      []*x509.Certificate `json:"-"`
	SigningTime time.Time           // zero when the signer did not include it
	Digest      string
}

// signedState holds the running digests of SignedData content, one per
// algorithm in digestAlgorithms.
type signedState struct {
	hashes map[crypto.Hash]hash.Hash
}

func (r *Reader) openSigned(b *berReader) (io.Reader, error) {
	r.env.info.Inner = "SignedData"
	return r.openSignedFrames(b, 0)
}

const (
	maxDigestAlgorithms = 8
	maxSigners          = 8
	maxCertificates     = 32
)

// openSignedFrames parses SignedData (RFC 5652 §5) up to its content; at the
// end it reads the certificates and signerInfos and verifies every signer.
func (r *Reader) openSignedFrames(b *berReader, extra int) (io.Reader, error) {
	algs, err := openVersioned(b, "SignedData", tagSet, 4096)
	if err != nil {
		return nil, err
	}
	st := &signedState{hashes: map[crypto.Hash]hash.Hash{}}
	s := cryptobyte.String(algs)
	var set cryptobyte.String
	if !s.ReadASN1(&set, cbasn1.SET) {
		return nil, b.fail("digestAlgorithms")
	}
	var hashes []hash.Hash
	for !set.Empty() && len(st.hashes) < maxDigestAlgorithms {
		alg, err := readHashAlgorithm(&set)
		if err != nil {
			return nil, err
		}
		if _, ok := st.hashes[alg]; !ok {
			st.hashes[alg] = alg.New()
			hashes = append(hashes, st.hashes[alg])
		}
	}
	return openEncapsulated(b, hashes, func() error {
		signers, err := readSignedTrailer(b, st)
		if err != nil {
			return err
		}
		if err := endInner(b, 1+extra); err != nil {
			return err
		}
		r.env.info.Signers = signers
		return nil
	})
}

// readSignedTrailer reads certificates, skips crls, and verifies signerInfos.
func readSignedTrailer(b *berReader, st *signedState) ([]SignerResult, error) {
	h, err := b.next()
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	if h.tag == tagCtx0Cons {
		der, err := b.readWhole(h, maxSmallElement)
		if err != nil {
			return nil, err
		}
		if certs, err = parseCertificateSet(der); err != nil {
			return nil, err
		}
		if h, err = b.next(); err != nil {
			return nil, err
		}
	}
	if h.tag == tagCtx1Cons { // crls: not used for verification here
		if err := b.skip(h, maxSmallElement); err != nil {
			return nil, err
		}
		if h, err = b.next(); err != nil {
			return nil, err
		}
	}
	if h.tag != tagSet {
		return nil, b.fail("signerInfos: expected a SET")
	}
	der, err := b.readWhole(h, maxSmallElement)
	if err != nil {
		return nil, err
	}
	return verifySigners(der, certs, st)
}

func parseCertificateSet(der []byte) ([]*x509.Certificate, error) {
	s := cryptobyte.String(der)
	var set cryptobyte.String
	if !s.ReadASN1(&set, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, malformed("certificates")
	}
	var certs []*x509.Certificate
	for !set.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !set.ReadAnyASN1Element(&el, &tag) {
			return nil, malformed("certificates")
		}
		if tag != cbasn1.SEQUENCE { // other CertificateChoices: not used
			continue
		}
		if len(certs) == maxCertificates {
			return nil, malformed("too many certificates")
		}
		c, err := x509.ParseCertificate(el)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate in SignedData: %v", ErrMalformed, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// verifySigners checks every SignerInfo (RFC 5652 §5.6). All must verify;
// there must be at least one.
func verifySigners(der []byte, certs []*x509.Certificate, st *signedState) ([]SignerResult, error) {
	s := cryptobyte.String(der)
	var set cryptobyte.String
	if !s.ReadASN1(&set, cbasn1.SET) {
		return nil, malformed("signerInfos")
	}
	var out []SignerResult
	for !set.Empty() {
		if len(out) == maxSigners {
			return nil, malformed("too many signers")
		}
		var si cryptobyte.String
		if !set.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, malformed("SignerInfo")
		}
		res, err := verifySigner(si, certs, st)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			if c != res.Certificate {
				res.Others = append(res.Others, c)
			}
		}
		out = append(out, res)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: SignedData without signers", ErrIntegrity)
	}
	return out, nil
}

func verifySigner(si cryptobyte.String, certs []*x509.Certificate, st *signedState) (SignerResult, error) {
	var version int
	if !si.ReadASN1Integer(&version) {
		return SignerResult{}, malformed("SignerInfo version")
	}
	cert, err := findSigner(&si, certs)
	if err != nil {
		return SignerResult{}, err
	}
	h, err := readHashAlgorithm(&si)
	if err != nil {
		return SignerResult{}, err
	}
	hh, ok := st.hashes[h]
	if !ok {
		return SignerResult{}, malformed("signer digest algorithm not listed in digestAlgorithms")
	}
	contentDigest := hh.Sum(nil)
	res := SignerResult{Certificate: cert, Digest: hashName(h)}
	signed := contentDigest
	if si.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific().Constructed()) {
		var attrs cryptobyte.String
		if !si.ReadASN1Element(&attrs, cbasn1.Tag(0).ContextSpecific().Constructed()) {
			return SignerResult{}, malformed("signedAttrs")
		}
		if res.SigningTime, err = checkSignedAttrs(attrs, contentDigest); err != nil {
			return SignerResult{}, err
		}
		// The signature covers the DER of the attributes with the SET tag
		// (RFC 5652 §5.4), not the [0] IMPLICIT tag they are stored under.
		a := bytes.Clone(attrs)
		a[0] = tagSet
		ah := h.New()
		ah.Write(a)
		signed = ah.Sum(nil)
	}
	oid, _, err := readAlgorithm(&si)
	if err != nil {
		return SignerResult{}, err
	}
	sigHash := h
	if !oid.Equal(oidRSAEncryption) {
		found := false
		for _, s := range signatureHashByOID {
			if s.oid.Equal(oid) && s.hash == h {
				found = true
			}
		}
		if !found {
			return SignerResult{}, fmt.Errorf("%w: signature algorithm %s (RSA PKCS#1 v1.5 only, PS3.15 D.1.1)", ErrUnsupported, oid)
		}
	}
	var sig []byte
	if !si.ReadASN1Bytes(&sig, cbasn1.OCTET_STRING) {
		return SignerResult{}, malformed("signature")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return SignerResult{}, fmt.Errorf("%w: signer key is %T, not RSA", ErrUnsupported, cert.PublicKey)
	}
	if err := rsa.VerifyPKCS1v15(pub, sigHash, signed, sig); err != nil {
		return SignerResult{}, fmt.Errorf("%w: the signature of %q does not verify", ErrIntegrity, cert.Subject)
	}
	return res, nil
}

// findSigner reads the SignerIdentifier and finds its certificate.
func findSigner(si *cryptobyte.String, certs []*x509.Certificate) (*x509.Certificate, error) {
	if si.PeekASN1Tag(cbasn1.SEQUENCE) {
		var ias, issuer cryptobyte.String
		serial := new(big.Int)
		if !si.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !ias.ReadASN1Integer(serial) {
			return nil, malformed("SignerIdentifier")
		}
		for _, c := range certs {
			if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
				return c, nil
			}
		}
	} else {
		var ski []byte
		if !si.ReadASN1Bytes(&ski, cbasn1.Tag(0).ContextSpecific()) {
			return nil, malformed("SignerIdentifier")
		}
		for _, c := range certs {
			if bytes.Equal(c.SubjectKeyId, ski) {
				return c, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: the signer's certificate is not in the file", ErrIntegrity)
}

// checkSignedAttrs checks messageDigest and contentType (both required when
// signed attributes are present, RFC 5652 §5.3) and returns signingTime.
func checkSignedAttrs(attrs cryptobyte.String, digest []byte) (time.Time, error) {
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).ContextSpecific().Constructed()) {
		return time.Time{}, malformed("signedAttrs")
	}
	var when time.Time
	var sawDigest, sawType bool
	for !set.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return time.Time{}, malformed("signed attribute")
		}
		switch {
		case oid.Equal(oidAttrMessageDigest):
			var d []byte
			if !values.ReadASN1Bytes(&d, cbasn1.OCTET_STRING) {
				return time.Time{}, malformed("messageDigest")
			}
			if subtle.ConstantTimeCompare(d, digest) != 1 {
				return time.Time{}, fmt.Errorf("%w: the signed digest does not match the content", ErrIntegrity)
			}
			sawDigest = true
		case oid.Equal(oidAttrContentType):
			var ct asn1.ObjectIdentifier
			if !values.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(oidData) {
				return time.Time{}, fmt.Errorf("%w: signed contentType is not id-data", ErrIntegrity)
			}
			sawType = true
		case oid.Equal(oidAttrSigningTime):
			switch {
			case values.PeekASN1Tag(cbasn1.UTCTime):
				values.ReadASN1UTCTime(&when)
			case values.PeekASN1Tag(cbasn1.GeneralizedTime):
				values.ReadASN1GeneralizedTime(&when)
			}
		}
	}
	if !sawDigest || !sawType {
		return time.Time{}, malformed("signedAttrs without messageDigest or contentType")
	}
	return when, nil
}
