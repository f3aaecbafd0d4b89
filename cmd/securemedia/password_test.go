package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/passphrase"
)

// checkPassphrase fails unless p is n list words joined with "-", all
// printable US-ASCII.
func checkPassphrase(t *testing.T, p string, n int) {
	t.Helper()
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] > 0x7e {
			t.Fatalf("%q: byte 0x%02x is not printable US-ASCII", p, p[i])
		}
	}
	words := strings.Split(p, "-")
	if len(words) != n {
		t.Fatalf("%q: %d words, want %d", p, len(words), n)
	}
	for _, w := range words {
		if !passphrase.IsWord(w) {
			t.Fatalf("%q: %q is not a list word", p, w)
		}
	}
}

func runPassword(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"password"}, args...), nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPasswordDefault(t *testing.T) {
	code, out, errs := runPassword(t)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout %q: want one passphrase and one newline", out)
	}
	checkPassphrase(t, strings.TrimSuffix(out, "\n"), passphrase.DefaultWords)
	if !strings.Contains(errs, "bits of entropy") {
		t.Errorf("stderr %q: no entropy note", errs)
	}
	if strings.Contains(errs, strings.TrimSuffix(out, "\n")) {
		t.Errorf("stderr repeats the passphrase: %q", errs)
	}

	_, out2, _ := runPassword(t)
	if out == out2 {
		t.Fatalf("two runs printed the same passphrase %q", out)
	}
}

func TestPasswordWordsAndCount(t *testing.T) {
	code, out, errs := runPassword(t, "--words", "12", "--count", "3")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("stdout %q: %d lines, want 3", out, len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		checkPassphrase(t, l, 12)
		if seen[l] {
			t.Fatalf("passphrase %q printed twice", l)
		}
		seen[l] = true
	}
}

func TestPasswordRefused(t *testing.T) {
	minWords := passphrase.MinWords(passphrase.MinBits)
	for _, args := range [][]string{
		{"--words", "0"},
		{"--words", "-1"},
		{"--words", strconv.Itoa(minWords - 1)},
		{"--words", "101"},
		{"--words", "1000000000"},
		{"--count", "0"},
		{"--count", "100001"},
		{"--words", "eight"},
		{"extra-argument"},
	} {
		code, out, errs := runPassword(t, args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, exitUsage, errs)
		}
		if out != "" {
			t.Errorf("%q: stdout %q, want nothing", args, out)
		}
		if errs == "" {
			t.Errorf("%q: no error message", args)
		}
	}
	_, _, errs := runPassword(t, "--words", strconv.Itoa(minWords-1))
	if !strings.Contains(errs, "bits of entropy") || !strings.Contains(errs, strconv.Itoa(minWords)) {
		t.Errorf("refusal message %q does not explain the minimum", errs)
	}
}

func TestPasswordHelp(t *testing.T) {
	checkPassphrase(t, helpExample, passphrase.DefaultWords)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"help", "password"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	for _, want := range []string{"SEPARATELY", "--password-file", "--words", "bits of entropy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
