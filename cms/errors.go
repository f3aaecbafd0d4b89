package cms

import "errors"

// Errors a caller can test with errors.Is. Each names one cause a user can act
// on; the messages returned wrap them with detail.
var (
	// ErrWrongPassword: a password recipient exists but the password does
	// not unwrap its key (the RFC 3211 check bytes do not match).
	ErrWrongPassword = errors.New("wrong password")
	// ErrNoRecipient: no recipient of the file matches any given identity.
	ErrNoRecipient = errors.New("no matching recipient")
	// ErrIncorrectIdentity is returned by an Identity for a RecipientInfo
	// that is not meant for it; Decrypt then tries the next pairing.
	ErrIncorrectIdentity = errors.New("recipient is not for this identity")
	// ErrDamaged: decryption produced invalid padding or an invalid inner
	// structure: the ciphertext was altered or damaged, or the key is wrong.
	ErrDamaged = errors.New("decryption failed: content damaged or altered")
	// ErrIntegrity: the digest or signature does not match the content.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrTruncated: the input ends before the CMS structure does.
	ErrTruncated = errors.New("truncated CMS data")
	// ErrMalformed: the input is CMS-like but not well-formed, or exceeds a limit.
	ErrMalformed = errors.New("malformed CMS data")
	// ErrNotEnvelopedData: the input is not CMS EnvelopedData at all.
	ErrNotEnvelopedData = errors.New("not a Secure DICOM File (no CMS EnvelopedData)")
	// ErrUnsupported: a well-formed structure uses an algorithm or option
	// this package does not implement.
	ErrUnsupported = errors.New("unsupported")
	// ErrPasswordPolicy: the password breaks the rules of PS3.15 D.1.1 or
	// the sealing policy.
	ErrPasswordPolicy = errors.New("password refused")
	// ErrWeakParameters: sealing parameters below the floor this package allows.
	ErrWeakParameters = errors.New("parameters too weak")
	// ErrWorkLimit: opening would take more key derivation work than the
	// identity allows (PasswordIdentity.LimitWork).
	ErrWorkLimit = errors.New("key derivation work limit reached")
	// ErrSize: the plaintext written differs from the size given to Encrypt.
	ErrSize = errors.New("plaintext size differs from the size declared to Encrypt")
)
