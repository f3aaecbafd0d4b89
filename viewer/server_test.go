package viewer

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testpki"
	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
)

const (
	testPassword = mediatest.Password
	sampleStudy  = "../testdata/sample-study"
)

// sealedDisc writes a sealed USB-style medium from the inputs.
func sealedDisc(t *testing.T, inputs ...string) string {
	t.Helper()
	return sealedDiscWith(t, media.Options{}, inputs...)
}

// sealedDiscWith is sealedDisc with more options (medium and recipients
// are set by mediatest).
func sealedDiscWith(t *testing.T, o media.Options, inputs ...string) string {
	t.Helper()
	return mediatest.SealedFolder(t, o, inputs...)
}

type client struct {
	t    *testing.T
	s    *Server
	base string
	hc   *http.Client
}

// start serves the disc on 127.0.0.1 until the test ends.
func start(t *testing.T, discPath string) *client {
	t.Helper()
	d, err := media.Open(discPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return serve(t, d)
}

// serve runs a server for d (nil: the page asks for the disc) until the
// test ends.
func serve(t *testing.T, d *media.Disc) *client {
	t.Helper()
	return serveWith(t, d, Options{})
}

// serveWith is serve with options.
func serveWith(t *testing.T, d *media.Disc, o Options) *client {
	t.Helper()
	s, err := New(d, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	jar, _ := cookiejar.New(nil)
	return &client{t: t, s: s, base: "http://" + s.Addr(), hc: &http.Client{Jar: jar}}
}

// login opens the start URL, which sets the token cookie.
func (c *client) login() {
	c.t.Helper()
	resp, err := c.hc.Get(c.s.URL())
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" {
		c.t.Fatalf("start URL: %d, landed on %s", resp.StatusCode, resp.Request.URL)
	}
}

func (c *client) do(req *http.Request) (int, string, http.Header) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (c *client) get(path string) (int, string, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	code, body, _ := c.do(req)
	return code, body
}

func (c *client) unlock() {
	c.t.Helper()
	if code, body := c.post("/unlock", url.Values{"password": {testPassword}}); code != 200 || !strings.Contains(body, "Studies on this disc") {
		c.t.Fatalf("unlock: %d\n%s", code, body)
	}
}

// frame gets one frame's bytes (/frame/...).
func (c *client) frame(path string) []byte {
	c.t.Helper()
	code, body, h := c.get(path)
	if code != 200 || h.Get("Content-Type") != "application/octet-stream" {
		c.t.Fatalf("%s: %d %s: %s", path, code, h.Get("Content-Type"), body)
	}
	return []byte(body)
}

func TestRefusesForeignRequests(t *testing.T) {
	c := start(t, sealedDisc(t, sampleStudy))
	_, token, _ := strings.Cut(c.s.URL(), "?token=")
	if !strings.HasPrefix(c.s.Addr(), "127.0.0.1:") || len(token) < 43 {
		t.Fatalf("address %s, token %q", c.s.Addr(), token)
	}
	// No token at all, a wrong token in the URL or the cookie.
	if code, _, _ := c.get("/"); code != 403 {
		t.Errorf("no token: %d", code)
	}
	if code, _, _ := c.get("/?token=" + strings.Repeat("A", 43)); code != 403 {
		t.Errorf("wrong token: %d", code)
	}
	req, _ := http.NewRequest("GET", c.base+"/", nil)
	req.AddCookie(&http.Cookie{Name: "sm_token_" + strings.Split(c.s.Addr(), ":")[1], Value: "guess"})
	if code, _, _ := c.do(req); code != 403 {
		t.Errorf("wrong cookie: %d", code)
	}
	c.login()
	code, body, h := c.get("/")
	if code != 200 || !strings.Contains(body, `type="password"`) {
		t.Fatalf("with the token: %d\n%s", code, body)
	}
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
		h.Get("Cross-Origin-Resource-Policy") != "same-origin" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: %v", h)
	}
	// Scripts: our own files, plus compiling WebAssembly (the image
	// decoders); no eval, no inline script, no other origin.
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "script-src" && strings.Join(f[1:], " ") != "'self' 'wasm-unsafe-eval'" {
			t.Errorf("script-src: %q", d)
		}
	}
	if rp := h.Get("Referrer-Policy"); rp != "same-origin" {
		t.Errorf("Referrer-Policy %q", rp)
	}
	// The right token but another Host (DNS rebinding).
	req, _ = http.NewRequest("GET", c.base+"/", nil)
	req.Host = "evil.example:" + strings.Split(c.s.Addr(), ":")[1]
	if code, _, _ := c.do(req); code != 403 {
		t.Errorf("wrong Host: %d", code)
	}
	req, _ = http.NewRequest("GET", c.base+"/", nil)
	req.Host = "localhost:" + strings.Split(c.s.Addr(), ":")[1]
	if code, _, _ := c.do(req); code != 403 {
		t.Errorf("localhost Host: %d", code)
	}
	// The right token but posted from another site (CSRF).
	for _, hdr := range [][2]string{{"Origin", "http://evil.example"}, {"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}} {
		req, _ = http.NewRequest("POST", c.base+"/unlock", strings.NewReader(url.Values{"password": {testPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdr[0], hdr[1])
		if code, _, _ := c.do(req); code != 403 {
			t.Errorf("POST with %s %s: %d", hdr[0], hdr[1], code)
		}
	}
	// Another port of 127.0.0.1 is the same site for cookies: refused too.
	req, _ = http.NewRequest("GET", c.base+"/", nil)
	req.Header.Set("Sec-Fetch-Site", "same-site")
	if code, _, _ := c.do(req); code != 403 {
		t.Errorf("GET from the same site: %d", code)
	}
	// None of that unlocked the disc.
	if _, body, _ := c.get("/"); !strings.Contains(body, `type="password"`) {
		t.Fatal("a refused request unlocked the disc")
	}
	// Pages behind the lock send you to the unlock page.
	if _, body, _ := c.get("/series/0-0-0"); !strings.Contains(body, `type="password"`) {
		t.Fatal("series page shown while locked")
	}
}

func TestUnlockStudiesImages(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	disc := sealedDisc(t, sampleStudy)
	before := listFiles(t, disc)
	c := start(t, disc)
	c.login()

	code, body := c.post("/unlock", url.Values{"password": {"not the password"}})
	if code != 200 || !strings.Contains(body, "That password did not open this disc") {
		t.Fatalf("wrong password: %d\n%s", code, body)
	}
	if code, body := c.post("/unlock", url.Values{}); code != 200 || !strings.Contains(body, "Type the disc") {
		t.Fatalf("empty password: %d\n%s", code, body)
	}
	if code, body := c.post("/unlock", url.Values{"cert": {"/x.pem"}, "key": {"/x.key"}}); code != 400 || !strings.Contains(body, "not available") {
		t.Fatalf("certificate without LoadKey: %d\n%s", code, body)
	}
	c.unlock()
	_, body, _ = c.get("/")
	for _, want := range []string{"Doe, Archibald", "Doe, Peter", "77654033", "1995-09-03", "XR C Spine Comp Min 4 Views", "<td>CT</td>", "<td>MR</td>", "4 images"} {
		if !strings.Contains(body, want) {
			t.Errorf("study list lacks %q", want)
		}
	}
	// The CT series of Archibald Doe: 4 images of 16×16.
	code, body, _ = c.get("/series/0-0-0")
	if code != 200 || !strings.Contains(body, "Image 1 of 4") || !strings.Contains(body, `data-frame="/frame/0-0-0/0"`) || !strings.Contains(body, "Doe, Archibald") ||
		!strings.Contains(body, `<dd id="a-date">1995-09-03</dd>`) || !strings.Contains(body, "Routine Brain") {
		t.Fatalf("series page: %d\n%s", code, body)
	}
	if code, body, _ := c.get("/series/0-0-0?i=3"); code != 200 || !strings.Contains(body, "Image 4 of 4") || !strings.Contains(body, `href="?i=2"`) {
		t.Fatalf("last slice: %d\n%s", code, body)
	}
	// The browser gets the stored pixels (16×16, 16 bits) and renders them.
	if a := c.frame("/frame/0-0-0/1"); len(a) != 16*16*2 || bytes.Equal(a, c.frame("/frame/0-0-0/2")) {
		t.Fatalf("frame: %d bytes, or the same as the next slice's", len(a))
	}
	// Each series in the list has a preview of its middle image, drawn by
	// the page from that image's frame.
	if _, body, _ := c.get("/"); !strings.Contains(body, `<canvas class="thumb" data-series="0-0-0" data-index="2"`) {
		t.Fatal("no preview in the study list")
	}
	// The JSON for scrolling carries no patient name.
	code, body, _ = c.get("/info/0-0-0/2")
	if code != 200 || !strings.Contains(body, `"Width":16`) || !strings.Contains(body, `"Codec":"native"`) || !strings.Contains(body, `"FrameURL":"/frame/0-0-0/2"`) ||
		!strings.Contains(body, `"WindowCenter":[30]`) || strings.Contains(body, "Doe") {
		t.Fatalf("info: %d %s", code, body)
	}
	for _, p := range []string{"/frame/0-0-0/4", "/frame/9-9-9/0", "/frame/0-0-0/x"} {
		if code, _, _ := c.get(p); code != 404 {
			t.Errorf("%s: %d", p, code)
		}
	}
	// Nothing decrypted was written anywhere: not next to the disc, not in
	// the temporary folder.
	if after := listFiles(t, disc); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the disc folder changed: %v", after)
	}
	if left := listFiles(t, tmp); len(left) > 0 {
		t.Errorf("files in the temporary folder: %v", left)
	}
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sopInstanceOf is the Media Storage SOP Instance UID of a Part 10 file.
func sopInstanceOf(t *testing.T, b []byte) string {
	t.Helper()
	h, _, err := dicom.ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return h.MetaString(dicom.MediaStorageSOPInstanceUID)
}

// MONOCHROME1 and rescale through the whole chain, and a compressed image
// that shows a message instead of failing.
func TestSyntheticImages(t *testing.T) {
	in := t.TempDir()
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "1", Rows: 1, Cols: 3, Bits: 16, Photometric: "MONOCHROME1", Slope: "2", Intercept: "-100",
		WC: "0", WW: "200", Pixels: dicomtest.U16(0, 50, 100), Name: "Synth^One", SeriesDescription: "inverted"})
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "2", Series: "2", TS: "1.2.840.10008.1.2.4.201", Rows: 2, Cols: 2, Bits: 16,
		Photometric: "MONOCHROME2", Fragment: []byte("not really HTJ2K"), Name: "Synth^One", SeriesDescription: "compressed"})
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "3", Series: "3", Rows: 2, Cols: 2, Bits: 8, Photometric: "MONOCHROME2", Frames: "2",
		Pixels: []byte{0, 50, 100, 150, 150, 100, 50, 0}, Name: "Synth^One"})
	c := start(t, sealedDisc(t, in))
	c.login()
	c.unlock()
	if _, body, _ := c.get("/"); !strings.Contains(body, "Synth, One") || !strings.Contains(body, `href="/series/0-0-1"`) {
		t.Fatalf("studies:\n%s", body)
	}
	// The study list reads the series descriptions from the SERIES records
	// burn now writes, and counts frames.
	_, body, _ := c.get("/")
	for _, want := range []string{"<td>inverted</td>", "<td>compressed</td>", "1 image, 2 frames", "Study of 2024-01-02"} {
		if !strings.Contains(body, want) {
			t.Errorf("the study list lacks %q", want)
		}
	}
	// Series 1: the stored values, and what the page needs to rescale
	// (0, 50, 100 → -100, 0, 100), window (0/200) and invert them.
	if got := c.frame("/frame/0-0-0/0"); !bytes.Equal(got, dicomtest.U16(0, 50, 100)) {
		t.Fatalf("frame: %v", got)
	}
	_, body, _ = c.get("/info/0-0-0/0")
	for _, want := range []string{`"PhotometricInterpretation":"MONOCHROME1"`, `"RescaleSlope":2`, `"RescaleIntercept":-100`, `"WindowCenter":[0]`, `"WindowWidth":[200]`} {
		if !strings.Contains(body, want) {
			t.Errorf("info lacks %s: %s", want, body)
		}
	}
	// Series 2 is in a compression the viewer does not know: a clear
	// message, no image.
	code, body, _ := c.get("/series/0-0-1")
	if code != 200 || !strings.Contains(body, "this image is compressed (HTJ2K Lossless), which the viewer does not display yet") || strings.Contains(body, `data-frame="/frame/`) {
		t.Fatalf("compressed page: %d\n%s", code, body)
	}
	if code, body, _ := c.get("/frame/0-0-1/0"); code != http.StatusUnsupportedMediaType || !strings.Contains(body, "compressed") {
		t.Fatalf("compressed frame: %d %s", code, body)
	}
	// Series 3 has two frames, each its own PNG.
	if _, body, _ := c.get("/series/0-0-2"); !strings.Contains(body, "Frame 1 of 2") || !strings.Contains(body, "2 × 2, 2 frames") {
		t.Fatalf("multi-frame page:\n%s", body)
	}
	if got := c.frame("/frame/0-0-2/0?n=1"); !bytes.Equal(got, []byte{150, 100, 50, 0}) {
		t.Fatalf("frame 2: %v", got)
	}
	if code, body, _ := c.get("/frame/0-0-2/0?n=2"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "no frame 3") {
		t.Fatalf("frame out of range: %d %s", code, body)
	}
}

func TestExport(t *testing.T) {
	disc := sealedDisc(t, sampleStudy)
	c := start(t, disc)
	c.login()
	// Export needs the disc open.
	if code, body := c.post("/export", url.Values{"folder": {t.TempDir()}}); code != 200 || !strings.Contains(body, `type="password"`) {
		t.Fatalf("export while locked: %d", code)
	}
	c.unlock()
	out := filepath.Join(t.TempDir(), "copy")
	if code, body := c.post("/export", url.Values{"folder": {"relative/path"}}); code != 200 || !strings.Contains(body, "full path") {
		t.Fatalf("relative: %d\n%s", code, body)
	}
	code, body := c.post("/export", url.Values{"folder": {out}})
	if code != 200 || !strings.Contains(body, "Saved 31 images") {
		t.Fatalf("export: %d\n%s", code, body)
	}
	d, err := media.OpenDICOMDIR(filepath.Join(out, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if errs := d.CheckRecords(); len(errs) > 0 {
		t.Fatalf("exported file-set: %v", errs)
	}
	// dciodvfy accepts its DICOMDIR, and it is what "securemedia extract"
	// writes, file for file and byte for byte.
	dciodvfy := testtool.Require(t, "dciodvfy")
	if msg, err := exec.Command(dciodvfy, filepath.Join(out, "DICOMDIR")).CombinedOutput(); err != nil || bytes.Contains(msg, []byte("Error")) {
		t.Fatalf("dciodvfy on the exported DICOMDIR: %v\n%s", err, msg)
	}
	want := extractDisc(t, disc)
	wantFiles, gotFiles := listFiles(t, want), listFiles(t, out)
	if len(gotFiles) != len(wantFiles) {
		t.Fatalf("export has %d files, extract %d", len(gotFiles), len(wantFiles))
	}
	for i := range wantFiles {
		rw, _ := filepath.Rel(want, wantFiles[i])
		rg, _ := filepath.Rel(out, gotFiles[i])
		if rw != rg || !bytes.Equal(readFile(t, wantFiles[i]), readFile(t, gotFiles[i])) {
			t.Errorf("export's %s differs from extract's %s", rg, rw)
		}
	}
	// And each image is the very file that was put on the disc, byte for
	// byte (matched by SOP Instance UID).
	originals := map[string][]byte{}
	for _, f := range listFiles(t, sampleStudy) {
		if b := readFile(t, f); dicom.IsPart10(b) {
			originals[sopInstanceOf(t, b)] = b
		}
	}
	images := 0
	for _, f := range gotFiles {
		b := readFile(t, f)
		if filepath.Base(f) == "DICOMDIR" || !dicom.IsPart10(b) {
			continue
		}
		images++
		if orig, ok := originals[sopInstanceOf(t, b)]; !ok || !bytes.Equal(orig, b) {
			t.Errorf("exported %s is not the file put on the disc (found: %v)", f, ok)
		}
	}
	if images != 31 {
		t.Errorf("%d images exported, want 31", images)
	}
	// The saved copy is a plain File-set: the viewer opens it without a
	// password.
	p := start(t, out)
	p.login()
	if _, body, _ := p.get("/"); !strings.Contains(body, "Doe, Archibald") {
		t.Fatalf("plain copy:\n%s", body)
	}
	if got := p.frame("/frame/0-0-0/0"); len(got) != 16*16*2 {
		t.Fatalf("plain copy image: %d bytes", len(got))
	}
	// Not into a folder that has something in it.
	code, body = c.post("/export", url.Values{"folder": {out}})
	if code != 200 || !strings.Contains(body, "The copy was not saved") {
		t.Fatalf("second export: %d\n%s", code, body)
	}
	// One patient of the two: only that patient's images.
	if _, page, _ := c.get("/export"); !strings.Contains(page, `<option value="1">Doe, Peter (ID 98890234), 24 images</option>`) {
		t.Fatalf("the export page offers no choice of patient:\n%s", page)
	}
	one := filepath.Join(t.TempDir(), "peter")
	if code, body := c.post("/export", url.Values{"folder": {one}, "patient": {"1"}}); code != 200 || !strings.Contains(body, "Saved 24 images") {
		t.Fatalf("export of patient 1: %d\n%s", code, body)
	}
	d1, err := media.OpenDICOMDIR(filepath.Join(one, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	defer d1.Close()
	if ps := d1.Patients(); len(ps) != 1 || ps[0].ID != "98890234" || len(d1.Instances()) != 24 {
		t.Fatalf("export of patient 1 holds %d patients, %d instances", len(ps), len(d1.Instances()))
	}
	if code, _ := c.post("/export", url.Values{"folder": {filepath.Join(t.TempDir(), "x")}, "patient": {"7"}}); code != http.StatusNotFound {
		t.Errorf("export of a patient not on the disc: %d", code)
	}
}

func TestCloseButton(t *testing.T) {
	c := start(t, sealedDisc(t, sampleStudy))
	c.login()
	if code, body := c.post("/close", nil); code != 200 || !strings.Contains(body, "The viewer is closed") {
		t.Fatalf("close: %d %s", code, body)
	}
	select {
	case <-c.s.Closed():
	default:
		t.Fatal("Closed not signalled")
	}
}

// The About page says what the viewer is and lists the software inside it,
// each with its licence text, served by the viewer itself (the disc may be
// read where there is no network).
func TestAboutListsLicences(t *testing.T) {
	c := start(t, sealedDisc(t, filepath.Join(sampleStudy, "77654033", "CR1")))
	c.login()
	code, body, _ := c.get("/about")
	if code != 200 || !strings.Contains(body, "About this viewer") {
		t.Fatalf("about: %d\n%s", code, body)
	}
	links := regexp.MustCompile(`href="(/static/[^"]+\.txt)"`).FindAllStringSubmatch(body, -1)
	if len(links) < 8 {
		t.Fatalf("about lists %d licence texts", len(links))
	}
	for _, l := range links {
		code, text, _ := c.get(l[1])
		if code != 200 || len(strings.TrimSpace(text)) < 200 {
			t.Errorf("%s: %d, %d bytes", l[1], code, len(text))
		}
	}
}

// TestInProcess: the handler INDEX.HTM's WebAssembly answers with serves
// the same pages with no listener and no token, and the same headers.
func TestInProcess(t *testing.T) {
	d, err := media.Open(sealedDisc(t, sampleStudy))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, err := NewInProcess(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, target, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("GET", "/", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="password"`) {
		t.Fatalf("GET /: %d, no unlock form", w.Code)
	}
	if w.Header().Get("Content-Security-Policy") != pageCSP {
		t.Errorf("CSP %q", w.Header().Get("Content-Security-Policy"))
	}
	if w := get("GET", "/series/x", ""); w.Code != http.StatusSeeOther {
		t.Errorf("a series while locked: %d, want a redirect to the unlock page", w.Code)
	}
	if w := get("POST", "/unlock", "password="+url.QueryEscape(testPassword)); w.Code != http.StatusSeeOther {
		t.Fatalf("unlock: %d %s", w.Code, w.Body)
	}
	if w := get("GET", "/", ""); !strings.Contains(w.Body.String(), "Studies on this disc") {
		t.Errorf("after unlocking, GET / is not the study list")
	}
	// A browser page can open no DICOM connection: Send says so.
	if w := get("GET", "/send?series=0-0-0", ""); !strings.Contains(w.Body.String(), "cannot send images to a PACS") {
		t.Errorf("Send in the page: %s", w.Body)
	}
	// Nor write a folder: Save a copy is a .zip download of the File-set.
	if w := get("GET", "/export", ""); strings.Contains(w.Body.String(), `id="folder"`) || !strings.Contains(w.Body.String(), ".zip download") {
		t.Errorf("Save a copy in the page asks for a folder, or offers no .zip: %s", w.Body)
	}
	w = get("POST", "/export", "")
	if w.Header().Get("Content-Type") != "application/zip" || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment; filename=") {
		t.Errorf("Save a copy in the page: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"))
	} else if _, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len())); err != nil {
		t.Errorf("Save a copy in the page: not a zip: %v", err)
	}
}

// With LoadKeyFiles the unlock page takes the certificate and key as
// uploaded files (INDEX.HTM); one of them alone is refused in words.
func TestUnlockWithKeyFiles(t *testing.T) {
	ca := testpki.NewCA(t, "Hospital CA")
	site := ca.Issue(t, testpki.Leaf{Name: "site"})
	dir := mediatest.SealedFolderFor(t, media.Options{Recipients: []cms.Recipient{mediatest.CertificateRecipient(t, site.Cert)}}, sampleStudy)
	d, err := media.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, err := NewInProcess(d, Options{LoadKeyFiles: keyfile.ParsePair})
	if err != nil {
		t.Fatal(err)
	}
	post := func(files map[string]string) string {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for field, path := range files {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fw, _ := mw.CreateFormFile(field, filepath.Base(path))
			fw.Write(b)
		}
		mw.Close()
		req := httptest.NewRequest("POST", "/unlock", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusSeeOther {
			w = httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		}
		return w.Body.String()
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(w.Body.String(), `name="certfile"`) || strings.Contains(w.Body.String(), `name="cert"`) {
		t.Errorf("the unlock page does not ask for key files (only)")
	}
	if body := post(map[string]string{"certfile": site.Cert}); !strings.Contains(body, "Give both the certificate file and the private key file.") {
		t.Errorf("a certificate without its key: %s", body)
	}
	if body := post(map[string]string{"certfile": site.Cert, "keyfile": site.Key}); !strings.Contains(body, "Studies on this disc") {
		t.Errorf("the right key files did not open the disc: %s", body)
	}
}
