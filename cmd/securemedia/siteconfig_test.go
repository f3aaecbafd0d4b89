package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A configuration file that is named but missing, or not "key = value"
// lines, stops a command at once with exit 2, naming the file and line.
func TestSiteConfigRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("# site\nmedia dvd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		bad:                             "bad.conf: line 2: expected \"key = value\"",
		filepath.Join(dir, "none.conf"): "none.conf: no such file",
	} {
		var stdout, stderr strings.Builder
		code := run(t.Context(), []string{"--config", path, "password"}, strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), want) || stdout.Len() != 0 {
			t.Errorf("--config %s: exit %d, stdout %q, stderr %q; want exit %d and %q", filepath.Base(path), code, stdout.String(), stderr.String(), exitUsage, want)
		}
	}
}
