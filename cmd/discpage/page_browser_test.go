//go:build !(js && wasm)

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/testpki"
	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
)

const sampleStudy = "../../testdata/sample-study"

// buildPage builds the page as "make viewers" does, into a folder of
// viewers, and returns that folder.
func buildPage(t testing.TB) string {
	t.Helper()
	pageOnce.Do(func() { pageDir, pageErr = buildPageOnce() })
	if pageErr != nil {
		t.Fatal(pageErr)
	}
	return pageDir
}

var (
	pageOnce sync.Once
	pageDir  string
	pageErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pageDir != "" {
		os.RemoveAll(filepath.Dir(pageDir))
	}
	os.Exit(code)
}

func buildPageOnce() (string, error) {
	dir, err := os.MkdirTemp("", "discpage-")
	if err != nil {
		return "", err
	}
	wasm := filepath.Join(dir, "discpage.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=test", "-o", wasm, ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, msg)
	}
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "VIEWER")
	return out, bundleFiles(out, wasm, filepath.Join(strings.TrimSpace(string(root)), "lib", "wasm", "wasm_exec.js"))
}

// pageBrowser is headless Chromium with the page's script errors and every
// request the page made collected.
type pageBrowser struct {
	ctx      context.Context
	t        testing.TB
	mu       sync.Mutex
	errors   []string
	requests []string
}

func startPageBrowser(t testing.TB, limit time.Duration) *pageBrowser {
	t.Helper()
	chromium := testtool.Require(t, "chromium")
	profile := testtool.BrowserProfile(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 720))
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	b := &pageBrowser{t: t}
	chromedp.ListenTarget(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.errors = append(b.errors, e.ExceptionDetails.Text+" "+exceptionDesc(e.ExceptionDetails))
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, e.Request.URL)
		}
	})
	ctx, cancelTime := context.WithTimeout(ctx, limit)
	t.Cleanup(cancelTime)
	b.ctx = ctx
	if err := chromedp.Run(ctx, network.Enable()); err != nil {
		t.Fatal(err)
	}
	return b
}

func exceptionDesc(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

func (b *pageBrowser) do(what string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (page errors: %v)", what, err, b.pageErrors())
	}
}

func (b *pageBrowser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// frameJS is an expression run in the viewer's page (the iframe).
func frameJS(expr string) string {
	return `(function () { const f = document.getElementById("view"); const document_ = f && !f.hidden && f.contentDocument; if (!document_) return ""; return (function (document) { return ` + expr + ` })(document_); })()`
}

// wait waits until the JavaScript expression (run in the top page) is a
// non-empty string, and returns it.
func (b *pageBrowser) wait(what, js string, limit time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var v string
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(js, &v)); err == nil && strings.TrimSpace(v) != "" {
			return v
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			var status string
			chromedp.Run(b.ctx, chromedp.Evaluate(`document.getElementById("status").textContent + " | hidden=" + document.getElementById("view").hidden + " doc=" + (function(){try{const d=document.getElementById("view").contentDocument; return d ? d.URL + " " + (d.querySelector("main") || d.body).innerText.replace(/\\s+/g, " ").slice(0,1500) + " title=" + d.title : "null"}catch(e){return "E:"+e.message}})()`, &status))
			b.t.Fatalf("%s: not after %v (page errors: %v; status: %s)", what, limit, b.pageErrors(), status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the text of the first element matching selector in the viewer's
// page, once there is one.
func (b *pageBrowser) text(what, selector string, limit time.Duration) string {
	b.t.Helper()
	return b.wait(what, frameJS(`(document.querySelector(`+jsQuote(selector)+`) || {}).textContent || ""`), limit)
}

func jsQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// In the viewer's page: clicking the first series' View link, and "the
// study list is shown".
var (
	openFirstSeriesJS = frameJS(`(function () { const a = Array.from(document.querySelectorAll("a")).find(function (a) { return a.textContent === "View"; }); a.click(); return "ok"; })()`)
	studyListJS       = frameJS(`(document.querySelector("h1") || {}).textContent === "Studies on this disc" ? "ok" : ""`)
)

// openPage opens the disc's INDEX.HTM in a new headless Chromium and picks
// the disc's folder in it, up to the unlock page.
func openPage(t *testing.T, disc string) *pageBrowser {
	t.Helper()
	b := startPageBrowser(t, 3*time.Minute)
	start := time.Now()
	b.do("open INDEX.HTM", chromedp.Navigate("file://"+filepath.ToSlash(filepath.Join(disc, "INDEX.HTM"))))
	b.wait("the page loads the viewer", `document.getElementById("status").textContent.indexOf("Choose the disc") === 0 ? "ok" : ""`, time.Minute)
	t.Logf("INDEX.HTM ready (WebAssembly loaded) in %v", time.Since(start).Round(time.Millisecond))
	// A folder given to DOM.setFileInputFiles is taken whole by a
	// webkitdirectory input, with relative paths, as a user's pick.
	b.do("pick the disc", chromedp.SetUploadFiles("#pick", []string{disc}, chromedp.ByID))
	b.wait("the unlock page", frameJS(`document.getElementById("password") ? "ok" : ""`), 30*time.Second)
	return b
}

// submitPassword types the password on the unlock page and submits it.
func (b *pageBrowser) submitPassword(pw string) {
	b.t.Helper()
	b.do("type the password", chromedp.Evaluate(frameJS(`(function () { const p = document.getElementById("password"); p.value = `+jsQuote(pw)+`; p.form.requestSubmit(); return "ok"; })()`), nil))
}

// unlock submits the right password and waits for the study list.
func (b *pageBrowser) unlock(pw string) time.Duration {
	b.t.Helper()
	start := time.Now()
	b.submitPassword(pw)
	b.wait("the study list", studyListJS, time.Minute)
	return time.Since(start).Round(time.Millisecond)
}

// TestPage opens a USB folder burned with INDEX.HTM from file:// in headless
// Chromium, picks the folder through the file input, fails with a wrong
// password, unlocks with the right one, lists the studies and shows an
// image, with no request leaving the page.
func TestPage(t *testing.T) {
	testtool.Require(t, "chromium")
	page := buildPage(t)
	files := media.FindPage(page)
	if len(files) != len(media.PageFiles) {
		t.Fatalf("the built page is incomplete: %v", files)
	}
	disc := mediatest.SealedFolder(t, media.Options{Page: files}, sampleStudy)
	patients := discPatients(t, disc)
	checkNoPatientData(t, disc, patients)

	b := openPage(t, disc)
	submit := b.submitPassword
	submit("not the password")
	if msg := b.text("a wrong password", "#unlock-error", 30*time.Second); !strings.Contains(msg, "did not open this disc") {
		t.Errorf("wrong password: %q", msg)
	}

	t.Logf("unlock to study list: %v", b.unlock(mediatest.Password))
	list := b.text("patients", "main", time.Second)
	for _, p := range patients {
		if !strings.Contains(list, p.ID) {
			t.Errorf("the study list lacks patient ID %s", p.ID)
		}
	}
	b.wait("the previews", frameJS(`document.querySelectorAll("canvas.thumb").length > 0 ? "ok" : ""`), 30*time.Second)

	first := time.Now()
	b.do("open a series", chromedp.Evaluate(openFirstSeriesJS, nil))
	shown := b.wait("an image", frameJS(`(function () { const c = document.getElementById("image"); return c && c.dataset.shown ? c.dataset.shown : ""; })()`), 30*time.Second)
	t.Logf("series page to image shown (%s): %v", shown, time.Since(first).Round(time.Millisecond))
	nonBlank := b.wait("the image's pixels", frameJS(`(function () { const c = document.getElementById("image"); const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; for (let i = 0; i < d.length; i += 4) if (d[i] !== d[0]) return "ok"; return "blank"; })()`), 10*time.Second)
	if nonBlank != "ok" {
		t.Errorf("the image is blank")
	}

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("script errors: %v", errs)
	}
	b.checkNoNetwork(t, disc)
}

// discPatients are the patients on the disc, as the program reads them.
func discPatients(t *testing.T, disc string) []*media.Patient {
	t.Helper()
	d, err := media.Open(disc)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	id, err := media.Password([]byte(mediatest.Password))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(id); err != nil {
		t.Fatal(err)
	}
	if len(d.Patients()) == 0 {
		t.Fatal("the disc has no patients")
	}
	return d.Patients()
}

// checkNoPatientData: INDEX.HTM and its assets (the WebAssembly inside
// WASM.JS, not its base64) name none of the patients (names, IDs).
func checkNoPatientData(t *testing.T, disc string, patients []*media.Patient) {
	t.Helper()
	var phi []string
	for _, p := range patients {
		phi = append(phi, p.ID)
		for _, part := range strings.FieldsFunc(p.Name, func(r rune) bool { return r == '^' || r == ' ' }) {
			if len(part) >= 2 {
				phi = append(phi, part)
			}
		}
	}
	for _, f := range media.PageFiles {
		b, err := os.ReadFile(filepath.Join(disc, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f.Path, "WASM.JS") { // the WebAssembly inside, not its base64
			b = wasmOf(t, b)
		}
		for _, s := range phi {
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(s) + `\b`).Match(b) {
				t.Errorf("%s holds %q, patient data", f.Path, s)
			}
		}
	}
}

// wasmOf is the WebAssembly in WASM.JS.
func wasmOf(t *testing.T, js []byte) []byte {
	t.Helper()
	_, b64, _ := bytes.Cut(js, []byte(`"`))
	b64, _, _ = bytes.Cut(b64, []byte(`"`))
	gz, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x00asm")) {
		t.Fatal("WASM.JS holds no WebAssembly")
	}
	return b
}

// TestPageDefaultIterations: a disc burned with the default key derivation
// (600 000 iterations of PBKDF2-HMAC-SHA-256) unlocks in the page; how long
// it takes is logged.
func TestPageDefaultIterations(t *testing.T) {
	testtool.Require(t, "chromium")
	files := media.FindPage(buildPage(t))
	disc := burn(t, media.USB, nil, files, sampleStudy)
	b := openPage(t, disc)
	t.Logf("unlock (default key derivation) to study list: %v", b.unlock(mediatest.Password))
}

// burn writes a medium of the inputs (a folder for USB, else an image),
// with the page, opened by mediatest.Password derived with params (nil:
// the default), and returns its path.
func burn(t *testing.T, m media.Medium, params *cms.PasswordParams, page []media.PageFile, inputs ...string) string {
	t.Helper()
	r, err := cms.NewPasswordRecipient([]byte(mediatest.Password), params)
	if err != nil {
		t.Fatal(err)
	}
	p, err := media.NewPlan(context.Background(), inputs, media.Options{Medium: m, Recipients: []cms.Recipient{r}, Page: page})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "disc")
	if m == media.USB {
		err = p.WriteFolder(context.Background(), out, false, nil)
	} else {
		out += ".iso"
		err = p.WriteImage(context.Background(), out, false, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkNoNetwork: every request the page made was for the disc's own files
// (INDEX.HTM and its assets) or the page's own blob: URLs (DevTools
// Network.requestWillBeSent events).
func (b *pageBrowser) checkNoNetwork(t *testing.T, disc string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if !strings.HasPrefix(u, "file://"+filepath.ToSlash(disc)+"/") && !strings.HasPrefix(u, "blob:") && !strings.HasPrefix(u, "data:") && u != "about:srcdoc" {
			t.Errorf("a request left the page: %s", u)
		}
	}
	t.Logf("%d requests, all to the disc's own files or the page's blobs", len(b.requests))
}

// TestPageCertificate: a disc sealed for a certificate opens in the page
// with the certificate and key files chosen on the unlock page (DevTools
// DOM.setFileInputFiles); another key is refused in words.
func TestPageCertificate(t *testing.T) {
	testtool.Require(t, "chromium")
	files := media.FindPage(buildPage(t))
	ca := testpki.NewCA(t, "SecureMedia test CA")
	site, other := ca.Issue(t, testpki.Leaf{Name: "site"}), ca.Issue(t, testpki.Leaf{Name: "other"})
	disc := mediatest.SealedFolderFor(t, media.Options{Recipients: []cms.Recipient{mediatest.CertificateRecipient(t, site.Cert)}, Page: files}, sampleStudy)
	b := openPage(t, disc)
	input := func(id string) string {
		return `document.getElementById("view").contentDocument.getElementById("` + id + `")`
	}
	submit := func(pair testpki.Pair) {
		b.do("choose the key files", chromedp.SetUploadFiles(input("certfile"), []string{pair.Cert}, chromedp.ByJSPath),
			chromedp.SetUploadFiles(input("keyfile"), []string{pair.Key}, chromedp.ByJSPath),
			chromedp.Evaluate(frameJS(`(document.getElementById("keyfile").form.requestSubmit(), "ok")`), nil))
	}
	submit(other)
	if msg := b.text("another key", "#unlock-error", 30*time.Second); !strings.Contains(msg, "not sealed for that key") {
		t.Errorf("another key: %q", msg)
	}
	submit(site)
	b.wait("the study list", studyListJS, time.Minute)
	b.checkNoNetwork(t, disc)
}

// TestSaveCopy: Save a copy in the page downloads a .zip holding the files,
// names and bytes, that extract writes of the same medium (media.Extract,
// which securemedia extract runs).
func TestSaveCopy(t *testing.T) {
	testtool.Require(t, "chromium")
	files := media.FindPage(buildPage(t))
	disc := mediatest.SealedFolder(t, media.Options{Page: files}, sampleStudy)
	want := filepath.Join(t.TempDir(), "extract")
	if _, err := mediatest.Unlocked(t, disc).Extract(context.Background(), want, nil); err != nil {
		t.Fatal(err)
	}

	b := openPage(t, disc)
	downloads := t.TempDir()
	b.do("allow downloads", browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads))
	b.unlock(mediatest.Password)
	b.do("open Save a copy", chromedp.Evaluate(frameJS(`(function () { const a = Array.from(document.querySelectorAll("a")).find(function (a) { return a.textContent === "Save a copy"; }); a.click(); return "ok"; })()`), nil))
	b.wait("the Save a copy page", frameJS(`document.getElementById("exportbutton") ? "ok" : ""`), 30*time.Second)
	b.screenshot("")
	b.do("press Save a copy", chromedp.Evaluate(frameJS(`(document.getElementById("exportbutton").click(), "ok")`), nil))
	b.wait("the page says it saved", frameJS(`((document.querySelector(".ok") || {}).textContent || "").indexOf("saved as a .zip") >= 0 ? "ok" : ""`), time.Minute)
	b.screenshot("-saved")

	var zipPath string
	for deadline := time.Now().Add(30 * time.Second); zipPath == ""; time.Sleep(50 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(downloads, "*.zip")); len(m) == 1 {
			zipPath = m[0]
		} else if time.Now().After(deadline) {
			ents, _ := os.ReadDir(downloads)
			t.Fatalf("no .zip downloaded after 30s (downloads folder: %v)", ents)
		}
	}
	data, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("downloaded %s, %d bytes", filepath.Base(zipPath), len(data))
	mediatest.CompareZipWithFolder(t, data, want)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("script errors: %v", errs)
	}
	b.checkNoNetwork(t, disc)
}

// screenshot saves the page as $SCREENSHOT with suffix before its
// extension, when that is set, for a person to look at.
func (b *pageBrowser) screenshot(suffix string) {
	b.t.Helper()
	name := os.Getenv("SCREENSHOT")
	if name == "" {
		return
	}
	var png []byte
	b.do("screenshot", chromedp.CaptureScreenshot(&png))
	ext := filepath.Ext(name)
	if err := os.WriteFile(strings.TrimSuffix(name, ext)+suffix+ext, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestPageDamagedAndMissing: in the page as in the program, a disc with a
// file deleted and another altered still opens; the studies page names the
// missing file, and the series with the altered one says in plain words
// that it was altered, instead of showing it.
func TestPageDamagedAndMissing(t *testing.T) {
	testtool.Require(t, "chromium")
	disc := mediatest.SealedFolder(t, media.Options{Page: media.FindPage(buildPage(t))}, sampleStudy)
	series := filepath.Join(disc, "DICOM", "P0000001", "ST000001", "SE000001")
	if err := os.Remove(filepath.Join(series, "IM000002")); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(series, "IM000001")
	b, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff // the same size, another byte: only its digest tells
	if err := os.WriteFile(damaged, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := openPage(t, disc)
	p.unlock(mediatest.Password)
	list := p.text("the studies page", "main", time.Second)
	if !strings.Contains(list, "Not everything on this disc could be read") || !strings.Contains(list, "SE000001/IM000002 — missing") {
		t.Errorf("the studies page does not name the missing file:\n%s", list)
	}
	p.do("open the first series", chromedp.Evaluate(openFirstSeriesJS, nil))
	p.wait("the series page", frameJS(`document.getElementById("stage") ? "ok" : ""`), 30*time.Second)
	msg := p.wait("the damaged image's note", frameJS(`(function () { const t = document.body.textContent; return t.indexOf("Lost:") >= 0 ? t : ""; })()`), 30*time.Second)
	if !strings.Contains(msg, "Lost: this file was altered after the disc was made — not shown (DICOM/P0000001/ST000001/SE000001/IM000001)") {
		t.Errorf("the series page does not say the file was altered:\n%s", msg)
	}
	if errs := p.pageErrors(); len(errs) > 0 {
		t.Errorf("script errors: %v", errs)
	}
}

// TestPageCompare: the Compare view works in the page as in the program:
// its viewports (frames in the viewer's page) load through Go, each shows
// an image, and they talk to the page around them (postMessage, which an
// opaque file:// origin cannot name), so the page knows which are in step.
func TestPageCompare(t *testing.T) {
	testtool.Require(t, "chromium")
	disc := mediatest.SealedFolder(t, media.Options{Page: media.FindPage(buildPage(t))}, sampleStudy)
	b := openPage(t, disc)
	b.unlock(mediatest.Password)
	b.do("open a series", chromedp.Evaluate(openFirstSeriesJS, nil))
	b.wait("the series page", frameJS(`document.getElementById("comparelink") ? "ok" : ""`), 30*time.Second)
	b.do("Compare", chromedp.Evaluate(frameJS(`(function () { document.getElementById("comparelink").click(); return "ok"; })()`), nil))
	b.wait("both viewports show an image", frameJS(`(function () { const fs = Array.from(document.querySelectorAll("iframe.viewport")); return fs.length === 2 && fs.every(function (f) { const c = f.contentDocument && f.contentDocument.getElementById("image"); return c && c.dataset.shown; }) ? "ok" : ""; })()`), 30*time.Second)
	b.screenshot("-compare")
	b.wait("the viewports' messages reach the page", frameJS(`(function () { const r = document.getElementById("compare"); return r && r.dataset.partners !== undefined ? "ok" : ""; })()`), 10*time.Second)
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("script errors: %v", errs)
	}
	b.checkNoNetwork(t, disc)
}

// TestPagePKCS12: a certificate disc opens in the page with a PKCS #12
// file made by openssl and its password; a wrong password for the file is
// said in plain words.
func TestPagePKCS12(t *testing.T) {
	testtool.Require(t, "chromium")
	openssl := testtool.Require(t, "openssl")
	files := media.FindPage(buildPage(t))
	ca := testpki.NewCA(t, "SecureMedia test CA")
	site := ca.Issue(t, testpki.Leaf{Name: "site"})
	p12 := filepath.Join(t.TempDir(), "site.p12")
	if out, err := exec.Command(openssl, "pkcs12", "-export", "-inkey", site.Key, "-in", site.Cert, "-out", p12, "-passout", "pass:test-only p12").CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12 -export: %v\n%s", err, out)
	}
	disc := mediatest.SealedFolderFor(t, media.Options{Recipients: []cms.Recipient{mediatest.CertificateRecipient(t, site.Cert)}, Page: files}, sampleStudy)
	b := openPage(t, disc)
	submit := func(pw string) {
		b.do("choose the PKCS #12 file", chromedp.SetUploadFiles(`document.getElementById("view").contentDocument.getElementById("p12file")`, []string{p12}, chromedp.ByJSPath),
			chromedp.Evaluate(frameJS(`(function () { const p = document.getElementById("p12password"); p.value = `+jsQuote(pw)+`; p.form.requestSubmit(); return "ok"; })()`), nil))
	}
	b.do("show the PKCS #12 form", chromedp.Evaluate(frameJS(`(document.getElementById("p12file").closest("details").open = true, "ok")`), nil))
	b.screenshot("-p12")
	submit("not its password")
	if msg := b.text("a wrong PKCS #12 password", "#unlock-error", 30*time.Second); !strings.Contains(msg, "wrong password for the key file") {
		t.Errorf("wrong PKCS #12 password: %q", msg)
	}
	submit("test-only p12")
	b.wait("the study list", studyListJS, time.Minute)
	b.checkNoNetwork(t, disc)
}
