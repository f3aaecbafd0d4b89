package cms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"io"
	"testing"
)

// Throughput of the codec alone (no disk), and the cost of opening many
// files sealed under one password. "make bench" also compares the CLI with
// "openssl cms" on a large file.

const benchSize = 64 << 20

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func benchmarkEncrypt(b *testing.B, opts *Options) {
	data := make([]byte, 1<<20)
	r := passwordRecipient(b)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		w, err := Encrypt(discard{}, benchSize, opts, r)
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < benchSize; n += len(data) {
			w.Write(data)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptDigested(b *testing.B) { benchmarkEncrypt(b, nil) }
func BenchmarkEncryptPlain(b *testing.B)    { benchmarkEncrypt(b, &Options{PlainData: true}) }

func BenchmarkDecryptDigested(b *testing.B) {
	sealed := seal(b, make([]byte, benchSize), nil, passwordRecipient(b))
	id := passwordIdentity(b, testPassword)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		r, err := Decrypt(bytes.NewReader(sealed), id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen1000FilesOneSalt opens 1000 small files sealed with one
// PasswordRecipient (one salt, 600 000 iterations) with one identity, and
// reports the PBKDF2 runs per 1000 files: 1.
func BenchmarkOpen1000FilesOneSalt(b *testing.B) {
	r, err := NewPasswordRecipient([]byte(testPassword), nil) // defaults: 600 000 iterations
	if err != nil {
		b.Fatal(err)
	}
	files := make([][]byte, 1000)
	for i := range files {
		files[i] = seal(b, bytes.Repeat([]byte{byte(i)}, 2048), nil, r)
	}
	b.ResetTimer()
	var derivations int64
	for range b.N {
		id := passwordIdentity(b, testPassword)
		for _, f := range files {
			if _, _, err := open(f, id); err != nil {
				b.Fatal(err)
			}
		}
		derivations += id.Derivations()
	}
	b.ReportMetric(float64(derivations)/float64(b.N), "PBKDF2/1000files")
}

// BenchmarkPBKDF2Default is one key derivation with the sealing defaults:
// what every file would cost a reader without a shared salt.
func BenchmarkPBKDF2Default(b *testing.B) {
	for range b.N {
		if _, err := NewPasswordRecipient([]byte(testPassword), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCBCStdlib and BenchmarkCBCContent compare crypto/cipher's CBC
// with the content cipher's (the AES-NI loops on amd64), both directions.
func BenchmarkCBCStdlib(b *testing.B) {
	blk, _ := aes.NewCipher(make([]byte, 32))
	benchCBC(b, cipher.NewCBCEncrypter(blk, make([]byte, 16)), cipher.NewCBCDecrypter(blk, make([]byte, 16)))
}

func BenchmarkCBCContent(b *testing.B) {
	ci, _ := AES256CBC.info()
	e, _ := newCBCEncrypter(ci, make([]byte, 32), make([]byte, 16))
	d, _ := newCBCDecrypter(ci, make([]byte, 32), make([]byte, 16))
	benchCBC(b, e, d)
}

func benchCBC(b *testing.B, enc, dec cipher.BlockMode) {
	for name, m := range map[string]cipher.BlockMode{"encrypt": enc, "decrypt": dec} {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				m.CryptBlocks(buf, buf)
			}
		})
	}
}

// BenchmarkEncryptTwoPasses is BenchmarkEncryptDigested with the digest
// and the cipher as separate passes: the figure the one-pass loop
// (sha256cbc_amd64.s) is measured against.
func BenchmarkEncryptTwoPasses(b *testing.B) {
	data := make([]byte, 1<<20)
	r := passwordRecipient(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		w, err := Encrypt(discard{}, benchSize, nil, r)
		if err != nil {
			b.Fatal(err)
		}
		w.onePass = nil
		for n := 0; n < benchSize; n += len(data) {
			w.Write(data)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPBKDF2Stdlib is the derivation of BenchmarkPBKDF2Default by
// crypto/pbkdf2, which deriveKey replaces for HMAC-SHA-256 (pbkdf2.go).
func BenchmarkPBKDF2Stdlib(b *testing.B) {
	salt := make([]byte, 16)
	for b.Loop() {
		if _, err := pbkdf2.Key(sha256.New, testPassword, salt, DefaultIterations, 32); err != nil {
			b.Fatal(err)
		}
	}
}
