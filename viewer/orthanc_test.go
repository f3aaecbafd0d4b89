package viewer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// inNetnsEnv tells a test binary that it runs inside the namespace that
// pacstest made, next to Orthanc.
const inNetnsEnv = "SECUREMEDIA_TEST_IN_NETNS"

// TestSendToOrthanc: the whole disc, sent from the viewer's Send to PACS
// page in headless Chromium, is stored by Orthanc: its REST API lists every
// study with all its instances. Orthanc runs in a private network
// namespace (see pacstest); this test binary runs there again, as the half
// that drives the viewer's pages in the browser.
func TestSendToOrthanc(t *testing.T) {
	if os.Getenv(inNetnsEnv) == "orthanc" {
		sendToOrthancInside(t)
		return
	}
	pacstest.RequireOrthanc(t)
	testtool.Require(t, "chromium")
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	log := pacstest.InNetns(t, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
"$TESTBIN" -test.run '^TestSendToOrthanc$' -test.count=1 -test.v >%[1]s/inner.log 2>&1; echo "inner-exit=$?"
list_studies
stop_orthanc`, work), "TESTBIN="+bin, inNetnsEnv+"=orthanc")
	if !strings.Contains(log, "inner-exit=0") {
		inner, _ := os.ReadFile(filepath.Join(work, "inner.log"))
		t.Fatalf("sending from the viewer to Orthanc failed:\n%s\n%s", inner, log)
	}
	got := pacstest.Studies(t, log)
	want := pacstest.StudyCounts(t, sampleStudy)
	if len(got) != len(want) || len(want) == 0 {
		t.Errorf("Orthanc lists %d studies, want %d", len(got), len(want))
	}
	for uid, n := range want {
		if s := got[uid]; s == nil || s.Instances != n {
			t.Errorf("study %s: Orthanc has %+v, want %d instances", uid, s, n)
		}
	}
}

// sendToOrthancInside uses the viewer as a person would, in headless
// Chromium: unlock with the password, follow "Send to PACS", fill in
// Orthanc's AE title, host and port, "Test connection", Send, and wait on
// the progress page until it says every image is stored.
func sendToOrthancInside(t *testing.T) {
	total := 0
	for _, n := range pacstest.StudyCounts(t, sampleStudy) {
		total += n
	}
	s := serveDisc(t, sealedDisc(t, sampleStudy))
	b := startBrowser(t, 90*time.Second)
	b.do("start", chromedp.Navigate(s.URL()))
	b.do("unlock", chromedp.SendKeys("#password", testPassword, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.WaitVisible(`//h1[contains(., "Studies")]`))
	b.do("open Send to PACS", chromedp.Click(`header nav a[href="/send"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#sendform", chromedp.ByID))
	var text string
	b.do("scope", chromedp.Text("main", &text, chromedp.ByQuery))
	if !strings.Contains(text, fmt.Sprintf("(%d images)", total)) {
		t.Fatalf("the send page does not offer the whole disc's %d images:\n%s", total, text)
	}
	b.do("fill in the PACS",
		chromedp.SendKeys("#aet", pacstest.OrthancAET, chromedp.ByID),
		chromedp.SendKeys("#host", "127.0.0.1", chromedp.ByID),
		chromedp.SendKeys("#port", strconv.Itoa(pacstest.OrthancPort), chromedp.ByID))

	// Test connection answers in the form, without leaving it.
	b.do("test connection", chromedp.Click("#echo", chromedp.ByID),
		chromedp.Poll(`(function(){const o=document.getElementById("echoresult");return o.className?o.className+": "+o.textContent:null;})()`,
			&text, chromedp.WithPollingTimeout(20*time.Second)))
	if !strings.HasPrefix(text, "ok: Connection works") {
		t.Fatalf("Test connection to Orthanc: %q", text)
	}

	// Send, then the progress page until the send is over.
	b.do("send", chromedp.Click("#sendbutton", chromedp.ByID),
		chromedp.WaitVisible("#sendjob", chromedp.ByID),
		chromedp.WaitVisible("#sendagain", chromedp.ByID))
	var stored, notStored int
	var message string
	b.do("result", chromedp.Text("#sendsummary", &text, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("sendmessage").textContent`, &message),
		chromedp.Evaluate(`document.querySelectorAll("#sendresults tr.stored").length`, &stored),
		chromedp.Evaluate(`document.querySelectorAll("#sendresults tr.notstored").length`, &notStored))
	if want := fmt.Sprintf("%d of %d images stored in ", total, total); !strings.HasPrefix(text, want) || message != "" {
		t.Fatalf("progress page says %q (message %q), want %q…", text, message, want)
	}
	if stored != total || notStored != 0 {
		t.Fatalf("result table: %d rows stored, %d not stored; want %d stored", stored, notStored, total)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}
