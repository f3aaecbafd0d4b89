//go:build linux

package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
)

// The Windows viewer, VIEWER.EXE as "make viewers" builds it, runs under
// Wine: it opens a sealed USB folder given as a Windows path, answers on
// 127.0.0.1, takes the password, lists the sample study, shows a series
// and stops when "Close viewer" is pressed. Nothing it started outlives
// the test (wineserver -k in a Wine prefix of the test's own).
func TestViewerUnderWine(t *testing.T) {
	if testing.Short() && !testtool.InCI() {
		t.Skip("builds VIEWER.EXE and starts Wine")
	}
	testtool.Require(t, "wine")
	testtool.Require(t, "wineserver")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	dir := t.TempDir()
	exe := buildWindowsViewer(t, dir)
	disc := mediatest.SealedFolder(t, media.Options{}, "../../testdata/sample-study")
	w := newWinePrefix(t, filepath.Join(dir, "prefix"))
	w.prepare(ctx, t, exe)

	v := w.startViewer(ctx, t, exe, disc)
	v.browse(t)
	v.closeViewer(t)
}

// buildWindowsViewer cross-compiles this program as "make viewers" does
// for Windows, into dir/VIEWER.EXE.
func buildWindowsViewer(t *testing.T, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, "VIEWER.EXE")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=wine-test", "-o", exe, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return exe
}

// winePrefix is a Wine installation of the test's own (WINEPREFIX): it
// starts empty, so nothing from the machine's Wine setup changes the
// result, and wineserver -k on it stops every process the test started.
type winePrefix struct {
	dir string
	env []string
}

func newWinePrefix(t *testing.T, dir string) *winePrefix {
	w := &winePrefix{dir: dir, env: wineEnv(dir)}
	t.Cleanup(func() { w.stopAll(t) })
	return w
}

// wineEnv is the environment without a display (no window may open, none
// is there in CI), a 64-bit prefix (Debian's wine64 alone, no i386
// packages), no Wine debug chatter, and no offer to download Mono or Gecko
// (mscoree, mshtml disabled) when the prefix is made.
func wineEnv(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "DISPLAY", "WAYLAND_DISPLAY", "WINEPREFIX", "WINEARCH", "WINEDEBUG", "WINEDLLOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "WINEPREFIX="+prefix, "WINEARCH=win64", "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
}

// command runs a Wine program in its own process group, so that the end
// of ctx stops it with everything it started, even when wineserver no
// longer answers.
func (w *winePrefix) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = w.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// stopAll ends every Wine process of the prefix and waits (bounded) until
// the wineserver is gone, so the prefix can be removed.
func (w *winePrefix) stopAll(t *testing.T) {
	for _, arg := range []string{"-k", "-w"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		// -k fails when no wineserver runs: then there is nothing to stop.
		_ = w.command(ctx, "wineserver", arg).Run()
		if ctx.Err() != nil {
			t.Errorf("wineserver %s did not finish within 20 s", arg)
		}
		cancel()
	}
}

// run runs a Windows program under Wine until it ends (bounded) and
// returns what it printed. The output goes to a file, not a pipe: Wine's
// helper processes (wineserver, services.exe) inherit it and would hold a
// pipe open after the program ended.
func (w *winePrefix) run(ctx context.Context, t *testing.T, timeout time.Duration, exe string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := os.CreateTemp(t.TempDir(), "wine-output")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := w.command(ctx, "wine", append([]string{filepath.Base(exe)}, args...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = filepath.Dir(exe), out, out
	err = cmd.Run()
	b, _ := os.ReadFile(out.Name())
	return string(b), err
}

// wineLacksPrng is how Go's Windows runtime (runtime.loadOptionalSyscalls)
// stops at once when Wine has no bcryptprimitives.dll, whose ProcessPrng
// it needs since Go 1.22: Debian bookworm's Wine 8.0 lacks it.
const wineLacksPrng = "bcryptprimitives.dll not found"

// prepare makes the prefix (the first start of Wine does, 5-60 s) by
// running "VIEWER.EXE --version", and when that fails for want of
// ProcessPrng, adds the test-only stand-in for it and tries again. Trying
// first instead of going by Wine's version number keeps the test right on
// a Wine that has ProcessPrng, or backports it, with no shim at all.
func (w *winePrefix) prepare(ctx context.Context, t *testing.T, exe string) {
	t.Helper()
	start := time.Now()
	out, err := w.run(ctx, t, 90*time.Second, exe, "--version")
	t.Logf("Wine prefix made and VIEWER.EXE --version run in %v", time.Since(start).Round(time.Millisecond))
	if err != nil && strings.Contains(out, wineLacksPrng) {
		t.Logf("%s lacks ProcessPrng (%q): adding a test-only shim bcryptprimitives.dll to the test's Wine prefix; it is not shipped on any disc",
			wineVersion(), wineLacksPrng)
		w.installPrngShim(ctx, t)
		out, err = w.run(ctx, t, 60*time.Second, exe, "--version")
	}
	if err != nil || !strings.Contains(out, "SecureMedia disc viewer wine-test") || !strings.Contains(out, "windows/amd64") {
		t.Fatalf("VIEWER.EXE --version under %s: %v\n%s", wineVersion(), err, out)
	}
}

func wineVersion() string {
	out, err := exec.Command("wine", "--version").Output()
	if err != nil {
		return "wine (version unknown)"
	}
	return strings.TrimSpace(string(out))
}

// prngShimSource is a stand-in for Windows' bcryptprimitives.dll with its
// one function Go needs, ProcessPrng, drawing from BCryptGenRandom (the
// system RNG, which Wine 8 has). For testing under Wine only.
const prngShimSource = `/* Test-only stand-in for bcryptprimitives.dll under Wine 8, which lacks
   it; Go's Windows runtime needs ProcessPrng. Never shipped on a disc. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
`

// installPrngShim builds the shim with mingw-w64 into the prefix's
// C:\windows\system32. Not next to VIEWER.EXE: Go loads the DLL with
// LOAD_LIBRARY_SEARCH_SYSTEM32 (runtime.windowsLoadSystemLib), which does
// not search the program's folder.
func (w *winePrefix) installPrngShim(ctx context.Context, t *testing.T) {
	t.Helper()
	gcc := testtool.Require(t, "x86_64-w64-mingw32-gcc")
	system32 := filepath.Join(w.dir, "drive_c", "windows", "system32")
	if _, err := os.Stat(system32); err != nil {
		t.Fatalf("the Wine prefix has no system32: %v", err)
	}
	src := filepath.Join(t.TempDir(), "prng_shim.c")
	if err := os.WriteFile(src, []byte(prngShimSource), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, gcc, "-shared", "-O2", "-s", "-o", filepath.Join(system32, "bcryptprimitives.dll"), src, "-lbcrypt")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the ProcessPrng shim: %v\n%s", err, msg)
	}
}

// runningViewer is VIEWER.EXE serving a disc under Wine.
type runningViewer struct {
	cmd    *exec.Cmd
	output string // file with what it printed
	done   chan struct{}
	err    error // from Wait, once done is closed
	base   string
	start  string // the start URL, token included
	hc     *http.Client
}

// startViewer starts VIEWER.EXE on the disc, as a Windows path, and waits
// (at most 60 s) until it prints its address and answers there.
func (w *winePrefix) startViewer(ctx context.Context, t *testing.T, exe, disc string) *runningViewer {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "viewer-output")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	addr := freeLoopbackAddr(t)
	cmd := w.command(ctx, "wine", filepath.Base(exe), "--no-browser", "--addr", addr, windowsPath(t, disc))
	cmd.Dir, cmd.Stdout, cmd.Stderr = filepath.Dir(exe), out, out
	v := &runningViewer{cmd: cmd, output: out.Name(), done: make(chan struct{}), base: "http://" + addr}
	jar, _ := cookiejar.New(nil)
	v.hc = &http.Client{Jar: jar, Timeout: 20 * time.Second}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { v.err = cmd.Wait(); close(v.done) }()
	t.Cleanup(v.kill) // runs before the prefix's stopAll
	v.waitUntilServing(ctx, t, 60*time.Second)
	t.Logf("VIEWER.EXE under Wine answered %v after it was started", time.Since(begin).Round(time.Millisecond))
	return v
}

// freeLoopbackAddr is a 127.0.0.1 port free a moment ago, for --addr.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// windowsPath is path as the program sees it under Wine, whose drive Z:
// is the Unix root.
func windowsPath(t *testing.T, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return "Z:" + strings.ReplaceAll(abs, "/", `\`)
}

var startURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/\?token=[A-Za-z0-9_-]+`)

// waitUntilServing polls the program's output for the start URL and then
// the address until it answers (without the token: refused, 403).
func (v *runningViewer) waitUntilServing(ctx context.Context, t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for ; time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(250 * time.Millisecond) {
		select {
		case <-v.done:
			t.Fatalf("VIEWER.EXE ended before it served: %v\n%s", v.err, v.printed())
		default:
		}
		if v.start == "" {
			v.start = startURL.FindString(v.rawOutput())
		}
		if v.start == "" {
			continue
		}
		if !strings.HasPrefix(v.start, v.base+"/") {
			t.Fatalf("VIEWER.EXE serves elsewhere than --addr %s:\n%s", v.base, v.printed())
		}
		if resp, err := v.hc.Get(v.base + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("GET / without the token: %d, want 403", resp.StatusCode)
			}
			return
		}
	}
	t.Fatalf("VIEWER.EXE did not answer within %v:\n%s", limit, v.printed())
}

func (v *runningViewer) rawOutput() string {
	b, _ := os.ReadFile(v.output)
	return string(b)
}

// printed is the program's output for the test log, its access token left
// out.
func (v *runningViewer) printed() string {
	return startURL.ReplaceAllStringFunc(v.rawOutput(), func(u string) string {
		return u[:strings.Index(u, "token=")] + "token=(left out)"
	})
}

// browse does what a user does: opens the start URL, types the password,
// sees the study list and opens a series.
func (v *runningViewer) browse(t *testing.T) {
	t.Helper()
	resp, body := v.request(t, "GET", v.start, nil)
	if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" || !strings.Contains(body, `type="password"`) {
		t.Fatalf("start URL: %d at %s, %q, want the password page", resp.StatusCode, resp.Request.URL.Path, pageTitle(body))
	}
	resp, body = v.request(t, "POST", v.base+"/unlock", url.Values{"password": {mediatest.Password}})
	if resp.StatusCode != 200 || strings.Contains(body, `type="password"`) {
		t.Fatalf("unlock: %d, %q, want the disc opened", resp.StatusCode, pageTitle(body))
	}
	resp, body = v.request(t, "GET", v.base+"/", nil)
	series := regexp.MustCompile(`href="(/series/[^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || !strings.Contains(body, "Doe, Archibald") || series == nil {
		t.Fatalf("study list: %d, %q, lacks the sample study's patient or a series link", resp.StatusCode, pageTitle(body))
	}
	resp, body = v.request(t, "GET", v.base+series[1], nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Image 1 of") {
		t.Fatalf("series page %s: %d, %q", series[1], resp.StatusCode, pageTitle(body))
	}
}

// request sends a GET, or a form POST from the viewer's own page (the
// Origin its pages send), and reads the answer.
func (v *runningViewer) request(t *testing.T, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", v.base)
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", method, req.URL.Path, err, v.printed())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	return resp, string(b)
}

// pageTitle is what failure messages show of a page: its title, not the
// patient data in it.
func pageTitle(body string) string {
	if m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return strconv.Itoa(len(body)) + " bytes without a title"
}

// closeViewer presses "Close viewer": the program must end by itself, in
// good order (exit 0).
func (v *runningViewer) closeViewer(t *testing.T) {
	t.Helper()
	if resp, body := v.request(t, "POST", v.base+"/close", url.Values{}); resp.StatusCode != 200 {
		t.Fatalf("close: %d, %q", resp.StatusCode, pageTitle(body))
	}
	select {
	case <-v.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("VIEWER.EXE still runs 30 s after \"Close viewer\":\n%s", v.printed())
	}
	if v.err != nil || !strings.Contains(v.rawOutput(), "viewer stopped") {
		t.Fatalf("VIEWER.EXE after \"Close viewer\": %v\n%s", v.err, v.printed())
	}
}

// kill stops the program and what it started, unless it ended already.
func (v *runningViewer) kill() {
	select {
	case <-v.done:
		return
	default:
	}
	syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-v.done:
	case <-time.After(10 * time.Second):
	}
}
