package viewer

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/pixeldata"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
)

// browserCase is one corpus file the browser must show as an independent
// tool renders it: dcmtk's dcmj2pnm (dcm2pnm with dcmtk's JPEG decoders:
// native, RLE, JPEG baseline, extended and lossless), after dcmdjpls
// (JPEG-LS) or GDCM's gdcmconv --raw (JPEG 2000).
type browserCase struct {
	name string   // for messages: the transfer syntax and what is special
	ts   string   // its transfer syntax UID (checked)
	src  string   // corpus file, or "" when made by gen
	gen  []string // command making the file from another corpus file: tool, args...; "IN" and "OUT" are replaced
	from string   // gen's input
	ref  string   // "", "dcmdjpls" or "gdcmconv": decompress first for dcm2pnm
	opts []string // further dcmj2pnm options
	tol  int      // grey levels allowed (per channel)
}

func pyd(name string) string { return filepath.Join(sharedCorpus, "pydicom/test_files", name) }

var browserCases = []browserCase{
	{name: "explicit VR LE, CT 16-bit signed with rescale", ts: "1.2.840.10008.1.2.1", src: pyd("CT_small.dcm"), tol: 1},
	{name: "implicit VR LE, MR", ts: "1.2.840.10008.1.2", src: pyd("MR_small_implicit.dcm"), tol: 1},
	{name: "implicit VR LE, CR 1760×2140 MONOCHROME1", ts: "1.2.840.10008.1.2", src: filepath.Join(sharedCorpus, "suyashkumar-dicom/4.dcm"), tol: 1},
	{name: "explicit VR LE, CT 512×512, 2 frames", ts: "1.2.840.10008.1.2.1", src: filepath.Join(sharedCorpus, "suyashkumar-dicom/5.dcm"), tol: 1},
	{name: "explicit VR big endian, MR", ts: "1.2.840.10008.1.2.2", src: pyd("MR_small_bigendian.dcm"), tol: 1},
	{name: "explicit VR big endian, US 8-bit RGB", ts: "1.2.840.10008.1.2.2", src: pyd("ExplVR_BigEnd.dcm"), tol: 1},
	{name: "explicit VR LE, MONOCHROME1 CR with rescale", ts: "1.2.840.10008.1.2.1", src: "../testdata/sample-study/77654033/CR1/6154", tol: 1},
	{name: "RLE Lossless, MR 16-bit", ts: "1.2.840.10008.1.2.5", src: pyd("MR_small_RLE.dcm"), tol: 1},
	{name: "RLE Lossless, RGB 8-bit", ts: "1.2.840.10008.1.2.5", src: pyd("SC_rgb_rle.dcm"), tol: 1},
	{name: "JPEG Baseline, YBR_FULL", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_jpeg_dcmtk.dcm"), tol: 3},
	{name: "JPEG Baseline, YBR_FULL_422", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_dcmtk_+eb+cy+np.dcm"), tol: 3},
	{name: "JPEG Baseline, YBR_FULL_422 (4:2:2)", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_dcmtk_+eb+cy+s2.dcm"), tol: 3},
	{name: "JPEG Baseline, RGB without colour transform", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_jpeg_no_color_transform.dcm"), tol: 3},
	{name: "JPEG Baseline, MONOCHROME2 8-bit", ts: "1.2.840.10008.1.2.4.50", from: pyd("image_dfl.dcm"), gen: []string{"dcmcjpeg", "+eb", "IN", "OUT"}, tol: 3},
	{name: "JPEG Extended 12-bit, NM", ts: "1.2.840.10008.1.2.4.51", src: pyd("JPGExtended.dcm"), tol: 3},
	{name: "JPEG Lossless process 14 (.57), CT 16-bit", ts: "1.2.840.10008.1.2.4.57", from: pyd("CT_small.dcm"), gen: []string{"dcmcjpeg", "+el", "IN", "OUT"}, tol: 1},
	{name: "JPEG Lossless SV1 (.70), CT 16-bit", ts: "1.2.840.10008.1.2.4.70", from: pyd("CT_small.dcm"), gen: []string{"dcmcjpeg", "+e1", "IN", "OUT"}, tol: 1},
	{name: "JPEG Lossless SV1 (.70), RGB", ts: "1.2.840.10008.1.2.4.70", src: pyd("SC_rgb_jpeg_gdcm.dcm"), tol: 1},
	{name: "JPEG-LS Lossless, MR", ts: "1.2.840.10008.1.2.4.80", src: pyd("MR_small_jpeg_ls_lossless.dcm"), ref: "dcmdjpls", tol: 1},
	{name: "JPEG-LS Near-lossless (.81), MR 176×176", ts: "1.2.840.10008.1.2.4.81", from: filepath.Join(sharedCorpus, "suyashkumar-dicom/3.dcm"), gen: []string{"dcmcjpls", "+en", "IN", "OUT"}, ref: "dcmdjpls", tol: 1},
	{name: "JPEG 2000 Lossless, MR", ts: "1.2.840.10008.1.2.4.90", src: pyd("MR_small_jp2klossless.dcm"), ref: "gdcmconv", tol: 1},
	{name: "JPEG 2000 Lossless, YBR_RCT", ts: "1.2.840.10008.1.2.4.90", src: pyd("GDCMJ2K_TextGBR.dcm"), ref: "gdcmconv", tol: 1},
	{name: "JPEG 2000 Lossless, CT, Pixel Representation differs from the codestream's", ts: "1.2.840.10008.1.2.4.90", src: pyd("J2K_pixelrep_mismatch.dcm"), ref: "gdcmconv", tol: 1},
	{name: "JPEG 2000, RGB", ts: "1.2.840.10008.1.2.4.91", src: pyd("SC_rgb_gdcm_KY.dcm"), ref: "gdcmconv", tol: 1},
	{name: "JPEG 2000, NM 16-bit", ts: "1.2.840.10008.1.2.4.91", src: pyd("JPEG2000.dcm"), ref: "gdcmconv", tol: 1},
	{name: "RLE Lossless, RGB 16-bit, 2 frames", ts: "1.2.840.10008.1.2.5", src: pyd("SC_rgb_rle_16bit_2frame.dcm"), tol: 1},
	{name: "JPEG Baseline, RGB (dcmtk +cr)", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_dcmtk_+eb+cr.dcm"), tol: 3},
	{name: "JPEG Baseline, YBR_FULL (dcmtk +n1)", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_dcmtk_+eb+cy+n1.dcm"), tol: 3},
	{name: "JPEG Baseline, YBR_FULL (dcmtk +s4)", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_dcmtk_+eb+cy+s4.dcm"), tol: 3},
	{name: "JPEG Baseline, YBR_FULL 3×3", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_small_odd_jpeg.dcm"), tol: 3},
	{name: "JPEG Baseline, RGB labelled, YCbCr 4:2:0 inside", ts: "1.2.840.10008.1.2.4.50", src: pyd("SC_rgb_jpeg_lossy_gdcm.dcm"), tol: 3,
		// dcmtk trusts "RGB" by default and shows this pydicom test pattern
		// in false colours; +cl is its switch for lossy JPEGs that hold
		// YCbCr whatever the header says.
		opts: []string{"+cl"}},
	{name: "JPEG 2000, CT 512×512", ts: "1.2.840.10008.1.2.4.91", src: pyd("693_J2KI.dcm"), ref: "gdcmconv", tol: 1},
}

// TestBrowser drives the viewer in headless Chromium: unlock (wrong, then
// right password), the study list with its previews, stepping through a
// series by keyboard and wheel, window/level by dragging, and every
// transfer syntax rendered as dcmtk renders it.
func TestBrowser(t *testing.T) {
	testtool.Require(t, "chromium")
	tools := map[string]string{}
	for _, name := range []string{"dcmj2pnm", "dcmdjpls", "gdcmconv", "dcmcjpeg", "dcmcjpls", "dcmodify"} {
		tools[name] = testtool.Require(t, name)
	}
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")

	// Inputs: each case's file with new SOP Instance and Series UIDs (the
	// corpus's MR_small variants share theirs), so each is its own series.
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	refs := filepath.Join(dir, "refs")
	for _, d := range []string{in, refs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(tools[args[0]], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	files := make([]string, len(browserCases))
	for i, c := range browserCases {
		f := filepath.Join(in, fmt.Sprintf("case%02d.dcm", i))
		files[i] = f
		if c.gen != nil {
			var args []string
			for _, a := range c.gen {
				args = append(args, strings.NewReplacer("IN", c.from, "OUT", f).Replace(a))
			}
			run(args...)
		} else {
			copyFile(t, c.src, f)
		}
		run("dcmodify", "-nb", "-gin", "-gse", f)
	}
	// The sample study (4 CT slices) for navigation and window/level.
	disc := sealedDisc(t, in, sampleStudy)

	s := serveDisc(t, disc)
	// A bound for a hung page, not a speed target: on a loaded 2-core
	// machine the whole walk through the cases takes up to about a minute.
	b := startBrowser(t, 3*time.Minute)
	ctx, do, pageErrors := b.ctx, b.do, b.pageErrors

	// Unlock: the wrong password is refused with a message, the right one
	// shows the studies, each series with a preview drawn in the page.
	var text string
	do("start", chromedp.Navigate(s.URL()))
	// The forms post with our own Origin (a Referrer-Policy of no-referrer
	// would make it "null" and the viewer would refuse its own unlock).
	do("wrong password", chromedp.SendKeys("#password", "not the password", chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID))
	text = b.text("error", "#unlock-error", 10*time.Second)
	if !strings.Contains(text, "That password did not open this disc") {
		t.Fatalf("wrong password: %q", text)
	}
	do("right password", chromedp.SendKeys("#password", testPassword, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(`//h1[contains(., "Studies")]`))
	do("thumbs",

		chromedp.WaitVisible(`canvas.thumb[data-rendered="1"]`, chromedp.ByQuery),
		chromedp.Text("main", &text, chromedp.ByQuery))
	if !strings.Contains(text, "Doe, Archibald") {
		t.Fatalf("study list: %q", text)
	}

	// Which series holds which case (by SOP Instance UID), and the CT.
	where := map[string]string{} // SOP Instance UID → series key
	ct := ""
	for key, se := range s.tree.series {
		if se.Modality == "CT" && se.Count == 4 {
			ct = key
		}
		for _, id := range se.files {
			pr, rc, err := s.openInstance(id)
			if err != nil {
				t.Fatal(err)
			}
			rc.Close()
			where[pr.Info().SOPInstance] = key
		}
	}

	// Step through the CT series: keyboard and wheel change the slice
	// (and its pixels), dragging changes the window (and the pixels).
	shown := func(prefix string) string {
		var v string
		do("wait for "+prefix, chromedp.WaitVisible(`#image[data-shown^="`+prefix+`"]`, chromedp.ByQuery),
			chromedp.AttributeValue("#image", "data-shown", &v, nil, chromedp.ByID))
		return v
	}
	do("open the CT series", chromedp.Navigate(s.guard.Origin()+"/series/"+ct))
	shown("0/0/")
	var label string
	do("window label", chromedp.Text("#window", &label, chromedp.ByID))
	if !strings.HasPrefix(label, "From the file: centre ") {
		t.Errorf("the sample CT's own window is labelled %q", label)
	}
	first := canvasPNG(t, ctx)
	do("arrow down", chromedp.KeyEvent(kb.ArrowDown))
	shown("1/0/")
	if second := canvasPNG(t, ctx); sameImage(first, second) {
		t.Error("the next slice looks like the first")
	}
	var box []float64
	do("canvas position", chromedp.Evaluate(`(function(){const r=document.getElementById("image").getBoundingClientRect();return [r.x+r.width/2,r.y+r.height/2];})()`, &box))
	do("wheel", chromedp.ActionFunc(func(ctx context.Context) error {
		return input.DispatchMouseEvent(input.MouseWheel, box[0], box[1]).WithDeltaY(120).Do(ctx)
	}))
	shown("2/0/")

	// Window/level on a real CT (the sample study's slices are all
	// brighter than their own window): dragging 300 px right and down
	// raises centre and width by 300 each (one unit per pixel) and redraws
	// without asking the server.
	seriesOf := func(i int) string { return where[readInfoFile(t, files[i]).SOPInstance] }
	do("open CT_small", chromedp.Navigate(s.guard.Origin()+"/series/"+seriesOf(0)))
	before := shown("0/0/")
	do("window label", chromedp.Text("#window", &label, chromedp.ByID))
	if !strings.HasPrefix(label, "Min–max (the file stores no window): centre ") {
		t.Errorf("CT_small, which stores no window, is labelled %q", label)
	}
	beforePix := canvasPNG(t, ctx)
	do("canvas position", chromedp.Evaluate(`(function(){const r=document.getElementById("image").getBoundingClientRect();return [r.x+r.width/2,r.y+r.height/2];})()`, &box))
	do("drag the window", chromedp.MouseEvent(input.MousePressed, box[0], box[1], chromedp.ButtonLeft),
		chromedp.MouseEvent(input.MouseMoved, box[0]+150, box[1]+150, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.MouseMoved, box[0]+300, box[1]+300, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.MouseReleased, box[0]+300, box[1]+300, chromedp.ButtonLeft))
	var after string
	do("window after drag", chromedp.Poll(`document.getElementById("image").dataset.shown !== `+jsString(before)+` ? document.getElementById("image").dataset.shown : null`, &after, chromedp.WithPollingTimeout(10*time.Second)))
	if sameImage(beforePix, canvasPNG(t, ctx)) {
		t.Errorf("dragging changed the window (%s → %s) but not the pixels", before, after)
	}
	var out string
	do("window shown", chromedp.Text("#window", &out, chromedp.ByID))
	if !strings.HasPrefix(out, "Adjusted: centre ") {
		t.Errorf("window after the drag: %q", out)
	}

	// A multi-frame image: "." shows frame 2, which differs.
	do("open the 2-frame CT", chromedp.Navigate(s.guard.Origin()+"/series/"+seriesOf(3)))
	shown("0/0/")
	f1 := canvasPNG(t, ctx)
	do("next frame", chromedp.KeyEvent("."))
	shown("0/1/")
	if sameImage(f1, canvasPNG(t, ctx)) {
		t.Error("frame 2 looks like frame 1")
	}

	// Each transfer syntax, at 1:1 (the canvas's own pixels), against
	// dcmj2pnm with the same window.
	for i, c := range browserCases {
		info := readInfoFile(t, files[i])
		if info.TransferSyntax != c.ts {
			t.Errorf("%s: the file's transfer syntax is %s", c.name, info.TransferSyntax)
		}
		key := where[info.SOPInstance]
		if key == "" {
			t.Fatalf("%s: not on the disc", c.name)
		}
		ref := files[i]
		switch c.ref {
		case "dcmdjpls":
			ref = filepath.Join(refs, fmt.Sprintf("case%02d-raw.dcm", i))
			run("dcmdjpls", files[i], ref)
		case "gdcmconv":
			ref = filepath.Join(refs, fmt.Sprintf("case%02d-raw.dcm", i))
			run("gdcmconv", "--raw", files[i], ref)
		}
		// The same window on both sides: the file's first, else min-max.
		// Given as numbers: dcmtk does not read an enhanced image's window
		// from its functional groups (it does read their rescale).
		voi := []string{}
		if info.SamplesPerPixel == 1 {
			voi = []string{"+Wm"}
			if len(info.WindowWidths) > 0 {
				voi = []string{"+Ww", fmt.Sprint(info.WindowCenters[0]), fmt.Sprint(info.WindowWidths[0])}
			}
		}
		want := filepath.Join(refs, fmt.Sprintf("case%02d.png", i))
		run(append(append(append([]string{"dcmj2pnm", "--write-png"}, c.opts...), voi...), ref, want)...)
		do(c.name, chromedp.Navigate(s.guard.Origin()+"/series/"+key))
		shown("0/0")
		got := screenshot(t, ctx)
		if !sameImage(got, canvasPNG(t, ctx)) {
			t.Errorf("%s: the screenshot differs from the canvas's pixels", c.name)
		}
		wantImg := readPNG(t, want)
		if got.Bounds() != wantImg.Bounds() {
			t.Errorf("%s: %v, dcm2pnm %v", c.name, got.Bounds(), wantImg.Bounds())
			continue
		}
		diff := maxDiff(got, wantImg)
		t.Logf("%-50s %s: max difference %d", c.name, filepath.Base(c.src+c.from), diff)
		if diff > c.tol {
			t.Errorf("%s: differs from dcm2pnm by up to %d grey levels (allowed %d)", c.name, diff, c.tol)
			savePNG(t, filepath.Join(os.TempDir(), fmt.Sprintf("browser-case%02d.png", i)), got)
		}
	}
	if e := pageErrors(); len(e) > 0 {
		t.Errorf("page errors: %v", e)
	}
}

// serveDisc serves a disc with the viewer until the test ends.
func serveDisc(t testing.TB, disc string) *Server {
	t.Helper()
	d, err := media.Open(disc)
	if err != nil {
		t.Fatal(err)
	}
	return serveOpened(t, d)
}

// serveOpened serves an opened disc with the viewer until the test ends,
// and closes it then.
func serveOpened(t testing.TB, d *media.Disc) *Server {
	t.Helper()
	s, err := New(d, Options{})
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx) }()
	t.Cleanup(func() {
		stop()
		<-done
		d.Close()
	})
	return s
}

// browser is a headless Chromium tab for a test, with the page's script
// errors collected.
type browser struct {
	ctx context.Context
	t   testing.TB
	mu  sync.Mutex
	js  []string
}

// startBrowser starts headless Chromium (with the flags this machine needs:
// no background networking, a fresh profile) for at most limit; it is
// killed and its profile removed when the test ends.
func startBrowser(t testing.TB, limit time.Duration) *browser {
	t.Helper()
	chromium := testtool.Require(t, "chromium")
	profile := testtool.BrowserProfile(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 1024))
	t.Cleanup(cancelAlloc) // kills Chromium (and waits for it); runs last
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	b := &browser{t: t}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			b.mu.Lock()
			b.js = append(b.js, exceptionText(e.ExceptionDetails))
			b.mu.Unlock()
		}
	})
	ctx, cancelTime := context.WithTimeout(ctx, limit)
	t.Cleanup(cancelTime)
	b.ctx = ctx
	return b
}

// do runs actions in the tab and fails the test, with the page's script
// errors, if they fail.
func (b *browser) do(what string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (page errors: %v)", what, err, b.pageErrors())
	}
}

// text waits until the page has an element matching selector with some
// text, and returns the text. Unlike chromedp.Text it asks anew each time,
// so a page that is replaced by the next one (a form post) between finding
// the element and reading it costs a retry, not a "No node with given id"
// failure.
func (b *browser) text(what, selector string, limit time.Duration) string {
	b.t.Helper()
	js := `(function () { const e = document.querySelector(` + jsString(selector) + `); return e ? e.textContent : ""; })()`
	deadline := time.Now().Add(limit)
	for {
		var v string
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(js, &v)); err == nil && strings.TrimSpace(v) != "" {
			return v
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.t.Fatalf("%s: no text in %s after %v (page errors: %v)", what, selector, limit, b.pageErrors())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.js...)
}

func jsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// canvasPNG is the image canvas's pixels at 1:1.
func canvasPNG(t *testing.T, ctx context.Context) image.Image {
	t.Helper()
	var url string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.getElementById("image").toDataURL("image/png")`, &url)); err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// screenshot is what the browser shows of the image canvas, at 1:1:
// device scale factor 1, the canvas at its natural size and out of the
// page's layout (which would fit it to the window or clip it).
func screenshot(t *testing.T, ctx context.Context) image.Image {
	t.Helper()
	var buf []byte
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(1280, 1024, chromedp.EmulateScale(1)),
		chromedp.Evaluate(`(function(){const c=document.getElementById("image");c.style.cssText="position:absolute;left:0;top:0;z-index:9;transform:none;min-width:0;max-width:none;max-height:none;width:"+c.width+"px;height:"+c.height+"px";document.body.appendChild(c);})()`, nil),
		chromedp.Screenshot("#image", &buf, chromedp.ByID))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func sameImage(a, b image.Image) bool { return a.Bounds() == b.Bounds() && maxDiff(a, b) == 0 }

func readInfoFile(t *testing.T, path string) *pixeldata.Info {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pixeldata.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return r.Info()
}

const sharedCorpus = "../../shared/corpus"

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func savePNG(t *testing.T, path string, img image.Image) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = png.Encode(f, img)
	t.Logf("the browser's rendering is in %s", path)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// maxDiff is the largest difference of any channel of any pixel, in grey
// levels.
func maxDiff(a, b image.Image) int {
	m := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			a1, a2, a3, _ := a.At(x, y).RGBA()
			b1, b2, b3, _ := b.At(x, y).RGBA()
			for _, d := range []int{int(a1>>8) - int(b1>>8), int(a2>>8) - int(b2>>8), int(a3>>8) - int(b3>>8)} {
				m = max(m, d, -d)
			}
		}
	}
	return m
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// TestBrowserWholeCorpus opens every series of a disc made from the whole
// shared corpus (reports, ECGs, 1- and 32-bit images, deflated files, a
// deliberately broken JPEG 2000 codestream, files whose header lies) and
// checks that each page ends with either an image drawn or a message in
// words, and that no script error happens anywhere.
func TestBrowserWholeCorpus(t *testing.T) {
	testtool.Require(t, "chromium")
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	s := serveDisc(t, sealedDiscWith(t, media.Options{AllowConflicts: true}, sharedCorpus))
	b := startBrowser(t, 3*time.Minute)
	b.do("unlock", chromedp.Navigate(s.URL()), chromedp.SendKeys("#password", testPassword, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID), chromedp.WaitVisible(`//h1[contains(., "Studies")]`))
	shown, told := 0, 0
	for key, se := range s.tree.series {
		var res string
		b.do("series "+key+" ("+se.Modality+")", chromedp.Navigate(s.guard.Origin()+"/series/"+key),
			chromedp.Poll(`(function () {
  const c = document.getElementById("image"), m = document.getElementById("message");
  if (c && c.dataset.shown) return "shown";
  if (m && !m.hidden && m.textContent.trim()) return "message: " + m.textContent.trim();
  return null;
})()`, &res, chromedp.WithPollingTimeout(15*time.Second)))
		if res == "shown" {
			shown++
		} else {
			told++
			t.Logf("series %s (%s): %s", key, se.Modality, res)
		}
	}
	t.Logf("%d series: %d shown, %d with a message", shown+told, shown, told)
	if shown < 30 {
		t.Errorf("only %d series of the corpus show an image", shown)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Errorf("page errors: %v", e)
	}
}
