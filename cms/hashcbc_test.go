package cms

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// sealInPieces seals data written in pieces of the given sizes (cycled),
// with randomness from seed, through the one-pass loop or the two separate
// passes. It returns the sealed bytes and the digest the writer reports.
func sealInPieces(t *testing.T, data []byte, pieces []int, seed uint64, onePass bool) ([]byte, []byte) {
	t.Helper()
	var buf bytes.Buffer
	opts := &Options{Rand: rand.NewChaCha8([32]byte{byte(seed)})}
	w, err := Encrypt(&buf, int64(len(data)), opts, passwordRecipient(t))
	if err != nil {
		t.Fatal(err)
	}
	if !onePass {
		w.onePass = nil
	}
	for i, rest := 0, data; len(rest) > 0; i++ {
		n := min(pieces[i%len(pieces)], len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, d := w.Digest()
	return buf.Bytes(), d
}

// TestOnePassSameAsTwoPasses: whatever the sizes and the way the plaintext
// is cut into writes (which moves the digest's and the cipher's boundaries
// against each other), the one-pass loop writes the very bytes the two
// separate passes write, and the digest is SHA-256 of the plaintext.
func TestOnePassSameAsTwoPasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 63, 64, 1023, 1024, 1087, 4113, 65536 + 64, 200_003, 1<<20 + 5}
	cuts := [][]int{{1 << 30}, {1}, {7, 1031}, {32 << 10}, {65536 + 3}, {13, 64, 5000, 1}}
	for _, size := range sizes {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		want := sha256.Sum256(data)
		for ci, cut := range cuts {
			if cut[0] == 1 && size > 5000 {
				continue // byte by byte is slow and says nothing more
			}
			t.Run(fmt.Sprintf("%d/%d", size, ci), func(t *testing.T) {
				one, d1 := sealInPieces(t, data, cut, uint64(size), true)
				two, d2 := sealInPieces(t, data, cut, uint64(size), false)
				if !bytes.Equal(one, two) {
					t.Fatalf("sealed bytes differ (%d vs %d bytes)", len(one), len(two))
				}
				if !bytes.Equal(d1, want[:]) || !bytes.Equal(d2, want[:]) {
					t.Fatalf("digest %x / %x, want %x", d1, d2, want)
				}
				got, _, err := open(one, passwordIdentity(t, testPassword))
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("does not open to the plaintext: %v", err)
				}
			})
		}
	}
}

// TestLendingDestinations: ciphertext written into a destination's spare
// capacity (bytes.Buffer, bufio.Writer of any size) or through the
// writer's own buffer (a plain io.Writer) gives the same sealed bytes.
func TestLendingDestinations(t *testing.T) {
	data := make([]byte, 300_001)
	for i := range data {
		data[i] = byte(i * 7)
	}
	sealTo := func(dst io.Writer) {
		w, err := Encrypt(dst, int64(len(data)), &Options{Rand: rand.NewChaCha8([32]byte{9})}, passwordRecipient(t))
		if err != nil {
			t.Fatal(err)
		}
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 100_003)
			w.Write(rest[:n])
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var lent bytes.Buffer
	sealTo(&lent)
	var plain bytes.Buffer
	sealTo(struct{ io.Writer }{&plain}) // hides AvailableBuffer
	for _, size := range []int{16, 4096, 1 << 20} {
		var out bytes.Buffer
		bw := bufio.NewWriterSize(&out, size)
		sealTo(bw)
		bw.Flush()
		if !bytes.Equal(out.Bytes(), plain.Bytes()) {
			t.Errorf("through a %d-byte bufio.Writer: different bytes", size)
		}
	}
	if !bytes.Equal(lent.Bytes(), plain.Bytes()) {
		t.Error("into a bytes.Buffer's spare capacity: different bytes")
	}
}
