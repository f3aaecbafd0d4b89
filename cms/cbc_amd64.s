// AES-256-CBC encryption and decryption with AES-NI, for the content of sealed files.
//
// expandKey256 and decKeys256 are the AES-256 parts of expandKeyAsm and its helpers from the
// Go standard library (crypto/internal/fips140/aes/aes_amd64.s, Go 1.26),
// Copyright 2012 The Go Authors, BSD-style licence (https://go.dev/LICENSE).
// cbcEncrypt256 is encryptBlockAsm's round sequence in a loop that keeps
// the round keys in registers and chains the blocks (FIPS 197; SP 800-38A
// §6.2), which the standard library runs one function call per block.

//go:build amd64 && !purego

#include "textflag.h"

// func expandKey256(key *byte, xk *uint32)
// Writes the 15 round keys (240 bytes) of a 32-byte key.
TEXT ·expandKey256(SB), NOSPLIT, $0-16
	MOVQ            key+0(FP), AX
	MOVQ            xk+8(FP), BX
	MOVUPS          (AX), X0
	MOVUPS          X0, (BX)
	ADDQ            $0x10, BX
	PXOR            X4, X4
	MOVUPS          16(AX), X2
	MOVUPS          X2, (BX)
	ADDQ            $0x10, BX
	AESKEYGENASSIST $0x01, X2, X1
	CALL            expand256a<>(SB)
	AESKEYGENASSIST $0x01, X0, X1
	CALL            expand256b<>(SB)
	AESKEYGENASSIST $0x02, X2, X1
	CALL            expand256a<>(SB)
	AESKEYGENASSIST $0x02, X0, X1
	CALL            expand256b<>(SB)
	AESKEYGENASSIST $0x04, X2, X1
	CALL            expand256a<>(SB)
	AESKEYGENASSIST $0x04, X0, X1
	CALL            expand256b<>(SB)
	AESKEYGENASSIST $0x08, X2, X1
	CALL            expand256a<>(SB)
	AESKEYGENASSIST $0x08, X0, X1
	CALL            expand256b<>(SB)
	AESKEYGENASSIST $0x10, X2, X1
	CALL            expand256a<>(SB)
	AESKEYGENASSIST $0x10, X0, X1
	CALL            expand256b<>(SB)
	AESKEYGENASSIST $0x20, X2, X1
	CALL            expand256a<>(SB)
	AESKEYGENASSIST $0x20, X0, X1
	CALL            expand256b<>(SB)
	AESKEYGENASSIST $0x40, X2, X1
	CALL            expand256a<>(SB)
	RET

TEXT expand256a<>(SB), NOSPLIT, $0
	PSHUFD $0xff, X1, X1
	SHUFPS $0x10, X0, X4
	PXOR   X4, X0
	SHUFPS $0x8c, X0, X4
	PXOR   X4, X0
	PXOR   X1, X0
	MOVUPS X0, (BX)
	ADDQ   $0x10, BX
	RET

TEXT expand256b<>(SB), NOSPLIT, $0
	PSHUFD $0xaa, X1, X1
	SHUFPS $0x10, X2, X4
	PXOR   X4, X2
	SHUFPS $0x8c, X2, X4
	PXOR   X4, X2
	PXOR   X1, X2
	MOVUPS X2, (BX)
	ADDQ   $0x10, BX
	RET

// func cbcEncrypt256(xk *uint32, iv *[16]byte, dst *byte, src *byte, n int)
// n is a positive multiple of 16; dst and src are the same or disjoint.
// iv is updated to the last ciphertext block, so calls chain.
TEXT ·cbcEncrypt256(SB), NOSPLIT, $0-40
	MOVQ   xk+0(FP), AX
	MOVQ   iv+8(FP), R8
	MOVQ   dst+16(FP), DX
	MOVQ   src+24(FP), BX
	MOVQ   n+32(FP), CX
	// Round keys 1..14 stay in X2..X15; round key 0 is read from memory
	// each block because X1 is needed to load the plaintext.
	MOVUPS 16(AX), X2
	MOVUPS 32(AX), X3
	MOVUPS 48(AX), X4
	MOVUPS 64(AX), X5
	MOVUPS 80(AX), X6
	MOVUPS 96(AX), X7
	MOVUPS 112(AX), X8
	MOVUPS 128(AX), X9
	MOVUPS 144(AX), X10
	MOVUPS 160(AX), X11
	MOVUPS 176(AX), X12
	MOVUPS 192(AX), X13
	MOVUPS 208(AX), X14
	MOVUPS 224(AX), X15
	MOVUPS (R8), X0

loop:
	MOVUPS     (BX), X1
	PXOR       X1, X0
	MOVUPS     (AX), X1
	PXOR       X1, X0
	AESENC     X2, X0
	AESENC     X3, X0
	AESENC     X4, X0
	AESENC     X5, X0
	AESENC     X6, X0
	AESENC     X7, X0
	AESENC     X8, X0
	AESENC     X9, X0
	AESENC     X10, X0
	AESENC     X11, X0
	AESENC     X12, X0
	AESENC     X13, X0
	AESENC     X14, X0
	AESENCLAST X15, X0
	MOVUPS     X0, (DX)
	ADDQ       $0x10, BX
	ADDQ       $0x10, DX
	SUBQ       $0x10, CX
	JNZ        loop

	MOVUPS X0, (R8)
	RET

// func decKeys256(enc *uint32, dec *uint32)
// The decryption round keys of the equivalent inverse cipher (FIPS 197
// §5.3.5): the encryption keys in reverse order, InvMixColumns applied to
// all but the first and last (as expandKeyAsm's "dec" part does).
TEXT ·decKeys256(SB), NOSPLIT, $0-16
	MOVQ   enc+0(FP), AX
	MOVQ   dec+8(FP), DX
	MOVUPS 224(AX), X0
	MOVUPS X0, (DX)
	MOVQ   $13, CX
	ADDQ   $208, AX

declo:
	MOVUPS (AX), X1
	AESIMC X1, X0
	MOVUPS X0, 16(DX)
	SUBQ   $0x10, AX
	ADDQ   $0x10, DX
	DECQ   CX
	JNZ    declo
	MOVUPS (AX), X0
	MOVUPS X0, 16(DX)
	RET

// func cbcDecrypt256(xk *uint32, iv *[16]byte, dst *byte, src *byte, n int)
// xk holds decryption round keys (decKeys256). n is a positive multiple
// of 16; dst and src are the same or disjoint. CBC decryption has no chain
// through the cipher, so four blocks go through the rounds together.
// iv is updated to the last ciphertext block, so calls chain.
TEXT ·cbcDecrypt256(SB), NOSPLIT, $0-40
	MOVQ   xk+0(FP), AX
	MOVQ   iv+8(FP), R8
	MOVQ   dst+16(FP), DX
	MOVQ   src+24(FP), BX
	MOVQ   n+32(FP), CX
	MOVUPS (R8), X9

four:
	CMPQ       CX, $0x40
	JB         one
	MOVUPS     (BX), X0
	MOVUPS     16(BX), X1
	MOVUPS     32(BX), X2
	MOVUPS     48(BX), X3
	MOVAPS     X0, X5
	MOVAPS     X1, X6
	MOVAPS     X2, X7
	MOVAPS     X3, X8
	MOVUPS     (AX), X4
	PXOR       X4, X0
	PXOR       X4, X1
	PXOR       X4, X2
	PXOR       X4, X3
	MOVQ       $1, R9
	MOVQ       AX, R10

round4:
	ADDQ       $0x10, R10
	MOVUPS     (R10), X4
	AESDEC     X4, X0
	AESDEC     X4, X1
	AESDEC     X4, X2
	AESDEC     X4, X3
	INCQ       R9
	CMPQ       R9, $14
	JB         round4
	MOVUPS     224(AX), X4
	AESDECLAST X4, X0
	AESDECLAST X4, X1
	AESDECLAST X4, X2
	AESDECLAST X4, X3
	PXOR       X9, X0
	PXOR       X5, X1
	PXOR       X6, X2
	PXOR       X7, X3
	MOVAPS     X8, X9
	MOVUPS     X0, (DX)
	MOVUPS     X1, 16(DX)
	MOVUPS     X2, 32(DX)
	MOVUPS     X3, 48(DX)
	ADDQ       $0x40, BX
	ADDQ       $0x40, DX
	SUBQ       $0x40, CX
	JMP        four

one:
	TESTQ      CX, CX
	JZ         done
	MOVUPS     (BX), X0
	MOVAPS     X0, X5
	MOVUPS     (AX), X4
	PXOR       X4, X0
	MOVQ       $1, R9
	MOVQ       AX, R10

round1:
	ADDQ       $0x10, R10
	MOVUPS     (R10), X4
	AESDEC     X4, X0
	INCQ       R9
	CMPQ       R9, $14
	JB         round1
	MOVUPS     224(AX), X4
	AESDECLAST X4, X0
	PXOR       X9, X0
	MOVAPS     X5, X9
	MOVUPS     X0, (DX)
	ADDQ       $0x10, BX
	ADDQ       $0x10, DX
	SUBQ       $0x10, CX
	JMP        one

done:
	MOVUPS X9, (R8)
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET
