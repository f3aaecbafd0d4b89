package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var viewURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/\?token=[A-Za-z0-9_-]{43}`)

type viewRun struct {
	stderr *syncBuffer
	code   chan int
	cancel context.CancelFunc
	url    string
	base   string
	hc     *http.Client
}

// startView runs "securemedia view" in the background until it prints its
// address.
func startView(t *testing.T, args ...string) *viewRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	v := &viewRun{stderr: &syncBuffer{}, code: make(chan int, 1), cancel: cancel}
	go func() {
		v.code <- run(ctx, append([]string{"view"}, args...), strings.NewReader(""), io.Discard, v.stderr)
	}()
	t.Cleanup(cancel)
	v.awaitURL(t)
	return v
}

// awaitURL waits for the viewer to print its address.
func (v *viewRun) awaitURL(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v.url == "" {
		select {
		case code := <-v.code:
			t.Fatalf("view exited %d: %s", code, v.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address printed: %s", v.stderr.String())
		}
		v.url = viewURL.FindString(v.stderr.String())
		time.Sleep(10 * time.Millisecond)
	}
	v.base = v.url[:strings.Index(v.url, "/?")]
	jar, _ := cookiejar.New(nil)
	v.hc = &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func (v *viewRun) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := v.hc.Get(v.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (v *viewRun) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", v.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.base)
	resp, err := v.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (v *viewRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-v.code:
		return code
	case <-time.After(10 * time.Second):
		t.Fatalf("view did not stop: %s", v.stderr.String())
		return -1
	}
}

func burnSample(t *testing.T) (dir, iso, pw string) {
	t.Helper()
	dir = t.TempDir()
	pw = passwordFile(t, dir)
	iso = filepath.Join(dir, "disc.iso")
	cli(t, "", "burn", sampleStudy, "-o", iso, "--password-file", pw, "--no-viewer").expect(t, 0, "read back and checked")
	return dir, iso, pw
}

// With the key flags the disc opens up front; the page lists the studies,
// shows images, saves a copy "ls" reads, and "Close viewer" ends the command.
func TestViewUnlockedUpFront(t *testing.T) {
	dir, iso, pw := burnSample(t)
	v := startView(t, iso, "--password-file", pw, "--no-browser", "--addr", "127.0.0.1:0")
	if code, _ := v.get(t, "/"); code != http.StatusForbidden {
		t.Fatalf("without the token: %d", code)
	}
	resp, err := v.hc.Get(v.url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Doe, Archibald") || !strings.Contains(string(b), "Doe, Peter") {
		t.Fatalf("study list: %s", b)
	}
	// The first CT slice's pixels: 16×16, 16 bits (the browser renders them).
	code, body := v.get(t, "/frame/0-0-0/0")
	if code != 200 || len(body) != 16*16*2 {
		t.Fatalf("frame: %d, %d bytes", code, len(body))
	}
	out := filepath.Join(dir, "copy")
	if code, body := v.post(t, "/export", url.Values{"folder": {out}}); code != 200 || !strings.Contains(body, "Saved 31 images") {
		t.Fatalf("export: %d %s", code, body)
	}
	if r := cli(t, "", "ls", out); r.code != 0 || !strings.Contains(r.stdout, "Doe^Peter") {
		t.Fatalf("ls of the saved copy: %+v", r)
	}
	if code, body := v.post(t, "/close", nil); code != 200 || !strings.Contains(body, "closed") {
		t.Fatalf("close: %d %s", code, body)
	}
	if code := v.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, v.stderr.String())
	}
	if !strings.Contains(v.stderr.String(), "viewer stopped") {
		t.Errorf("stderr: %s", v.stderr.String())
	}
}

// Without key flags the page asks; the browser is started with the URL;
// Ctrl-C (the context) ends the command with exit 0.
func TestViewAsksForPassword(t *testing.T) {
	_, iso, _ := burnSample(t)
	opened := make(chan string, 1)
	old := openBrowser
	openBrowser = func(u string) error { opened <- u; return nil }
	t.Cleanup(func() { openBrowser = old })
	v := startView(t, iso)
	select {
	case u := <-opened:
		if u != v.url {
			t.Fatalf("browser got %q, printed %q", u, v.url)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("browser not started")
	}
	resp, err := v.hc.Get(v.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, body := v.get(t, "/"); !strings.Contains(body, `type="password"`) {
		t.Fatalf("no password field: %s", body)
	}
	if _, body := v.post(t, "/unlock", url.Values{"password": {"wrong password here"}}); !strings.Contains(body, "did not open this disc") {
		t.Fatalf("wrong password: %s", body)
	}
	if _, body := v.post(t, "/unlock", url.Values{"password": {"a test passphrase, long enough"}}); !strings.Contains(body, "Doe, Archibald") {
		t.Fatalf("right password: %s", body)
	}
	v.cancel()
	if code := v.wait(t); code != 0 {
		t.Fatalf("exit %d after Ctrl-C: %s", code, v.stderr.String())
	}
}

func TestViewErrors(t *testing.T) {
	dir, iso, _ := burnSample(t)
	cli(t, "", "view", iso, "--no-browser", "--password-file", writeFile(t, dir, "bad", "not the disc passphrase")).expect(t, exitBadPassword, "wrong password")
	cli(t, "", "view", filepath.Join(dir, "missing.iso"), "--no-browser").expect(t, exitFailure, "missing.iso")
	cli(t, "", "view", t.TempDir(), "--no-browser").expect(t, exitFailure, "no DICOMDIR")
	cli(t, "", "view", iso, "--no-browser", "--port", "70000").expect(t, exitUsage, "port")
	cli(t, "", "view", iso, "--no-browser", "--addr", "0.0.0.0:0").expect(t, exitUsage, "127.0.0.1 only")
	cli(t, "", "view", iso, "--no-browser", "--addr", "127.0.0.1:0", "--port", "1").expect(t, exitUsage, "")
	cli(t, "", "view").expect(t, exitUsage, "")
}

// The unlock page also opens a disc with a certificate and its key file;
// a key the disc was not sealed for is told apart from a wrong password.
func TestViewUnlockWithCertificate(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	siteCert, siteKey := testCert(t, "site")
	otherCert, otherKey := testCert(t, "other")
	iso := filepath.Join(dir, "disc.iso")
	cli(t, "", "burn", sampleStudy, "-o", iso, "--password-file", pw, "--recipient", siteCert, "--no-viewer").expect(t, 0, "read back and checked")
	v := startView(t, iso, "--no-browser")
	resp, err := v.hc.Get(v.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, body := v.post(t, "/unlock", url.Values{"cert": {otherCert}, "key": {otherKey}}); !strings.Contains(body, "not sealed for that key") {
		t.Fatalf("other key: %s", body)
	}
	if _, body := v.post(t, "/unlock", url.Values{"cert": {siteCert}, "key": {filepath.Join(dir, "missing.key")}}); !strings.Contains(body, "could not be read") {
		t.Fatalf("missing key file: %s", body)
	}
	if _, body := v.post(t, "/unlock", url.Values{"cert": {siteCert}, "key": {siteKey}}); !strings.Contains(body, "Doe, Archibald") {
		t.Fatalf("site key: %s", body)
	}
	v.cancel()
	if code := v.wait(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
