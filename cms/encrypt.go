package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Recipient is someone a file is sealed for. WrapKey returns the DER
// encoding of a RecipientInfo (RFC 5652 §6.2) that carries the content
// key cek for this recipient. Its size must depend only on the recipient and
// len(cek), not on the key's value (SealedSize relies on that).
type Recipient interface {
	WrapKey(cek []byte, rand io.Reader) ([]byte, error)
}

// Identity opens RecipientInfos. UnwrapKey gets one DER RecipientInfo and the
// content cipher's key size, and returns the content key, or
// ErrIncorrectIdentity if the RecipientInfo is not meant for this identity.
type Identity interface {
	UnwrapKey(ri []byte, keySize int) ([]byte, error)
}

// Options control sealing. The zero value (or nil) means: AES-256-CBC,
// DigestedData with SHA-256, crypto/rand.
type Options struct {
	Cipher Cipher      // content cipher; default AES-256-CBC
	Digest crypto.Hash // DigestedData / SignedData digest; default SHA-256
	// Signer, when set, wraps the content in SignedData instead of
	// DigestedData, giving data-origin authentication.
	Signer *Signer
	// PlainData puts the DICOM File directly into the envelope as id-data,
	// as GDCM and "openssl cms -encrypt" do. Such a file has no integrity
	// check and is not PS3.15 D.1.1 conformant; use it only for readers
	// that cannot handle DigestedData.
	PlainData bool
	Rand      io.Reader // randomness; default crypto/rand
}

const maxRecipients = 64

// sealer holds everything known before the first plaintext byte.
type sealer struct {
	opts   Options
	size   int64
	cipher cipherInfo
	inner  innerLayout
	prefix []byte // DER up to and including the encryptedContent header
	cek    []byte
	iv     []byte
	// cipherLen is the size of the encrypted content, total of the whole file.
	cipherLen, total int64
}

func newSealer(size int64, o *Options, recipients []Recipient) (*sealer, error) {
	if size < 0 {
		return nil, fmt.Errorf("cms: negative size %d", size)
	}
	if len(recipients) == 0 {
		return nil, errors.New("cms: no recipients: a sealed file nobody can open is useless")
	}
	if len(recipients) > maxRecipients {
		return nil, fmt.Errorf("cms: %d recipients (at most %d)", len(recipients), maxRecipients)
	}
	s := &sealer{size: size}
	if o != nil {
		s.opts = *o
	}
	if s.opts.Rand == nil {
		s.opts.Rand = rand.Reader
	}
	if s.opts.Digest == 0 {
		s.opts.Digest = crypto.SHA256
	}
	var err error
	if s.cipher, err = s.opts.Cipher.info(); err != nil {
		return nil, err
	}
	if s.inner, err = newInnerLayout(size, &s.opts); err != nil {
		return nil, err
	}
	// A fresh content key and IV for every file, whatever the recipients share.
	s.cek = make([]byte, s.cipher.keyLen)
	s.iv = make([]byte, s.cipher.blockSize)
	if _, err := io.ReadFull(s.opts.Rand, s.cek); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(s.opts.Rand, s.iv); err != nil {
		return nil, err
	}
	ris := make([][]byte, 0, len(recipients))
	for _, r := range recipients {
		ri, err := r.WrapKey(s.cek, s.opts.Rand)
		if err != nil {
			return nil, err
		}
		ris = append(ris, ri)
	}
	s.cipherLen = paddedSize(s.inner.size, s.cipher.blockSize)
	s.prefix = envelopeHeader(ris, s.inner.contentType, s.cipher, s.iv, s.cipherLen)
	s.total = int64(len(s.prefix)) + s.cipherLen
	return s, nil
}

// envelopeHeader encodes ContentInfo(EnvelopedData) up to the first byte of
// the encrypted content, whose length is cipherLen.
func envelopeHeader(ris [][]byte, contentType []byte, ci cipherInfo, iv []byte, cipherLen int64) []byte {
	// DER sorts SET OF members by their encodings (X.690 §11.6).
	slices.SortFunc(ris, bytes.Compare)
	var set []byte
	for _, ri := range ris {
		set = append(set, ri...)
	}
	var alg cryptobyte.Builder
	addAlgorithm(&alg, ci.oid, octetParams(iv))
	algDER := alg.BytesOrPanic()

	eciLen := int64(len(contentType)+len(algDER)) + tlvSize(cipherLen)
	version := []byte{tagInteger, 1, byte(envelopedDataVersion(ris))}
	edLen := int64(len(version)) + tlvSize(int64(len(set))) + tlvSize(eciLen)
	oid := encodeOID(oidEnvelopedData)
	ciLen := int64(len(oid)) + tlvSize(tlvSize(edLen))

	h := appendHeader(nil, tagSequence, ciLen)
	h = append(h, oid...)
	h = appendHeader(h, tagCtx0Cons, tlvSize(edLen))
	h = appendHeader(h, tagSequence, edLen)
	h = append(h, version...)
	h = appendHeader(h, tagSet, int64(len(set)))
	h = append(h, set...)
	h = appendHeader(h, tagSequence, eciLen)
	h = append(h, contentType...)
	h = append(h, algDER...)
	return appendHeader(h, tagCtx0Prim, cipherLen)
}

// envelopedDataVersion applies RFC 5652 §6.1: 3 with any pwri or ori, else 0
// when every RecipientInfo is version 0, else 2 (no originatorInfo or
// unprotectedAttrs are written).
func envelopedDataVersion(ris [][]byte) int {
	v := 0
	for _, ri := range ris {
		switch ri[0] {
		case tagCtx3Cons, tagCtx4Cons:
			return 3
		case tagSequence:
			s := cryptobyte.String(ri)
			var body cryptobyte.String
			var riv int
			if s.ReadASN1(&body, cbasn1.SEQUENCE) && body.ReadASN1Integer(&riv) && riv != 0 {
				v = 2
			}
		default:
			v = 2
		}
	}
	return v
}

// SealedSize returns the exact size of the Secure DICOM File that Encrypt
// writes for size bytes of plaintext with these options and recipients.
func SealedSize(size int64, opts *Options, recipients ...Recipient) (int64, error) {
	s, err := newSealer(size, opts, recipients)
	if err != nil {
		return 0, err
	}
	return s.total, nil
}

// Encrypt writes the header of a Secure DICOM File to dst and returns a
// writer for exactly size bytes of plaintext (the DICOM File). Close writes
// the rest; it fails with ErrSize if fewer bytes were written, as Write does
// if more are. Close does not close dst. On any error the output is
// incomplete and must be discarded.
func Encrypt(dst io.Writer, size int64, opts *Options, recipients ...Recipient) (*Writer, error) {
	s, err := newSealer(size, opts, recipients)
	if err != nil {
		return nil, err
	}
	return s.start(dst)
}

func (s *sealer) start(dst io.Writer) (*Writer, error) {
	mode, err := newCBCEncrypter(s.cipher, s.cek, s.iv)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(s.prefix); err != nil {
		return nil, err
	}
	w := &Writer{cbc: newCBCWriter(dst, mode), inner: s.inner, remaining: s.size}
	if s.inner.hash != 0 {
		w.hash = s.inner.hash.New()
		w.onePass = newHashCBC(w.hash, s.inner.hash, w.cbc)
	}
	if _, err := w.cbc.Write(s.inner.header); err != nil {
		return nil, err
	}
	return w, nil
}

// Writer streams plaintext through the inner encoding and the cipher. It
// is an io.WriteCloser; after a successful Close, Digest gives the digest
// of the plaintext that the DigestedData or SignedData carries.
type Writer struct {
	cbc       *cbcWriter
	hash      hash.Hash
	onePass   *hashCBC // hash and cbc in one pass, where the CPU can
	inner     innerLayout
	remaining int64
	digest    []byte
	err       error
}

// Digest returns the hash algorithm and the digest of the plaintext after a
// successful Close, or (0, nil) for PlainData, which has none.
func (w *Writer) Digest() (crypto.Hash, []byte) {
	if w.digest == nil {
		return 0, nil
	}
	return w.inner.hash, w.digest
}

func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if int64(len(p)) > w.remaining {
		w.err = fmt.Errorf("%w: more than declared", ErrSize)
		return 0, w.err
	}
	var err error
	if w.onePass != nil {
		err = w.onePass.write(p)
	} else {
		if w.hash != nil {
			w.hash.Write(p)
		}
		_, err = w.cbc.Write(p)
	}
	if err != nil {
		w.err = err
		return 0, err
	}
	w.remaining -= int64(len(p))
	return len(p), nil
}

func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.remaining != 0 {
		w.err = fmt.Errorf("%w: %d bytes short", ErrSize, w.remaining)
		return w.err
	}
	var digest []byte
	if w.hash != nil {
		digest = w.hash.Sum(nil)
	}
	trailer, err := w.inner.trailer(digest)
	if err == nil {
		_, err = w.cbc.Write(trailer)
	}
	if err == nil {
		err = w.cbc.Close()
	}
	w.cbc.release() // every later call returns w.err
	if err != nil {
		w.err = err
		return err
	}
	w.digest = digest
	w.err = errors.New("cms: writer already closed")
	return nil
}
