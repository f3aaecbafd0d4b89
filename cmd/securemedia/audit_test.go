package main

import (
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/audittest"
)

// auditRecord is what the tests read back from an audit message.
type auditRecord struct {
	Event struct {
		Outcome string `xml:"EventOutcomeIndicator,attr"`
		ID      struct {
			Code string `xml:"csd-code,attr"`
		} `xml:"EventID"`
	} `xml:"EventIdentification"`
	Participants []struct {
		UserID string `xml:"UserID,attr"`
		Role   struct {
			Code string `xml:"csd-code,attr"`
		} `xml:"RoleIDCode"`
	} `xml:"ActiveParticipant"`
	Objects []struct {
		ID   string `xml:"ParticipantObjectID,attr"`
		Role string `xml:"ParticipantObjectTypeCodeRole,attr"`
		Name string `xml:"ParticipantObjectName"`
	} `xml:"ParticipantObjectIdentification"`
}

// readAudit reads an audit file's messages, each validated against the
// DICOM schema with jing.
func readAudit(t *testing.T, path string) []auditRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditRecord
	docs := map[string][]byte{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var r auditRecord
		if err := xml.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %d: %v", i+1, err)
		}
		out = append(out, r)
		docs[fmt.Sprint(i)] = []byte(line)
	}
	if bad := audittest.Validate(t, docs); bad != "" {
		t.Fatalf("the audit messages do not validate:\n%s", bad)
	}
	return out
}

func (r auditRecord) objects(role string) map[string]string {
	out := map[string]string{}
	for _, o := range r.Objects {
		if o.Role == role {
			out[o.ID] = o.Name
		}
	}
	return out
}

// burn --audit file:PATH records one Export naming the medium, its studies
// and its patients; patient names stay out of what burn prints.
func TestBurnRecordsAnExport(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	r := cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "usb"), "--media", "usb", "--label", "AUDIT_TEST",
		"--password-file", passwordFile(t, dir), "--audit", "file:"+log)
	r.expect(t, 0, "read back and checked")
	for _, name := range []string{"Doe^", "Archibald", "Peter"} {
		if strings.Contains(r.stdout+r.stderr, name) {
			t.Errorf("burn printed %q (patient data belongs in the audit record only):\n%s%s", name, r.stdout, r.stderr)
		}
	}
	if st, err := os.Stat(log); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("audit file: %v %v, want mode 0600", st, err)
	}
	msgs := readAudit(t, log)
	if len(msgs) != 1 {
		t.Fatalf("%d audit messages, want 1 Export", len(msgs))
	}
	m := msgs[0]
	if m.Event.ID.Code != "110106" || m.Event.Outcome != "0" {
		t.Errorf("event %+v, want Export (110106), success", m.Event)
	}
	media := ""
	for _, p := range m.Participants {
		if p.Role.Code == "110154" {
			media = p.UserID
		}
	}
	if media != "USB Disk Emulation AUDIT_TEST" {
		t.Errorf("destination media %q, want the type and label", media)
	}
	patients := m.objects("1")
	names := strings.Join(mapValues(patients), " ")
	if len(patients) != 2 || !strings.Contains(names, "Doe^Archibald") || !strings.Contains(names, "Doe^Peter") {
		t.Errorf("patients %v, want Doe^Archibald and Doe^Peter", patients)
	}
	studies := m.objects("3")
	if !strings.Contains(r.stdout, fmt.Sprintf("%d stud", len(studies))) || len(studies) == 0 {
		t.Errorf("%d studies recorded, burn said: %s", len(studies), r.stdout)
	}
	for uid := range studies {
		if !strings.HasPrefix(uid, "1.") && !strings.HasPrefix(uid, "2.") {
			t.Errorf("study object %q is not a UID", uid)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// The site configuration's audit key is the default; a repository that
// cannot be reached stops burn before it writes anything (exit 15); a
// malformed URL is a usage error.
func TestBurnAuditRepositoryFromConfigAndUnreachable(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	log := filepath.Join(dir, "site-audit.log")
	conf := writeFile(t, dir, "site.conf", "audit = file:"+log+"\n")
	cli(t, "", "--config", conf, "burn", sampleStudy, "-o", filepath.Join(dir, "a"), "--media", "usb", "--password-file", pw).expect(t, 0, "")
	if msgs := readAudit(t, log); len(msgs) != 1 || msgs[0].Event.ID.Code != "110106" {
		t.Fatalf("the site configuration's audit file holds %+v", msgs)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nothing listens there now
	out := filepath.Join(dir, "b")
	cli(t, "", "burn", sampleStudy, "-o", out, "--media", "usb", "--password-file", pw, "--audit", "syslog+tls://"+closed).
		expect(t, exitAudit, "nothing was done")
	mustNotExist(t, out)

	cli(t, "", "burn", sampleStudy, "-o", out, "--media", "usb", "--password-file", pw, "--audit", "syslog:"+closed).
		expect(t, exitUsage, "syslog://HOST:PORT")
	mustNotExist(t, out)
}

// send of a disc records its Import and the DICOM Instances Transferred
// (one per patient, the PACS as destination); the receiving end records
// the transfer from the sender per study once receive stops.
func TestSendAndReceiveRecordTransfers(t *testing.T) {
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	iso := filepath.Join(dir, "disc.iso")
	cli(t, "", "burn", sampleStudy, "-o", iso, "--password-file", pw).expect(t, 0, "")

	recvLog := filepath.Join(dir, "receive-audit.log")
	t.Cleanup(func() { // runs after receive has stopped (cleanups run last first)
		msgs := readAudit(t, recvLog)
		patients := map[string]bool{}
		for _, m := range msgs {
			if m.Event.ID.Code != "110104" || m.Participants[0].UserID != "SECUREMEDIA" || m.Participants[1].Role.Code != "110152" {
				t.Errorf("receive recorded %+v", m)
			}
			for id := range m.objects("1") {
				patients[id] = true
			}
			if len(m.objects("3")) != 1 {
				t.Errorf("a receive message names %d studies, want 1", len(m.objects("3")))
			}
		}
		if len(msgs) == 0 || len(patients) != 2 {
			t.Errorf("receive recorded %d messages for %d patients, want one per study for 2 patients", len(msgs), len(patients))
		}
	})
	port, _ := startReceive(t, "PACS", filepath.Join(dir, "pacs"), "--audit", "file:"+recvLog)

	sendLog := filepath.Join(dir, "send-audit.log")
	r := cli(t, "", "send", iso, "--pacs", fmt.Sprintf("PACS@127.0.0.1:%d", port), "--password-file", pw,
		"--state", filepath.Join(dir, "sent.tsv"), "--audit", "file:"+sendLog)
	r.expect(t, 0, "")
	if strings.Contains(r.stdout+r.stderr, "Doe^") {
		t.Errorf("send printed a patient name:\n%s%s", r.stdout, r.stderr)
	}
	msgs := readAudit(t, sendLog)
	if len(msgs) != 3 {
		t.Fatalf("send recorded %d messages, want an Import and a transfer for each of 2 patients", len(msgs))
	}
	if msgs[0].Event.ID.Code != "110107" || len(msgs[0].objects("1")) != 2 {
		t.Errorf("first message %+v, want an Import of both patients", msgs[0].Event)
	}
	for _, m := range msgs[1:] {
		if m.Event.ID.Code != "110104" || m.Event.Outcome != "0" || len(m.objects("1")) != 1 ||
			m.Participants[1].UserID != "PACS" || m.Participants[1].Role.Code != "110152" {
			t.Errorf("transfer %+v, participants %+v", m.Event, m.Participants)
		}
	}
}

// view records DICOM Instances Accessed once the page unlocks the disc
// (not for a wrong password), and for Send to PACS the Import and the
// transfer of the patient sent.
func TestViewRecordsAccessAndForward(t *testing.T) {
	dir, iso, _ := burnSample(t)
	log := filepath.Join(dir, "view-audit.log")
	v := startView(t, iso, "--no-browser", "--audit", "file:"+log)
	resp, err := v.hc.Get(v.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v.post(t, "/unlock", url.Values{"password": {"wrong password here"}})
	if b, _ := os.ReadFile(log); len(b) != 0 {
		t.Fatalf("recorded before the disc was opened: %s", b)
	}
	if _, body := v.post(t, "/unlock", url.Values{"password": {"a test passphrase, long enough"}}); !strings.Contains(body, "Doe, Peter") {
		t.Fatalf("right password: %s", body)
	}
	msgs := readAudit(t, log)
	if len(msgs) != 2 || msgs[0].Event.ID.Code != "110103" || msgs[1].Event.ID.Code != "110103" {
		t.Fatalf("after unlocking: %+v, want DICOM Instances Accessed for each of 2 patients", msgs)
	}

	port, _ := startReceive(t, "PACS", filepath.Join(dir, "pacs"))
	form := url.Values{"aet": {"PACS"}, "host": {"127.0.0.1"}, "port": {fmt.Sprint(port)}, "calling": {"SECUREMEDIA"}, "patient": {"1"}}
	if code, body := v.post(t, "/send", form); code != 200 {
		t.Fatalf("POST /send: %d %s", code, body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, body := v.get(t, "/send/status?since=0"); strings.Contains(body, `"done":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the send did not finish in 30 s")
		}
	}
	for deadline := time.Now().Add(10 * time.Second); len(msgs) < 4; time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(log); strings.Count(string(b), "\n") >= 4 {
			msgs = readAudit(t, log)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record of the send: %d messages", len(msgs))
		}
	}
	if msgs[2].Event.ID.Code != "110107" || msgs[3].Event.ID.Code != "110104" || msgs[3].Event.Outcome != "0" || len(msgs[3].objects("1")) != 1 {
		t.Errorf("after Send to PACS: %+v %+v, want Import then Instances Transferred of one patient", msgs[2].Event, msgs[3].Event)
	}
	v.cancel()
	v.wait(t)
}

// An audit record that cannot be written once burn has worked (the audit
// file's disc is full: /dev/full): the medium stands, a warning says the
// event is not recorded, and burn exits 15.
func TestBurnWarnsWhenTheRecordIsLost(t *testing.T) {
	dir := t.TempDir()
	r := cli(t, "", "burn", sampleStudy, "-o", filepath.Join(dir, "usb"), "--media", "usb",
		"--password-file", passwordFile(t, dir), "--audit", "file:/dev/full")
	r.expect(t, exitAudit, "NOT in the audit trail")
	if !strings.Contains(r.stderr, "the work is done") {
		t.Errorf("stderr does not say the medium stands:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "usb", "DICOMDIR")); err != nil {
		t.Errorf("the medium is not there: %v", err)
	}
}

// A TLS repository that closes the connection as soon as the handshake is
// over (as rsyslog does to a client without the certificate it wants) is
// a repository that refuses us: burn stops before it writes (exit 15) and
// says what may be missing.
func TestBurnStopsWhenTheRepositoryRefuses(t *testing.T) {
	dir := t.TempDir()
	addr, ca, _ := audittest.TLSRepository(t, func(int, *tls.Conn) bool { return true })
	out := filepath.Join(dir, "usb")
	r := cli(t, "", "burn", sampleStudy, "-o", out, "--media", "usb",
		"--password-file", passwordFile(t, dir), "--audit", "syslog+tls://"+addr, "--audit-ca", ca)
	r.expect(t, exitAudit, "--audit-cert")
	if !strings.Contains(r.stderr, "nothing was done") {
		t.Errorf("stderr does not say nothing was done:\n%s", r.stderr)
	}
	mustNotExist(t, out)
	cli(t, "", "burn", sampleStudy, "-o", out, "--media", "usb", "--password-file", passwordFile(t, dir),
		"--audit", "syslog+tls://"+addr, "--audit-cert", ca).expect(t, exitUsage, "--audit-cert and --audit-key go together")
}
