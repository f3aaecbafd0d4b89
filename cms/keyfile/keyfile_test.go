package keyfile

import (
	"strings"
	"testing"
)

// A PKCS #12 file handed over as bytes (a file chosen on a page) is
// bounded like one read from disk: an oversized one is refused before it
// is parsed.
func TestParsePKCS12Bounded(t *testing.T) {
	_, _, err := ParsePKCS12(make([]byte, maxKeyFile+1), "big.p12", []byte("pw"))
	if err == nil || !strings.Contains(err.Error(), "big.p12 is larger than") {
		t.Fatalf("oversized PKCS #12: %v", err)
	}
	_, _, err = ParsePKCS12([]byte("not a PKCS #12 file"), "junk.p12", []byte("pw"))
	if err == nil || !strings.Contains(err.Error(), "PKCS #12 file junk.p12") {
		t.Fatalf("junk PKCS #12: %v", err)
	}
}
