package viewer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
)

// geometryDisc is a disc of synthetic images of known geometry, one
// series each, named by their Series Description.
func geometryDisc(t *testing.T) (*Server, *browser) {
	t.Helper()
	in := t.TempDir()
	ds := func(tag dicom.Tag, v string) *dicom.Element { return dicom.StringElement(tag, "DS", v) }
	flat := func(cols, rows int) []byte { return make([]byte, cols*rows) }
	images := []dicomtest.Image{
		// 300 × 100 pixels, 0.4 mm between rows and 0.5 mm between columns:
		// 200 pixels across are 100 mm.
		{Rows: 100, Cols: 300, Pixels: flat(300, 100), SeriesDescription: "ruler",
			Attrs: []*dicom.Element{ds(dicom.PixelSpacing, `0.4\0.5`)}},
		{Rows: 2, Cols: 3, Bits: 16, Modality: "CT", Slope: "2", Intercept: "-100", SeriesDescription: "values",
			Pixels: dicomtest.U16(10, 20, 30, 40, 50, 60)},
		{Rows: 8, Cols: 8, Pixels: flat(8, 8), SeriesDescription: "axial", Attrs: []*dicom.Element{ds(dicom.ImageOrientationPatient, `1\0\0\0\1\0`)}},
		{Rows: 8, Cols: 8, Pixels: flat(8, 8), SeriesDescription: "sagittal", Attrs: []*dicom.Element{ds(dicom.ImageOrientationPatient, `0\1\0\0\0\-1`)}},
		{Rows: 8, Cols: 8, Pixels: flat(8, 8), SeriesDescription: "coronal", Attrs: []*dicom.Element{ds(dicom.ImageOrientationPatient, `1\0\0\0\0\-1`)}},
		{Rows: 8, Cols: 8, Pixels: flat(8, 8), SeriesDescription: "oblique", Attrs: []*dicom.Element{ds(dicom.ImageOrientationPatient, `0.866025\0.5\0\0\0\-1`)}},
		// 100 × 100, 0.5 mm square pixels: the left half 0, the right 200.
		{Rows: 100, Cols: 100, Bits: 16, Pixels: halves(100, 100), SeriesDescription: "region",
			Attrs: []*dicom.Element{ds(dicom.PixelSpacing, `0.5\0.5`)}},
		{Rows: 8, Cols: 8, Pixels: flat(8, 8*10), Frames: "10", SeriesDescription: "cine", Attrs: []*dicom.Element{ds(dicom.FrameTime, "33")}},
	}
	for i, im := range images {
		im.UID, im.Series, im.Name = strconv.Itoa(i+1), strconv.Itoa(i+1), "Synth^Geometry"
		if im.Bits == 0 {
			im.Bits = 8
		}
		if im.Photometric == "" {
			im.Photometric = "MONOCHROME2"
		}
		if im.Frames != "" { // frames that differ, so that each is drawn
			for f := range 10 {
				for k := range 64 {
					im.Pixels[f*64+k] = byte(f * 20)
				}
			}
		}
		dicomtest.WriteImage(t, in, im)
	}
	s := serveDisc(t, sealedDisc(t, in))
	return s, unlockedBrowser(t, s, 120*time.Second)
}

// halves is a 16-bit image whose left half is 0 and right half 200.
func halves(cols, rows int) []byte {
	v := make([]int, cols*rows)
	for i := range v {
		if i%cols >= cols/2 {
			v[i] = 200
		}
	}
	return dicomtest.U16(v...)
}

// openSeries opens the series of that description and waits for its image.
func openSeries(t *testing.T, s *Server, b *browser, desc string) {
	t.Helper()
	for key, v := range s.tree.series {
		if v.Description == desc {
			b.do("open "+desc, chromedp.EmulateViewport(1280, 720), chromedp.Navigate(s.guard.Origin()+"/series/"+key),
				chromedp.WaitVisible(`#image[data-shown]`, chromedp.ByQuery), chromedp.Sleep(200*time.Millisecond))
			return
		}
	}
	t.Fatalf("no series %q on the disc", desc)
}

// clientOf is where image pixel (x, y) is on the screen (no rotation).
func clientOf(t *testing.T, b *browser, x, y float64) (float64, float64) {
	t.Helper()
	var r []float64
	b.do("where", chromedp.Evaluate(`(function(){const c=document.getElementById("image"),r=c.getBoundingClientRect();return [r.left,r.top,r.width/c.width,r.height/c.height];})()`, &r))
	return r[0] + x*r[2], r[1] + y*r[3]
}

func click(b *browser, x, y float64) {
	b.do("click", chromedp.MouseEvent(input.MousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.MouseReleased, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
}

// A length between two points 200 pixels apart along a row reads 100.0 mm
// (by the column spacing, 0.5 mm, not the row spacing); a right angle
// reads 90.0°; Clear removes them; the value under the pointer is the
// stored one and the rescaled one in HU.
func TestMeasureAndReadout(t *testing.T) {
	s, b := geometryDisc(t)
	openSeries(t, s, b, "ruler")
	b.do("length tool", chromedp.KeyEvent("l"))
	for _, p := range [][2]float64{{50.5, 50.5}, {250.5, 50.5}} {
		x, y := clientOf(t, b, p[0], p[1])
		click(b, x, y)
	}
	b.do("angle tool", chromedp.KeyEvent("g"))
	for _, p := range [][2]float64{{50.5, 10.5}, {50.5, 90.5}, {250.5, 90.5}} {
		x, y := clientOf(t, b, p[0], p[1])
		click(b, x, y)
	}
	var results string
	b.do("results", chromedp.AttributeValue("#marks", "data-results", &results, nil, chromedp.ByID))
	parts := strings.Split(results, " | ")
	if len(parts) != 2 {
		t.Fatalf("measurements shown: %q, want a length and an angle", results)
	}
	near := func(what, got, unit string, want, tol float64) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(got, unit), 64)
		if err != nil || math.Abs(v-want) > tol {
			t.Errorf("%s reads %q, want %.1f%s ± %.1f", what, got, want, unit, tol)
		}
	}
	near("the 100 mm length", parts[0], " mm", 100, 0.5)
	near("the right angle", parts[1], "°", 90, 0.5)
	var lines int
	b.do("drawn", chromedp.Evaluate(`document.querySelectorAll("#marks polyline").length`, &lines))
	if lines != 2 {
		t.Errorf("%d measurements drawn on the image, want 2", lines)
	}
	b.do("clear", chromedp.Click("#clearmarks", chromedp.ByID), chromedp.Evaluate(`document.querySelectorAll("#marks polyline").length`, &lines))
	if lines != 0 {
		t.Errorf("after Clear, %d measurements are still drawn", lines)
	}

	// A region centred on the image, 80 pixels (40 mm) across: half its
	// pixels are 0 and half 200.
	openSeries(t, s, b, "region")
	b.do("region tool", chromedp.KeyEvent("e"))
	for _, p := range [][2]float64{{10, 10}, {90, 90}} {
		x, y := clientOf(t, b, p[0], p[1])
		click(b, x, y)
	}
	b.do("region", chromedp.AttributeValue("#marks", "data-results", &results, nil, chromedp.ByID))
	var mean, sd, area float64
	if _, err := fmt.Sscanf(results, "mean %f, SD %f, area %f mm²", &mean, &sd, &area); err != nil ||
		math.Abs(mean-100) > 2 || math.Abs(sd-100) > 2 || math.Abs(area-math.Pi*20*20) > 0.02*math.Pi*20*20 {
		t.Errorf("the region reads %q, want mean 100, SD 100, area %.0f mm² (±2%%)", results, math.Pi*20*20)
	}

	openSeries(t, s, b, "values")
	x, y := clientOf(t, b, 2.5, 1.5)
	var readout string
	var before, after []float64
	rect := `(function(){const r=document.getElementById("image").getBoundingClientRect();return [r.left,r.top,r.width,r.height];})()`
	b.do("hover", chromedp.Evaluate(rect, &before), chromedp.MouseEvent(input.MouseMoved, x, y), chromedp.Text("#readout", &readout, chromedp.ByID),
		chromedp.Sleep(100*time.Millisecond), chromedp.Evaluate(rect, &after))
	// The readout must not move the image under the pointer.
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("showing the value moved the image from %v to %v", before, after)
	}
	// Pixel (2,1) stores 60: 60 × 2 − 100 = 20 HU.
	if readout != "x 2, y 1: value 60 → 20 HU" {
		t.Errorf("the value under the pointer reads %q", readout)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}

// The orientation markers are the patient directions of the screen's
// edges, oblique ones in two letters, and they turn with the image.
func TestOrientationMarkersAndCine(t *testing.T) {
	s, b := geometryDisc(t)
	markers := func() string {
		var m []string
		b.do("markers", chromedp.Evaluate(`["mk-top","mk-right","mk-bottom","mk-left"].map(function(id){return document.getElementById(id).textContent;})`, &m))
		return strings.Join(m, " ")
	}
	for desc, want := range map[string]string{ // top right bottom left
		"axial": "A L P R", "sagittal": "H P F A", "coronal": "H L F R", "oblique": "H LP F RA"} {
		openSeries(t, s, b, desc)
		if got := markers(); got != want {
			t.Errorf("%s: markers %q, want %q", desc, got, want)
		}
	}
	openSeries(t, s, b, "axial")
	b.do("rotate", chromedp.KeyEvent("r"), chromedp.WaitVisible(`#image[data-view="1/"]`, chromedp.ByQuery))
	if got := markers(); got != "R A L P" {
		t.Errorf("axial turned a quarter clockwise: markers %q, want the anterior side on the right", got)
	}
	var scale string
	b.do("scale bar", chromedp.Text("#scalebar-label", &scale, chromedp.ByID))
	if scale != "uncalibrated" {
		t.Errorf("an image without pixel spacing has scale bar %q", scale)
	}

	// Cine at the file's speed: Frame Time 33 ms is 30 frames a second.
	openSeries(t, s, b, "cine")
	var fps, source string
	b.do("speed", chromedp.Value("#fps", &fps, chromedp.ByID), chromedp.Text("#fpssource", &source, chromedp.ByID))
	if fps != "30.3" || !strings.Contains(source, "33 ms per frame") {
		t.Errorf("cine speed %q %q, want 30.3 from the file's 33 ms", fps, source)
	}
	var measured string
	b.do("play", chromedp.Click("#play", chromedp.ByID), chromedp.Sleep(3*time.Second),
		chromedp.AttributeValue("#image", "data-fps", &measured, nil, chromedp.ByID), chromedp.Click("#play", chromedp.ByID))
	if v, err := strconv.ParseFloat(measured, 64); err != nil || math.Abs(v-30) > 3 {
		t.Errorf("cine played at %q frames/s, want 30 ± 3", measured)
	}
	t.Logf("cine at Frame Time 33 ms: %s frames/s measured in the page", measured)
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}
