package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
)

// viewerFolder builds the disc viewer for this computer, as "make viewers"
// does, into a folder laid out like bin/VIEWER, with small stand-ins for the
// other systems (cmd/discviewer checks the cross-compiled ones). It returns
// the folder and where the real program goes on the medium.
func viewerFolder(t *testing.T) (dir, native string) {
	t.Helper()
	dir = t.TempDir()
	for _, v := range media.ViewerPrograms {
		out := filepath.Join(dir, filepath.FromSlash(v.FolderPath()))
		if v.GOOS == runtime.GOOS && v.GOARCH == runtime.GOARCH {
			native = v.Path
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "../discviewer")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build ../discviewer: %v\n%s", err, msg)
			}
			continue
		}
		standIn(t, dir, v)
	}
	pageStandIn(t, dir)
	if native == "" {
		t.Skipf("no disc viewer for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	return dir, native
}

// pageStandIn puts small files where a folder of viewers has INDEX.HTM and
// its assets (cmd/discpage tests the real page).
func pageStandIn(t *testing.T, dir string) {
	t.Helper()
	for _, f := range media.PageFiles {
		out := filepath.Join(dir, filepath.FromSlash(f.Folder))
		os.MkdirAll(filepath.Dir(out), 0o755)
		writeFile(t, filepath.Dir(out), filepath.Base(out), "stand-in for "+f.Folder)
	}
}

// standIn puts a small file where a folder of viewers has the program v.
func standIn(t *testing.T, dir string, v media.ViewerProgram) {
	t.Helper()
	out := filepath.Join(dir, filepath.FromSlash(v.FolderPath()))
	os.MkdirAll(filepath.Dir(out), 0o755)
	writeFile(t, filepath.Dir(out), filepath.Base(out), "stand-in for the "+v.System+" viewer")
}

// burnWithViewers burns the sample study with the viewers of viewerFolder
// onto a medium (usb or cd) and verifies it.
func burnWithViewers(t *testing.T, medium string, files int) (out, native string) {
	t.Helper()
	t.Setenv(viewerDirEnv, "")
	viewers, native := viewerFolder(t)
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	out = filepath.Join(dir, "disc-"+medium)
	r := cli(t, "", "burn", sampleStudy, "-o", out, "--media", medium, "--password-file", pw, "--viewer-dir", viewers)
	r.expect(t, 0, fmt.Sprintf("read back and checked %d files", files))
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("warnings with every viewer present: %s", r.stderr)
	}
	cli(t, "", "verify", out, "--password-file", pw).expect(t, 0, "")
	return out, native
}

// startDiscViewer runs a disc viewer program until it prints its address;
// it is killed when the test ends, at the latest after a minute.
func startDiscViewer(t *testing.T, exe string, args ...string) *viewRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	v := &viewRun{stderr: &syncBuffer{}, code: make(chan int, 1), cancel: cancel}
	cmd := exec.CommandContext(ctx, exe, append([]string{"--no-browser", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = v.stderr, v.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			v.code <- 0
		case errors.As(err, &ee):
			v.code <- ee.ExitCode()
		default:
			v.code <- -1
		}
		close(exited)
	}()
	t.Cleanup(func() { cancel(); <-exited })
	v.awaitURL(t)
	return v
}

// openWith unlocks the disc on the viewer's page and checks that it is
// the sample study.
func (v *viewRun) openWith(t *testing.T, password string) {
	t.Helper()
	if code, body := v.get(t, v.url[len(v.base):]); code != 200 || !strings.Contains(body, "Open the disc") || !strings.Contains(body, `type="password"`) {
		t.Fatalf("start page: %d\n%s", code, body)
	}
	if code, body := v.post(t, "/unlock", url.Values{"password": {password}}); code != 200 || !strings.Contains(body, "Doe, Archibald") {
		t.Fatalf("unlock: %d\n%s", code, body)
	}
}

// closeViewer presses "Close viewer": the program ends by itself.
func (v *viewRun) closeViewer(t *testing.T) {
	t.Helper()
	if code, body := v.post(t, "/close", nil); code != 200 || !strings.Contains(body, "Viewer closed") {
		t.Fatalf("close: %d\n%s", code, body)
	}
	if code := v.wait(t); code != 0 {
		t.Fatalf("viewer exited %d: %s", code, v.stderr.String())
	}
}

// A USB medium carries the viewers; the one for this computer, started
// from the medium (or through a link to it), shows that medium; started
// away from any disc it asks which one, and opens the one named.
func TestBurnViewerOnUSB(t *testing.T) {
	usb, native := burnWithViewers(t, "usb", 42)
	for _, v := range media.ViewerPrograms {
		if st, err := os.Stat(filepath.Join(usb, filepath.FromSlash(v.Path))); err != nil || st.Mode()&0o111 == 0 {
			t.Fatalf("%s: %v %v", v.Path, err, st)
		}
	}
	for _, f := range media.PageFiles { // INDEX.HTM at the root, its assets under VIEWER/PAGE
		if got, err := os.ReadFile(filepath.Join(usb, filepath.FromSlash(f.Path))); string(got) != "stand-in for "+f.Folder {
			t.Errorf("%s on the medium: %q %v", f.Path, got, err)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(usb, "README.TXT"))
	if !strings.Contains(string(readme), `VIEWER\WIN\VIEWER.EXE`) || !strings.Contains(string(readme), "VIEWER/LINUX/VIEWER") {
		t.Errorf("README.TXT does not say where the viewers are:\n%s", readme)
	}
	password := "a test passphrase, long enough"

	exe := filepath.Join(usb, filepath.FromSlash(native))
	v := startDiscViewer(t, exe)
	if !strings.Contains(v.stderr.String(), "showing the disc in "+usb) {
		t.Errorf("does not say which disc: %s", v.stderr.String())
	}
	v.openWith(t, password)
	v.closeViewer(t)

	// Through a symbolic link elsewhere (a desktop shortcut on Linux).
	link := filepath.Join(t.TempDir(), "viewer")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	startDiscViewer(t, link).openWith(t, password)

	// A copy away from any disc asks which disc to open.
	away := filepath.Join(t.TempDir(), "VIEWER")
	copyTestFile(t, exe, away)
	os.Chmod(away, 0o755)
	v = startDiscViewer(t, away)
	if code, body := v.get(t, v.url[len(v.base):]); code != 200 || !strings.Contains(body, "Which disc?") {
		t.Fatalf("away from a disc: %d\n%s", code, body)
	}
	if code, body := v.post(t, "/choose", url.Values{"path": {filepath.Dir(away)}}); code != 200 || !strings.Contains(body, "There is no DICOMDIR in") {
		t.Fatalf("choosing a folder that is no disc: %d\n%s", code, body)
	}
	if code, body := v.post(t, "/choose", url.Values{"path": {usb}}); code != 200 || !strings.Contains(body, "Open the disc") {
		t.Fatalf("choosing the disc: %d\n%s", code, body)
	}
	if code, body := v.post(t, "/unlock", url.Values{"password": {password}}); code != 200 || !strings.Contains(body, "Doe, Archibald") {
		t.Fatalf("unlock the chosen disc: %d\n%s", code, body)
	}
	v.closeViewer(t)

	// Given a path, it opens that instead.
	startDiscViewer(t, away, usb).openWith(t, password)
}

// On an ISO image the viewers are executable for Rock Ridge readers, and
// the one for this computer runs from a copy of the image's files.
func TestBurnViewerOnISO(t *testing.T) {
	iso, native := burnWithViewers(t, "cd", 43)

	testtool.Require(t, "xorriso")
	listing, err := exec.Command("xorriso", "-indev", iso, "-find", "/VIEWER", "-type", "f", "-exec", "lsdl").CombinedOutput()
	if err != nil {
		t.Fatalf("xorriso: %v\n%s", err, listing)
	}
	for _, v := range media.ViewerPrograms {
		found := false
		for _, line := range strings.Split(string(listing), "\n") {
			if strings.HasSuffix(line, "'/"+v.Path+"'") {
				found = true
				if !strings.HasPrefix(line, "-r-xr-xr-x") {
					t.Errorf("not executable: %s", line)
				}
			}
		}
		if !found {
			t.Errorf("xorriso does not list %s:\n%s", v.Path, listing)
		}
	}
	files := filepath.Join(t.TempDir(), "files")
	if msg, err := exec.Command("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", files).CombinedOutput(); err != nil {
		t.Fatalf("xorriso -extract: %v\n%s", err, msg)
	}
	v := startDiscViewer(t, filepath.Join(files, filepath.FromSlash(native)))
	v.openWith(t, "a test passphrase, long enough")
	v.closeViewer(t)
}

// Without viewer programs burn warns in one line and still succeeds;
// --no-viewer leaves them out silently; a --viewer-dir without any is an
// error; a missing system is named.
func TestBurnViewerWarnings(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	t.Setenv(viewerDirEnv, "")
	r := cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "a"), "--media", "usb", "--password-file", pw)
	r.expect(t, 0, "read back and checked 34 files")
	if !strings.Contains(r.stderr, "warning: no viewer programs in ") || !strings.Contains(r.stderr, `"make viewers"`) || !strings.Contains(r.stderr, "--no-viewer") {
		t.Errorf("no warning about the missing viewers: %s", r.stderr)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "a", "README.TXT"))
	if !strings.Contains(string(readme), "No viewer program is included") || !strings.Contains(string(readme), "securemedia view") {
		t.Errorf("README.TXT without viewers:\n%s", readme)
	}

	r = cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "b"), "--media", "usb", "--password-file", pw, "--no-viewer")
	r.expect(t, 0, "read back and checked 34 files")
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("--no-viewer warns: %s", r.stderr)
	}

	empty := t.TempDir()
	cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "c"), "--media", "usb", "--password-file", pw, "--viewer-dir", empty).expect(t, exitUsage, "no viewer programs there")
	mustNotExist(t, filepath.Join(dir, "c"))
	cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "c"), "--password-file", pw, "--viewer-dir", empty, "--no-viewer").expect(t, exitUsage, "none of the others can be")

	// The environment variable names the folder too; one system missing.
	partial := t.TempDir()
	for _, v := range media.ViewerPrograms[:3] {
		standIn(t, partial, v)
	}
	t.Setenv(viewerDirEnv, partial)
	r = cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "d"), "--media", "usb", "--password-file", pw)
	r.expect(t, 0, "warning: no viewer in "+partial+" for Linux (64-bit PC) (LINUX/VIEWER)")
	readme, _ = os.ReadFile(filepath.Join(dir, "d", "README.TXT"))
	if strings.Contains(string(readme), "LINUX") || !strings.Contains(string(readme), "MAC_ARM") {
		t.Errorf("README.TXT names a viewer not on the medium:\n%s", readme)
	}
}

// A disc sealed for a hospital's certificate (and no password) opens in
// the viewer on the disc with that certificate and its key file, as in
// "securemedia view"; another key is refused.
func TestDiscViewerOpensWithCertificate(t *testing.T) {
	t.Setenv(viewerDirEnv, "")
	viewers, native := viewerFolder(t)
	dir := t.TempDir()
	siteCert, siteKey := testCert(t, "site")
	otherCert, otherKey := testCert(t, "other")
	usb := filepath.Join(dir, "usb")
	cli(t, "", "burn", sampleStudy, "-o", usb, "--media", "usb", "--recipient", siteCert, "--viewer-dir", viewers).expect(t, 0, "read back and checked")
	v := startDiscViewer(t, filepath.Join(usb, filepath.FromSlash(native)))
	if code, body := v.get(t, v.url[len(v.base):]); code != 200 || !strings.Contains(body, `name="cert"`) {
		t.Fatalf("start page offers no certificate: %d\n%s", code, body)
	}
	if _, body := v.post(t, "/unlock", url.Values{"cert": {otherCert}, "key": {otherKey}}); !strings.Contains(body, "not sealed for that key") {
		t.Fatalf("other key: %s", body)
	}
	if _, body := v.post(t, "/unlock", url.Values{"cert": {siteCert}, "key": {siteKey}}); !strings.Contains(body, "Doe, Archibald") {
		t.Fatalf("site key: %s", body)
	}
	v.closeViewer(t)
}
