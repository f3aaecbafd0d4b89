//go:build amd64 && !purego

package cms

import (
	"crypto/cipher"

	"golang.org/x/sys/cpu"
)

//go:generate go run gen_sha256cbc.go

//go:noescape
func sha256CBC(xk *uint32, iv *[16]byte, dst, src *byte, h *[8]uint32, hsrc *byte, n int)

//go:noescape
func sha256Blocks(h *[8]uint32, p *byte, n int)

//go:noescape
func pbkdf2SHA256Rounds(inner, outer *[8]uint32, block *[64]byte, acc *[32]byte, n int)

//go:noescape
func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// hasSHANI reports the SHA extensions (CPUID.(EAX=7,ECX=0):EBX bit 29),
// which golang.org/x/sys/cpu does not export for x86.
func hasSHANI() bool {
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, b, _, _ := cpuid(7, 0)
	return b&(1<<29) != 0
}

var (
	haveSHA256    = cpu.X86.HasAVX && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3 && hasSHANI()
	haveSHA256CBC = haveSHA256 && cpu.X86.HasAES
)

// sha256Compress is SHA-256's compression function over whole 64-byte
// blocks of p, with the SHA extensions: only when haveSHA256.
func sha256Compress(h *[8]uint32, p []byte) {
	if len(p)%64 != 0 || len(p) == 0 {
		panic("cms: SHA-256 input not whole blocks")
	}
	sha256Blocks(h, &p[0], len(p))
}

// sha256CBCKernel returns the one-pass loop for an AES-256-CBC encrypter
// of ours, or nil: encrypt n bytes of src into dst and run SHA-256's
// compression over n bytes of hsrc, n a multiple of 64.
func sha256CBCKernel(m cipher.BlockMode) func(h *[8]uint32, dst, src, hsrc []byte) {
	c, ok := m.(*aes256CBC)
	if !ok || !haveSHA256CBC || !c.encrypts {
		return nil
	}
	return func(h *[8]uint32, dst, src, hsrc []byte) {
		if len(src)%64 != 0 || len(src) == 0 || len(dst) < len(src) || len(hsrc) < len(src) {
			panic("cms: bad lengths for the SHA-256 and AES-256-CBC loop")
		}
		sha256CBC(&c.xk[0], &c.iv, &dst[0], &src[0], h, &hsrc[0], len(src))
	}
}
