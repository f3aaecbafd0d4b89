package media

import (
	"errors"
	"io"

	"github.com/securemedia/securemedia/cms"
)

// Errors of reading a medium, for errors.Is. A caller decides what to tell
// the user, and which exit code to give, from these alone: it never needs
// the codec's own errors. The messages stay the codec's, which say more.
var (
	// ErrWrongPassword: the medium is sealed for a password, and this is
	// not it.
	ErrWrongPassword = errors.New("wrong password")
	// ErrNoRecipient: the medium was not sealed for any key given.
	ErrNoRecipient = errors.New("no matching recipient")
	// ErrPolicy: refused without trying: a password no medium can have
	// (PS3.15 allows printable US-ASCII only), or an algorithm or parameter
	// this reader does not accept.
	ErrPolicy = errors.New("refused by policy")
	// ErrNotSecure: a file that should be a Secure DICOM File is not one.
	ErrNotSecure = errors.New("not a Secure DICOM File")
	// ErrDamaged: a file cannot be trusted: it was altered, or it is
	// damaged, truncated or malformed. ErrAltered and ErrMalformed say which,
	// when it is known; both are also ErrDamaged.
	ErrDamaged = errors.New("damaged")
	// ErrAltered: the content does not match its digest or signature.
	ErrAltered = errors.New("altered")
	// ErrMalformed: the sealed structure is truncated or malformed.
	ErrMalformed = errors.New("malformed")
)

// Identity opens a sealed medium: a password (Password) or a certificate's
// private key (package cms/keyfile loads those).
type Identity = cms.Identity

// Password is the identity of a medium's password. It refuses at once a
// password no medium can have (ErrPolicy).
func Password(pw []byte) (Identity, error) {
	id, err := cms.NewPasswordIdentity(pw)
	if err != nil {
		return nil, classify(err)
	}
	return id, nil
}

// kinds maps the codec's errors to ours, most specific first.
var kinds = []struct {
	codec error
	ours  []error
}{
	{cms.ErrWrongPassword, []error{ErrWrongPassword}},
	{cms.ErrNoRecipient, []error{ErrNoRecipient}},
	{cms.ErrPasswordPolicy, []error{ErrPolicy}},
	{cms.ErrUnsupported, []error{ErrPolicy}},
	{cms.ErrWeakParameters, []error{ErrPolicy}},
	{cms.ErrNotEnvelopedData, []error{ErrNotSecure}},
	{cms.ErrIntegrity, []error{ErrAltered, ErrDamaged}},
	{cms.ErrTruncated, []error{ErrMalformed, ErrDamaged}},
	{cms.ErrMalformed, []error{ErrMalformed, ErrDamaged}},
	{cms.ErrDamaged, []error{ErrDamaged}},
}

// codecError is a codec error seen through our error values: its message
// is the codec's, and errors.Is matches both.
type codecError struct {
	ours []error
	err  error
}

func (e *codecError) Error() string   { return e.err.Error() }
func (e *codecError) Unwrap() []error { return append(append([]error{}, e.ours...), e.err) }

// classify wraps an error of the codec in ours; any other error is
// returned as it is.
func classify(err error) error {
	var done *codecError
	if err == nil || errors.As(err, &done) {
		return err
	}
	for _, k := range kinds {
		if errors.Is(err, k.codec) {
			return &codecError{ours: k.ours, err: err}
		}
	}
	return err
}

// classifyingReader passes a decrypting reader's errors (the integrity
// failure at its end) through classify.
type classifyingReader struct{ r io.Reader }

func (c classifyingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = classify(err)
	}
	return n, err
}
