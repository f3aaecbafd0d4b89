package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
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

// fetch takes --pacs from the site configuration (here a port nothing
// listens on: the PACS is tried, exit 12, not "--pacs is required"), the
// command line wins, and a key no command takes is refused.
func TestFetchTakesTheSiteConfiguration(t *testing.T) {
	dir := t.TempDir()
	port := testtool.FreePort(t, "tcp")
	conf := filepath.Join(dir, "site.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "pacs = SITEPACS@127.0.0.1:%d\ntimeout = 5s\n", port), 0o644); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "typo.conf")
	if err := os.WriteFile(typo, []byte("paks = SITEPACS@127.0.0.1:104\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--config", conf, "fetch", "--study", "1.2.3", "-o", out}, exitNetwork, fmt.Sprintf("SITEPACS@127.0.0.1:%d", port)},
		{[]string{"--config", conf, "fetch", "--pacs", "MINE@127.0.0.1:1", "--study", "1.2.3", "-o", out}, exitNetwork, "MINE@127.0.0.1:1"},
		{[]string{"--config", typo, "fetch", "--study", "1.2.3", "-o", out}, exitUsage, "paks"},
	} {
		var stdout, stderr strings.Builder
		code := run(t.Context(), c.args, strings.NewReader(""), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}
