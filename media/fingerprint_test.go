package media

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
)

// The fingerprint a burn prints (for the slip) is the one README.TXT shows
// and the one a reader computes from the medium before any password; a
// medium sealed under another salt has another.
func TestFingerprintMatchesAcrossSlipReadmeAndDisc(t *testing.T) {
	p, dir := burnFolder(t)
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`).MatchString(p.Fingerprint) {
		t.Fatalf("plan fingerprint %q: want two groups of four Crockford base32 characters", p.Fingerprint)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.TXT"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "Fingerprint: "+p.Fingerprint) {
		t.Errorf("README.TXT does not show %s:\n%s", p.Fingerprint, readme)
	}
	if !strings.Contains(string(readme), "only the password opens this medium.") {
		t.Errorf("README.TXT does not say that only the password opens it:\n%s", readme)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, err := d.Fingerprint(); err != nil || got != p.Fingerprint {
		t.Fatalf("the locked medium's fingerprint %q (%v), the plan's %q", got, err, p.Fingerprint)
	}
	other, err := cms.NewPasswordRecipient([]byte(testPassword), &cms.PasswordParams{Iterations: cms.MinIterations})
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewPlan(context.Background(), []string{study}, Options{Medium: USB, Recipients: []cms.Recipient{other}})
	if err != nil {
		t.Fatal(err)
	}
	if q.Fingerprint == p.Fingerprint {
		t.Errorf("two media sealed with the same password under different salts share fingerprint %s", p.Fingerprint)
	}
}
