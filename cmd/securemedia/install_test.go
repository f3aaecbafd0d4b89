package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
)

// buildProgram builds securemedia into dir/bin, as "make build" does.
func buildProgram(t *testing.T, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, "bin", "securemedia")
	cmd := exec.Command("go", "build", "-trimpath", "-o", exe, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return exe
}

// runProgram runs an installed securemedia and returns its exit code and
// output (stdout and stderr together).
func runProgram(t *testing.T, exe string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(exe, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("%s: %v", exe, err)
	}
	return 0, string(out)
}

// burnsViewersFrom burns the sample study to a USB folder with the
// program exe (no --viewer-dir, no $SECUREMEDIA_VIEWER_DIR) and checks
// that the medium's Linux viewer is the file in viewers; it returns burn's
// output.
func burnsViewersFrom(t *testing.T, exe, viewers string) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "usb")
	code, msg := runProgram(t, exe, "burn", sampleStudy, "-o", out, "--media", "usb", "--password-file", passwordFile(t, dir))
	if code != 0 {
		t.Fatalf("burn: exit %d\n%s", code, msg)
	}
	linux := filepath.FromSlash(media.ViewerPrograms[len(media.ViewerPrograms)-1].FolderPath())
	want, err := os.ReadFile(filepath.Join(viewers, linux))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "VIEWER", linux))
	if string(got) != string(want) {
		t.Errorf("the medium's %s is not the one in %s (%v): %q", linux, viewers, err, got)
	}
	return msg
}

// Installed as "make install" lays it out, burn takes the viewer programs
// from PREFIX/lib/securemedia/VIEWER, also when started through a link
// (~/.local/bin/securemedia -> PREFIX/bin/securemedia); a folder VIEWER
// next to the program comes first.
func TestBurnFindsInstalledViewers(t *testing.T) {
	t.Setenv(viewerDirEnv, "")
	prefix := t.TempDir()
	exe := buildProgram(t, prefix)
	lib := filepath.Join(prefix, "lib", "securemedia", "VIEWER")
	for _, v := range media.ViewerPrograms {
		standIn(t, lib, v)
	}
	pageStandIn(t, lib)
	if msg := burnsViewersFrom(t, exe, lib); strings.Contains(msg, "warning") {
		t.Errorf("warnings with every installed viewer present:\n%s", msg)
	}

	link := filepath.Join(t.TempDir(), "securemedia")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	burnsViewersFrom(t, link, lib)

	next := filepath.Join(prefix, "bin", "VIEWER")
	linux := media.ViewerPrograms[len(media.ViewerPrograms)-1]
	os.MkdirAll(filepath.Dir(filepath.Join(next, filepath.FromSlash(linux.FolderPath()))), 0o755)
	writeFile(t, next, filepath.FromSlash(linux.FolderPath()), "the viewer next to the program")
	if msg := burnsViewersFrom(t, exe, next); !strings.Contains(msg, "warning: no viewer in "+next+" for Windows") {
		t.Errorf("burn does not say that %s lacks the other systems:\n%s", next, msg)
	}
}

// "make install" into a staging folder (DESTDIR) installs a program that
// runs, its manual pages (man shows them), completion for bash, zsh and
// fish, and the viewer programs where the installed burn finds them;
// "make uninstall" removes every file again.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program and four viewer programs")
	}
	mk := testtool.Require(t, "make")
	t.Setenv(viewerDirEnv, "")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	makeArgs := []string{"-C", "../..", "DESTDIR=" + root, "PREFIX=/usr/local", "BIN=" + filepath.Join(dir, "build", "securemedia")}
	if msg, err := exec.Command(mk, append(makeArgs, "install")...).CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, msg)
	}
	prefix := filepath.Join(root, "usr", "local")

	exe := filepath.Join(prefix, "bin", "securemedia")
	if code, out := runProgram(t, exe, "--version"); code != 0 || !strings.HasPrefix(out, "securemedia ") {
		t.Errorf("installed securemedia --version: exit %d, %q", code, out)
	}
	for file, has := range map[string]string{
		"share/bash-completion/completions/securemedia":    "__start_securemedia",
		"share/zsh/site-functions/_securemedia":            "#compdef securemedia",
		"share/fish/vendor_completions.d/securemedia.fish": "complete -c securemedia",
	} {
		if b, err := os.ReadFile(filepath.Join(prefix, filepath.FromSlash(file))); err != nil || !strings.Contains(string(b), has) {
			t.Errorf("%s: %v, or it lacks %q", file, err, has)
		}
	}
	burnsViewersFrom(t, exe, filepath.Join(prefix, "lib", "securemedia", "VIEWER"))

	page := filepath.Join(prefix, "share", "man", "man1", "securemedia-burn.1")
	if _, err := os.Stat(page); err != nil {
		t.Error(err)
	} else if man, err := exec.LookPath("man"); err != nil {
		testtool.Missing(t, "man is not installed (see .ci/run)")
	} else {
		cmd := exec.Command(man, "-l", page)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "securemedia-burn - Make an encrypted DICOM disc image") || !strings.Contains(string(out), "--viewer-dir DIR") {
			t.Errorf("man -l %s: %v\n%s", page, err, out)
		}
	}

	if msg, err := exec.Command(mk, append(makeArgs, "uninstall")...).CombinedOutput(); err != nil {
		t.Fatalf("make uninstall: %v\n%s", err, msg)
	}
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left after make uninstall: %s", path)
		}
		return nil
	})
}
