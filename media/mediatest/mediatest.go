// Package mediatest makes sealed media for the tests of the packages that
// read them (importer, viewer, the programs).
package mediatest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/securemedia/securemedia/cms"
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
	o.Medium, o.Recipients = media.USB, []cms.Recipient{r}
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
