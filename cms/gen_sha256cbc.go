//go:build ignore

// This program writes sha256cbc_amd64.s: one loop that runs SHA-256 over
// 64 bytes (the DigestedData's digest of the DICOM File) and AES-256-CBC
// over 64 other bytes (the encrypted stream) per iteration; the plain
// SHA-256 compression loop; and the PBKDF2-HMAC-SHA256 iteration loop
// (see pbkdf2.go).
//
// Both are latency-bound chains (CBC cannot start a block before the last
// one is out; SHA256RNDS2 needs the previous rounds), so a core that
// interleaves them runs the hash in the gaps of the cipher. On the 2-core
// AMD EPYC we measure on, sealing with a SHA-256 DigestedData ran at
// 600 MB/s in two passes (BenchmarkEncryptTwoPasses) and runs at 920 MB/s
// in this loop, as fast as sealing without a digest (BenchmarkEncryptPlain).
//
// The SHA-256 rounds are blockSHANI's, taken from the Go standard library
// ($GOROOT/src/crypto/internal/fips140/sha256/sha256block_amd64.s): the
// program reads that file, so run it with the Go release whose code the
// comment in the output names. The AES rounds are spread between its
// sixteen four-round groups.
//
//	go run gen_sha256cbc.go
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	src := filepath.Join(runtime.GOROOT(), "src/crypto/internal/fips140/sha256/sha256block_amd64.s")
	text, err := os.ReadFile(src)
	if err != nil {
		log.Fatal(err)
	}
	groups := shaGroups(string(text))
	k := roundConstants(string(text))
	aes := aesBlocks()
	per := (len(aes) + len(groups) - 1) / len(groups)

	var b bytes.Buffer
	fmt.Fprintf(&b, header, runtime.Version())
	for i, c := range k {
		fmt.Fprintf(&b, "DATA k256<>+%d(SB)/4, $%s\n", 4*i, c)
	}
	b.WriteString("GLOBL k256<>(SB), RODATA|NOPTR, $256\n\n")
	b.WriteString(cbcPrologue + shaLoad + "\nloop:\n")
	for i, g := range groups {
		for _, l := range g {
			fmt.Fprintf(&b, "\t%s\n", l)
		}
		for _, l := range aes[min(i*per, len(aes)):min((i+1)*per, len(aes))] {
			fmt.Fprintf(&b, "\t%s\n", l)
		}
	}
	b.WriteString(cbcEpilogue + shaStore)
	b.WriteString(blocksPrologue + shaLoad + "\nloop:\n")
	for _, g := range groups {
		for _, l := range g {
			fmt.Fprintf(&b, "\t%s\n", l)
		}
	}
	b.WriteString(blocksEpilogue + shaStore)
	b.WriteString(pbkdf2Prologue)
	for _, pad := range []string{"inner", "outer"} {
		fmt.Fprintf(&b, "\t// HMAC's %s hash of the 32-byte message in the block\n", pad)
		if pad == "inner" {
			b.WriteString("\tVMOVDQA X11, X1\n\tVMOVDQA X12, X2\n")
		} else {
			b.WriteString("\tVMOVDQA X13, X1\n\tVMOVDQA X14, X2\n")
		}
		for _, g := range groups {
			for _, l := range g {
				fmt.Fprintf(&b, "\t%s\n", l)
			}
		}
		b.WriteString(pbkdf2Digest)
	}
	b.WriteString(pbkdf2Epilogue)
	if err := os.WriteFile("sha256cbc_amd64.s", b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// shaGroups returns blockSHANI's 64 rounds as sixteen groups of four, with
// its round-constant table (K256<>, laid out for AVX2 with every 16 bytes
// twice) addressed through R9 in the compact table k256<>.
func shaGroups(text string) [][]string {
	start := strings.Index(text, "TEXT ·blockSHANI")
	if start < 0 {
		log.Fatal("blockSHANI not found")
	}
	text = text[start:]
	body := text[strings.Index(text, "roundLoop:")+len("roundLoop:") : strings.Index(text, "// add current hash values")]
	konst := regexp.MustCompile(`(\d*)\(AX\)`)
	var groups [][]string
	var cur []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		l = konst.ReplaceAllStringFunc(l, func(m string) string {
			off := 0
			if s := konst.FindStringSubmatch(m)[1]; s != "" {
				off, _ = strconv.Atoi(s)
			}
			return fmt.Sprintf("%d(R9)", off/2)
		})
		// The legacy encoding wants a 16-byte aligned memory operand;
		// VEX does not, whatever alignment the linker gives the table.
		if rest, ok := strings.CutPrefix(l, "PADDD "); ok && strings.Contains(rest, "(R9)") {
			dst := rest[strings.LastIndex(rest, " ")+1:]
			l = "VPADDD " + rest + ", " + dst
		}
		cur = append(cur, l)
		if l == "SHA256RNDS2 X0, X2, X1" {
			groups = append(groups, cur)
			cur = nil
		}
	}
	if len(groups) != 16 || len(cur) != 0 {
		log.Fatalf("blockSHANI has changed shape: %d groups, %d lines left", len(groups), len(cur))
	}
	return groups
}

// roundConstants returns the 64 SHA-256 constants from K256<>, whose
// 32-byte rows hold each four constants twice.
func roundConstants(text string) []string {
	re := regexp.MustCompile(`DATA K256<>\+(\d+)\(SB\)/4, \$(0x[0-9a-f]+)`)
	var k []string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		if off, _ := strconv.Atoi(m[1]); off%32 < 16 {
			k = append(k, m[2])
		}
	}
	if len(k) != 64 {
		log.Fatalf("found %d round constants, want 64", len(k))
	}
	return k
}

// aesBlocks is CBC encryption of four blocks: the state in X11, round keys
// 12 to 14 in X13 to X15 and the others read from memory (SHA-256 needs
// the other registers). VEX encodings take unaligned memory operands.
func aesBlocks() []string {
	var out []string
	for blk := range 4 {
		off := 16 * blk
		out = append(out, fmt.Sprintf("VMOVDQU %d(BX), X12", off), "PXOR X12, X11", "VPXOR (AX), X11, X11")
		for r := 1; r <= 11; r++ {
			out = append(out, fmt.Sprintf("VAESENC %d(AX), X11, X11", 16*r))
		}
		out = append(out, "AESENC X13, X11", "AESENC X14, X11", "AESENCLAST X15, X11",
			fmt.Sprintf("VMOVDQU X11, %d(DX)", off))
	}
	return out
}

const header = `// Code generated by gen_sha256cbc.go with %s; DO NOT EDIT.

// The SHA-256 rounds and constants are from the Go standard library
// (crypto/internal/fips140/sha256/sha256block_amd64.s, blockSHANI),
// Copyright 2017 The Go Authors, BSD-style licence (https://go.dev/LICENSE).

//go:build amd64 && !purego

#include "textflag.h"

DATA flipMask<>+0(SB)/8, $0x0405060700010203
DATA flipMask<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL flipMask<>(SB), RODATA|NOPTR, $16

`

const cbcPrologue = `// func sha256CBC(xk *uint32, iv *[16]byte, dst, src *byte, h *[8]uint32, hsrc *byte, n int)
// Encrypts n bytes of src into dst (AES-256-CBC, round keys xk, iv updated
// to the last ciphertext block) and runs the SHA-256 compression function
// over n bytes of hsrc, updating h. n is a positive multiple of 64.
// Requires: AES, AVX, SHA, SSE4.1, SSSE3.
TEXT ·sha256CBC(SB), NOSPLIT, $0-56
	MOVQ    xk+0(FP), AX
	MOVQ    iv+8(FP), R8
	MOVQ    dst+16(FP), DX
	MOVQ    src+24(FP), BX
	MOVQ    h+32(FP), DI
	MOVQ    hsrc+40(FP), SI
	MOVQ    n+48(FP), CX
	MOVUPS  192(AX), X13
	MOVUPS  208(AX), X14
	MOVUPS  224(AX), X15
	MOVUPS  (R8), X11
`

// shaLoad and shaStore move the chaining value (h at DI) in and out of
// the ABEF/CDGH register layout SHA256RNDS2 works on; shaLoad also loads
// the constants' address (R9) and the byte-order mask (X8).
const shaLoad = `	LEAQ    k256<>+0(SB), R9
	VMOVDQU flipMask<>+0(SB), X8
` + shaLoadState

const shaLoadState = `	VMOVDQU (DI), X1
	VMOVDQU 16(DI), X2
	PSHUFD  $0xb1, X1, X1
	PSHUFD  $0x1b, X2, X2
	VMOVDQA X1, X7
	PALIGNR $0x08, X2, X1
	PBLENDW $0xf0, X7, X2
`

const cbcEpilogue = `	PADDD X9, X1
	PADDD X10, X2
	ADDQ  $0x40, SI
	ADDQ  $0x40, BX
	ADDQ  $0x40, DX
	SUBQ  $0x40, CX
	JNZ   loop

	MOVUPS  X11, (R8)
`

const shaStore = `	PSHUFD  $0x1b, X1, X1
	PSHUFD  $0xb1, X2, X2
	VMOVDQA X1, X7
	PBLENDW $0xf0, X2, X1
	PALIGNR $0x08, X7, X2
	VMOVDQU X1, (DI)
	VMOVDQU X2, 16(DI)
	RET

`

const blocksPrologue = `// func sha256Blocks(h *[8]uint32, p *byte, n int)
// Runs the SHA-256 compression function over n bytes of p, updating h. n
// is a positive multiple of 64. Requires: AVX, SHA, SSE4.1, SSSE3.
TEXT ·sha256Blocks(SB), NOSPLIT, $0-24
	MOVQ    h+0(FP), DI
	MOVQ    p+8(FP), SI
	MOVQ    n+16(FP), CX
`

const pbkdf2Prologue = `// func pbkdf2SHA256Rounds(inner, outer *[8]uint32, block *[64]byte, acc *[32]byte, n int)
// Runs n PBKDF2-HMAC-SHA256 iterations after the first (RFC 8018 §5.2):
// block holds U_i (32 bytes) and the padding of a message of 64 + 32 bytes;
// each iteration replaces it with U_{i+1} = HMAC(U_i), computed from the
// chaining values inner and outer of the key's pad blocks, and XORs it
// into acc. n is positive. Requires: AVX, SHA, SSE4.1, SSSE3.
TEXT ·pbkdf2SHA256Rounds(SB), NOSPLIT, $0-40
	MOVQ    inner+0(FP), DI
	MOVQ    block+16(FP), SI
	MOVQ    acc+24(FP), R8
	MOVQ    n+32(FP), CX
` + shaLoad + `	VMOVDQA X1, X11
	VMOVDQA X2, X12
	MOVQ    outer+8(FP), DI
` + shaLoadState + `	VMOVDQA X1, X13
	VMOVDQA X2, X14

loop:
`

// pbkdf2Digest finishes one compression and writes the digest, big
// endian, over the first half of the block: the next hash's message.
const pbkdf2Digest = `	PADDD   X9, X1
	PADDD   X10, X2
	PSHUFD  $0x1b, X1, X1
	PSHUFD  $0xb1, X2, X2
	VMOVDQA X1, X7
	PBLENDW $0xf0, X2, X1
	PALIGNR $0x08, X7, X2
	PSHUFB  X8, X1
	PSHUFB  X8, X2
	VMOVDQU X1, (SI)
	VMOVDQU X2, 16(SI)
`

const pbkdf2Epilogue = `	VPXOR   (R8), X1, X15
	VMOVDQU X15, (R8)
	VPXOR   16(R8), X2, X15
	VMOVDQU X15, 16(R8)
	DECQ    CX
	JNZ     loop
	RET
`

const blocksEpilogue = `	PADDD X9, X1
	PADDD X10, X2
	ADDQ  $0x40, SI
	SUBQ  $0x40, CX
	JNZ   loop

`
