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
