package passphrase

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"strings"
	"testing"
)

// The committed wordlist.txt is derived from testdata/bip39-english.txt by
// filterLookalikes. TestWordlistFile re-derives it and fails if the file
// differs; after changing the filter, regenerate the file with
//
//	go test ./internal/passphrase -run TestWordlistFile -update
var update = flag.Bool("update", false, "rewrite wordlist.txt from testdata/bip39-english.txt")

const (
	sourceFile = "testdata/bip39-english.txt"
	// sourceSHA256 is the SHA-256 of the canonical BIP-39 English list
	// (2048 words, one per line, final newline).
	sourceSHA256 = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"
)

// lookalikeFold maps a word to a "skeleton" in which visually confusable
// letter groups are made equal: two words with the same skeleton can be
// misread as each other in print or handwriting.
var lookalikeFold = strings.NewReplacer(
	"rn", "m",
	"vv", "w",
	"cl", "d",
	"i", "l", "1", "l", "|", "l",
	"0", "o",
)

func skeleton(w string) string { return lookalikeFold.Replace(w) }

// editDistance is the optimal-string-alignment distance: the Levenshtein
// distance (insertions, deletions, substitutions) extended with adjacent
// transpositions, so that e.g. "form" and "from" are at distance 1. It is
// never greater than the Levenshtein distance, so "editDistance > 1" implies
// "Levenshtein distance > 1".
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// lookalike reports whether a and b could be mistaken for each other.
func lookalike(a, b string) bool {
	return editDistance(a, b) <= 1 || skeleton(a) == skeleton(b)
}

// filterLookalikes keeps each word, in list order, unless it is a look-alike
// of a word already kept. The result is deterministic and free of
// look-alike pairs; a word is only dropped in favour of an earlier kept one.
func filterLookalikes(words []string) []string {
	var kept []string
	for _, w := range words {
		ok := true
		for _, k := range kept {
			if lookalike(k, w) {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, w)
		}
	}
	return kept
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"build", "built", 1},
		{"woman", "women", 1}, {"act", "fact", 1}, {"form", "from", 1},
		{"kitten", "sitting", 3}, {"abc", "abc", 0}, {"ca", "abc", 3},
	} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := editDistance(c.b, c.a); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.d)
		}
	}
}

func TestLookalike(t *testing.T) {
	for _, p := range [][2]string{
		{"corn", "com"}, {"modern", "modem"}, {"clog", "dog"}, {"vvill", "will"},
		{"film", "fiim"}, {"bill", "biil"}, {"lo0k", "look"}, {"cat", "car"},
	} {
		if !lookalike(p[0], p[1]) {
			t.Errorf("lookalike(%q, %q) = false, want true", p[0], p[1])
		}
	}
	for _, p := range [][2]string{{"abandon", "zoo"}, {"apple", "lemon"}} {
		if lookalike(p[0], p[1]) {
			t.Errorf("lookalike(%q, %q) = true, want false", p[0], p[1])
		}
	}
}

// TestWordlistFile checks that wordlist.txt is exactly the filtered BIP-39
// source list (or rewrites it with -update).
func TestWordlistFile(t *testing.T) {
	src, err := os.ReadFile(sourceFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	if got := hex.EncodeToString(sum[:]); got != sourceSHA256 {
		t.Fatalf("%s: SHA-256 %s, want %s (not the canonical BIP-39 English list)", sourceFile, got, sourceSHA256)
	}
	source := strings.Split(strings.TrimSuffix(string(src), "\n"), "\n")
	if len(source) != 2048 {
		t.Fatalf("%s: %d words, want 2048", sourceFile, len(source))
	}
	want := strings.Join(filterLookalikes(source), "\n") + "\n"
	if *update {
		if err := os.WriteFile("wordlist.txt", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote wordlist.txt: %d words", strings.Count(want, "\n"))
		return
	}
	if wordlistTxt != want {
		t.Fatalf("wordlist.txt is not the filtered %s; regenerate with -update", sourceFile)
	}
}

// TestWordlistWellFormed checks the embedded list's format: lowercase a-z
// words, one per line, sorted (IsWord relies on it), no duplicates, and
// enough of them.
func TestWordlistWellFormed(t *testing.T) {
	if !strings.HasSuffix(wordlistTxt, "\n") || strings.Contains(wordlistTxt, "\r") {
		t.Fatal("wordlist.txt must be LF-terminated lines")
	}
	if len(wordlist) < 1024 {
		t.Fatalf("word list has %d words; too few", len(wordlist))
	}
	seen := make(map[string]bool, len(wordlist))
	for i, w := range wordlist {
		if w == "" {
			t.Fatalf("line %d: empty", i+1)
		}
		for _, c := range []byte(w) {
			if c < 'a' || c > 'z' {
				t.Fatalf("line %d: %q has a character outside a-z", i+1, w)
			}
		}
		if i > 0 && w < wordlist[i-1] {
			t.Fatalf("line %d: %q is out of order", i+1, w)
		}
		if seen[w] {
			t.Fatalf("line %d: %q is a duplicate", i+1, w)
		}
		seen[w] = true
	}
}

// TestNoLookalikes is the property the list is filtered for: no two words
// within edit distance 1 (so within Levenshtein distance 1) and no two with
// the same look-alike skeleton. It also checks the BIP-39 property that the
// first four letters identify a word.
func TestNoLookalikes(t *testing.T) {
	bySkeleton := make(map[string]string, len(wordlist))
	byPrefix := make(map[string]string, len(wordlist))
	for i, a := range wordlist {
		if b, dup := bySkeleton[skeleton(a)]; dup {
			t.Errorf("%q and %q look alike (skeleton %q)", b, a, skeleton(a))
		}
		bySkeleton[skeleton(a)] = a
		p := a[:min(4, len(a))]
		if b, dup := byPrefix[p]; dup {
			t.Errorf("%q and %q share the prefix %q", b, a, p)
		}
		byPrefix[p] = a
		for _, b := range wordlist[:i] {
			if d := editDistance(a, b); d <= 1 {
				t.Errorf("%q and %q are at edit distance %d", b, a, d)
			}
		}
	}
}
