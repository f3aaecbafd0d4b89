package main

import (
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/media"
)

// complete asks for the completions of the last argument, as the shell
// scripts of "securemedia completion" do, and returns the words offered;
// it fails unless they come with the directive not to offer files too.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	r := cli(t, "", append([]string{"__complete"}, args...)...)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) == 0 || lines[len(lines)-1] != ":4" {
		t.Fatalf("__complete %q: exit %d, not ending in :4 (no file names)\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	var words []string
	for _, l := range lines[:len(lines)-1] {
		word, _, _ := strings.Cut(l, "\t")
		words = append(words, word)
	}
	return words
}

func sameWords(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s offers %q, want %q", what, got, want)
	}
}

// burn --media completes with the media burn accepts, and only with those
// starting with what is typed.
func TestCompleteMedia(t *testing.T) {
	got := complete(t, "burn", "study/", "--media", "")
	sameWords(t, "burn --media", got, "cd", "dvd", "dvd-dl", "bd", "usb")
	for _, w := range got {
		if _, err := media.ParseMedium(w); err != nil {
			t.Errorf("burn --media offers %q, which it refuses: %v", w, err)
		}
	}
	sameWords(t, "burn --media dvd", complete(t, "burn", "--media", "dvd"), "dvd", "dvd-dl")
}

// seal and burn complete --cipher and --digest with the names they accept,
// each a different algorithm.
func TestCompleteCipherAndDigest(t *testing.T) {
	for _, cmd := range []string{"seal", "burn"} {
		ciphers := complete(t, cmd, "--cipher", "")
		sameWords(t, cmd+" --cipher", ciphers, "aes256", "aes192", "aes128", "des3")
		seen := map[cms.Cipher]bool{}
		for _, w := range ciphers {
			c, err := cms.ParseCipher(w)
			if err != nil || seen[c] {
				t.Errorf("%s --cipher offers %q: %v, %v seen before: %v", cmd, w, c, err, seen[c])
			}
			seen[c] = true
		}
		digests := complete(t, cmd, "--digest", "")
		sameWords(t, cmd+" --digest", digests, "sha256", "sha384", "sha512", "sha1")
		for _, w := range digests {
			if _, err := parseDigest(w); err != nil {
				t.Errorf("%s --digest offers %q: %v", cmd, w, err)
			}
		}
	}
}

// "securemedia help" completes with every command and the help topics
// (exit-codes), not with hidden commands; under "completion", with its
// shells.
func TestCompleteHelpTopics(t *testing.T) {
	topics := complete(t, "help", "")
	offered := map[string]bool{}
	for _, w := range topics {
		offered[w] = true
	}
	root := newRootCommand(&env{})
	for _, c := range root.Commands() {
		if want := !c.Hidden && c.Name() != "help"; offered[c.Name()] != want {
			t.Errorf("help offers %s: %v, want %v (offered: %q)", c.Name(), offered[c.Name()], want, topics)
		}
	}
	for _, w := range []string{"burn", "exit-codes", "completion"} {
		if !offered[w] {
			t.Errorf("help does not offer %s: %q", w, topics)
		}
	}
	sameWords(t, "help e", complete(t, "help", "e"), "echo", "exit-codes", "extract")
	sameWords(t, "help completion", complete(t, "help", "completion", ""), "bash", "fish", "powershell", "zsh")
}
