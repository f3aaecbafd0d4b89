//go:build !(js && wasm)

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
)

// bidi is a minimal WebDriver BiDi client (W3C WebDriver BiDi, the
// protocol Firefox's --remote-debugging-port speaks): commands as JSON
// over one WebSocket, answers matched by id, events collected.
type bidi struct {
	t      testing.TB
	conn   net.Conn
	mu     sync.Mutex
	nextID int
	answer map[int]chan json.RawMessage
	urls   []string // network.beforeRequestSent
	errs   []string // log.entryAdded of level error
}

func startFirefox(t *testing.T) *bidi {
	t.Helper()
	ff := testtool.Require(t, "firefox-esr")
	profile := t.TempDir()
	cmd := exec.Command(ff, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port", "0", "--width", "1280", "--height", "720")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Firefox says where it listens on stderr: "WebDriver BiDi listening on ws://127.0.0.1:PORT".
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-addr:
	case <-time.After(time.Minute):
		t.Fatal("firefox-esr did not start its WebDriver BiDi server within a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dial(ctx, url+"/session")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b := &bidi{t: t, conn: conn, answer: map[int]chan json.RawMessage{}}
	go b.readLoop()
	b.call("session.new", map[string]any{"capabilities": map[string]any{}})
	b.call("session.subscribe", map[string]any{"events": []string{"network.beforeRequestSent", "log.entryAdded"}})
	return b
}

func (b *bidi) readLoop() {
	for {
		msg, err := wsutil.ReadServerText(b.conn)
		if err != nil {
			return
		}
		var m struct {
			ID     *int            `json:"id"`
			Type   string          `json:"type"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		b.mu.Lock()
		switch {
		case m.ID != nil:
			if ch := b.answer[*m.ID]; ch != nil {
				ch <- msg
			}
		case m.Method == "network.beforeRequestSent":
			var p struct {
				Request struct{ URL string } `json:"request"`
			}
			json.Unmarshal(m.Params, &p)
			b.urls = append(b.urls, p.Request.URL)
		case m.Method == "log.entryAdded":
			var p struct{ Level, Text string }
			json.Unmarshal(m.Params, &p)
			if p.Level == "error" {
				b.errs = append(b.errs, p.Text)
			}
		}
		b.mu.Unlock()
	}
}

// call sends a command and returns its result, failing the test on an error.
func (b *bidi) call(method string, params any) json.RawMessage {
	b.t.Helper()
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan json.RawMessage, 1)
	b.answer[id] = ch
	b.mu.Unlock()
	req, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := wsutil.WriteClientText(b.conn, req); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	select {
	case msg := <-ch:
		var r struct {
			Type    string          `json:"type"`
			Result  json.RawMessage `json:"result"`
			Error   string          `json:"error"`
			Message string          `json:"message"`
		}
		json.Unmarshal(msg, &r)
		if r.Type == "error" {
			b.t.Fatalf("%s: %s: %s", method, r.Error, r.Message)
		}
		return r.Result
	case <-time.After(time.Minute):
		b.t.Fatalf("%s: no answer within a minute", method)
		return nil
	}
}

// eval evaluates a JavaScript expression in the top page and returns it
// as a string ("" for anything else).
func (b *bidi) eval(browsingContext, expr string) string {
	b.t.Helper()
	res := b.call("script.evaluate", map[string]any{"expression": expr, "target": map[string]any{"context": browsingContext}, "awaitPromise": false})
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct{ Text string } `json:"exceptionDetails"`
	}
	json.Unmarshal(res, &r)
	if r.ExceptionDetails != nil {
		return ""
	}
	if s, ok := r.Result.Value.(string); ok {
		return s
	}
	return ""
}

func (b *bidi) wait(browsingContext, what, expr string, limit time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if v := b.eval(browsingContext, expr); strings.TrimSpace(v) != "" {
			return v
		}
		if time.Now().After(deadline) {
			status := b.eval(browsingContext, `document.getElementById("status") ? document.getElementById("status").textContent : document.body.innerText.slice(0, 500)`)
			b.mu.Lock()
			errs := fmt.Sprint(b.errs)
			b.mu.Unlock()
			b.t.Fatalf("Firefox: %s: not after %v (status: %q; console errors: %s)", what, limit, status, errs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pickFolder gives the page the disc's folder as its folder input would.
// Firefox's input.setFiles refuses a folder (NS_ERROR_FILE_IS_DIRECTORY,
// Firefox ESR 153), so each file is set on an input of its own, renamed to
// its path under the folder (what webkitRelativePath says after a real
// pick), and the lot handed to the page's #pick input through a
// DataTransfer, with the change event a real pick fires.
func (b *bidi) pickFolder(bc, disc string) {
	b.t.Helper()
	var paths []string
	err := filepath.WalkDir(disc, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	b.eval(bc, `window.smTestPick = new DataTransfer(); ""`)
	for _, p := range paths {
		rel, _ := filepath.Rel(filepath.Dir(disc), p)
		res := b.call("script.evaluate", map[string]any{"expression": `(function () { const i = document.createElement("input"); i.type = "file"; i.hidden = true; document.body.appendChild(i); return i; })()`,
			"target": map[string]any{"context": bc}, "awaitPromise": false, "resultOwnership": "root"})
		var el struct {
			Result struct {
				SharedID string `json:"sharedId"`
			} `json:"result"`
		}
		json.Unmarshal(res, &el)
		b.call("input.setFiles", map[string]any{"context": bc, "element": map[string]any{"sharedId": el.Result.SharedID}, "files": []string{p}})
		b.eval(bc, `(function () { const i = document.body.lastElementChild; const f = i.files[0]; window.smTestPick.items.add(new File([f], `+jsQuote(filepath.ToSlash(rel))+`)); i.remove(); return ""; })()`)
	}
	got := b.eval(bc, `(function () { const pick = document.getElementById("pick"); pick.files = window.smTestPick.files; pick.dispatchEvent(new Event("change")); return String(pick.files.length) + " " + pick.files[0].name; })()`)
	b.t.Logf("Firefox: picked %d files: %s", len(paths), got)
}

// probeNetworkEvents makes sure the network events the test relies on
// arrive: a tab of its own loads a page from a server on 127.0.0.1, and
// that request must be seen. Without it, "no request left the page" could
// mean only that Firefox reported none.
func (b *bidi) probeNetworkEvents() {
	b.t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "probe") }))
	defer srv.Close()
	var tab struct {
		Context string `json:"context"`
	}
	json.Unmarshal(b.call("browsingContext.create", map[string]any{"type": "tab"}), &tab)
	b.call("browsingContext.navigate", map[string]any{"context": tab.Context, "url": srv.URL + "/probe", "wait": "complete"})
	b.call("browsingContext.close", map[string]any{"context": tab.Context})
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.urls {
		if strings.HasPrefix(u, srv.URL) {
			return
		}
	}
	b.t.Fatalf("Firefox reported no network event for a probe page on %s: the no-network check would prove nothing", srv.URL)
}

// TestPageFirefox runs the page's main path in Firefox ESR, headless,
// driven over WebDriver BiDi: open INDEX.HTM from file://, pick the disc's
// folder (input.setFiles), refuse a wrong password, unlock, list the
// studies and show an image, with no request leaving the page.
func TestPageFirefox(t *testing.T) {
	testtool.Require(t, "firefox-esr")
	page := buildPage(t)
	disc := mediatest.SealedFolder(t, media.Options{Page: media.FindPage(page)}, sampleStudy)
	patients := discPatients(t, disc)

	b := startFirefox(t)
	var tree struct {
		Contexts []struct{ Context string } `json:"contexts"`
	}
	json.Unmarshal(b.call("browsingContext.getTree", map[string]any{}), &tree)
	if len(tree.Contexts) == 0 {
		t.Fatal("Firefox has no browsing context")
	}
	bc := tree.Contexts[0].Context
	b.call("browsingContext.navigate", map[string]any{"context": bc, "url": "file://" + filepath.ToSlash(filepath.Join(disc, "INDEX.HTM")), "wait": "complete"})
	b.wait(bc, "the page loads the viewer", `document.getElementById("status").textContent.indexOf("Choose the disc") === 0 ? "ok" : ""`, time.Minute)

	b.pickFolder(bc, disc)
	b.wait(bc, "the unlock page", frameJS(`document.getElementById("password") ? "ok" : ""`), 30*time.Second)

	submit := func(pw string) {
		b.eval(bc, frameJS(`(function () { const p = document.getElementById("password"); p.value = `+jsQuote(pw)+`; p.form.requestSubmit(); return "ok"; })()`))
	}
	submit("not the password")
	if msg := b.wait(bc, "a wrong password", frameJS(`(document.querySelector("#unlock-error") || {}).textContent || ""`), 30*time.Second); !strings.Contains(msg, "did not open this disc") {
		t.Errorf("wrong password: %q", msg)
	}
	start := time.Now()
	submit(mediatest.Password)
	b.wait(bc, "the study list", studyListJS, time.Minute)
	t.Logf("Firefox: unlock to study list %v", time.Since(start).Round(time.Millisecond))
	list := b.eval(bc, frameJS(`document.querySelector("main").textContent`))
	for _, p := range patients {
		if !strings.Contains(list, p.ID) {
			t.Errorf("the study list lacks patient ID %s", p.ID)
		}
	}
	b.eval(bc, openFirstSeriesJS)
	shown := b.wait(bc, "an image", frameJS(`(function () { const c = document.getElementById("image"); return c && c.dataset.shown ? c.dataset.shown : ""; })()`), 30*time.Second)
	if v := b.wait(bc, "the image's pixels", frameJS(`(function () { const c = document.getElementById("image"); const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; for (let i = 0; i < d.length; i += 4) if (d[i] !== d[0]) return "ok"; return "blank"; })()`), 10*time.Second); v != "ok" {
		t.Errorf("Firefox: the image (%s) is blank", shown)
	}

	b.mu.Lock()
	pageURLs, consoleErrs := append([]string(nil), b.urls...), append([]string(nil), b.errs...)
	b.mu.Unlock()
	if len(consoleErrs) > 0 {
		t.Errorf("Firefox: script errors: %v", consoleErrs)
	}
	b.probeNetworkEvents() // after the page's requests are taken: the probe's (favicon included) are not the page's
	for _, u := range pageURLs {
		if !strings.HasPrefix(u, "file://"+filepath.ToSlash(disc)+"/") && !strings.HasPrefix(u, "blob:") && !strings.HasPrefix(u, "data:") && u != "about:srcdoc" && u != "about:blank" {
			t.Errorf("Firefox: a request left the page: %s", u)
		}
	}
	t.Logf("Firefox: %d requests, all to the disc's own files or the page's blobs; console errors: %v", len(pageURLs), consoleErrs)
}
