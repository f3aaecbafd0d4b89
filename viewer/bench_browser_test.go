package viewer

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestBenchViewer is part of "make bench" (scripts/bench-viewer.sh), not of
// the tests: it runs only when SECUREMEDIA_BENCH_VIEWER names a sealed disc
// whose first series has many slices (the 500-slice CT in an ISO) and
// SECUREMEDIA_BENCH_PASSWORD_FILE its password. In headless Chromium it
// measures what a reader waits for: from pressing Unlock to the study list
// and to the first image of the series opened from the list at once, the
// list's preview on coming back to it; then scrolling through every slice, each one
// drawn before the next is asked for (the page's own timing, no round trip
// to the test per slice). It reports; the targets are judged by the script.
func TestBenchViewer(t *testing.T) {
	disc := os.Getenv("SECUREMEDIA_BENCH_VIEWER")
	if disc == "" {
		t.Skip("make bench sets SECUREMEDIA_BENCH_VIEWER to an ISO of the 500-slice CT")
	}
	pw, err := os.ReadFile(os.Getenv("SECUREMEDIA_BENCH_PASSWORD_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	s := serveDisc(t, disc)
	b := startBrowser(t, 5*time.Minute)
	b.do("start", chromedp.Navigate(s.URL()), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", strings.TrimRight(string(pw), "\r\n"), chromedp.ByID))

	start := time.Now()
	b.do("unlock", chromedp.Submit("#password", chromedp.ByID), chromedp.WaitVisible(`//h1[contains(., "Studies")]`))
	list := time.Since(start)
	b.do("open the series", chromedp.Click(`//a[text()="View"]`), chromedp.WaitVisible(`#image[data-shown^="0/0"]`, chromedp.ByQuery))
	first := time.Since(start)
	var sincePageStart float64
	b.do("page time", chromedp.Evaluate(`performance.now()`, &sincePageStart))

	// Where the first image's time went: the page's requests, from its
	// navigation start.
	var timings []string
	b.do("timings", chromedp.Evaluate(`performance.getEntriesByType("resource").map(function (e) {
  return e.name.replace(location.origin, "").replace(/\/[^\/]{20,}/g, "/…") + " at " + Math.round(e.startTime) + " ms for " + Math.round(e.duration) + " ms";
})`, &timings))
	for _, l := range timings {
		t.Logf("series page: %s", l)
	}

	// The list's preview, on coming back to it.
	back := time.Now()
	b.do("back to the list", chromedp.NavigateBack(), chromedp.WaitVisible(`canvas.thumb[data-rendered="1"]`, chromedp.ByQuery))
	preview := time.Since(back)
	b.do("the series again", chromedp.NavigateForward(), chromedp.WaitVisible(`#image[data-shown^="0/0"]`, chromedp.ByQuery))

	var count int
	b.do("slices", chromedp.Evaluate(`parseInt(document.getElementById("viewer").dataset.count, 10)`, &count))
	var ms float64
	b.do("scroll", chromedp.Evaluate(`(async function () {
  const img = document.getElementById("image"), n = `+fmt.Sprint(count)+`;
  const drawn = (i) => new Promise(function (ok) {
    (function check() { img.dataset.shown.startsWith(i + "/") ? ok() : requestAnimationFrame(check); })();
  });
  const t0 = performance.now();
  for (let i = 1; i < n; i++) {
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    await drawn(i);
  }
  return performance.now() - t0;
})()`, &ms, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
	rate := float64(count-1) / (ms / 1000)
	t.Logf("BENCH unlock pressed → study list: %.2f s", list.Seconds())
	t.Logf("BENCH unlock pressed → first image of the series (opened at once from the list): %.2f s", first.Seconds())
	t.Logf("BENCH of which the series page, from its navigation start to the image drawn (and the test seeing it): %.2f s", sincePageStart/1000)
	t.Logf("BENCH back to the study list → its preview drawn: %.2f s", preview.Seconds())
	t.Logf("BENCH study list shown (password accepted) → first image: %.2f s", (first - list).Seconds())
	t.Logf("BENCH scrolling through %d slices, each drawn: %.2f s, %.1f images/s", count, ms/1000, rate)
}
