package main

import (
	"errors"

	"github.com/securemedia/securemedia/cms"
)

// classifyCMSError maps the cms package's errors to exit codes.
func classifyCMSError(err error) (int, bool) {
	for _, m := range []struct {
		err  error
		code int
	}{
		{cms.ErrWrongPassword, exitBadPassword},
		{cms.ErrNoRecipient, exitNoRecipient},
		{cms.ErrIntegrity, exitIntegrity},
		{cms.ErrDamaged, exitDamaged},
		{cms.ErrTruncated, exitMalformed},
		{cms.ErrMalformed, exitMalformed},
		{cms.ErrNotEnvelopedData, exitNotCMS},
		{cms.ErrPasswordPolicy, exitPolicy},
		{cms.ErrWeakParameters, exitPolicy},
		{cms.ErrUnsupported, exitPolicy},
	} {
		if errors.Is(err, m.err) {
			return m.code, true
		}
	}
	return 0, false
}
