//go:build amd64 && !purego

package cms

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestFastCBCInUse makes sure the comparisons in cipher_test.go exercise
// the assembly on a CPU that has AES-NI, not the standard library twice.
func TestFastCBCInUse(t *testing.T) {
	if !cpu.X86.HasAES {
		t.Skip("this CPU has no AES-NI: the standard library's CBC is used")
	}
	ci, _ := AES256CBC.info()
	key, iv := make([]byte, 32), make([]byte, 16)
	e, _ := newCBCEncrypter(ci, key, iv)
	d, _ := newCBCDecrypter(ci, key, iv)
	if _, ok := e.(*aes256CBC); !ok {
		t.Errorf("AES-256 encryption uses %T", e)
	}
	if _, ok := d.(*aes256CBC); !ok {
		t.Errorf("AES-256 decryption uses %T", d)
	}
}

// TestOnePassInUse makes sure TestOnePassSameAsTwoPasses compares the
// SHA-256 + AES-256-CBC loop with the separate passes on a CPU that has
// it, rather than the separate passes twice.
func TestOnePassInUse(t *testing.T) {
	if !haveSHA256CBC {
		t.Skip("this CPU lacks AES, AVX or SHA instructions: sealing hashes and encrypts in two passes")
	}
	w, err := Encrypt(discard{}, 1, nil, passwordRecipient(t))
	if err != nil {
		t.Fatal(err)
	}
	if w.onePass == nil {
		t.Fatal("the default sealing options do not use the one-pass loop")
	}
	if w, _ := Encrypt(discard{}, 1, &Options{Cipher: AES128CBC}, passwordRecipient(t)); w.onePass != nil {
		t.Fatal("AES-128 got the AES-256 loop")
	}
}
