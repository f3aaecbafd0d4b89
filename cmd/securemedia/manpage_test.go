package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// renderMan formats a manual page as man shows it on a terminal (groff,
// plain text, 80 columns), failing on any warning of the formatter.
func renderMan(t *testing.T, page string) string {
	t.Helper()
	groff := testtool.Require(t, "groff")
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-P-cbou", "-rLL=80n", page)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("groff %s: %v\n%s", page, err, stderr.String())
	}
	return string(out)
}

// words joins the words of s with single spaces, so that texts filled
// differently compare equal.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// section is the text of a man page's section, up to the next one.
func section(page, name string) string {
	_, after, ok := strings.Cut(page, "\n"+name+"\n")
	if !ok {
		return ""
	}
	if next := regexp.MustCompile(`\n[A-Z][A-Z ]+\n`).FindStringIndex(after); next != nil {
		after = after[:next[0]]
	}
	return after
}

// "securemedia man-pages DIR" writes a page for the program and for every
// command; each formats without warnings, and the burn page says what
// "securemedia help burn" says: its description, every flag with its
// usage, and the exit codes.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	cli(t, "", "man-pages", dir).expect(t, 0, "")
	// Each page's name and the command whose help it repeats.
	want := map[string][]string{"securemedia.1": nil, "securemedia-completion.1": {"completion"}, "securemedia-completion-bash.1": {"completion", "bash"}}
	for _, c := range newRootCommand(&env{}).Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" {
			want["securemedia-"+c.Name()+".1"] = []string{c.Name()}
		}
	}
	for name := range want {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("no page %s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "securemedia-man-pages.1")); err == nil {
		t.Error("the hidden man-pages command has a page")
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	rendered := map[string]string{}
	for _, p := range pages {
		rendered[filepath.Base(p)] = renderMan(t, p)
	}

	for name, command := range want {
		help := cli(t, "", append([]string{"help"}, command...)...).stdout
		description, _, ok := strings.Cut(help, "\nUsage:")
		if got := words(section(rendered[name], "DESCRIPTION")); !ok || got != words(description) {
			t.Errorf("%s: the description differs from the help's:\npage: %s\nhelp: %s", name, got, words(description))
		}
	}

	burn := rendered["securemedia-burn.1"]
	_, flags, _ := strings.Cut(cli(t, "", "help", "burn").stdout, "\nUsage:")
	if !strings.Contains(burn, "securemedia-burn - Make an encrypted DICOM disc image") || !strings.Contains(words(section(burn, "SYNOPSIS")), "securemedia burn INPUT... -o OUTPUT [flags]") {
		t.Errorf("NAME or SYNOPSIS:\n%s", burn)
	}
	_, flags, _ = strings.Cut(flags, "\nFlags:\n")
	// The command's flags, and the root's (--quiet) under GLOBAL OPTIONS.
	options := words(section(burn, "OPTIONS")) + " " + words(section(burn, "GLOBAL OPTIONS"))
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(flags), "\n") {
		name, usage, ok := strings.Cut(strings.TrimSpace(line), "   ")
		if !ok || !strings.HasPrefix(name, "-") {
			continue
		}
		n++
		if entry := words(name) + " " + words(usage); !strings.Contains(options, entry) {
			t.Errorf("OPTIONS lacks %q", entry)
		}
	}
	if n < 20 {
		t.Errorf("only %d flags in help burn:\n%s", n, flags)
	}
	for page, text := range rendered {
		if exit := words(section(text, "EXIT STATUS")); !strings.Contains(exit, "3 wrong password") || !strings.Contains(exit, "2 usage error") {
			t.Errorf("%s: EXIT STATUS lacks the codes: %s", page, exit)
		}
	}
	if see := section(burn, "SEE ALSO"); !strings.Contains(see, "securemedia(1)") || !strings.Contains(see, "securemedia-open(1)") {
		t.Errorf("burn's SEE ALSO: %s", see)
	}
}
