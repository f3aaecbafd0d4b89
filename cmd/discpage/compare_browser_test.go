//go:build !(js && wasm)

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
	"github.com/securemedia/securemedia/viewer"
)

const corpus = "../../../shared/corpus/pydicom/test_files"

// One file of each kind of image coding the viewer decodes differently:
// native (Go), RLE (Go), and in the decode worker JPEG baseline (pdf.js's
// decoder), JPEG-LS and JPEG 2000 (Emscripten WebAssembly).
var compareFiles = []string{"CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEG2000.dcm"}

// seriesKeysJS lists the series of the study list; canvasJS is the image
// shown, as a PNG data URL, once the page (not one marked old) shows one.
const (
	seriesKeysJS = `Array.from(new Set(Array.from(document.querySelectorAll('a[href^="/series/"]')).map(function (a) { return a.getAttribute("href").slice(8); }))).join(" ")`
	canvasJS     = `(function () { const c = document.getElementById("image"); return c && c.dataset.shown && !document.documentElement.dataset.old ? c.toDataURL("image/png") : ""; })()`
)

// TestPageLikeTheProgram: INDEX.HTM shows every image as the viewer
// program does, pixel for pixel, on a USB folder and on an ISO image's
// files extracted with xorriso (as a user copies a disc to a folder).
func TestPageLikeTheProgram(t *testing.T) {
	testtool.Require(t, "chromium")
	dcmodify := testtool.Require(t, "dcmodify")
	xorriso := testtool.Require(t, "xorriso")
	testtool.RequirePath(t, corpus, "the shared corpus")
	in := t.TempDir()
	for _, name := range compareFiles {
		b, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(in, name)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// New series and instance UIDs: the MR_small files share theirs.
		if msg, err := exec.Command(dcmodify, "-nb", "-gin", "-gse", f).CombinedOutput(); err != nil {
			t.Fatalf("dcmodify: %v\n%s", err, msg)
		}
	}
	page := media.FindPage(buildPage(t))
	usb := mediatest.SealedFolder(t, media.Options{Page: page}, in)

	want := programImages(t, usb)
	if len(want) != len(compareFiles) {
		t.Fatalf("the program shows %d series, want %d", len(want), len(compareFiles))
	}

	isoDir := filepath.Join(t.TempDir(), "copied")
	iso := burn(t, media.CD, &cms.PasswordParams{Iterations: cms.MinIterations}, page, in)
	if msg, err := exec.Command(xorriso, "-osirrox", "on", "-indev", iso, "-extract", "/", isoDir).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v\n%s", err, msg)
	}

	for _, disc := range []struct{ name, dir string }{{"USB folder", usb}, {"ISO image extracted", isoDir}} {
		t.Run(disc.name, func(t *testing.T) {
			b := openPage(t, disc.dir)
			b.unlock(mediatest.Password)
			keys := strings.Fields(b.wait("series links", frameJS(seriesKeysJS), 10*time.Second))
			if len(keys) != len(want) {
				t.Fatalf("the page lists %d series, the program %d", len(keys), len(want))
			}
			for _, k := range keys {
				wantImg, ok := want[k]
				if !ok {
					t.Errorf("series %s: not in the program", k)
					continue
				}
				// The page shown so far is marked, so that its image is not
				// taken for the next one's.
				b.do("open series", chromedp.Evaluate(`document.getElementById("view").contentDocument.documentElement.dataset.old = "1"; SM.go("GET", "/series/`+k+`"), ""`, nil))
				got := decodeDataURL(t, b.wait("series "+k, frameJS(canvasJS), 30*time.Second))
				if d := maxDiff(got, wantImg); d != 0 {
					t.Errorf("series %s: the page's image differs from the program's (max %d levels, %v vs %v)", k, d, got.Bounds(), wantImg.Bounds())
				}
			}
			if errs := b.pageErrors(); len(errs) > 0 {
				t.Errorf("script errors: %v", errs)
			}
			b.checkNoNetwork(t, disc.dir)
		})
	}
}

// programImages serves the disc with the viewer program's server and
// returns the first image of each series as its canvas holds it.
func programImages(t *testing.T, disc string) map[string]image.Image {
	t.Helper()
	d, err := media.Open(disc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := viewer.New(d, viewer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() { stop(); <-done; d.Close() }()

	b := startPageBrowser(t, 2*time.Minute)
	b.do("open the program's page", chromedp.Navigate(s.URL()), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", mediatest.Password, chromedp.ByID), chromedp.Submit("#password", chromedp.ByID))
	keys := strings.Fields(b.wait("series links", seriesKeysJS, 30*time.Second))
	base := strings.TrimSuffix(s.URL()[:strings.Index(s.URL(), "/?")], "/")
	out := map[string]image.Image{}
	for _, k := range keys {
		b.do("open series", chromedp.Navigate(base+"/series/"+k))
		out[k] = decodeDataURL(t, b.wait("series "+k, canvasJS, 30*time.Second))
	}
	return out
}

func decodeDataURL(t *testing.T, u string) image.Image {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(u, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// maxDiff is the largest difference of any channel of any pixel (the
// largest possible when the sizes differ).
func maxDiff(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return 1 << 16
	}
	m := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			for _, d := range []int{int(r1) - int(r2), int(g1) - int(g2), int(b1) - int(b2), int(a1) - int(a2)} {
				m = max(m, max(d, -d)>>8)
			}
		}
	}
	return m
}
