package audit_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/internal/audittest"
)

var (
	alice = audit.Patient{ID: "PAT-0001", Name: "Doe^Alice"}
	bob   = audit.Patient{ID: "PAT-0002", Name: "Roe^Bob"}
	ct    = "1.2.840.10008.5.1.4.1.1.2"
	sr    = "1.2.840.10008.5.1.4.1.1.88.22"
)

func studies() []audit.Study {
	return []audit.Study{
		{UID: "1.2.3.4.1", Patient: alice, Accession: "ACC-17", SOPClasses: map[string]int{ct: 120, sr: 1}},
		{UID: "1.2.3.4.2", Patient: alice, SOPClasses: map[string]int{ct: 3}},
		{UID: "1.2.3.4.3", Patient: bob, SOPClasses: map[string]int{ct: 5}},
	}
}

func event(outcome audit.Outcome) audit.Event {
	ev := audit.Event{Outcome: outcome, Local: audit.Local("securemedia test"), Site: "Imaging Centre"}
	if outcome != audit.Success {
		ev.Failure = "the disc could not be written: no space left"
	}
	return ev
}

// allMessages is one of each message the package makes, successes and
// failures.
func allMessages() map[string]*audit.Message {
	medium := audit.Medium{Type: audit.MediaDVD, Label: "SM20261207_0905", FileSetUID: "2.25.1234"}
	pacs := audit.Participant{AETitle: "PACS", Host: "127.0.0.1"}
	local := audit.Local("securemedia send")
	local.AETitle = "SECUREMEDIA"
	out := map[string]*audit.Message{
		"export":        audit.Export(event(audit.Success), medium, studies()),
		"export-failed": audit.Export(event(audit.SeriousFailure), medium, studies()),
		"import":        audit.Import(event(audit.Success), medium, studies()),
	}
	for i, m := range audit.InstancesTransferred(event(audit.Success), audit.Read, local, pacs, studies()) {
		out["transferred-"+string(rune('a'+i))] = m
	}
	for i, m := range audit.InstancesAccessed(event(audit.MinorFailure), audit.Read, studies()) {
		out["accessed-"+string(rune('a'+i))] = m
	}
	return out
}

func TestMessagesValidateAgainstTheDICOMSchema(t *testing.T) {
	docs := map[string][]byte{}
	for name, m := range allMessages() {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	if len(docs) != 7 { // export ×2, import, transferred and accessed for two patients each
		t.Fatalf("%d messages, want 7", len(docs))
	}
	if bad := audittest.Validate(t, docs); bad != "" {
		t.Fatalf("jing refused the messages:\n%s", bad)
	}
}

// The check can fail: jing refuses a message the schema does not allow.
func TestSchemaRefusesABrokenMessage(t *testing.T) {
	m := audit.Export(event(audit.Success), audit.Medium{Type: audit.MediaCD, Label: "X"}, studies())
	b, _ := m.Marshal()
	broken := map[string][]byte{
		"no-event":   bytes.ReplaceAll(b, []byte("EventIdentification"), []byte("Event")),
		"bad-result": bytes.Replace(b, []byte(`EventOutcomeIndicator="0"`), []byte(`EventOutcomeIndicator="1"`), 1),
	}
	bad := audittest.Validate(t, broken)
	for name := range broken {
		if !strings.Contains(bad, name+".xml") {
			t.Errorf("jing accepted %s:\n%s", name, bad)
		}
	}
}

// What a repository reads: the event codes, the medium, the studies with
// their SOP classes and counts, the patients.
func TestExportNamesMediumStudiesAndPatients(t *testing.T) {
	m := audit.Export(event(audit.Success), audit.Medium{Type: audit.MediaDVD, Label: "SM1"}, studies())
	var got struct {
		Event struct {
			Action  string `xml:"EventActionCode,attr"`
			Outcome string `xml:"EventOutcomeIndicator,attr"`
			ID      struct {
				Code string `xml:"csd-code,attr"`
			} `xml:"EventID"`
		} `xml:"EventIdentification"`
		Participants []struct {
			UserID    string `xml:"UserID,attr"`
			Requestor string `xml:"UserIsRequestor,attr"`
			Role      struct {
				Code string `xml:"csd-code,attr"`
			} `xml:"RoleIDCode"`
			Media struct {
				Code string `xml:"csd-code,attr"`
			} `xml:"MediaIdentifier>MediaType"`
		} `xml:"ActiveParticipant"`
		Objects []struct {
			ID       string `xml:"ParticipantObjectID,attr"`
			Type     string `xml:"ParticipantObjectTypeCode,attr"`
			Role     string `xml:"ParticipantObjectTypeCodeRole,attr"`
			Name     string `xml:"ParticipantObjectName"`
			SOPClass []struct {
				UID   string `xml:"UID,attr"`
				Count int    `xml:"NumberOfInstances,attr"`
			} `xml:"ParticipantObjectDescription>SOPClass"`
			Encrypted string `xml:"ParticipantObjectDescription>Encrypted"`
		} `xml:"ParticipantObjectIdentification"`
	}
	b, _ := m.Marshal()
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Event.ID.Code != "110106" || got.Event.Action != "R" || got.Event.Outcome != "0" {
		t.Errorf("event %+v, want 110106, R, 0", got.Event)
	}
	if len(got.Participants) != 2 || got.Participants[0].Role.Code != "110153" || got.Participants[0].Requestor != "true" ||
		got.Participants[1].Role.Code != "110154" || got.Participants[1].UserID != "DVD SM1" || got.Participants[1].Media.Code != "110033" {
		t.Errorf("participants %+v", got.Participants)
	}
	if len(got.Objects) != 5 {
		t.Fatalf("%d objects, want 3 studies and 2 patients", len(got.Objects))
	}
	first := got.Objects[0]
	if first.ID != "1.2.3.4.1" || first.Type != "2" || first.Role != "3" || len(first.SOPClass) != 2 ||
		first.SOPClass[0].UID != ct || first.SOPClass[0].Count != 120 || first.Encrypted != "true" {
		t.Errorf("first study %+v", first)
	}
	for i, p := range []audit.Patient{alice, bob} {
		o := got.Objects[3+i]
		if o.ID != p.ID || o.Name != p.Name || o.Type != "1" || o.Role != "1" {
			t.Errorf("patient object %+v, want %+v", o, p)
		}
	}
}

// DICOM Instances Transferred and Accessed may name one patient each: two
// patients are two messages, and a patient is never merged with another
// that shares its ID but not its name.
func TestOneMessagePerPatient(t *testing.T) {
	s := studies()
	s = append(s, audit.Study{UID: "1.2.3.4.4", Patient: audit.Patient{ID: alice.ID, Name: "Other^Person"}})
	msgs := audit.InstancesAccessed(event(audit.Success), audit.Read, s)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3 (Alice, Bob, the other with Alice's ID)", len(msgs))
	}
	for _, m := range msgs {
		patients := 0
		for _, o := range m.Objects {
			if o.Role == "1" {
				patients++
			}
		}
		if patients != 1 {
			t.Errorf("a message names %d patients", patients)
		}
	}
}

func TestFileLogger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	ctx := context.Background()
	for range 2 { // a second run appends
		l, err := audit.Open(ctx, "file:"+path, audit.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range audit.InstancesAccessed(event(audit.Success), audit.Read, studies()) {
			if err := l.Log(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		l.Close()
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4", len(lines))
	}
	docs := map[string][]byte{}
	for i, line := range lines {
		docs[string(rune('a'+i))] = []byte(line)
	}
	if bad := audittest.Validate(t, docs); bad != "" {
		t.Fatalf("the file's lines are not valid messages:\n%s", bad)
	}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, url := range []string{"", "syslog", "http://x", "syslog:host:514", "syslog://host", "file:",
		"file:" + filepath.Join(t.TempDir(), "missing", "audit.log")} {
		if l, err := audit.Open(ctx, url, audit.Options{}); err == nil {
			l.Close()
			t.Errorf("Open(%q) accepted", url)
		}
	}
}
