//go:build !amd64 || purego

package cms

import "crypto/cipher"

// No assembly here; the standard library's CBC is used.

func fastCBCEncrypter(cipherInfo, []byte, []byte) cipher.BlockMode { return nil }

func fastCBCDecrypter(cipherInfo, []byte, []byte) cipher.BlockMode { return nil }

func sha256CBCKernel(cipher.BlockMode) func(h *[8]uint32, dst, src, hsrc []byte) { return nil }
