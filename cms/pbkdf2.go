package cms

import (
	"crypto"
	"crypto/fips140"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
)

// deriveKey is PBKDF2 (RFC 8018 §5.2), with the result of
// crypto/pbkdf2.Key. For HMAC-SHA-256 and keys of at most 32 bytes (one
// PBKDF2 block, which covers every key-encryption key here) it uses its
// own loop where the CPU has the SHA extensions.
//
// Why: every disc costs one derivation before anything can be sealed or
// opened (600 000 iterations by default), and that time is spent on one
// core while the others wait. Each iteration is two SHA-256 compressions
// from precomputed HMAC pad states; crypto/pbkdf2 pays for a general HMAC
// on top of them (state copies, padding, a Sum per call), about 167 ns an
// iteration on the machine we measure on. An assembly loop
// (pbkdf2SHA256Rounds in sha256cbc_amd64.s) keeps the pad states in
// registers and pays the two compressions: 600 000 iterations take 54 ms
// instead of 100 (BenchmarkPBKDF2Default against BenchmarkPBKDF2Stdlib).
// In FIPS 140 mode the standard library's validated code is used.
func deriveKey(prf crypto.Hash, password string, salt []byte, iter, keyLen int) ([]byte, error) {
	if platformPBKDF2 != nil && !fips140.Enabled() {
		if k, ok := platformPBKDF2(prf, password, salt, iter, keyLen); ok {
			return k, nil
		}
	}
	if haveSHA256 && prf == crypto.SHA256 && keyLen > 0 && keyLen <= sha256.Size && iter >= 1 && !fips140.Enabled() {
		return pbkdf2HMACSHA256([]byte(password), salt, iter)[:keyLen], nil
	}
	return pbkdf2.Key(prf.New, password, salt, iter, keyLen)
}

// platformPBKDF2, where set (pbkdf2_js.go), is the platform's own PBKDF2;
// ok false: it could not, and the code here runs instead.
var platformPBKDF2 func(prf crypto.Hash, password string, salt []byte, iter, keyLen int) (key []byte, ok bool)

// pbkdf2Slice is how many iterations one call of the assembly loop runs:
// about 0.4 ms, the longest a stop-the-world pause waits for it.
const pbkdf2Slice = 4000

// sha256IV is SHA-256's initial chaining value (FIPS 180-4 §5.3.3).
var sha256IV = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// pbkdf2HMACSHA256 returns T_1 = U_1 ^ U_2 ^ ... ^ U_iter, the first
// 32-byte block of PBKDF2 with HMAC-SHA-256 (RFC 8018 §5.2, RFC 2104).
// It needs haveSHA256.
func pbkdf2HMACSHA256(password, salt []byte, iter int) []byte {
	// The HMAC key pads, each compressed once: every later HMAC starts
	// from these two states.
	key := password
	if len(key) > 64 {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	var pad [64]byte
	inner, outer := sha256IV, sha256IV
	for i := range pad {
		pad[i] = 0x36
	}
	for i, c := range key {
		pad[i] ^= c
	}
	sha256Compress(&inner, pad[:])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	sha256Compress(&outer, pad[:])
	clear(pad[:])

	// U_1 = HMAC(salt || INT(1)), of any salt length: the general code.
	mac := hmac.New(sha256.New, password)
	mac.Write(salt)
	mac.Write([]byte{0, 0, 0, 1})
	var t [32]byte
	mac.Sum(t[:0])

	// U_i = HMAC(U_{i-1}): a 32-byte message, so both the inner and the
	// outer hash are one final block: 32 bytes, 0x80, zeros, and the bit
	// length of pad block plus message (RFC 6234 §4.1). The assembly loop
	// runs both compressions of every iteration and XORs each U_i into t.
	var msg [64]byte
	copy(msg[:], t[:])
	msg[32] = 0x80
	binary.BigEndian.PutUint64(msg[56:], (64+32)*8)
	// In slices, yielding between them: the runtime cannot preempt an
	// assembly loop, and a garbage collection that stops the world waited
	// for the whole derivation (43 ms, stopping burn's scan with it).
	for left := iter - 1; left > 0; {
		n := min(left, pbkdf2Slice)
		pbkdf2SHA256Rounds(&inner, &outer, &msg, &t, n)
		left -= n
		runtime.Gosched()
	}
	clear(msg[:])
	return t[:]
}
