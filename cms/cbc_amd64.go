//go:build amd64 && !purego

package cms

import (
	"crypto/cipher"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The standard library runs CBC one function call per 16-byte block, in
// both directions; sealing a disc spent a third of its CPU time there. The
// encryption loop keeps the round keys in registers and runs at the
// cipher's own latency, like OpenSSL's; decryption, which has no chain
// through the cipher, takes four blocks through the rounds at once.

//go:noescape
func expandKey256(key *byte, xk *uint32)

//go:noescape
func cbcEncrypt256(xk *uint32, iv *[16]byte, dst, src *byte, n int)

//go:noescape
func decKeys256(enc, dec *uint32)

//go:noescape
func cbcDecrypt256(xk *uint32, iv *[16]byte, dst, src *byte, n int)

func fastAES256(ci cipherInfo, key, iv []byte) bool {
	return cpu.X86.HasAES && ci.oid.Equal(oidAES256CBC) && len(key) == 32 && len(iv) == 16
}

// fastCBCEncrypter returns the AES-NI loop for AES-256, or nil.
func fastCBCEncrypter(ci cipherInfo, key, iv []byte) cipher.BlockMode {
	if !fastAES256(ci, key, iv) {
		return nil
	}
	m := &aes256CBC{encrypts: true}
	expandKey256(&key[0], &m.xk[0])
	copy(m.iv[:], iv)
	return m
}

// fastCBCDecrypter returns the AES-NI loop for AES-256, or nil.
func fastCBCDecrypter(ci cipherInfo, key, iv []byte) cipher.BlockMode {
	if !fastAES256(ci, key, iv) {
		return nil
	}
	var enc [60]uint32
	expandKey256(&key[0], &enc[0])
	m := &aes256CBC{}
	decKeys256(&enc[0], &m.xk[0])
	copy(m.iv[:], iv)
	return m
}

type aes256CBC struct {
	xk       [60]uint32 // 15 round keys, for decryption unless encrypts
	iv       [16]byte   // the previous ciphertext block
	encrypts bool
}

func (m *aes256CBC) BlockSize() int { return 16 }

// CryptBlocks has crypto/cipher's contract: whole blocks, dst at least as
// long as src, dst and src the same or not overlapping at all.
func (m *aes256CBC) CryptBlocks(dst, src []byte) {
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
	if m.encrypts {
		cbcEncrypt256(&m.xk[0], &m.iv, &dst[0], &src[0], len(src))
	} else {
		cbcDecrypt256(&m.xk[0], &m.iv, &dst[0], &src[0], len(src))
	}
}
