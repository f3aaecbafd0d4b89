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

	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// inNetnsEnv tells a test binary that it runs inside the namespace that
// pacstest made, next to Orthanc.
const inNetnsEnv = "SECUREMEDIA_TEST_IN_NETNS"

// The local patient that Orthanc already holds, whom "Find this patient
// in the PACS" must list for the disc's Doe^Peter (the disc gives no birth
// date, so the search is by name).
const (
	localPatientID  = "LOCAL-P"
	localPatientUID = "2.25.1300"
)

// TestSendToOrthanc: in headless Chromium, the viewer's Send to PACS asks
// which of the disc's two patients to send, finds the one Orthanc already
// holds under its own ID, and sends that patient's images, and only those,
// under it: Orthanc's REST API lists each of the patient's studies with
// all its instances under the local ID, and none of the other patient's.
// Orthanc runs in a private network namespace (see pacstest); this test
// binary runs there again, as the half that drives the viewer's pages in
// the browser.
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
	local := filepath.Join(work, "local.dcm")
	if err := dicomtest.Write(local, dicomtest.Spec{PatientID: localPatientID, PatientName: "DOE^PETER", StudyUID: localPatientUID,
		SeriesUID: "2.25.1301", SOPUID: "2.25.1302", Modality: "OT", StudyDate: "20200101"}); err != nil {
		t.Fatal(err)
	}
	log := pacstest.InNetns(t, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
curl -sf -X POST http://127.0.0.1:8042/instances --data-binary @%[1]s/local.dcm >/dev/null; echo "upload-exit=$?"
"$TESTBIN" -test.run '^TestSendToOrthanc$' -test.count=1 -test.v >%[1]s/inner.log 2>&1; echo "inner-exit=$?"
list_studies
stop_orthanc`, work), "TESTBIN="+bin, inNetnsEnv+"=orthanc")
	if !strings.Contains(log, "upload-exit=0") || !strings.Contains(log, "inner-exit=0") {
		inner, _ := os.ReadFile(filepath.Join(work, "inner.log"))
		t.Fatalf("sending from the viewer to Orthanc failed:\n%s\n%s", inner, log)
	}
	got := pacstest.Studies(t, log)
	want := pacstest.StudyCounts(t, filepath.Join(sampleStudy, "98892001"))
	for k, v := range pacstest.StudyCounts(t, filepath.Join(sampleStudy, "98892003")) {
		want[k] += v
	}
	want[localPatientUID] = 1
	if len(got) != len(want) || len(want) < 3 {
		t.Errorf("Orthanc lists %d studies, want Doe^Peter's and the local one: %d", len(got), len(want))
	}
	for uid, n := range want {
		if s := got[uid]; s == nil || s.Instances != n || s.PatientMainDicomTags["PatientID"] != localPatientID {
			t.Errorf("study %s: Orthanc has %+v, want %d instances under %s", uid, s, n, localPatientID)
		}
	}
}

// sendToOrthancInside uses the viewer as a person would, in headless
// Chromium: unlock with the password, follow "Send to PACS", choose the
// second patient, fill in Orthanc's AE title, host and port, "Test
// connection", "Find this patient in the PACS", "Use this patient", Send,
// and wait on the progress page until it says every image is stored.
func sendToOrthancInside(t *testing.T) {
	s := serveDisc(t, sealedDisc(t, sampleStudy))
	b := unlockedBrowser(t, s, 90*time.Second)
	var text string
	var offered int
	b.do("open Send to PACS", chromedp.Click(`header nav a[href="/send"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#sendpatients", chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#sendpatients li").length`, &offered),
		chromedp.Evaluate(`document.getElementById("sendform") === null`, new(bool)))
	if offered != 2 {
		t.Fatalf("Send to PACS offers %d patients to choose from, want the disc's 2", offered)
	}
	b.do("choose Doe^Peter", chromedp.Click(`#sendpatients a[href="/send?patient=1"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#sendform", chromedp.ByID),
		chromedp.Text("main", &text, chromedp.ByQuery))
	if !strings.Contains(text, "the images of Doe, Peter (24 images, one patient's)") {
		t.Fatalf("the send page does not offer Doe^Peter's 24 images:\n%s", text)
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

	// Find lists the local patient; nothing is filled in until it is picked.
	var candidates, idBefore, idAfter string
	b.do("find", chromedp.Click("#findpatient", chromedp.ByID),
		chromedp.WaitVisible("#found", chromedp.ByID),
		chromedp.Text("#found", &candidates, chromedp.ByID),
		chromedp.Value("#patient_id", &idBefore, chromedp.ByID))
	if !strings.Contains(candidates, localPatientID) || !strings.Contains(candidates, "DOE^PETER") || idBefore != "" {
		t.Fatalf("Find this patient lists %q (Patient ID field %q), want %s and nothing filled in", candidates, idBefore, localPatientID)
	}
	b.do("pick", chromedp.Click(`//table[@id="candidates"]//tr[td[1][.="`+localPatientID+`"]]//button`),
		chromedp.WaitNotPresent("#found", chromedp.ByID),
		chromedp.WaitVisible("#patient_id", chromedp.ByID),
		chromedp.Value("#patient_id", &idAfter, chromedp.ByID))
	if idAfter != localPatientID {
		t.Fatalf("after Use this patient, the Patient ID field holds %q", idAfter)
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
	if want := "24 of 24 images stored in "; !strings.HasPrefix(text, want) || message != "" {
		t.Fatalf("progress page says %q (message %q), want %q…", text, message, want)
	}
	if stored != 24 || notStored != 0 {
		t.Fatalf("result table: %d rows stored, %d not stored; want 24 stored", stored, notStored)
	}

	// Doe^Archibald is not in the PACS by that name: the search widens to
	// the family name, says so, and lists Doe^Peter for the user to judge.
	b.do("Doe^Archibald", chromedp.Navigate(s.guard.Origin()+"/send?patient=0"),
		chromedp.WaitVisible("#sendform", chromedp.ByID),
		chromedp.SendKeys("#aet", pacstest.OrthancAET, chromedp.ByID),
		chromedp.SendKeys("#host", "127.0.0.1", chromedp.ByID),
		chromedp.SendKeys("#port", strconv.Itoa(pacstest.OrthancPort), chromedp.ByID),
		chromedp.Click("#findpatient", chromedp.ByID),
		chromedp.WaitVisible("#found", chromedp.ByID),
		chromedp.Text("#found", &candidates, chromedp.ByID))
	if !strings.Contains(candidates, "the family name Doe (no patient has the disc's whole name)") || !strings.Contains(candidates, localPatientID) {
		t.Fatalf("the wider search lists %q", candidates)
	}
	if e := b.pageErrors(); len(e) > 0 {
		t.Fatalf("page errors: %v", e)
	}
}
