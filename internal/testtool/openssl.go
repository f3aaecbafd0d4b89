package testtool

import (
	"encoding/asn1"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// OpensslDigested opens, with openssl cms -digest_verify, the content of
// the DigestedData that openssl cms -decrypt wrote bare to inner (a
// Secure DICOM File's inner layer): it wraps it in the ContentInfo that
// -digest_verify wants and returns what openssl verified.
func OpensslDigested(t testing.TB, inner string) []byte {
	t.Helper()
	der, err := os.ReadFile(inner)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 5}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ciPath, plain := filepath.Join(dir, "ci"), filepath.Join(dir, "plain")
	if err := os.WriteFile(ciPath, ci, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(Require(t, "openssl"), "cms", "-digest_verify", "-binary", "-inform", "DER", "-in", ciPath, "-out", plain).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -digest_verify: %v\n%s", err, out)
	}
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
