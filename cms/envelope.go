package cms

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// Info describes a Secure DICOM File. Inspect fills in the envelope part;
// a Reader also fills in the inner part once it has read to the end.
type Info struct {
	Version       int                // EnvelopedData version
	Encoding      string             // "DER" or "BER"
	Recipients    []RecipientSummary // in file order
	ContentType   string             // EncryptedContentInfo.contentType: id-digestedData, id-signedData, id-data
	ContentCipher Cipher
	// Filled in by a Reader:
	Inner   string         `json:",omitempty"` // "DigestedData", "SignedData", "ContentInfo(DigestedData)" (form B), "id-data"
	Digest  string         `json:",omitempty"` // digest algorithm of the inner content, if any
	Signers []SignerResult `json:",omitempty"` // verified signers of SignedData
}

// envelope is the parsed part of an EnvelopedData before its content.
type envelope struct {
	info        Info
	ris         [][]byte
	contentType asn1.ObjectIdentifier
	cipher      Cipher
	iv          []byte
	content     berHeader // header of encryptedContent, already read
}

// sniffPlainDICOM reports whether br starts like a plain DICOM File
// (preamble then "DICM" at byte 128, PS3.10 §7.1).
func sniffPlainDICOM(br interface{ Peek(int) ([]byte, error) }) bool {
	p, _ := br.Peek(132)
	return len(p) == 132 && string(p[128:]) == "DICM"
}

// parseEnvelope reads ContentInfo(EnvelopedData) up to the header of the
// encrypted content.
func parseEnvelope(b *berReader) (*envelope, error) {
	plainDICOM := sniffPlainDICOM(b.r) // before anything is consumed
	notCMS := func(why string) error {
		if plainDICOM {
			return fmt.Errorf("%w: this is a plain, unencrypted DICOM File", ErrNotEnvelopedData)
		}
		return fmt.Errorf("%w: %s", ErrNotEnvelopedData, why)
	}
	if _, err := b.r.Peek(1); err != nil {
		return nil, notCMS("the input is empty")
	}
	h, err := b.next()
	if err != nil || h.tag != tagSequence {
		return nil, notCMS("it does not start with an ASN.1 SEQUENCE")
	}
	env := &envelope{info: Info{Encoding: "DER"}}
	if h.indefinite() {
		env.info.Encoding = "BER"
	}
	if err := b.enter(h); err != nil {
		return nil, notCMS(err.Error())
	}
	oid, err := readOID(b)
	if errors.Is(err, ErrTruncated) {
		return nil, err
	}
	if err != nil {
		return nil, notCMS("no content type")
	}
	if !oid.Equal(oidEnvelopedData) {
		return nil, notCMS(fmt.Sprintf("it is CMS %s, not EnvelopedData", oidName(oid)))
	}
	for _, step := range []func(*berReader, *envelope) error{
		openExplicit, readVersion, readRecipientInfos, readContentInfoHeader,
	} {
		if err := step(b, env); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func readOID(b *berReader) (asn1.ObjectIdentifier, error) {
	h, err := b.expect(tagOID, "object identifier")
	if err != nil {
		return nil, err
	}
	der, err := b.readWhole(h, 64)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(der)
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return nil, b.fail("bad object identifier")
	}
	return oid, nil
}

// openExplicit enters ContentInfo's [0] EXPLICIT and the EnvelopedData SEQUENCE.
func openExplicit(b *berReader, env *envelope) error {
	for _, tag := range []byte{tagCtx0Cons, tagSequence} {
		h, err := b.expect(tag, "EnvelopedData")
		if err != nil {
			return err
		}
		if h.indefinite() {
			env.info.Encoding = "BER"
		}
		if err := b.enter(h); err != nil {
			return err
		}
	}
	return nil
}

func readVersion(b *berReader, env *envelope) error {
	h, err := b.expect(tagInteger, "EnvelopedData version")
	if err != nil {
		return err
	}
	der, err := b.readWhole(h, 16)
	if err != nil {
		return err
	}
	s := cryptobyte.String(der)
	if !s.ReadASN1Integer(&env.info.Version) || env.info.Version < 0 || env.info.Version > 4 {
		return b.fail("EnvelopedData version")
	}
	return nil
}

// readRecipientInfos skips originatorInfo and reads every RecipientInfo.
func readRecipientInfos(b *berReader, env *envelope) error {
	h, err := b.next()
	if err != nil {
		return err
	}
	if h.tag == tagCtx0Cons { // originatorInfo: certificates we do not need
		if err := b.skip(h, maxSmallElement); err != nil {
			return err
		}
		if h, err = b.next(); err != nil {
			return err
		}
	}
	if h.tag != tagSet {
		return b.fail("recipientInfos: expected a SET, found tag 0x%02x", h.tag)
	}
	if err := b.enter(h); err != nil {
		return err
	}
	start := b.pos
	for {
		more, err := b.more()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if len(env.ris) == maxRecipients {
			return b.fail("more than %d recipients", maxRecipients)
		}
		rh, err := b.next()
		if err != nil {
			return err
		}
		ri, err := b.readWhole(rh, maxSmallElement-(b.pos-start))
		if err != nil {
			return err
		}
		env.ris = append(env.ris, ri)
		env.info.Recipients = append(env.info.Recipients, summarize(ri))
	}
	if len(env.ris) == 0 {
		return b.fail("no recipients")
	}
	return b.leave()
}

// readContentInfoHeader reads EncryptedContentInfo up to the content.
func readContentInfoHeader(b *berReader, env *envelope) error {
	if _, err := b.open(tagSequence, "EncryptedContentInfo"); err != nil {
		return err
	}
	var err error
	if env.contentType, err = readOID(b); err != nil {
		return err
	}
	env.info.ContentType = oidName(env.contentType)
	ah, err := b.expect(tagSequence, "contentEncryptionAlgorithm")
	if err != nil {
		return err
	}
	alg, err := b.readWhole(ah, 4096)
	if err != nil {
		return err
	}
	s := cryptobyte.String(alg)
	if env.cipher, env.iv, err = readCipherAlgorithm(&s); err != nil {
		return err
	}
	env.info.ContentCipher = env.cipher
	more, err := b.more()
	if err != nil {
		return err
	}
	if !more {
		return fmt.Errorf("%w: detached content (no encryptedContent)", ErrUnsupported)
	}
	if env.content, err = b.next(); err != nil {
		return err
	}
	if env.content.tag != tagCtx0Prim && env.content.tag != tagCtx0Cons {
		return b.fail("encryptedContent: unexpected tag 0x%02x", env.content.tag)
	}
	if env.content.constructed {
		env.info.Encoding = "BER"
	}
	return nil
}

// finishEnvelope checks the structure after the encrypted content: the end
// of EncryptedContentInfo, optional unprotectedAttrs, the ends of
// EnvelopedData, [0] and ContentInfo, and nothing after that.
func finishEnvelope(b *berReader) error {
	if err := b.leave(); err != nil { // EncryptedContentInfo
		return err
	}
	more, err := b.more()
	if err != nil {
		return err
	}
	if more {
		h, err := b.next()
		if err != nil {
			return err
		}
		if h.tag != tagCtx1Cons {
			return b.fail("unexpected element 0x%02x after EncryptedContentInfo", h.tag)
		}
		if err := b.skip(h, maxSmallElement); err != nil {
			return err
		}
	}
	for range 3 { // EnvelopedData, [0], ContentInfo
		if err := b.leave(); err != nil {
			return err
		}
	}
	return b.expectEnd()
}

// Inspect reads the envelope of a Secure DICOM File (everything but the
// encrypted content) and describes it. It needs no key and shows no secret.
func Inspect(src io.Reader) (*Info, error) {
	env, err := parseEnvelope(newBERReader(src, ErrTruncated, ErrMalformed))
	if err != nil {
		return nil, err
	}
	return &env.info, nil
}

// unlock finds the content key: every identity is tried on every
// RecipientInfo. The error, when none fits, says what the file is sealed for.
func (env *envelope) unlock(identities []Identity) ([]byte, error) {
	keyLen := ciphers[env.cipher].keyLen
	var wrongPassword bool
	var hardErr error
	for _, ri := range env.ris {
		for _, id := range identities {
			cek, err := id.UnwrapKey(ri, keyLen)
			switch {
			case err == nil && len(cek) == keyLen:
				return cek, nil
			case err == nil:
				hardErr = fmt.Errorf("%w: content key of %d bytes for %s", ErrDamaged, len(cek), env.cipher)
			case errors.Is(err, ErrWorkLimit):
				return nil, err // trying further recipients would only cost more
			case errors.Is(err, ErrIncorrectIdentity):
			case errors.Is(err, ErrWrongPassword):
				wrongPassword = true
			case hardErr == nil:
				hardErr = err
			}
		}
	}
	if wrongPassword {
		return nil, fmt.Errorf("%w: the password does not open this file", ErrWrongPassword)
	}
	if hardErr != nil {
		return nil, hardErr
	}
	var kinds []string
	for _, r := range env.info.Recipients {
		kinds = append(kinds, r.String())
	}
	return nil, fmt.Errorf("%w: the file is sealed for [%s]", ErrNoRecipient, strings.Join(kinds, "; "))
}
