package cms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestCBCWriterAnyWriteSizes checks that the ciphertext does not depend on
// how the plaintext is cut into writes (whole blocks, odd pieces, pieces
// larger than the internal chunk): it must equal a one-shot CBC encryption
// of the padded plaintext.
func TestCBCWriterAnyWriteSizes(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	iv := bytes.Repeat([]byte{9}, 16)
	plain := make([]byte, 3*cbcChunk+37)
	for i := range plain {
		plain[i] = byte(i * 31)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pad := 16 - len(plain)%16
	want := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(want, want)

	for _, piece := range []int{1, 15, 16, 17, 4096, cbcChunk - 1, cbcChunk, cbcChunk + 16, len(plain)} {
		var out bytes.Buffer
		w := newCBCWriter(&out, cipher.NewCBCEncrypter(block, iv))
		for rest := plain; len(rest) > 0; {
			k := min(piece, len(rest))
			if n, err := w.Write(rest[:k]); n != k || err != nil {
				t.Fatalf("piece %d: Write = %d, %v", piece, n, err)
			}
			rest = rest[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("writes of %d bytes: ciphertext differs from one-shot CBC", piece)
		}
	}
}

// TestCBCMatchesStandardLibrary checks the content cipher's CBC in both
// directions (the AES-NI loops for AES-256 where they exist) against
// crypto/cipher for every key size, random keys, IVs and lengths (four-block
// groups and leftovers), in place and not, with the chaining carried across
// calls.
func TestCBCMatchesStandardLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type modes func(ci cipherInfo, key, iv []byte) (ours, std cipher.BlockMode)
	directions := map[string]modes{
		"encrypt": func(ci cipherInfo, key, iv []byte) (cipher.BlockMode, cipher.BlockMode) {
			m, err := newCBCEncrypter(ci, key, iv)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := ci.new(key)
			return m, cipher.NewCBCEncrypter(block, iv)
		},
		"decrypt": func(ci cipherInfo, key, iv []byte) (cipher.BlockMode, cipher.BlockMode) {
			m, err := newCBCDecrypter(ci, key, iv)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := ci.new(key)
			return m, cipher.NewCBCDecrypter(block, iv)
		},
	}
	for dir, newModes := range directions {
		for _, c := range []Cipher{AES256CBC, AES128CBC, AES192CBC, DES3CBC} {
			ci, _ := c.info()
			for trial := range 200 {
				key, iv := make([]byte, ci.keyLen), make([]byte, ci.blockSize)
				fill(rng, key)
				fill(rng, iv)
				got, want := newModes(ci, key, iv)
				for call := range 3 {
					n := ci.blockSize * rng.IntN(300)
					src := make([]byte, n)
					fill(rng, src)
					wantOut := make([]byte, n)
					want.CryptBlocks(wantOut, src)
					gotOut := make([]byte, n)
					if call == 1 { // in place
						copy(gotOut, src)
						got.CryptBlocks(gotOut, gotOut)
					} else {
						got.CryptBlocks(gotOut, src)
					}
					if !bytes.Equal(gotOut, wantOut) {
						t.Fatalf("%s %v trial %d call %d (%d bytes): differs from crypto/cipher", dir, c, trial, call, n)
					}
				}
			}
		}
	}
}

// TestAES256KnownAnswer is FIPS 197 Appendix C.3 through the content
// cipher with a zero IV (one CBC block is one AES block then), both ways.
func TestAES256KnownAnswer(t *testing.T) {
	ci, _ := AES256CBC.info()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	plain, _ := hex.DecodeString("00112233445566778899aabbccddeeff")
	want, _ := hex.DecodeString("8ea2b7ca516745bfeafc49904b496089")
	m, err := newCBCEncrypter(ci, key, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16)
	m.CryptBlocks(got, plain)
	if !bytes.Equal(got, want) {
		t.Fatalf("AES-256(FIPS 197 C.3) = %x, want %x", got, want)
	}
	d, err := newCBCDecrypter(ci, key, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	d.CryptBlocks(got, want)
	if !bytes.Equal(got, plain) {
		t.Fatalf("AES-256 inverse(FIPS 197 C.3) = %x, want %x", got, plain)
	}
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}
