package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// TestPromptOnATerminal runs the real binary on a pseudo-terminal (via
// util-linux "script") and types the password at the prompt: sealing asks
// twice, unsealing once, and the typed password never appears on screen.
func TestPromptOnATerminal(t *testing.T) {
	script := testtool.Require(t, "script") // util-linux
	dir := t.TempDir()
	bin := filepath.Join(dir, "securemedia")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const pw = "typed-at-the-prompt-42"
	// The password is typed after a pause, when the prompt has turned echo off.
	typeAfterPause := func(lines ...string) string {
		return "sleep 2; printf '" + strings.Join(lines, `\n`) + `\n'`
	}
	onTerminal := func(typing string, args ...string) string {
		cmdline := bin + " " + strings.Join(args, " ")
		cmd := exec.Command("sh", "-c", "("+typing+") | "+script+" -qec '"+cmdline+"' /dev/null")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmdline, err, out)
		}
		return string(out)
	}
	abs, _ := filepath.Abs(sampleFile)
	screen := onTerminal(typeAfterPause(pw, pw), "seal", abs, "-o", "sealed")
	if !strings.Contains(screen, "Repeat password:") || strings.Contains(screen, pw) {
		t.Fatalf("sealing screen:\n%s", screen)
	}
	screen = onTerminal(typeAfterPause(pw), "unseal", "sealed", "-o", "opened")
	if !strings.Contains(screen, "Password:") || strings.Contains(screen, pw) {
		t.Fatalf("unsealing screen:\n%s", screen)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "opened"))
	want, _ := os.ReadFile(sampleFile)
	if !bytes.Equal(got, want) {
		t.Fatal("round trip through the prompt changed the data")
	}
}
