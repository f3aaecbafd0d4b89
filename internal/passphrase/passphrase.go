// Package passphrase generates random passphrases for password-protected
// Secure DICOM Files: words drawn uniformly, with crypto/rand, from an
// embedded word list and joined with "-".
//
// The word list (wordlist.txt, see WORDLIST.md) is the BIP-39 English list
// with every look-alike word removed: no two words are within one edit
// (insertion, deletion, substitution or adjacent transposition) of each
// other, and no two become equal when visually confusable letters are folded
// (rn/m, vv/w, cl/d, i/l/1, o/0). Every word is lowercase a-z, so a
// passphrase is printable US-ASCII, the only characters DICOM PS3.15 D.1.1
// allows in a password (Default Character Repertoire).
package passphrase

import (
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strings"
)

// Separator joins the words of a passphrase.
const Separator = "-"

// MinBits is the least entropy, in bits, a passphrase should have.
const MinBits = 80

// DefaultWords is the number of words in a default passphrase. With the
// embedded list of 1647 words it gives about 85.5 bits of entropy (see
// EntropyBits); TestDefaultEntropy keeps it at or above MinBits.
const DefaultWords = 8

//go:embed wordlist.txt
var wordlistTxt string

// wordlist is the parsed word list, in file order.
var wordlist = strings.Split(strings.TrimSuffix(wordlistTxt, "\n"), "\n")

// ListSize returns the number of words in the embedded word list.
func ListSize() int { return len(wordlist) }

// IsWord reports whether w is in the word list.
func IsWord(w string) bool {
	_, found := slices.BinarySearch(wordlist, w) // the list is sorted
	return found
}

// EntropyBits returns the entropy, in bits, of a passphrase of the given
// number of words: words × log2(ListSize()). Each word is an independent
// uniform choice, so this is exact, not an estimate of guessability by
// pattern. It returns 0 for words <= 0.
func EntropyBits(words int) float64 {
	if words <= 0 {
		return 0
	}
	return float64(words) * math.Log2(float64(len(wordlist)))
}

// MinWords returns the least number of words whose passphrase has at least
// bits of entropy.
func MinWords(bits float64) int {
	if bits <= 0 {
		return 1
	}
	n := int(math.Ceil(bits / math.Log2(float64(len(wordlist)))))
	for EntropyBits(n) < bits { // guard against rounding in the division
		n++
	}
	return n
}

// ErrWordCount is returned for a word count below 1.
var ErrWordCount = errors.New("passphrase: word count must be at least 1")

// Generate returns a passphrase of the given number of words, each chosen
// uniformly and independently from the word list with crypto/rand, joined
// with Separator. It does not enforce MinBits; callers that take the word
// count from a user should check EntropyBits (or MinWords) first.
func Generate(words int) (string, error) {
	return generate(rand.Reader, words)
}

// generate is Generate with the random source as a parameter, for tests.
func generate(r io.Reader, words int) (string, error) {
	if words < 1 {
		return "", ErrWordCount
	}
	n := big.NewInt(int64(len(wordlist)))
	picked := make([]string, words)
	for i := range picked {
		// rand.Int rejects out-of-range samples instead of reducing
		// them modulo n, so every word is equally likely.
		k, err := rand.Int(r, n)
		if err != nil {
			return "", fmt.Errorf("passphrase: reading random numbers: %w", err)
		}
		picked[i] = wordlist[k.Int64()]
	}
	return strings.Join(picked, Separator), nil
}
