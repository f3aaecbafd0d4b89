package viewer

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// unlockedBrowser opens the viewer s in headless Chromium and unlocks its
// disc with the test password, as a person would.
func unlockedBrowser(t *testing.T, s *Server, limit time.Duration) *browser {
	t.Helper()
	b := startBrowser(t, limit)
	b.do("start", chromedp.Navigate(s.URL()))
	b.do("unlock", chromedp.SendKeys("#password", testPassword, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(`//h1[contains(., "Studies")]`))
	return b
}

// The series page at the two screen sizes a reading room has: the page
// does not scroll, the image lies wholly inside the window, and the strip
// beside it lists every series of the study, the open one marked.
func TestReadingLayoutFitsTheScreen(t *testing.T) {
	s := serveDisc(t, sealedDisc(t, sampleStudy))
	b := unlockedBrowser(t, s, 90*time.Second)
	// 1-2-2: Doe^Peter's Brain-MRA study, its third series (of 3).
	key := "1-2-2"
	want := len(s.tree.series[key].Study.Series)
	for _, vp := range [][2]int64{{1280, 720}, {1920, 1080}} {
		var geo struct {
			Left, Top, Right, Bottom, W, H, ScrollH, ScrollW float64
			Strip, Current                                   int
			CurrentKey                                       string
		}
		b.do(fmt.Sprintf("open at %dx%d", vp[0], vp[1]), chromedp.EmulateViewport(vp[0], vp[1]),
			chromedp.Navigate(s.guard.Origin()+"/series/"+key),
			chromedp.WaitVisible(`#image[data-shown]`, chromedp.ByQuery),
			chromedp.Sleep(200*time.Millisecond), // the ResizeObserver's fit
			chromedp.Evaluate(`(function(){const r=document.getElementById("image").getBoundingClientRect();
const cur=document.querySelector("#strip li.current a");
return {Left:r.left,Top:r.top,Right:r.right,Bottom:r.bottom,W:innerWidth,H:innerHeight,
ScrollH:document.documentElement.scrollHeight,ScrollW:document.documentElement.scrollWidth,
Strip:document.querySelectorAll("#strip li").length,Current:document.querySelectorAll("#strip li.current").length,
CurrentKey:cur?cur.dataset.key:""};})()`, &geo))
		if geo.Left < 0 || geo.Top < 0 || geo.Right > geo.W || geo.Bottom > geo.H || geo.Right-geo.Left < 100 {
			t.Errorf("%dx%d: the image lies at (%.0f,%.0f)-(%.0f,%.0f), not wholly inside the %.0fx%.0f window", vp[0], vp[1],
				geo.Left, geo.Top, geo.Right, geo.Bottom, geo.W, geo.H)
		}
		if geo.ScrollH > geo.H || geo.ScrollW > geo.W {
			t.Errorf("%dx%d: the page scrolls (%.0fx%.0f)", vp[0], vp[1], geo.ScrollW, geo.ScrollH)
		}
		if geo.Strip != want || geo.Current != 1 || geo.CurrentKey != key {
			t.Errorf("%dx%d: the strip lists %d series (want the study's %d), %d marked current (%q)", vp[0], vp[1],
				geo.Strip, want, geo.Current, geo.CurrentKey)
		}
	}
	// The text on the image, as a person writes it (the file says
	// 6.000000e+00 for TE).
	var tl, bl string
	b.do("annotation", chromedp.Text("#ov-tl", &tl, chromedp.ByID), chromedp.Text("#ov-bl", &bl, chromedp.ByID))
	if !strings.Contains(tl, "Doe, Peter") || !strings.Contains(tl, "ID 98890234") || !strings.Contains(bl, "Image 1 of 7") ||
		!strings.Contains(bl, "TR 30 ms · TE 6 ms") || !strings.Contains(bl, "thickness 1.2 mm") {
		t.Errorf("annotation: top left %q, bottom left %q", tl, bl)
	}
	// Hiding the details gives the image more room.
	var before, after float64
	b.do("details", chromedp.EmulateViewport(1280, 720),
		chromedp.Evaluate(`document.getElementById("stage").getBoundingClientRect().width`, &before),
		chromedp.Click("#paneltoggle", chromedp.ByID), chromedp.Sleep(200*time.Millisecond),
		chromedp.Evaluate(`document.getElementById("stage").getBoundingClientRect().width`, &after),
		chromedp.Click("#paneltoggle", chromedp.ByID))
	if after <= before+100 {
		t.Errorf("hiding the details: the stage went from %.0f to %.0f px wide", before, after)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}

// Invert, rotate and the flips change the canvas exactly as they say, on
// a 3×2 image of six distinct grey levels; Reset undoes them.
func TestInvertRotateFlip(t *testing.T) {
	in := t.TempDir()
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "1", Rows: 2, Cols: 3, Bits: 8, Photometric: "MONOCHROME2",
		Pixels: []byte{0, 40, 80, 120, 160, 200}, Name: "Synth^Grid"})
	s := serveDisc(t, sealedDisc(t, in))
	b := unlockedBrowser(t, s, 60*time.Second)
	b.do("open", chromedp.Navigate(s.guard.Origin()+"/series/0-0-0"), chromedp.WaitVisible(`#image[data-shown]`, chromedp.ByQuery))
	grid := func(what, view string) [][]int {
		var g [][]int
		b.do(what, chromedp.WaitVisible(`#image[data-view="`+view+`"]`, chromedp.ByQuery),
			chromedp.Evaluate(`(function(){const c=document.getElementById("image"),d=c.getContext("2d").getImageData(0,0,c.width,c.height).data,out=[];
for(let y=0;y<c.height;y++){const row=[];for(let x=0;x<c.width;x++)row.push(d[4*(y*c.width+x)]);out.push(row);}return out;})()`, &g))
		return g
	}
	g := grid("as stored", "0/")
	if len(g) != 2 || len(g[0]) != 3 {
		t.Fatalf("canvas %v, want 2 rows of 3", g)
	}
	check := func(what string, got [][]int, rows, cols int, at func(y, x int) int) {
		t.Helper()
		if len(got) != rows || len(got[0]) != cols {
			t.Errorf("%s: canvas %dx%d, want %dx%d", what, len(got[0]), len(got), cols, rows)
			return
		}
		for y := range rows {
			for x := range cols {
				if got[y][x] != at(y, x) {
					t.Errorf("%s: %v, want pixel (%d,%d) = %d", what, got, x, y, at(y, x))
					return
				}
			}
		}
	}
	b.do("invert", chromedp.Click("#invert", chromedp.ByID))
	check("invert", grid("inverted", "0/i"), 2, 3, func(y, x int) int { return 255 - g[y][x] })
	b.do("invert back, rotate", chromedp.KeyEvent("i"), chromedp.Click("#rotate", chromedp.ByID))
	// Clockwise: the left column, read bottom up, becomes the top row.
	check("rotate", grid("rotated", "1/"), 3, 2, func(y, x int) int { return g[1-x][y] })
	b.do("rotate back", chromedp.KeyEvent("r"), chromedp.KeyEvent("r"), chromedp.KeyEvent("r"), chromedp.Click("#fliph", chromedp.ByID))
	check("flip H", grid("flipped H", "0/h"), 2, 3, func(y, x int) int { return g[y][2-x] })
	b.do("flip V", chromedp.KeyEvent("h"), chromedp.KeyEvent("v"))
	check("flip V", grid("flipped V", "0/v"), 2, 3, func(y, x int) int { return g[1-y][x] })
	b.do("everything, then reset", chromedp.KeyEvent("i"), chromedp.KeyEvent("r"), chromedp.KeyEvent("h"), chromedp.Click("#reset", chromedp.ByID))
	check("reset", grid("reset", "0/"), 2, 3, func(y, x int) int { return g[y][x] })
	var pressed int
	b.do("buttons", chromedp.Evaluate(`document.querySelectorAll('#invert[aria-pressed="true"],#fliph[aria-pressed="true"],#flipv[aria-pressed="true"]').length`, &pressed))
	if pressed != 0 {
		t.Errorf("after Reset, %d tool buttons still show as pressed", pressed)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}

// The tag browser (M): every element of the image shown, by name, the
// private sequence of the sample CT folded until opened, and a filter that
// keeps what matches (opening the sequences that hold it).
func TestTagBrowser(t *testing.T) {
	s := serveDisc(t, sealedDisc(t, sampleStudy))
	b := unlockedBrowser(t, s, 90*time.Second)
	key := ""
	for k, se := range s.tree.series {
		if se.Modality == "CT" && strings.Contains(se.Patient.Name, "Peter") { // CT5N, with a private sequence
			key = k
		}
	}
	if key == "" {
		t.Fatal("no CT series in the sample study")
	}
	var res struct {
		Rows, Open, Visible, VisibleOpen int
		Name, Heading, Item              string
	}
	b.do("open the tags", chromedp.EmulateViewport(1280, 720), chromedp.Navigate(s.guard.Origin()+"/series/"+key),
		chromedp.WaitVisible(`#image[data-shown]`, chromedp.ByQuery),
		chromedp.KeyEvent("m"), chromedp.WaitVisible(`#tags[data-loaded]`, chromedp.ByQuery),
		chromedp.Evaluate(`(function(){
const rows = Array.from(document.querySelectorAll("#taglist li.tagrow"));
const pn = rows.find(function(r){ return r.querySelector(".tg").textContent === "(0010,0010)"; });
return {Rows: rows.length, Open: document.querySelectorAll("#taglist details[open]").length,
 Name: pn ? pn.querySelector(".tagline").textContent : "", Heading: document.getElementById("tags-h").textContent};
})()`, &res))
	if res.Rows < 60 || res.Open != 0 || !strings.Contains(res.Name, "Patient Name") || !strings.Contains(res.Name, "Doe^Peter") ||
		!strings.Contains(res.Heading, "image 1 of") {
		t.Fatalf("tag browser: %+v", res)
	}
	// The private sequence (0049,1001) holds an item; filtering for a
	// tag inside it opens it and hides the rest.
	// (CDP may deliver the "m" that opened the dialog as a separate char
	// event, after the filter took focus, on a loaded machine: clear it.)
	b.do("filter", chromedp.Evaluate(`document.getElementById("tagfilter").value = ""`, nil), chromedp.SendKeys("#tagfilter", "(0049", chromedp.ByID),
		chromedp.Evaluate(`(function(){
const vis = Array.from(document.querySelectorAll("#taglist li.tagrow")).filter(function(r){ return r.offsetParent !== null; });
return {Visible: vis.length, VisibleOpen: document.querySelectorAll("#taglist details[open]").length,
 Item: (document.querySelector("#taglist details[open] .tagitem") || {}).textContent || ""};
})()`, &res))
	if res.Visible < 3 || res.Visible > 20 || res.VisibleOpen < 1 || res.Item != "Item 1" { // of 200 rows, the 14 of group 0049
		var dbg string
		b.do("debug", chromedp.Evaluate(`document.getElementById("tagfilter").value + " | " + Array.from(document.querySelectorAll("#taglist li.tagrow .tg")).map(function(e){return e.textContent}).join(" ")`, &dbg))
		t.Errorf("filtered for (0049: %+v\n%s", res, dbg)
	}
	var hidden bool
	b.do("close", chromedp.KeyEvent("\x1b"), chromedp.Evaluate(`document.getElementById("tags").hidden`, &hidden))
	if !hidden {
		t.Error("Escape did not close the tag browser")
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}

// An Enhanced CT (geometry in functional groups, none at the top level):
// the text on the image follows the frame shown (its slice position), and
// the scale bar is calibrated from the shared Pixel Measures.
func TestEnhancedMultiFrameAnnotation(t *testing.T) {
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	in := t.TempDir()
	copyFile(t, filepath.Join(sharedCorpus, "suyashkumar-dicom/5.dcm"), filepath.Join(in, "5.dcm"))
	s := serveDisc(t, sealedDisc(t, in))
	b := unlockedBrowser(t, s, 90*time.Second)
	var first, second, scale string
	b.do("frame 1", chromedp.EmulateViewport(1280, 720), chromedp.Navigate(s.guard.Origin()+"/series/0-0-0"),
		chromedp.WaitVisible(`#image[data-shown^="0/0"]`, chromedp.ByQuery),
		chromedp.Text("#ov-bl", &first, chromedp.ByID), chromedp.Text("#scalebar-label", &scale, chromedp.ByID))
	b.do("frame 2", chromedp.KeyEvent("."), chromedp.WaitVisible(`#image[data-shown^="0/1"]`, chromedp.ByQuery),
		chromedp.Text("#ov-bl", &second, chromedp.ByID))
	if !strings.Contains(first, "frame 1 of 2") || !strings.Contains(first, "Slice -159.0 mm, thickness 10 mm") ||
		!strings.Contains(second, "frame 2 of 2") || !strings.Contains(second, "Slice -149.0 mm") {
		t.Errorf("annotation: frame 1 %q, frame 2 %q", first, second)
	}
	if !strings.HasSuffix(scale, " mm") || strings.Contains(scale, "uncalibrated") {
		t.Errorf("scale bar %q", scale)
	}
}
