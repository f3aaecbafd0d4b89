package main

import (
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n          int
		noun, want string
	}{
		{1, "study", "1 study"}, {2, "study", "2 studies"}, {0, "patient", "0 patients"}, {1, "patient", "1 patient"},
		{3, "series", "3 series"}, {1, "series", "1 series"}, {2, "match", "2 matches"}, {2, "key", "2 keys"},
		{31, "instance", "31 instances"}, {1, "instance", "1 instance"}, {2, "file", "2 files"},
	} {
		if got := count(c.n, c.noun); got != c.want {
			t.Errorf("count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}

// The progress line shows only what is known: no "of 0 B (100%)" for a
// command whose total is not known in advance.
func TestProgressStatus(t *testing.T) {
	for _, c := range []struct {
		p    progress
		want string
	}{
		{progress{files: 1, doneBytes: 111 << 20}, "111.0 MiB"},
		{progress{files: 31, doneFiles: 12, totalBytes: 4 << 20, doneBytes: 1 << 20}, "12/31 files, 1.0 MiB of 4.0 MiB (25%)"},
		{progress{files: 1, doneFiles: 1, totalBytes: 2048, doneBytes: 2048}, "1/1 file, 2.0 KiB of 2.0 KiB (100%)"},
	} {
		if got := c.p.status(); got != c.want {
			t.Errorf("status %q, want %q", got, c.want)
		}
	}
}

// Every usage error says what went wrong in words and prints the
// command's usage line.
func TestUsageErrorsPrintTheUsageLine(t *testing.T) {
	for _, c := range []struct {
		args       []string
		said, line string
	}{
		{[]string{"open"}, "open: an argument is missing", "usage: securemedia open DISC [flags]"},
		{[]string{"open", "a", "b"}, "open: one argument too many", "usage: securemedia open DISC [flags]"},
		{[]string{"burn", "x"}, "--output is required", "usage: securemedia burn INPUT... -o OUTPUT [flags]"},
		{[]string{"extract", "x", "--bogus"}, "unknown flag: --bogus", "usage: securemedia extract DISC -o DIR"},
		{[]string{"bogus"}, `unknown command "bogus"`, "usage: securemedia COMMAND [flags]"},
		{[]string{"burn", "x", "-o", "y", "--media", "floppy"}, "floppy", "usage: securemedia burn"},
	} {
		r := cli(t, "", c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.said) || !strings.Contains(r.stderr, c.line) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2, %q and %q", c.args, r.code, r.stderr, c.said, c.line)
		}
		if strings.Contains(r.stderr, "arg(s)") || strings.Contains(r.stderr, "flag(s)") {
			t.Errorf("%v: cobra's wording: %q", c.args, r.stderr)
		}
	}
}
