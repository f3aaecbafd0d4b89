package viewer

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
)

// compareDisc is one patient's study of three series in one Frame of
// Reference: 20 axial slices 2.5 mm apart (z = 0 … 47.5), 10 axial slices
// 5 mm apart (z = 0 … 45), both 32 × 32 at 1 mm centred on x = y = 0, and a
// coronal localizer of 64 × 64 at 1 mm whose first row lies at z = 60 (row
// r at z = 60 − r) and first column at x = −32.
func compareDisc(t *testing.T) (*Server, *browser, map[string]string) {
	t.Helper()
	in := t.TempDir()
	ds := func(tag dicom.Tag, v string) *dicom.Element { return dicom.StringElement(tag, "DS", v) }
	grey := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 100
		}
		return b
	}
	uid := 0
	add := func(series, desc string, rows, cols int, iop, ipp string) {
		uid++
		dicomtest.WriteImage(t, in, dicomtest.Image{UID: strconv.Itoa(uid), Series: series, Rows: rows, Cols: cols, Bits: 8,
			Photometric: "MONOCHROME2", Modality: "CT", Name: "Synth^Compare", SeriesDescription: desc, Pixels: grey(rows * cols),
			Attrs: []*dicom.Element{ds(dicom.PixelSpacing, `1\1`), ds(dicom.ImageOrientationPatient, iop), ds(dicom.ImagePositionPatient, ipp),
				dicom.StringElement(dicom.FrameOfReferenceUID, "UI", "2.25.4242.99")}})
	}
	for i := range 20 {
		add("1", "thin", 32, 32, `1\0\0\0\1\0`, fmt.Sprintf(`-16\-16\%g`, 2.5*float64(i)))
	}
	for i := range 10 {
		add("2", "thick", 32, 32, `1\0\0\0\1\0`, fmt.Sprintf(`-16\-16\%d`, 5*i))
	}
	add("3", "localizer", 64, 64, `1\0\0\0\0\-1`, `-32\0\60`)
	s := serveDisc(t, sealedDisc(t, in))
	b := unlockedBrowser(t, s, 120*time.Second)
	keys := map[string]string{}
	for k, se := range s.tree.series {
		keys[se.Description] = k
	}
	return s, b, keys
}

// frameJS is the document of viewport k of the comparison page.
func frameJS(k int) string {
	return fmt.Sprintf(`document.querySelectorAll("iframe.viewport")[%d].contentDocument`, k)
}

// waitFor polls a script until it is true (at most 10 s).
func waitFor(t *testing.T, b *browser, what, js string) {
	t.Helper()
	b.do(what, chromedp.Poll(js, nil, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(20*time.Millisecond)))
}

// shownIndex is the slice viewport k shows (-1 while none).
func shownIndex(t *testing.T, b *browser, k int) int {
	t.Helper()
	var i int
	b.do("shown", chromedp.Evaluate(`(function(){ const c = `+frameJS(k)+`.getElementById("image");
return c && c.dataset.shown ? parseInt(c.dataset.shown, 10) : -1; })()`, &i))
	return i
}

// press sends a key to viewport k, as when the user types in it.
func press(b *browser, k int, key string) {
	b.do("press "+key, chromedp.Evaluate(frameJS(k)+`.dispatchEvent(new KeyboardEvent("keydown", {key: `+jsString(key)+`, bubbles: true}))`, nil))
}

// Two axial series of one Frame of Reference scroll together by slice
// position (slice 8 of the 2.5 mm series, z = 20, is slice 4 of the 5 mm
// one) and zoom together, without the follower leading back; the coronal
// localizer shows the axial slice as a line at row 60 − z, across the axial
// images' width only, checked from its canvas pixels.
func TestCompareScrollsTogetherWithScoutLines(t *testing.T) {
	s, b, keys := compareDisc(t)
	allShown := func(n int) string {
		return `Array.from(document.querySelectorAll("iframe.viewport")).slice(0, ` + strconv.Itoa(n) + `).every(function(f){
  const c = f.contentDocument && f.contentDocument.getElementById("image"); return c && c.dataset.shown; })`
	}
	b.do("1x2", chromedp.EmulateViewport(1280, 720),
		chromedp.Navigate(s.guard.Origin()+"/compare?layout=1x2&s="+keys["thin"]+"&s="+keys["thick"]))
	waitFor(t, b, "both viewports shown", allShown(2))
	waitFor(t, b, "the two in step", `document.getElementById("compare").dataset.partners === "1 and 2"`)
	for i := 1; i <= 8; i++ {
		press(b, 0, "ArrowDown")
		waitFor(t, b, "slice "+strconv.Itoa(i), frameJS(0)+`.getElementById("image").dataset.shown.startsWith("`+strconv.Itoa(i)+`/")`)
	}
	waitFor(t, b, "the 5 mm series follows to z = 20", frameJS(1)+`.getElementById("image").dataset.shown.startsWith("4/")`)
	time.Sleep(300 * time.Millisecond) // time to echo back, were it to
	if a, f := shownIndex(t, b, 0), shownIndex(t, b, 1); a != 8 || f != 4 {
		t.Fatalf("after scrolling the first viewport to slice 8: %d and %d (want 8 and 4)", a, f)
	}
	press(b, 0, "+")
	waitFor(t, b, "zoom follows", frameJS(1)+`.getElementById("image").style.transform.includes("scale(1.25)")`)

	// 2 × 2: the localizer in the third viewport, the fourth the thin
	// series again.
	b.do("2x2", chromedp.Navigate(s.guard.Origin()+"/compare?layout=2x2&s="+keys["thin"]+"&s="+keys["thick"]+"&s="+keys["localizer"]+"&s="+keys["thin"]))
	waitFor(t, b, "four viewports shown", allShown(4))
	for i := 1; i <= 8; i++ {
		press(b, 0, "ArrowDown")
		waitFor(t, b, "slice "+strconv.Itoa(i), frameJS(0)+`.getElementById("image").dataset.shown.startsWith("`+strconv.Itoa(i)+`/")`)
	}
	waitFor(t, b, "the others follow", frameJS(1)+`.getElementById("image").dataset.shown.startsWith("4/") && `+
		frameJS(3)+`.getElementById("image").dataset.shown.startsWith("8/")`)
	waitFor(t, b, "scout lines on the localizer", frameJS(2)+`.getElementById("image").dataset.scouts.split(" ").length === 3`)
	var px struct {
		Line, Beside, Above []int
		Scouts              string
	}
	b.do("localizer pixels", chromedp.Evaluate(`(function(){
  const c = `+frameJS(2)+`.getElementById("image"), x = c.getContext("2d");
  const at = function(px, py){ return Array.from(x.getImageData(px, py, 1, 1).data.slice(0, 3)); };
  return {Line: at(31, 40), Beside: at(5, 40), Above: at(31, 30), Scouts: c.dataset.scouts};
})()`, &px))
	yellow := func(p []int) bool { return len(p) == 3 && p[0] > 200 && p[1] > 180 && p[2] < 80 }
	if !yellow(px.Line) || yellow(px.Beside) || yellow(px.Above) {
		t.Errorf("localizer: at (31,40) %v, (5,40) %v, (31,30) %v: want a yellow line at row 40 only, across columns 16–47", px.Line, px.Beside, px.Above)
	}
	if !strings.Contains(px.Scouts, "15.5,40.0,47.5,40.0") {
		t.Errorf("scout lines drawn: %q, want 15.5,40.0,47.5,40.0 (z = 20, the axial images' width)", px.Scouts)
	}
	// The axial viewports show no line of each other (parallel slices).
	var axial string
	b.do("axial scouts", chromedp.Evaluate(frameJS(1)+`.getElementById("image").dataset.scouts`, &axial))
	if axial != "" && !strings.Contains(axial, ",") {
		t.Errorf("the 5 mm viewport draws %q", axial)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}

// Another series chosen for a viewport is shown there, and the address
// (and the layout buttons) name it; a viewport opens without the details,
// which D shows (the window presets are there).
func TestCompareChooseSeries(t *testing.T) {
	s, b, keys := compareDisc(t)
	b.do("1x2", chromedp.EmulateViewport(1280, 720),
		chromedp.Navigate(s.guard.Origin()+"/compare?layout=1x2&s="+keys["thin"]+"&s="+keys["thick"]))
	waitFor(t, b, "shown", frameJS(1)+`.getElementById("image") && `+frameJS(1)+`.getElementById("image").dataset.shown`)
	var collapsed bool
	b.do("details", chromedp.Evaluate(frameJS(1)+`.getElementById("panel").classList.contains("collapsed")`, &collapsed))
	if !collapsed {
		t.Error("a viewport opens with its details panel")
	}
	press(b, 1, "d")
	waitFor(t, b, "D shows the details", `!`+frameJS(1)+`.getElementById("panel").classList.contains("collapsed")`)
	b.do("choose", chromedp.SetValue(`section[data-cell="1"] select`, keys["localizer"], chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('section[data-cell="1"] select').dispatchEvent(new Event("change")); 1`, nil))
	waitFor(t, b, "the localizer in viewport 2", frameJS(1)+`.location.pathname === "/series/`+keys["localizer"]+`" && `+
		frameJS(1)+`.getElementById("image") && `+frameJS(1)+`.getElementById("image").dataset.shown`)
	var addr, link string
	b.do("address", chromedp.Evaluate(`location.search`, &addr), chromedp.Evaluate(`document.querySelector(".layouts a").getAttribute("href")`, &link))
	if want := "s=" + keys["thin"] + "&s=" + keys["localizer"]; !strings.HasSuffix(addr, want) || !strings.HasSuffix(link, want) {
		t.Errorf("address %q, layout link %q: want both to end %q", addr, link, want)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}
