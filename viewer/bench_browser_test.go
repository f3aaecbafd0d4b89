package viewer

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/media"
)

// TestBenchViewer is part of "make bench" (scripts/bench-viewer.sh), not of
// the tests: it runs only when SECUREMEDIA_BENCH_VIEWER names a sealed disc
// whose first series has many slices (the 500-slice CT in an ISO) and
// SECUREMEDIA_BENCH_PASSWORD_FILE its password. It runs twice: on the ISO
// file as it is, and read through a simulated 24× CD-ROM drive (cdrom),
// the slowest medium the viewer is for. In headless Chromium it measures
// what a reader waits for: from pressing Unlock to the study list and to
// the first image of the series opened from the list at once, the list's
// preview on coming back to it; then scrolling through every slice, each
// one drawn before the next is asked for (the page's own timing, no round
// trip to the test per slice). It reports; the targets are judged by the
// script. Lines "BENCH <run>: <what>: <figure>" are the script's.
func TestBenchViewer(t *testing.T) {
	iso := os.Getenv("SECUREMEDIA_BENCH_VIEWER")
	if iso == "" {
		t.Skip("make bench sets SECUREMEDIA_BENCH_VIEWER to an ISO of the 500-slice CT")
	}
	raw, err := os.ReadFile(os.Getenv("SECUREMEDIA_BENCH_PASSWORD_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	pw := strings.TrimRight(string(raw), "\r\n")
	kdf := benchKeyDerivation(t, iso, pw)
	t.Run("plain", func(t *testing.T) {
		d, err := media.Open(iso)
		if err != nil {
			t.Fatal(err)
		}
		(&benchRun{t: t, name: "plain ISO", kdf: kdf}).run(d, pw)
	})
	t.Run("cdrom", func(t *testing.T) {
		f, err := os.Open(iso)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		drive := newCDROM(f)
		d, err := media.OpenImage(drive, st.Size(), iso)
		if err != nil {
			t.Fatal(err)
		}
		(&benchRun{t: t, name: "24x CD-ROM", kdf: kdf, drive: drive}).run(d, pw)
	})
}

// benchKeyDerivation measures what unlocking costs in key derivation
// alone: the disc's PBKDF2 iterations (burn's default, as users get),
// derived once with the code Unlock uses, while nothing else runs.
func benchKeyDerivation(t *testing.T, iso, pw string) time.Duration {
	d, err := media.Open(iso)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	iters, n, err := d.KDFWork()
	if err != nil || n != 1 {
		t.Fatalf("the disc asks for %d key derivations (%v), want the one of a disc of ours", n, err)
	}
	start := time.Now()
	if _, err := cms.NewPasswordRecipient([]byte(pw), &cms.PasswordParams{Iterations: int(iters)}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("BENCH both: key derivation (PBKDF2-HMAC-SHA256, %d iterations), part of every unlock: %.2f s", iters, took.Seconds())
	return took
}

// benchRun is one run of the benchmark: the plain ISO, or the simulated
// CD-ROM (drive), whose seeks and bytes it reports step by step.
type benchRun struct {
	t     *testing.T
	name  string
	kdf   time.Duration // one key derivation, measured alone
	drive *cdrom        // nil for the plain ISO
	was   driveStats    // the drive's counts at the last step
}

func (r *benchRun) report(format string, args ...any) {
	r.t.Helper()
	r.t.Logf("BENCH "+r.name+": "+format, args...)
}

// driveStep reports the drive's work since the last step, and returns its
// counts now.
func (r *benchRun) driveStep(what string) driveStats {
	if r.drive == nil {
		return driveStats{}
	}
	now := r.drive.stats()
	r.report("drive, %s: %s", what, now.minus(r.was))
	r.was = now
	return now
}

// run serves the opened disc and measures it in a fresh browser.
func (r *benchRun) run(d *media.Disc, pw string) {
	launch := time.Now()
	s := serveOpened(r.t, d) // the viewer surveys the disc (NeedsKey) before it shows the unlock page
	r.report("viewer started → unlock page ready (disc surveyed): %.2f s", time.Since(launch).Seconds())
	r.driveStep("viewer started → unlock page")
	b := startBrowser(r.t, 10*time.Minute)
	list, first, page := r.unlock(b, s, pw)
	logTimings(r.t, b)

	// The list's preview, on coming back to it.
	back := time.Now()
	// history.back(), not chromedp.NavigateBack: the list may come back
	// from the browser's back-forward cache, with no load event to wait for.
	// A query bound to the page being left would wait on it for ever, so
	// the new page is asked afresh until it answers.
	b.do("back to the list", chromedp.Evaluate(`history.back()`, nil))
	untilTrue(r.t, b, "the list's preview drawn", `document.querySelector('td.thumbcell canvas.thumb[data-rendered="1"]') !== null`)
	preview := time.Since(back)
	b.do("the series again", chromedp.Evaluate(`history.forward()`, nil))
	untilTrue(r.t, b, "the series page again", `document.querySelector('#image[data-shown^="0/0"]') !== null`)
	before := r.drive.stats()
	r.was = before
	count, ms := scroll(r.t, b)
	if r.drive != nil {
		read := r.driveStep("scrolling").minus(before)
		perSlice := float64(read.bytes) / float64(count-1)
		r.report("the drive's ceiling for scrolling, at %.2f MB a slice: %.1f images/s", perSlice/1e6, cdRate/perSlice)
	}
	r.report("unlock pressed → study list: %.2f s", list.Seconds())
	r.report("unlock pressed → first image of the series (opened at once from the list): %.2f s", first.Seconds())
	r.report("of which key derivation (measured alone): %.2f s, %.0f%%", r.kdf.Seconds(), 100*r.kdf.Seconds()/first.Seconds())
	r.report("of which the series page, from its navigation start to the image drawn (and the test seeing it): %.2f s", (first - page).Seconds())
	r.report("back to the study list → its preview drawn: %.2f s", preview.Seconds())
	r.report("study list shown (password accepted) → first image: %.2f s", (first - list).Seconds())
	r.report("scrolling through %d slices, each drawn: %.2f s, %.1f images/s", count, ms/1000, float64(count-1)/(ms/1000))
}

// unlock types the password, presses Unlock and opens the series from
// the study list at once; it returns the times from pressing Unlock to
// the list, to the first image drawn and to the series page's navigation
// start, and logs the drive's reads in between.
func (r *benchRun) unlock(b *browser, s *Server, pw string) (list, first, page time.Duration) {
	b.do("start", chromedp.Navigate(s.URL()), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", pw, chromedp.ByID))
	start, at := time.Now(), r.drive.stats()
	r.was = at
	r.drive.startTrace()
	b.do("unlock", chromedp.Submit("#password", chromedp.ByID), chromedp.WaitVisible(`//h1[contains(., "Studies")]`))
	list = time.Since(start)
	r.driveStep("unlock pressed → study list")
	b.do("open the series", chromedp.Click(`//a[text()="View"]`), chromedp.WaitVisible(`#image[data-shown^="0/0"]`, chromedp.ByQuery))
	first = time.Since(start)
	if now := r.driveStep("study list → first image"); r.drive != nil {
		r.report("drive, unlock pressed → first image: %s", now.minus(at))
	}
	for _, l := range r.drive.stopTrace() {
		r.t.Logf("drive, from unlock pressed: %s", l)
	}
	var origin float64 // the page's navigation start, in ms since 1970
	b.do("page start", chromedp.Evaluate(`performance.timeOrigin`, &origin))
	return list, first, time.UnixMicro(int64(origin * 1000)).Sub(start)
}

// logTimings logs where the series page's time went: its requests, from
// its navigation start.
func logTimings(t *testing.T, b *browser) {
	var timings []string
	b.do("timings", chromedp.Evaluate(`performance.getEntriesByType("resource").map(function (e) {
  return e.name.replace(location.origin, "").replace(/\/[^\/]{20,}/g, "/…") + " at " + Math.round(e.startTime) + " ms for " + Math.round(e.duration) + " ms";
})`, &timings))
	for _, l := range timings {
		t.Logf("series page: %s", l)
	}
}

// scroll steps through every slice of the series page shown, each drawn
// before the next is asked for; it returns the slices and the time taken.
func scroll(t *testing.T, b *browser) (count int, ms float64) {
	b.do("slices", chromedp.Evaluate(`parseInt(document.getElementById("viewer").dataset.count, 10)`, &count))
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
	return count, ms
}

// The simulated 24× CD-ROM drive. The model: one head, so reads are served
// one at a time (a mutex), about in the order they arrive. A read costs
// its bytes at the transfer rate; one that starts where the previous one
// ended, or at most cdReadAhead bytes past it (the drive reads through the
// gap, as its read-ahead would), costs nothing more; any other (backwards,
// or farther on) costs a seek first, always 80 ms (24× drives' average
// access time; their short jumps are quicker, so this errs on the slow
// side). There is no cache at all, so the disc is always cold, as in a
// drive just loaded: that the ISO file below may be in the system's page
// cache does not matter, the drive's time is added to every read whatever
// the file below costs. Time is kept on a virtual clock (when the drive is
// free again; a read starts then, or when it was asked for if later), so
// that sleeping longer than asked does not add up over thousands of reads.
const (
	cdRate      = 3.6e6 // bytes per second: 24 × 150 KiB/s, rounded down
	cdSeek      = 80 * time.Millisecond
	cdReadAhead = 64 << 10
)

type cdrom struct {
	r     io.ReaderAt
	mu    sync.Mutex
	free  time.Time // when the reads so far are done
	head  int64     // where the previous read ended
	n     driveStats
	since time.Time // tracing: the reads are logged from then on
	trace []string
}

type driveStats struct{ seeks, reads, bytes int64 }

func (s driveStats) minus(o driveStats) driveStats {
	return driveStats{s.seeks - o.seeks, s.reads - o.reads, s.bytes - o.bytes}
}

func (s driveStats) String() string {
	return fmt.Sprintf("%d seeks, %d reads, %.1f MB", s.seeks, s.reads, float64(s.bytes)/1e6)
}

// newCDROM puts the drive's head nowhere near the data: the first read
// seeks.
func newCDROM(r io.ReaderAt) *cdrom { return &cdrom{r: r, head: -1 << 40} }

func (c *cdrom) ReadAt(p []byte, off int64) (int, error) {
	asked := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	cost := transferTime(int64(len(p)))
	if gap := off - c.head; gap < 0 || gap > cdReadAhead {
		cost += cdSeek
		c.n.seeks++
	} else {
		cost += transferTime(gap)
	}
	c.n.reads++
	c.n.bytes += int64(len(p))
	c.head = off + int64(len(p))
	begin := later(asked, c.free)
	c.free = begin.Add(cost)
	if !c.since.IsZero() {
		c.trace = append(c.trace, fmt.Sprintf("asked at %d ms, served %d–%d ms: %d bytes at byte %d",
			asked.Sub(c.since).Milliseconds(), begin.Sub(c.since).Milliseconds(), c.free.Sub(c.since).Milliseconds(), len(p), off))
	}
	time.Sleep(time.Until(c.free))
	return c.r.ReadAt(p, off)
}

func transferTime(n int64) time.Duration {
	return time.Duration(float64(n) / cdRate * float64(time.Second))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// startTrace has the reads from now on recorded, for stopTrace to return.
func (c *cdrom) startTrace() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since, c.trace = time.Now(), nil
}

func (c *cdrom) stopTrace() []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since = time.Time{}
	return c.trace
}

// stats are the drive's counts so far; a nil drive (the plain ISO) has
// none.
func (c *cdrom) stats() driveStats {
	if c == nil {
		return driveStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// The simulated drive charges what its model says: reading on costs the
// transfer alone, a jump costs a seek too.
func TestSimulatedCDROM(t *testing.T) {
	c := newCDROM(bytes.NewReader(make([]byte, 1<<20)))
	buf := make([]byte, 36_000) // 10 ms at the drive's rate
	start := time.Now()
	// The first read seeks; then on, on past a 28 000-byte gap (read
	// through), a jump, and back to the start: two more seeks.
	for _, off := range []int64{0, 36_000, 100_000, 900_000, 0} {
		if _, err := c.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	if s := c.stats(); s != (driveStats{seeks: 3, reads: 5, bytes: 5 * 36_000}) {
		t.Errorf("counted %+v", s)
	}
	want := 3*cdSeek + transferTime(5*36_000+28_000)
	if took < want || took > want+500*time.Millisecond { // the bound above: a loaded machine's scheduling
		t.Errorf("took %v, want %v", took, want)
	}
}

// untilTrue evaluates js in whatever page the tab shows until it is true
// (every 20 ms, at most a minute); errors while a page is replaced count
// as false.
func untilTrue(t *testing.T, b *browser, what, js string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var ok bool
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(js, &ok)); err == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within a minute", what)
}
