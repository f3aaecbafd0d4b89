//go:build !(js && wasm)

package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBenchPage is part of "make bench" (scripts/bench-page.sh), not of the
// tests: it runs only when SECUREMEDIA_BENCH_PAGE names a USB folder burned
// with INDEX.HTM (the 500-slice CT, burn's default key derivation) and
// SECUREMEDIA_BENCH_PASSWORD_FILE its password. In headless Chromium it
// measures, from pressing Open on the page's unlock page, the time to the
// study list and to the first image of the series opened from it at once.
// Lines "BENCH <what>: <figure>" are the script's.
func TestBenchPage(t *testing.T) {
	disc := os.Getenv("SECUREMEDIA_BENCH_PAGE")
	if disc == "" {
		t.Skip("make bench sets SECUREMEDIA_BENCH_PAGE to a USB folder of the 500-slice CT")
	}
	raw, err := os.ReadFile(os.Getenv("SECUREMEDIA_BENCH_PASSWORD_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	b := openPage(t, disc)
	t.Logf("BENCH page open, disc picked, to the unlock page: %v", time.Since(start).Round(time.Millisecond))
	list := b.unlock(strings.TrimRight(string(raw), "\r\n"))
	t.Logf("BENCH Open pressed to the study list: %v", list)
	open := time.Now()
	b.do("open the series", chromedp.Evaluate(openFirstSeriesJS, nil))
	b.wait("the first image", frameJS(`(function () { const c = document.getElementById("image"); return c && c.dataset.shown ? "ok" : ""; })()`), time.Minute)
	first := list + time.Since(open).Round(time.Millisecond)
	t.Logf("BENCH Open pressed to the first image: %v (the series opened %v after the list)", first, time.Since(open).Round(time.Millisecond))
	// Figures in seconds for the script's check against the targets.
	t.Logf("SECONDS list %.3f first %.3f", list.Seconds(), first.Seconds())
	b.checkNoNetwork(t, disc)
}
