package passphrase

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDefaultEntropy(t *testing.T) {
	if got := EntropyBits(DefaultWords); got < MinBits {
		t.Fatalf("EntropyBits(DefaultWords=%d) = %.2f, want >= %d", DefaultWords, got, MinBits)
	}
	if MinWords(MinBits) > DefaultWords {
		t.Fatalf("MinWords(%d) = %d > DefaultWords %d", MinBits, MinWords(MinBits), DefaultWords)
	}
}

func TestEntropyBits(t *testing.T) {
	per := math.Log2(float64(ListSize()))
	for _, n := range []int{1, 2, 7, 8, 12} {
		if got, want := EntropyBits(n), float64(n)*per; math.Abs(got-want) > 1e-9 {
			t.Errorf("EntropyBits(%d) = %v, want %v", n, got, want)
		}
	}
	if EntropyBits(0) != 0 || EntropyBits(-3) != 0 {
		t.Error("EntropyBits of a non-positive count is not 0")
	}
	if ListSize() != len(wordlist) {
		t.Errorf("ListSize() = %d, want %d", ListSize(), len(wordlist))
	}
}

func TestMinWords(t *testing.T) {
	for _, bits := range []float64{1, 10, 50, 80, 80.5, 128} {
		n := MinWords(bits)
		if EntropyBits(n) < bits {
			t.Errorf("MinWords(%v) = %d gives only %.2f bits", bits, n, EntropyBits(n))
		}
		if n > 1 && EntropyBits(n-1) >= bits {
			t.Errorf("MinWords(%v) = %d is not minimal", bits, n)
		}
	}
	if MinWords(0) != 1 {
		t.Errorf("MinWords(0) = %d, want 1", MinWords(0))
	}
}

func TestIsWord(t *testing.T) {
	for _, w := range wordlist {
		if !IsWord(w) {
			t.Fatalf("IsWord(%q) = false", w)
		}
	}
	for _, w := range []string{"", "a", "zzz", "car", "Abandon", "abandon-", "aaa"} {
		if IsWord(w) {
			t.Errorf("IsWord(%q) = true", w)
		}
	}
}

func TestGenerateFormat(t *testing.T) {
	for _, n := range []int{1, 2, DefaultWords, 20} {
		for range 50 {
			p, err := Generate(n)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(p); i++ {
				if c := p[i]; c < 0x20 || c > 0x7e {
					t.Fatalf("%q: byte 0x%02x outside printable US-ASCII", p, c)
				}
				if c := p[i]; c != '-' && (c < 'a' || c > 'z') {
					t.Fatalf("%q: byte %q is neither a-z nor '-'", p, c)
				}
			}
			words := strings.Split(p, Separator)
			if len(words) != n {
				t.Fatalf("%q: %d words, want %d", p, len(words), n)
			}
			for _, w := range words {
				if !IsWord(w) {
					t.Fatalf("%q: word %q is not in the list", p, w)
				}
			}
		}
	}
}

func TestGenerateDiffers(t *testing.T) {
	a, err := Generate(DefaultWords)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(DefaultWords)
	if err != nil {
		t.Fatal(err)
	}
	// Equal with probability 2^-85: a failure means a broken random source.
	if a == b {
		t.Fatalf("two passphrases are equal: %q", a)
	}
}

func TestGenerateBadCount(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := Generate(n); !errors.Is(err, ErrWordCount) {
			t.Errorf("Generate(%d): err = %v, want ErrWordCount", n, err)
		}
	}
}

func TestGenerateRandomError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := generate(iotest.ErrReader(boom), 3); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapping %v", err, boom)
	}
}

// TestGenerateUsesReader checks that words come from the random source:
// all-zero input selects the first word of the list every time.
func TestGenerateUsesReader(t *testing.T) {
	p, err := generate(bytes.NewReader(make([]byte, 64)), 3)
	if err != nil {
		t.Fatal(err)
	}
	w := wordlist[0]
	if want := w + "-" + w + "-" + w; p != want {
		t.Fatalf("got %q, want %q", p, want)
	}
}

// TestGenerateCoversList is a coarse uniformity check: over many draws every
// word index range is hit, first and last words included.
func TestGenerateCoversList(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	index := make(map[string]int, len(wordlist))
	for i, w := range wordlist {
		index[w] = i
	}
	const buckets = 16
	var hits [buckets]int
	const draws = 200 // × 100 words
	for range draws {
		p, err := Generate(100)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range strings.Split(p, Separator) {
			hits[index[w]*buckets/len(wordlist)]++
		}
	}
	// 20000 draws, about 1240 expected per bucket, σ ≈ 34: the bounds are
	// over 7σ away, so a failure means a biased choice, not bad luck.
	for b, h := range hits {
		if h < 1000 || h > 1500 {
			t.Errorf("bucket %d: %d hits, expected about %d", b, h, draws*100/buckets)
		}
	}
}
