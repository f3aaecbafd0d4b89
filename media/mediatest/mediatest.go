// Package mediatest makes sealed media for the tests of the packages that
// read them (importer, viewer, the programs).
package mediatest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/media"
)

// Password opens the media made here: a test value, not a secret.
const Password = "a test passphrase, long enough"

// SealedFolder burns inputs to a sealed USB-style folder opened by
// Password, with o's other options, and returns its path.
func SealedFolder(t testing.TB, o media.Options, inputs ...string) string {
	t.Helper()
	// The fewest iterations the codec allows: tests need speed, not strength.
	r, err := cms.NewPasswordRecipient([]byte(Password), &cms.PasswordParams{Iterations: cms.MinIterations})
	if err != nil {
		t.Fatal(err)
	}
	o.Recipients = []cms.Recipient{r}
	return SealedFolderFor(t, o, inputs...)
}

// SealedFolderFor burns inputs to a sealed USB-style folder for o's
// recipients and returns its path.
func SealedFolderFor(t testing.TB, o media.Options, inputs ...string) string {
	t.Helper()
	o.Medium = media.USB
	p, err := media.NewPlan(context.Background(), inputs, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "disc")
	if err := p.WriteFolder(context.Background(), dir, false, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// CertificateRecipient seals for the (first) certificate of a PEM file.
func CertificateRecipient(t testing.TB, certFile string) cms.Recipient {
	t.Helper()
	certs, err := keyfile.Certificates(certFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cms.NewCertificateRecipient(certs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
