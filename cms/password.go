package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Password-based recipients: PasswordRecipientInfo (RFC 3211, RFC 5652
// §6.2.4) with PBKDF2 (RFC 8018) as PS3.15 D.1.1 (CP 895) specifies.

// Defaults and limits for PBKDF2. 600 000 iterations of HMAC-SHA-256 is the
// OWASP figure (2023) and costs about 0.1 s on a current CPU; a disc derives
// its key once, so strength costs the reader nothing per file.
const (
	DefaultIterations = 600_000
	MinIterations     = 100_000    // floor for sealing
	MaxIterations     = 10_000_000 // ceiling for opening: a hostile file must not stall the reader
	DefaultSaltSize   = 16
	MinPasswordLength = 12 // sealing policy, see CheckSealingPassword
	maxPasswordLength = 1024
)

// ValidatePassword applies the rule of PS3.15 D.1.1: a password is encoded
// and shown in the DICOM Default Character Repertoire (ISO-IR 6), i.e. only
// printable US-ASCII 0x20-0x7E. The error says which character (by position,
// never by value) and why, so a user can fix it without the password being
// printed.
func ValidatePassword(pw []byte) error {
	if len(pw) == 0 {
		return fmt.Errorf("%w: the password is empty", ErrPasswordPolicy)
	}
	if len(pw) > maxPasswordLength {
		return fmt.Errorf("%w: longer than %d characters", ErrPasswordPolicy, maxPasswordLength)
	}
	if bytes.Contains(pw, []byte("\u00a5")) {
		return fmt.Errorf("%w: it contains the yen sign; DICOM passwords use the backslash (0x5C) for that key (PS3.15 D.1.1)", ErrPasswordPolicy)
	}
	for i, c := range pw {
		if c < 0x20 || c > 0x7e {
			kind := "a control character (tab, newline, ...)"
			if c >= 0x80 {
				kind = "not US-ASCII (an accented or non-Latin letter, or a typographic symbol)"
			}
			return fmt.Errorf("%w: byte %d of the password is %s; DICOM allows only printable US-ASCII, 0x20-0x7E (PS3.15 D.1.1)",
				ErrPasswordPolicy, i+1, kind)
		}
	}
	return nil
}

// CheckSealingPassword is the policy for new media on top of
// ValidatePassword: at least MinPasswordLength characters, and no leading
// or trailing spaces, which a person reading the password cannot see.
func CheckSealingPassword(pw []byte) error {
	if err := ValidatePassword(pw); err != nil {
		return err
	}
	if len(pw) < MinPasswordLength {
		return fmt.Errorf("%w: shorter than %d characters (generate one with \"securemedia password\")", ErrPasswordPolicy, MinPasswordLength)
	}
	if pw[0] == ' ' || pw[len(pw)-1] == ' ' {
		return fmt.Errorf("%w: it starts or ends with a space, which nobody can see when reading it out", ErrPasswordPolicy)
	}
	return nil
}

// PasswordParams are the PBKDF2 and key-wrap settings of a PasswordRecipient.
type PasswordParams struct {
	Iterations int         // default DefaultIterations
	SaltSize   int         // default DefaultSaltSize (16 bytes)
	PRF        crypto.Hash // HMAC hash; default SHA-256, written explicitly. SHA-1 is omitted as the RFC default.
	KEKCipher  Cipher      // key-encryption cipher; default AES-256-CBC
	Salt       []byte      // fixed salt (tests); nil means random
	Rand       io.Reader   // randomness; nil means crypto/rand
}

// PasswordRecipient seals for a password. It derives its key-encryption key
// once when created: every file sealed with one PasswordRecipient carries
// the same salt and iteration count (each still with its own content key
// and IVs), so a reader derives the key once for all of them.
type PasswordRecipient struct {
	params PasswordParams
	kek    []byte
	kdfDER []byte // [0] keyDerivationAlgorithm, complete
}

// NewPasswordRecipient validates pw (ValidatePassword; sealing policy is the
// caller's, see CheckSealingPassword), fills in defaults and runs PBKDF2.
func NewPasswordRecipient(pw []byte, p *PasswordParams) (*PasswordRecipient, error) {
	if err := ValidatePassword(pw); err != nil {
		return nil, err
	}
	var params PasswordParams
	if p != nil {
		params = *p
	}
	if params.Iterations == 0 {
		params.Iterations = DefaultIterations
	}
	if params.Iterations < MinIterations || params.Iterations > MaxIterations {
		return nil, fmt.Errorf("%w: %d PBKDF2 iterations (allowed %d to %d)", ErrWeakParameters, params.Iterations, MinIterations, MaxIterations)
	}
	if params.PRF == 0 {
		params.PRF = crypto.SHA256
	}
	if params.SaltSize == 0 {
		params.SaltSize = DefaultSaltSize
	}
	if params.Rand == nil {
		params.Rand = rand.Reader
	}
	if params.Salt == nil {
		params.Salt = make([]byte, params.SaltSize)
		if _, err := io.ReadFull(params.Rand, params.Salt); err != nil {
			return nil, err
		}
	}
	if len(params.Salt) < 8 {
		return nil, fmt.Errorf("%w: salt of %d bytes (at least 8)", ErrWeakParameters, len(params.Salt))
	}
	ci, err := params.KEKCipher.info()
	if err != nil {
		return nil, err
	}
	prfOID, ok := prfOIDFor(params.PRF)
	if !ok {
		return nil, fmt.Errorf("%w: PBKDF2 PRF %v", ErrUnsupported, params.PRF)
	}
	kek, err := deriveKey(params.PRF, string(pw), params.Salt, params.Iterations, ci.keyLen)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidPBKDF2)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(params.Salt)
			b.AddASN1Int64(int64(params.Iterations))
			// keyLength omitted: it is implied by the KEK cipher (RFC 3211 §2.2).
			if params.PRF != crypto.SHA1 { // DER omits the DEFAULT (hmacWithSHA1)
				addAlgorithm(b, prfOID, nullParams)
			}
		})
	})
	return &PasswordRecipient{params: params, kek: kek, kdfDER: b.BytesOrPanic()}, nil
}

func prfOIDFor(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	for _, p := range prfByOID {
		if p.hash == h {
			return p.oid, true
		}
	}
	return nil, false
}

// Params returns the parameters in use (salt included; the password and key
// are not part of them).
func (r *PasswordRecipient) Params() PasswordParams { return r.params }

// KDFKey names the recipient's key derivation as RecipientSummary.KDFKey
// names it in a file sealed for it: the files sealed for one recipient
// share it, and a file sealed otherwise does not (its salt differs).
func (r *PasswordRecipient) KDFKey() string {
	ci, _ := r.params.KEKCipher.info() // checked by NewPasswordRecipient
	return kdfKey(r.params.PRF, r.params.Salt, r.params.Iterations, ci.keyLen)
}

// WrapKey implements Recipient.
func (r *PasswordRecipient) WrapKey(cek []byte, rnd io.Reader) ([]byte, error) {
	ci, _ := r.params.KEKCipher.info()
	block, err := ci.new(r.kek)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, ci.blockSize)
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return nil, err
	}
	wrapped, err := wrapKey(block, iv, cek, rnd)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddBytes(r.kdfDER)
		addAlgorithm(b, oidPWRIKEK, func(b *cryptobyte.Builder) {
			addAlgorithm(b, ci.oid, octetParams(iv))
		})
		b.AddASN1OctetString(wrapped)
	})
	return b.Bytes()
}

// PasswordIdentity opens password recipients. It caches derived keys by
// (salt, iterations, PRF, key length), so files sealed under one salt cost
// one PBKDF2 between them. It is safe for concurrent use.
type PasswordIdentity struct {
	pw          []byte
	maxIter     int // 0 means MaxIterations; fuzz tests lower it
	mu          sync.Mutex
	cache       map[string][]byte
	derivations atomic.Int64
	work        int64 // PBKDF2 iterations run (or started), under mu
	workLimit   int64 // 0: no limit
}

// LimitWork bounds the PBKDF2 iterations this identity will run in all:
// a derivation that would pass the limit fails with ErrWorkLimit before it
// starts. A medium sealed under one salt costs one derivation; a hostile
// one with a salt per file, or many recipients per file, costs one each.
func (id *PasswordIdentity) LimitWork(iterations int64) {
	id.mu.Lock()
	id.workLimit = iterations
	id.mu.Unlock()
}

// kdfKey names a key derivation, for the cache and RecipientSummary.KDFKey.
func kdfKey(prf crypto.Hash, salt []byte, iter, keyLen int) string {
	return fmt.Sprintf("%d/%d/%d/%x", prf, iter, keyLen, salt)
}

// maxCachedKeys bounds the cache: a disc has one salt; a hostile input with
// many salts must not grow memory without bound.
const maxCachedKeys = 256

// NewPasswordIdentity validates pw per PS3.15 D.1.1.
func NewPasswordIdentity(pw []byte) (*PasswordIdentity, error) {
	if err := ValidatePassword(pw); err != nil {
		return nil, err
	}
	return &PasswordIdentity{pw: bytes.Clone(pw), cache: map[string][]byte{}}, nil
}

// Derivations reports how many times PBKDF2 ran (the key cache's misses).
func (id *PasswordIdentity) Derivations() int64 { return id.derivations.Load() }

func (id *PasswordIdentity) kek(prf crypto.Hash, salt []byte, iter, keyLen int) ([]byte, error) {
	if id.maxIter > 0 && iter > id.maxIter {
		return nil, fmt.Errorf("%w: %d PBKDF2 iterations exceeds the limit of %d", ErrUnsupported, iter, id.maxIter)
	}
	key := kdfKey(prf, salt, iter, keyLen)
	id.mu.Lock()
	defer id.mu.Unlock()
	if k, ok := id.cache[key]; ok {
		return k, nil
	}
	if id.workLimit > 0 && id.work+int64(iter) > id.workLimit {
		return nil, fmt.Errorf("%w: %d more PBKDF2 iterations would pass the limit of %d", ErrWorkLimit, iter, id.workLimit)
	}
	id.work += int64(iter)
	k, err := deriveKey(prf, string(id.pw), salt, iter, keyLen)
	if err != nil {
		return nil, err
	}
	id.derivations.Add(1)
	if len(id.cache) >= maxCachedKeys {
		clear(id.cache)
	}
	id.cache[key] = k
	return k, nil
}

// UnwrapKey implements Identity.
func (id *PasswordIdentity) UnwrapKey(ri []byte, _ int) ([]byte, error) {
	p, err := parsePWRI(ri)
	if err != nil {
		return nil, err
	}
	ci, _ := p.kekCipher.info()
	kek, err := id.kek(p.prf, p.salt, p.iterations, ci.keyLen)
	if err != nil {
		return nil, err
	}
	block, err := ci.new(kek)
	if err != nil {
		return nil, err
	}
	return unwrapKey(block, p.iv, p.wrapped)
}
