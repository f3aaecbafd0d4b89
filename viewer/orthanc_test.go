package viewer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/pacstest"
)

// inNetnsEnv tells a test binary that it runs inside the namespace that
// pacstest made, next to Orthanc.
const inNetnsEnv = "SECUREMEDIA_TEST_IN_NETNS"

// TestSendToOrthanc: the whole disc, sent from the viewer's Send to PACS
// page, is stored by Orthanc: its REST API lists every study with all its
// instances. Orthanc runs in a private network namespace (see pacstest);
// this test binary runs there again, as the half that drives the viewer.
func TestSendToOrthanc(t *testing.T) {
	if os.Getenv(inNetnsEnv) == "orthanc" {
		sendToOrthancInside(t)
		return
	}
	pacstest.RequireOrthanc(t)
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

// sendToOrthancInside drives the viewer as its page does: Test connection,
// then Send, polling the status until every instance is stored.
func sendToOrthancInside(t *testing.T) {
	c := start(t, sealedDisc(t, sampleStudy))
	c.login()
	c.unlock()
	f := sendForm(pacstest.OrthancAET, pacstest.OrthancPort)
	if code, body := c.post("/send/echo", f); code != 200 || !strings.Contains(body, "Connection works") {
		t.Fatalf("Test connection to Orthanc: %d\n%s", code, body)
	}
	s := c.sendAndWait(f)
	if s.State != "done" || s.Stored != s.Total || s.Total == 0 {
		t.Fatalf("send to Orthanc: %+v", s)
	}
}
