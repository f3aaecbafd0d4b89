package viewer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/securemedia/securemedia/media"
)

// In the browser, a lost image (its file holds another patient's image)
// is shown as a marked placeholder when the page scrolls onto it, never as
// a picture, and the images around it still show.
func TestBrowserLostImage(t *testing.T) {
	disc := sealedDisc(t, sampleStudy)
	d, err := media.Open(disc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	pw, err := media.Password([]byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Salvage(pw); err != nil {
		t.Fatal(err)
	}
	s, err := New(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Image 2 of the first CT series gets the bytes of the other
	// patient's first image, before anything was read.
	a, b := s.tree.series["0-0-0"].files[1].Path(), s.tree.series["1-0-0"].files[0].Path()
	bytes, err := os.ReadFile(filepath.Join(disc, filepath.FromSlash(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(disc, filepath.FromSlash(a)), bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx) }()
	t.Cleanup(func() { stop(); <-done })

	br := startBrowser(t, time.Minute)
	eval := func(js string) string {
		t.Helper()
		var v string
		br.do("evaluate "+js, chromedp.Evaluate(js, &v))
		return v
	}
	// wait polls js (returning a string) until it returns want.
	wait := func(what, js, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := eval(js)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q, want %q (page errors: %v)", what, got, want, br.pageErrors())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	const state = `(function () {
		const m = document.getElementById("message"), c = document.getElementById("image"), st = document.getElementById("stage");
		if (!c.hidden && c.dataset.shown) return "shown " + c.dataset.shown.split("/")[0] + (st.classList.contains("lost") ? " lost" : "");
		if (!m.hidden) return (st.classList.contains("lost") ? "lost: " : "message: ") + m.textContent;
		return "waiting";
	})()`
	br.do("open the viewer", chromedp.Navigate(s.URL()), chromedp.WaitVisible("h1"))
	br.do("open the series", chromedp.Navigate(s.guard.Origin()+"/series/0-0-0?i=0"), chromedp.WaitVisible("#stage"))
	wait("image 1", state, "shown 0")
	br.do("next image", chromedp.KeyEvent(kb.ArrowDown))
	wait("image 2 (lost)", state, "lost: Lost: this file holds another image than the one the disc lists here (it may be another patient's) — not shown ("+a+").")
	if got := eval(`document.getElementById("position").textContent`); got != "Image 2 of 4" {
		t.Errorf("position %q", got)
	}
	br.do("next image", chromedp.KeyEvent(kb.ArrowDown))
	wait("image 3", state, "shown 2")
	// Loaded as a page of its own, the lost image is marked from the start.
	br.do("open the lost image", chromedp.Navigate(s.guard.Origin()+"/series/0-0-0?i=1"), chromedp.WaitVisible("#stage"))
	wait("image 2 loaded on its own", state, "lost: Lost: this file holds another image than the one the disc lists here (it may be another patient's) — not shown ("+a+").")
	if errs := br.pageErrors(); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
	// The first page names the file now.
	br.do("studies", chromedp.Navigate(s.guard.Origin()+"/"), chromedp.WaitVisible(".discwarn"))
	if p := eval(`document.querySelector(".discwarn").textContent`); !strings.Contains(p, a+" — holds another image") {
		t.Errorf("panel: %q", p)
	}
}
