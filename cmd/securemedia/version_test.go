package main

import (
	"strings"
	"testing"
)

// securemedia --version prints what "securemedia version" prints, on
// standard output, and succeeds; it is listed in --help.
func TestVersionFlag(t *testing.T) {
	want := cli(t, "", "version")
	if want.code != 0 || !strings.HasPrefix(want.stdout, "securemedia ") {
		t.Fatalf("version: %+v", want)
	}
	got := cli(t, "", "--version")
	if got.code != 0 || got.stdout != want.stdout || got.stderr != "" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q; want exit 0 and %q", got.code, got.stdout, got.stderr, want.stdout)
	}
	if help := cli(t, "", "--help"); !strings.Contains(help.stdout, "--version") {
		t.Errorf("--help does not list --version:\n%s", help.stdout)
	}
}
