package cms

import (
	"bytes"
	"crypto"
	"crypto/pbkdf2"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestDeriveKeyVectors: PBKDF2-HMAC-SHA256 test vectors from RFC 7914
// §11, first 32 bytes (deriveKey's own loop covers keys up to 32 bytes;
// the 64-byte vectors' first halves are their first PBKDF2 blocks).
func TestDeriveKeyVectors(t *testing.T) {
	for _, v := range []struct {
		pw, salt string
		iter     int
		want     string
	}{
		{"passwd", "salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"},
		{"Password", "NaCl", 80000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"},
	} {
		got, err := deriveKey(crypto.SHA256, v.pw, []byte(v.salt), v.iter, 32)
		if err != nil || hex.EncodeToString(got) != v.want {
			t.Errorf("%s/%s/%d: %x, %v; want %s", v.pw, v.salt, v.iter, got, err, v.want)
		}
	}
}

// TestDeriveKeySameAsStdlib compares deriveKey with crypto/pbkdf2 for
// passwords around the HMAC block size (longer ones are hashed first),
// salts of several lengths, iteration counts and key lengths, and for the
// PRFs it leaves to the standard library.
func TestDeriveKeySameAsStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bytesN := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for _, prf := range []crypto.Hash{crypto.SHA256, crypto.SHA1, crypto.SHA512} {
		for _, pwLen := range []int{0, 1, 12, 55, 63, 64, 65, 200} {
			for _, iter := range []int{1, 2, 3, 1000} {
				for _, keyLen := range []int{16, 24, 32, 33} {
					pw, salt := string(bytesN(pwLen)), bytesN(8+rng.IntN(60))
					got, err := deriveKey(prf, pw, salt, iter, keyLen)
					want, werr := pbkdf2.Key(prf.New, pw, salt, iter, keyLen)
					if err != nil || werr != nil || !bytes.Equal(got, want) {
						t.Fatalf("%v pw %d bytes, %d iterations, %d-byte key: %x, %v; want %x, %v", prf, pwLen, iter, keyLen, got, err, want, werr)
					}
				}
			}
		}
	}
}

// A work limit refuses a derivation that would pass it before running it,
// and a cached key costs nothing against it.
func TestPasswordIdentityWorkLimit(t *testing.T) {
	id, err := NewPasswordIdentity([]byte("a test passphrase, long enough"))
	if err != nil {
		t.Fatal(err)
	}
	id.LimitWork(3000)
	if _, err := id.kek(crypto.SHA256, []byte("salt one"), 2048, 32); err != nil {
		t.Fatal(err)
	}
	if _, err := id.kek(crypto.SHA256, []byte("salt one"), 2048, 32); err != nil {
		t.Fatalf("cached key refused: %v", err)
	}
	if _, err := id.kek(crypto.SHA256, []byte("salt two"), 2048, 32); !errors.Is(err, ErrWorkLimit) {
		t.Fatalf("second salt: %v, want ErrWorkLimit", err)
	}
	if got := id.Derivations(); got != 1 {
		t.Fatalf("%d derivations, want 1", got)
	}
}
