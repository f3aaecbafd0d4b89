package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/pacstest"
)

// Orthanc as a real PACS, started by internal/pacstest in a private
// network namespace together with the securemedia binary.

func requireOrthanc(t *testing.T) string {
	t.Helper()
	pacstest.RequireOrthanc(t)
	return buildCLI(t)
}

// TestSendStudyToOrthanc: every study of the sample folder is listed by
// Orthanc's REST API with the right number of instances.
func TestSendStudyToOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	work := t.TempDir()
	src := "../../testdata/sample-study"
	log := inNetns(t, sm, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
"$SM" echo --pacs ORTHANC@127.0.0.1:4242; echo "echo-exit=$?"
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv >%[1]s/table.txt; echo "exit=$?"
list_studies
stop_orthanc`, work, src))
	if !strings.Contains(log, "echo-exit=0") || !strings.Contains(log, "exit=0") {
		t.Fatalf("echo/send to Orthanc failed:\n%s", log)
	}
	pacstest.CheckStudies(t, log, src)
}

// TestSendReconciledToOrthanc: with --patient-id and --issuer, Orthanc
// shows the study under the new Patient ID, with the original one in Other
// Patient IDs Sequence, and the Study Instance UID unchanged.
func TestSendReconciledToOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	work := t.TempDir()
	src := "../../testdata/sample-study/77654033"
	log := inNetns(t, sm, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv --patient-id LOCAL-42 --issuer THISHOSP; echo "exit=$?"
list_studies
inst=$(curl -sf http://127.0.0.1:8042/instances | tr -d '[]",' | awk 'NF{print $1; exit}')
printf 'TAGS %%s\n' "$(curl -sf http://127.0.0.1:8042/instances/$inst/simplified-tags | tr -d '\n')"
stop_orthanc`, work, src))
	if !strings.Contains(log, "exit=0") {
		t.Fatalf("send to Orthanc failed:\n%s", log)
	}
	got := pacstest.Studies(t, log)
	want := pacstest.StudyCounts(t, src)
	for uid, n := range want {
		s := got[uid]
		if s == nil || s.Instances != n || s.PatientMainDicomTags["PatientID"] != "LOCAL-42" {
			t.Errorf("study %s: Orthanc has %+v, want %d instances of patient LOCAL-42", uid, s, n)
		}
	}
	var tags struct {
		PatientID, IssuerOfPatientID string
		OtherPatientIDsSequence      []map[string]any
		OriginalAttributesSequence   []map[string]any
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "TAGS ") {
			if err := json.Unmarshal([]byte(l[5:]), &tags); err != nil {
				t.Fatal(err)
			}
		}
	}
	if tags.PatientID != "LOCAL-42" || tags.IssuerOfPatientID != "THISHOSP" || len(tags.OtherPatientIDsSequence) != 1 ||
		tags.OtherPatientIDsSequence[0]["PatientID"] != "77654033" || len(tags.OriginalAttributesSequence) != 1 {
		t.Errorf("instance tags in Orthanc: %+v", tags)
	}
}
