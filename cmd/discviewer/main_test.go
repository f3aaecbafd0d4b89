package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The program finds the disc above the folder it runs from, whatever case
// and version suffix the system shows for DICOMDIR, and nothing elsewhere.
func TestFindDisc(t *testing.T) {
	for _, name := range []string{"DICOMDIR", "dicomdir", "DICOMDIR;1", "dicomdir."} {
		disc := t.TempDir()
		if err := os.WriteFile(filepath.Join(disc, name), []byte("x"), 0o444); err != nil {
			t.Fatal(err)
		}
		win := filepath.Join(disc, "VIEWER", "WIN")
		os.MkdirAll(win, 0o755)
		if got := findDisc(win); got != disc {
			t.Errorf("%s: found %q, want %q", name, got, disc)
		}
	}
	// A folder named DICOMDIR is not one.
	away := t.TempDir()
	os.Mkdir(filepath.Join(away, "DICOMDIR"), 0o755)
	if got := findDisc(away); got != "" && strings.HasPrefix(got, away) {
		t.Errorf("found a disc in %s", got)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "0.0.0.0:8080"}, "127.0.0.1 only"},
		{[]string{"a", "b"}, "at most one disc"},
		{[]string{"--bogus"}, "flag provided but not defined"},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), c.args, &out); code != 2 || !strings.Contains(out.String(), c.want) {
			t.Errorf("%v: exit %d, %q (want 2 and %q)", c.args, code, out.String(), c.want)
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{filepath.Join(t.TempDir(), "nothing")}, &out); code != 1 || !strings.Contains(out.String(), "cannot open the disc") {
		t.Errorf("missing disc: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{t.TempDir()}, &out); code != 1 || !strings.Contains(out.String(), "has no DICOMDIR") {
		t.Errorf("folder without DICOMDIR: exit %d, %q", code, out.String())
	}
}
