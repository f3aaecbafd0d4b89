package viewer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/media"
)

// pacs is our own C-STORE SCP, in-process on 127.0.0.1, keeping every
// data set it receives in memory by SOP Instance UID.
type pacs struct {
	port int
	mu   sync.Mutex
	got  map[string][]byte
	// hold, when set, is waited for before each instance is answered.
	hold chan struct{}
}

func startPACS(t *testing.T, aet string, syntaxes ...string) *pacs {
	t.Helper()
	return startPACSWith(t, nil, aet, syntaxes...)
}

// startPACSWith is startPACS, over TLS if tc is not nil.
func startPACSWith(t *testing.T, tc *tls.Config, aet string, syntaxes ...string) *pacs {
	t.Helper()
	p := &pacs{got: map[string][]byte{}}
	srv := &dimse.Server{AETitle: aet, Timeout: 10 * time.Second, ARTIM: 5 * time.Second, Syntaxes: syntaxes,
		Store: func(ctx context.Context, rq dimse.StoreRequest, data io.Reader) dimse.Status {
			b, err := io.ReadAll(data)
			if err != nil {
				return dimse.Status{Code: 0xA700}
			}
			if p.hold != nil {
				select {
				case <-p.hold:
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
				}
			}
			p.mu.Lock()
			p.got[rq.SOPInstanceUID] = b
			p.mu.Unlock()
			return dimse.Status{}
		}, TLS: tc}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("PACS: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("PACS did not stop")
		}
	})
	return p
}

func (p *pacs) stored() map[string][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range p.got {
		out[k] = v
	}
	return out
}

// sendForm is what the Send to PACS form posts.
func sendForm(aet string, port int, more ...string) url.Values {
	f := url.Values{"aet": {aet}, "host": {"127.0.0.1"}, "port": {fmt.Sprint(port)}, "calling": {"SECUREMEDIA"}}
	for i := 0; i+1 < len(more); i += 2 {
		f.Set(more[i], more[i+1])
	}
	return f
}

// sendAndWait posts the form as the browser does (the page then lands on
// the progress page) and polls /send/status as send.js does, collecting
// the result rows, until the job is done.
func (c *client) sendAndWait(form url.Values) status {
	c.t.Helper()
	code, body := c.post("/send", form)
	if code != 200 || !strings.Contains(body, "Sending to PACS") {
		c.t.Fatalf("POST /send: %d\n%s", code, body)
	}
	var all []itemView
	next := 0
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		code, body, h := c.get(fmt.Sprintf("/send/status?since=%d", next))
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			c.t.Fatalf("status: %d %s\n%s", code, h.Get("Content-Type"), body)
		}
		var s status
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			c.t.Fatal(err)
		}
		if s.Since != next {
			c.t.Fatalf("status since=%d answered from %d", next, s.Since)
		}
		all = append(all, s.Items...)
		next = s.Next
		if s.Done {
			s.Items = all
			if len(all) != s.Total && s.State != "failed" {
				c.t.Errorf("%d result rows for %d images", len(all), s.Total)
			}
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("send did not finish within 60 s")
	return status{}
}

// echo presses "Test connection" as the page's script does, and returns
// the answer.
func (c *client) echo(f url.Values) (bool, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+"/send/echo", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Accept", "application/json")
	code, body, _ := c.do(req)
	var j struct {
		OK      bool
		Message string
	}
	if err := json.Unmarshal([]byte(body), &j); code != 200 || err != nil {
		c.t.Fatalf("echo: %d %v\n%s", code, err, body)
	}
	return j.OK, j.Message
}

// extractDisc decrypts the disc with "securemedia extract"'s code
// (Disc.Extract) into a new folder and returns its path.
func extractDisc(t *testing.T, disc string) string {
	t.Helper()
	d, err := media.Open(disc)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	id, err := cms.NewPasswordIdentity([]byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(id); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "copy")
	if _, err := d.Extract(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// extracted decrypts the disc (extractDisc) and returns every data set by
// SOP Instance UID.
func extracted(t *testing.T, disc string) map[string][]byte {
	t.Helper()
	dir := extractDisc(t, disc)
	out := map[string][]byte{}
	for _, p := range listFiles(t, dir) {
		if filepath.Base(p) == "DICOMDIR" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := dicom.ReadHeader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[h.MetaString(dicom.MediaStorageSOPInstanceUID)] = b[h.DataSetOffset:]
	}
	return out
}

// patientOf reads Patient ID, Issuer and the first Other Patient IDs
// Sequence item's Patient ID from an explicit VR little endian data set.
func patientOf(t *testing.T, ds []byte) (id, issuer, otherID string) {
	t.Helper()
	r := dicom.NewReader(bytes.NewReader(ds), 0, dicom.ExplicitVRLittleEndian)
	elems, err := r.ReadUntil(dicom.MedicalAlerts)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if other := dicom.Find(elems, dicom.OtherPatientIDsSequence); other != nil && len(other.Items) > 0 {
		otherID = dicom.Find(other.Items[0].Elements, dicom.PatientID).String()
	}
	return dicom.Find(elems, dicom.PatientID).String(), dicom.Find(elems, dicom.IssuerOfPatientID).String(), otherID
}

// Send to PACS, one patient at a time: a two-patient disc offers the
// choice of patient and refuses to send both at once; each patient, sent
// on its own, arrives byte for byte as "Save a copy" writes it. Then one
// study again under a new Patient ID: the PACS gets the new ID and issuer,
// with the original in Other Patient IDs.
func TestSendToPACS(t *testing.T) {
	disc := sealedDisc(t, sampleStudy)
	want := extracted(t, disc)
	p := startPACS(t, "PACS")
	c := start(t, disc)
	c.login()
	c.unlock()
	if _, body, _ := c.get("/"); !strings.Contains(body, `href="/send"`) || !strings.Contains(body, `href="/send?study=0-0"`) ||
		!strings.Contains(body, `href="/send?patient=1"`) {
		t.Fatalf("the study list has no Send to PACS links:\n%s", body)
	}
	if code, body, _ := c.get("/send"); code != 200 || !strings.Contains(body, "This disc holds 2 patients") ||
		!strings.Contains(body, `href="/send?patient=0"`) || !strings.Contains(body, `href="/send?patient=1"`) || strings.Contains(body, `id="sendform"`) {
		t.Fatalf("a two-patient disc's Send to PACS does not ask for one patient: %d\n%s", code, body)
	}
	if code, body := c.post("/send", sendForm("PACS", p.port)); code != http.StatusBadRequest || !strings.Contains(body, "Nothing was sent") {
		t.Fatalf("a send of both patients at once: %d\n%s", code, body)
	}
	if code, body := c.post("/send", sendForm("PACS", p.port, "patient", "9")); code != http.StatusNotFound {
		t.Fatalf("a send of a patient not on the disc: %d\n%s", code, body)
	}
	if n := len(p.stored()); n != 0 {
		t.Fatalf("refused sends stored %d instances", n)
	}
	sent := 0
	for pi, name := range []string{"Doe, Archibald", "Doe, Peter"} {
		code, body, _ := c.get(fmt.Sprintf("/send?patient=%d", pi))
		if code != 200 || !strings.Contains(body, "the images of "+name) || !strings.Contains(body, fmt.Sprintf(`name="patient" value="%d"`, pi)) ||
			!strings.Contains(body, `value="SECUREMEDIA"`) || !strings.Contains(body, "Find this patient in the PACS") {
			t.Fatalf("patient %d send form: %d\n%s", pi, code, body)
		}
		s := c.sendAndWait(sendForm("PACS", p.port, "patient", fmt.Sprint(pi)))
		if s.State != "done" || s.Stored != s.Total || s.Total == 0 || len(p.stored()) != sent+s.Total {
			t.Fatalf("patient %d: status %+v; the PACS has %d", pi, s, len(p.stored()))
		}
		sent += s.Total
		for _, it := range s.Items {
			if !it.Stored || it.Result != "sent" || it.Reason != "Stored." || !strings.HasPrefix(it.Label, "DICOM/") {
				t.Errorf("row %+v", it)
			}
		}
	}
	got := p.stored()
	if len(got) != len(want) {
		t.Fatalf("PACS has %d instances, want %d", len(got), len(want))
	}
	for uid, ds := range want {
		if !bytes.Equal(got[uid], ds) {
			t.Errorf("%s: the PACS's data set differs from the extracted one", uid)
		}
	}

	for _, bad := range []string{"/send?study=9-9", "/send?study=x", "/send?series=9-9-9", "/send?patient=2", "/send?patient=x"} {
		if code, _, _ := c.get(bad); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, code)
		}
	}
	if _, body, _ := c.get("/series/0-0-0"); !strings.Contains(body, `<a class="sendlink" href="/send?series=0-0-0">Send this series to a PACS</a>`) {
		t.Errorf("the series page has no Send this series link:\n%s", body)
	}
	if code, body, _ := c.get("/send?series=0-0-0"); code != 200 || !strings.Contains(body, `name="series" value="0-0-0"`) || !strings.Contains(body, "<strong>series ") {
		t.Errorf("series send form: %d\n%s", code, body)
	}

	// One study, reconciled.
	_, page, _ := c.get("/send?study=0-0")
	if !strings.Contains(page, `name="study" value="0-0"`) {
		t.Fatalf("study send form:\n%s", page)
	}
	p.mu.Lock()
	p.got = map[string][]byte{}
	p.mu.Unlock()
	s := c.sendAndWait(sendForm("PACS", p.port, "study", "0-0", "patient_id", "LOCAL-42", "issuer", "THISHOSP"))
	got = p.stored()
	if s.State != "done" || s.Total == 0 || s.Total >= len(want) || len(got) != s.Total || s.Stored != s.Total {
		t.Fatalf("study send: %d stored of %d on the disc; status %+v", len(got), len(want), s)
	}
	for uid, ds := range got {
		origID, _, _ := patientOf(t, want[uid])
		id, issuer, other := patientOf(t, ds)
		if id != "LOCAL-42" || issuer != "THISHOSP" || other != origID || origID == "" {
			t.Errorf("%s: Patient ID %q issuer %q other %q, want LOCAL-42, THISHOSP, %q", uid, id, issuer, other, origID)
		}
	}
}

// A PACS that takes explicit VR little endian only: the implicit VR and
// JPEG 2000 instances are listed as not stored, with the reason in words;
// the others are stored. A damaged instance is reported and not sent.
func TestSendRefusedAndDamaged(t *testing.T) {
	in := t.TempDir()
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "1", Rows: 1, Cols: 3, Bits: 16, Pixels: dicomtest.U16(0, 50, 100), Name: "Synth^One"})
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "2", Series: "2", TS: "1.2.840.10008.1.2.4.90", Rows: 2, Cols: 2, Bits: 16,
		Photometric: "MONOCHROME2", Fragment: []byte("not really JPEG 2000"), Name: "Synth^One"})
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "3", Series: "3", TS: "1.2.840.10008.1.2", Rows: 1, Cols: 3, Bits: 16, Pixels: dicomtest.U16(1, 2, 3), Name: "Synth^One"})
	dicomtest.WriteImage(t, in, dicomtest.Image{UID: "4", Series: "4", Rows: 1, Cols: 3, Bits: 16, Pixels: dicomtest.U16(4, 5, 6), Name: "Synth^One"})
	disc := sealedDisc(t, in)
	// Damage the sealed copy of one instance.
	files := listFiles(t, filepath.Join(disc, "DICOM"))
	victim := files[len(files)-1]
	label, _ := filepath.Rel(disc, victim)
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPACS(t, "PACS", dimse.ExplicitVRLittleEndian)
	c := start(t, disc)
	c.login()
	c.unlock()
	s := c.sendAndWait(sendForm("PACS", p.port))
	if s.State != "done" || s.Total != 4 {
		t.Fatalf("status %+v", s)
	}
	var refused, damaged, stored int
	for _, it := range s.Items {
		switch {
		case it.Stored:
			stored++
		case strings.Contains(it.Reason, "does not accept this image's encoding") && strings.Contains(it.Reason, "1.2.840.10008.1.2"):
			refused++
		case strings.Contains(it.Reason, "damaged") && it.Label == filepath.ToSlash(label):
			damaged++
		default:
			t.Errorf("row %+v", it)
		}
	}
	if damaged != 1 || stored+refused != 3 || stored != len(p.stored()) || stored == 0 || refused == 0 {
		t.Fatalf("%d stored, %d refused, %d damaged; PACS has %d\n%+v", stored, refused, damaged, len(p.stored()), s.Items)
	}
}

// Wrong port, wrong AE title, bad input: each gets a plain answer, from
// "Test connection" and from Send.
func TestSendProblemsInPlainWords(t *testing.T) {
	p := startPACS(t, "PACS")
	c := start(t, sealedDisc(t, filepath.Join(sampleStudy, "77654033", "CR1")))
	c.login()
	c.unlock()
	echo := c.echo
	if ok, msg := echo(sendForm("PACS", p.port)); !ok || !strings.Contains(msg, "Connection works") {
		t.Errorf("echo to a working PACS: %v %q", ok, msg)
	}
	if ok, msg := echo(sendForm("NOTPACS", p.port)); ok || !strings.Contains(msg, `does not answer to the AE title "NOTPACS"`) {
		t.Errorf("echo with a wrong AE title: %v %q", ok, msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", closed)
	if ok, msg := echo(sendForm("PACS", closed)); ok || !strings.Contains(msg, "Nothing answered at "+addr+" (connection refused)") {
		t.Errorf("echo to a closed port: %v %q", ok, msg)
	}

	s := c.sendAndWait(sendForm("PACS", closed))
	if s.State != "failed" || s.Stored != 0 || !strings.Contains(s.Message, "Nothing answered at "+addr+" (connection refused)") {
		t.Errorf("send to a closed port: %+v", s)
	}
	for _, it := range s.Items {
		if it.Stored || !strings.Contains(it.Reason, "connection refused") {
			t.Errorf("row %+v", it)
		}
	}
	s = c.sendAndWait(sendForm("NOTPACS", p.port))
	if s.State != "failed" || !strings.Contains(s.Message, "AE title") {
		t.Errorf("send with a wrong AE title: %+v", s)
	}

	code, body := c.post("/send", sendForm("A-TITLE-LONGER-THAN-16", 0, "calling", `BACK\SLASH`, "host", ""))
	for _, w := range []string{"1 to 16 characters", "from 1 to 65535", "host name or IP address", `value="A-TITLE-LONGER-THAN-16"`} {
		if code != 400 || !strings.Contains(body, w) {
			t.Errorf("bad input: %d, page lacks %q", code, w)
		}
	}
	if strings.Count(body, `aria-invalid="true"`) != 4 {
		t.Errorf("bad input: %d fields marked, want 4:\n%s", strings.Count(body, `aria-invalid="true"`), body)
	}
}

// Cancel stops a running send; one send at a time.
func TestSendCancel(t *testing.T) {
	p := startPACS(t, "PACS")
	p.hold = make(chan struct{})
	c := start(t, sealedDisc(t, filepath.Join(sampleStudy, "77654033")))
	c.login()
	c.unlock()
	if code, body := c.post("/send", sendForm("PACS", p.port)); code != 200 || !strings.Contains(body, "Cancel") {
		t.Fatalf("POST /send: %d\n%s", code, body)
	}
	// The PACS holds the first instance: the job is running.
	if code, body := c.post("/send", sendForm("PACS", p.port)); code != http.StatusConflict || !strings.Contains(body, "Another send is still running") {
		t.Errorf("second send while one runs: %d\n%s", code, body)
	}
	var s status
	for deadline := time.Now().Add(30 * time.Second); s.State != "sending" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body, _ := c.get("/send/status")
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
	}
	if code, _ := c.post("/send/cancel", nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	close(p.hold)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, body, _ := c.get("/send/status")
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		if s.Done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.State != "cancelled" || s.Stored >= s.Total || !strings.Contains(s.Message, "Cancelled") {
		t.Fatalf("after cancel: %+v", s)
	}
	cancelled := 0
	for _, it := range s.Items {
		if it.Reason == "Not sent: you cancelled." {
			cancelled++
		}
	}
	if cancelled == 0 {
		t.Errorf("no row says it was cancelled: %+v", s.Items)
	}
}

// "Origin: null" (a sandboxed frame, or a page under no-referrer) is not
// our page, whatever Sec-Fetch-Site claims: our own forms carry our origin
// (Referrer-Policy same-origin; the browser test posts them for real).
func TestFormPostWithNullOriginRefused(t *testing.T) {
	c := start(t, sealedDisc(t, filepath.Join(sampleStudy, "77654033", "CR1")))
	c.login()
	c.unlock()
	for _, site := range []string{"same-origin", "cross-site", "same-site"} {
		req, _ := http.NewRequest("POST", c.base+"/send", strings.NewReader(sendForm("PACS", 0).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "null")
		req.Header.Set("Sec-Fetch-Site", site)
		if code, _, _ := c.do(req); code != http.StatusForbidden {
			t.Errorf("Origin null, Sec-Fetch-Site %s: %d, want 403", site, code)
		}
	}
}

// "Find this patient in the PACS" needs the PACS's fields, says in words
// when the PACS cannot search, and a picked patient only fills the form
// (after the same checks as typed values); nothing is sent by it.
func TestSendFindAndPick(t *testing.T) {
	p := startPACS(t, "PACS") // stores, but answers no C-FIND
	c := start(t, sealedDisc(t, filepath.Join(sampleStudy, "77654033", "CR1")))
	c.login()
	c.unlock()
	if code, body := c.post("/send/find", sendForm("", p.port)); code != http.StatusBadRequest || !strings.Contains(body, "Fill in the PACS first") {
		t.Errorf("find without the PACS: %d\n%s", code, body)
	}
	if code, body := c.post("/send/find", sendForm("PACS", p.port)); code != 200 || !strings.Contains(body, "The search failed: the PACS did not search (C-FIND answered 0211") || !strings.Contains(body, `from our AE title &#34;SECUREMEDIA&#34;`) ||
		strings.Contains(body, `id="candidates"`) {
		t.Errorf("find on a PACS that cannot search: %d\n%s", code, body)
	}
	code, body := c.post("/send/pick", sendForm("PACS", p.port, "pick", "LOCAL-9\tHOSP\tDOE^ARCHIBALD"))
	for _, want := range []string{`id="patient_id" name="patient_id" value="LOCAL-9"`, `name="issuer" value="HOSP"`, `name="patient_name" value="DOE^ARCHIBALD"`, "From the PACS: Patient ID LOCAL-9"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("pick: %d, page lacks %q", code, want)
		}
	}
	code, body = c.post("/send/pick", sendForm("PACS", p.port, "pick", "BAD\\ID\t\t"))
	if code != 200 || !strings.Contains(body, "cannot be used as it is") || strings.Contains(body, `value="BAD`) {
		t.Errorf("pick of an unusable ID: %d\n%s", code, body)
	}
	if n := len(p.stored()); n != 0 {
		t.Errorf("find and pick stored %d instances", n)
	}
}
