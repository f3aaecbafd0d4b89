package cms

import (
	"bytes"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/hex"
	"testing"
)

// The test vectors of RFC 3211 §3 (also in BouncyCastle's RFC3211WrapTest).
func TestRFC3211Vectors(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	salt := h("1234567878563412")
	vectors := []struct {
		password         string
		iterations       int
		kek, iv, cek     []byte
		padding, wrapped []byte
		tripleDES        bool
	}{
		{
			password: "password", iterations: 5,
			kek: h("D1DAA78615F287E6"), iv: h("EFE598EF21B33D6D"), cek: h("8C627C897323A2F8"),
			padding: h("C436F541"), wrapped: h("B81B2565EE373CA6DEDCA26A178B0C10"),
		},
		{
			password:   "All n-entities must communicate with other n-entities via n-1 entiteeheehees",
			iterations: 500, tripleDES: true,
			kek:     h("6A8970BF68C92CAEA84A8DF28510858607126380CC47AB2D"),
			iv:      h("BAF1CA7931213C4E"),
			cek:     h("8C637D887223A2F965B566EB014B0FA5D52300A3F7EA40FFFC577203C71BAF3B"),
			padding: h("FA060A45"),
			wrapped: h("C03C514ABDB9E2C5AAC038572B5E24553876B377AAFB82ECA5A9D73F8AB143D9EC74E6CAD7DB260C"),
		},
	}
	for i, v := range vectors {
		kek, err := pbkdf2.Key(sha1.New, v.password, salt, v.iterations, len(v.kek))
		if err != nil || !bytes.Equal(kek, v.kek) {
			t.Fatalf("vector %d: PBKDF2 = %X, want %X (%v)", i+1, kek, v.kek, err)
		}
		newBlock := des.NewCipher
		if v.tripleDES {
			newBlock = des.NewTripleDESCipher
		}
		block, err := newBlock(kek)
		if err != nil {
			t.Fatal(err)
		}
		wrapped, err := wrapKey(block, v.iv, v.cek, bytes.NewReader(v.padding))
		if err != nil || !bytes.Equal(wrapped, v.wrapped) {
			t.Fatalf("vector %d: wrap = %X, want %X (%v)", i+1, wrapped, v.wrapped, err)
		}
		cek, err := unwrapKey(block, v.iv, v.wrapped)
		if err != nil || !bytes.Equal(cek, v.cek) {
			t.Fatalf("vector %d: unwrap = %X, want %X (%v)", i+1, cek, v.cek, err)
		}
		// A wrong KEK must fail the check bytes (RFC 3211 §2.3.2), not
		// return garbage: that is how a wrong password is recognised.
		wrongKEK := bytes.Clone(kek)
		wrongKEK[0] ^= 0x80
		wrong, _ := newBlock(wrongKEK)
		if _, err := unwrapKey(wrong, v.iv, v.wrapped); err != ErrWrongPassword {
			t.Fatalf("vector %d: unwrap with a wrong KEK: %v, want ErrWrongPassword", i+1, err)
		}
	}
}
