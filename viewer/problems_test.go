package viewer

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
)

// panel returns the warning panel of the studies page ("" when there is
// none), and fails when the page is not the studies page.
func panel(t *testing.T, body string) string {
	t.Helper()
	if !strings.Contains(body, "<h1>Studies on this disc</h1>") {
		t.Fatalf("not the studies page:\n%s", body)
	}
	m := regexp.MustCompile(`(?s)<section class="discwarn".*?</section>`).FindString(body)
	if m != "" && strings.Index(body, m) > strings.Index(body, `<section class="patient card">`) && strings.Contains(body, `<section class="patient card">`) {
		t.Errorf("the warning panel comes after the study list")
	}
	return m
}

// otherFiles returns the "Other files on the disc" list of the studies
// page, "" when there is none.
func otherFiles(body string) string {
	return regexp.MustCompile(`(?s)<section class="otherfiles">\s*<details[^>]*>\s*<summary>Other files on the disc.*?</section>`).FindString(body)
}

func wantAll(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// A file added to a sealed disc after it was made (EVIL.EXE, not in its
// manifest) is named at the top of the first page; the studies are still
// shown.
func TestPanelNamesUnexpectedFile(t *testing.T) {
	disc := sealedDisc(t, sampleStudy)
	if err := os.WriteFile(filepath.Join(disc, "EVIL.EXE"), append([]byte("MZ"), make([]byte, 510)...), 0o644); err != nil {
		t.Fatal(err)
	}
	c := start(t, disc)
	c.login()
	c.unlock()
	_, body, _ := c.get("/")
	p := panel(t, body)
	wantAll(t, "panel", p, "This disc has problems", "<code class=\"path\">EVIL.EXE</code> — unexpected file: not in this medium&#39;s manifest", "Do not open or run them")
	if strings.Count(body, "EVIL.EXE") != 1 {
		t.Errorf("EVIL.EXE is named %d times (once in the panel, not again among the other files)", strings.Count(body, "EVIL.EXE"))
	}
	wantAll(t, "studies page", body, "Doe, Archibald", "Doe, Peter")
	if strings.Contains(body, "not in the DICOMDIR") {
		t.Error("a patient of the DICOMDIR is marked as found by scanning")
	}
}

// The manifest deleted: the panel names MANIFEST.
func TestPanelNamesMissingManifest(t *testing.T) {
	disc := sealedDisc(t, sampleStudy)
	if err := os.Remove(filepath.Join(disc, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	c := start(t, disc)
	c.login()
	c.unlock()
	_, body, _ := c.get("/")
	wantAll(t, "panel", panel(t, body), "This disc has problems", `<code class="path">MANIFEST</code> — missing`)
	wantAll(t, "studies page", body, "Doe, Archibald")
}

// A plain disc with nothing wrong shows no panel.
func TestNoPanelOnAGoodDisc(t *testing.T) {
	c := start(t, sealedDisc(t, sampleStudy))
	c.login()
	c.unlock()
	_, body, _ := c.get("/")
	if p := panel(t, body); p != "" {
		t.Errorf("a panel on a good disc:\n%s", p)
	}
	if o := otherFiles(body); o != "" {
		t.Errorf("other files on a disc that has none besides its own:\n%s", o)
	}
}

// One file's bytes copied over another's (another patient's image in its
// place): the series page shows that image as lost, never its pixels, and
// /frame and /info refuse it; the others still show, and the first page
// then names the file.
func TestSwappedFileIsLost(t *testing.T) {
	disc := sealedDisc(t, sampleStudy)
	d, err := media.Open(disc)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := media.Password([]byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(pw); err != nil {
		t.Fatal(err)
	}
	ps := d.Patients()
	if len(ps) < 2 {
		t.Fatalf("%d patients", len(ps))
	}
	a := ps[0].Studies[0].Series[0].Instances[0]
	b := ps[1].Studies[0].Series[0].Instances[0]
	aPath, bPath, bName := a.Path(), b.Path(), personName(ps[1].Name)
	d.Close()
	bBytes, err := os.ReadFile(filepath.Join(disc, filepath.FromSlash(bPath)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(disc, filepath.FromSlash(aPath)), bBytes, 0o644); err != nil {
		t.Fatal(err)
	}

	c := start(t, disc)
	c.login()
	c.unlock()
	key, idx := findFile(t, c, aPath)
	se := c.s.tree.series[key]
	at := "?i=" + strconv.Itoa(idx)
	code, body, _ := c.get("/series/" + key + at)
	if code != 200 {
		t.Fatalf("series page: %d\n%s", code, body)
	}
	wantAll(t, "series page", body, `class="stage lost"`, "Lost: this file holds another image than the one the disc lists here", "not shown ("+aPath+")")
	if strings.Contains(body, "data-frame=") || strings.Contains(body, bName) {
		t.Errorf("the lost image's page offers a frame, or names the other patient:\n%s", body)
	}
	code, body, h := c.get("/frame/" + key + "/" + strconv.Itoa(idx))
	if code != 422 || h.Get("Content-Type") == "application/octet-stream" || !strings.Contains(body, "Lost: this file holds another image") {
		t.Errorf("frame of the lost image: %d %s: %s", code, h.Get("Content-Type"), body)
	}
	code, body, _ = c.get("/info/" + key + "/" + strconv.Itoa(idx))
	if code != 422 || !strings.Contains(body, `"Lost":true`) || strings.Contains(body, `"FrameURL":"/frame`) || !strings.Contains(body, `"Pixel":null`) {
		t.Errorf("info of the lost image: %d %s", code, body)
	}
	// Nor does the tag browser show the other patient's elements.
	code, body, _ = c.get("/tags/" + key + "/" + strconv.Itoa(idx))
	if code != 422 || strings.Contains(body, "(0010,0010)") || !strings.Contains(body, "Lost: this file holds another image") {
		t.Errorf("tags of the lost image: %d %s", code, body)
	}
	// The other images of the series, and the one whose bytes were
	// copied, still show.
	if len(se.files) > 1 {
		other := (idx + 1) % len(se.files)
		if _, body, _ := c.get("/series/" + key + "?i=" + strconv.Itoa(other)); !strings.Contains(body, `data-frame="/frame/`) || strings.Contains(body, "stage lost") {
			t.Errorf("image %d of the series is not shown:\n%s", other, body)
		}
		if got := c.frame("/frame/" + key + "/" + strconv.Itoa(other)); len(got) == 0 {
			t.Error("no pixels for a good image")
		}
	}
	// The first page now names the file.
	_, body, _ = c.get("/")
	wantAll(t, "panel", panel(t, body), "Not everything on this disc could be read", `<code class="path">`+aPath+`</code> — holds another image`)
}

// Discs made by other tools: the first page lists other files, missing
// ones and those found by scanning, and a truncated file shows as lost.
func TestMessyDiscPages(t *testing.T) {
	discs := map[string]mediatest.Messy{}
	for _, m := range mediatest.MessyDiscs(t) {
		discs[m.Name] = m
	}

	t.Run("extra-files", func(t *testing.T) {
		m := discs["extra-files"]
		c := start(t, m.Folder)
		c.login()
		_, body, _ := c.get("/")
		p := panel(t, body)
		wantAll(t, "panel", p, "Some images are not in this disc&#39;s DICOMDIR", "2 images were found by scanning the disc, because its DICOMDIR")
		o := otherFiles(body)
		wantAll(t, "other files", o, "Other files on the disc (5)", "<details open>",
			`<code class="path">REPORT.PDF</code> — PDF document`, `<code class="path">PHOTO.JPG</code> — JPEG picture`,
			`<code class="path">VIEWER/VIEWER.EXE</code> — Windows program`, `<code class="path">AUTORUN.INF</code> — text`,
			`<code class="path">VIEWER/README.TXT</code> — text`)
		for _, u := range m.Unlisted {
			if strings.Contains(p, u) || strings.Contains(o, u) {
				t.Errorf("the unlisted instance %s is named as a problem or other file", u)
			}
		}
		// The two scanned instances sit under patients of their own, tagged.
		if n := strings.Count(body, `<span class="tag"`); n != 2 {
			t.Errorf("%d patients tagged as not in the DICOMDIR, want 2", n)
		}
		wantAll(t, "studies page", body, "Messy4, Patient3", "not in the DICOMDIR")
	})

	t.Run("missing-file", func(t *testing.T) {
		m := discs["missing-file"]
		c := start(t, m.Folder)
		c.login()
		_, body, _ := c.get("/")
		wantAll(t, "panel", panel(t, body), "Not everything on this disc could be read",
			`<code class="path">`+m.Missing[0]+`</code> — missing: the DICOMDIR lists this image, but the file is not on the disc`)
		wantAll(t, "studies page", body, `<span class="lostcount">(1 missing)</span>`)
		if otherFiles(body) != "" || strings.Contains(body, "found by scanning") {
			t.Errorf("other files or scanned images on a disc that has none:\n%s", body)
		}
		key, idx := findFile(t, c, m.Missing[0])
		// The series' preview is an image that is there.
		if strings.Contains(body, `data-series="`+key+`" data-index="`+strconv.Itoa(idx)+`"`) || !strings.Contains(body, `data-series="`+key+`"`) {
			t.Errorf("the preview of series %s is the missing image %d", key, idx)
		}
		_, body, _ = c.get("/series/" + key + "?i=" + strconv.Itoa(idx))
		wantAll(t, "series page", body, `class="stage lost"`, "Lost: this file is missing from the disc — not shown",
			`<p class="lostnote">1 of the 2 images of this series is not on the disc or cannot be read; it is marked as lost.</p>`)
		if strings.Contains(body, "data-frame=") {
			t.Error("the missing image's page offers a frame")
		}
		if code, body, h := c.get("/frame/" + key + "/" + strconv.Itoa(idx)); code != 422 || h.Get("Content-Type") == "application/octet-stream" {
			t.Errorf("frame of the missing image: %d %s", code, body)
		}
	})

	t.Run("no-dicomdir", func(t *testing.T) {
		m := discs["no-dicomdir"]
		c := start(t, m.Folder)
		c.login()
		_, body, _ := c.get("/")
		wantAll(t, "panel", panel(t, body), "This disc has no DICOMDIR (the list of its images): 6 images were found by scanning every file of the disc.")
		if n := strings.Count(body, `<span class="tag"`); n != 2 {
			t.Errorf("%d patients tagged as not in the DICOMDIR, want 2", n)
		}
		if _, body, _ := c.get("/series/0-0-0"); !strings.Contains(body, `data-frame="/frame/0-0-0/0"`) {
			t.Errorf("a scanned image is not shown:\n%s", body)
		}
	})

	t.Run("damaged DICOMDIR", func(t *testing.T) {
		m := discs["plain"]
		dir := filepath.Join(m.Folder, "DICOMDIR")
		b, err := os.ReadFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, b[:len(b)/2], 0o644); err != nil { // the Part 10 header intact, the records cut
			t.Fatal(err)
		}
		c := start(t, m.Folder)
		c.login()
		_, body, _ := c.get("/")
		wantAll(t, "panel", panel(t, body), "Not everything on this disc could be read",
			`<code class="path">DICOMDIR</code> — the list of the disc&#39;s images could not be read; every file was scanned instead`,
			"6 images were found by scanning every file of the disc, because its DICOMDIR (the list of its images) could not be read.")
		// Why, for whoever looks into it, among the technical notes.
		wantAll(t, "studies page", body, "Technical notes on reading this disc", "<li>DICOMDIR: malformed DICOM data")
		if _, body, _ := c.get("/series/0-0-0"); !strings.Contains(body, `data-frame="/frame/0-0-0/0"`) {
			t.Errorf("a scanned image is not shown:\n%s", body)
		}
	})

	t.Run("truncated-file", func(t *testing.T) {
		m := discs["truncated-file"]
		c := start(t, m.Folder)
		c.login()
		key, idx := findFile(t, c, m.Damaged[0])
		if code, body, h := c.get("/frame/" + key + "/" + strconv.Itoa(idx)); code != 422 || h.Get("Content-Type") == "application/octet-stream" || !strings.Contains(body, "Lost: this file is damaged") {
			t.Errorf("frame of the truncated image: %d %s: %s", code, h.Get("Content-Type"), body)
		}
		_, body, _ := c.get("/series/" + key + "?i=" + strconv.Itoa(idx))
		wantAll(t, "series page", body, `class="stage lost"`, "Lost: this file is damaged — not shown")
		if strings.Contains(body, "data-frame=") {
			t.Error("the truncated image's page offers a frame")
		}
		_, body, _ = c.get("/")
		wantAll(t, "panel", panel(t, body), `<code class="path">`+m.Damaged[0]+`</code> — damaged: not shown`)
	})
}

// findFile finds the series key and index of the file at path p.
func findFile(t *testing.T, c *client, p string) (string, int) {
	t.Helper()
	for k, se := range c.s.tree.series {
		for i, in := range se.files {
			if strings.EqualFold(in.Path(), p) {
				return k, i
			}
		}
	}
	t.Fatalf("%s is not in the viewer's tree", p)
	return "", 0
}
