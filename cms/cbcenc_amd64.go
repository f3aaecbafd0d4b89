//go:build amd64 && !purego

package cms

import (
	"crypto/cipher"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The standard library encrypts CBC one function call per 16-byte block
// (CBC encryption is serial, so it has no multi-block assembly for it);
// sealing a disc spends a third of its CPU time there. This loop keeps the
// round keys in registers and runs at the cipher's own latency, like
// OpenSSL's. Decryption stays with the standard library, which is already
// parallel across blocks.

//go:noescape
func expandKey256(key *byte, xk *uint32)

//go:noescape
func cbcEncrypt256(xk *uint32, iv *[16]byte, dst, src *byte, n int)

// fastCBCEncrypter returns the AES-NI loop for AES-256, or nil.
func fastCBCEncrypter(ci cipherInfo, key, iv []byte) cipher.BlockMode {
	if !cpu.X86.HasAES || !ci.oid.Equal(oidAES256CBC) || len(key) != 32 || len(iv) != 16 {
		return nil
	}
	m := new(aes256CBCEncrypter)
	expandKey256(&key[0], &m.xk[0])
	copy(m.iv[:], iv)
	return m
}

type aes256CBCEncrypter struct {
	xk [60]uint32 // 15 round keys
	iv [16]byte   // the previous ciphertext block
}

func (m *aes256CBCEncrypter) BlockSize() int { return 16 }

// CryptBlocks has crypto/cipher's contract: whole blocks, dst at least as
// long as src, dst and src the same or not overlapping at all.
func (m *aes256CBCEncrypter) CryptBlocks(dst, src []byte) {
	if len(src)%16 != 0 {
		panic("cms: CBC input not full blocks")
	}
	if len(dst) < len(src) {
		panic("cms: CBC output smaller than input")
	}
	if len(src) == 0 {
		return
	}
	d, s := uintptr(unsafe.Pointer(&dst[0])), uintptr(unsafe.Pointer(&src[0]))
	if d != s && d < s+uintptr(len(src)) && s < d+uintptr(len(src)) {
		panic("cms: CBC output overlaps input")
	}
	cbcEncrypt256(&m.xk[0], &m.iv, &dst[0], &src[0], len(src))
}
