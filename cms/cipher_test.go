package cms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
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
		w := newCBCWriter(&out, block, iv)
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
