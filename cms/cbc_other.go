//go:build !amd64 || purego

package cms

import "crypto/cipher"

// No assembly here; the standard library's CBC is used.

func fastCBCEncrypter(cipherInfo, []byte, []byte) cipher.BlockMode { return nil }

func fastCBCDecrypter(cipherInfo, []byte, []byte) cipher.BlockMode { return nil }

func sha256CBCKernel(cipher.BlockMode) func(h *[8]uint32, dst, src, hsrc []byte) { return nil }

const haveSHA256 = false

func sha256Compress(*[8]uint32, []byte) { panic("cms: no SHA-256 instructions") }

func pbkdf2SHA256Rounds(*[8]uint32, *[8]uint32, *[64]byte, *[32]byte, int) {
	panic("cms: no SHA-256 instructions")
}
