package main

import (
	"encoding/json"
	"fmt"
	"github.com/securemedia/securemedia/internal/testtool"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Orthanc as a real PACS. Orthanc 1.10 cannot be told which address to
// listen on, so like storescp it runs in a private network namespace with
// only lo up, with a temporary configuration and storage; the script ends
// it, and the namespace's end kills anything left.

const orthancUp = `start_orthanc() {
cat > "$1/orthanc.json" <<JSON
{ "Name": "securemedia-test", "StorageDirectory": "$1/db", "IndexDirectory": "$1/db",
  "DicomAet": "ORTHANC", "DicomPort": 4242, "HttpPort": 8042, "DicomCheckCalledAet": true,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "Plugins": [] }
JSON
Orthanc "$1/orthanc.json" >"$1/orthanc.log" 2>&1 & ORTHANC=$!
i=0; until curl -sf http://127.0.0.1:8042/system >/dev/null; do i=$((i+1)); [ $i -gt 300 ] && { cat "$1/orthanc.log"; exit 9; }; sleep 0.1; done
}
stop_orthanc() { kill $ORTHANC; wait $ORTHANC 2>/dev/null; true; }
# list_studies prints, per study, its JSON and its instances' JSON, one line
# each (printf, since sh's echo would interpret the backslashes of DICOM values).
list_studies() {
for id in $(curl -sf http://127.0.0.1:8042/studies | tr -d '[]",'); do
  printf 'STUDY %s\n' "$(curl -sf http://127.0.0.1:8042/studies/$id | tr -d '\n')"
  printf 'INSTANCES %s\n' "$(curl -sf http://127.0.0.1:8042/studies/$id/instances | tr -d '\n')"
done
}
`

type orthancStudy struct {
	MainDicomTags        map[string]string
	PatientMainDicomTags map[string]string
	Instances            int
}

// orthancStudies parses list_studies output, keyed by Study Instance UID.
func orthancStudies(t *testing.T, log string) map[string]*orthancStudy {
	t.Helper()
	out := map[string]*orthancStudy{}
	var cur *orthancStudy
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(l, "STUDY "):
			cur = &orthancStudy{}
			if err := json.Unmarshal([]byte(l[6:]), cur); err != nil {
				t.Fatalf("study JSON: %v", err)
			}
			out[cur.MainDicomTags["StudyInstanceUID"]] = cur
		case strings.HasPrefix(l, "INSTANCES ") && cur != nil:
			var inst []json.RawMessage
			if err := json.Unmarshal([]byte(l[10:]), &inst); err != nil {
				t.Fatalf("instances JSON: %v", err)
			}
			cur.Instances = len(inst)
		}
	}
	return out
}

// studyCounts counts the DICOM instances of a folder by Study Instance UID.
func studyCounts(t *testing.T, root string) map[string]int {
	t.Helper()
	n := map[string]int{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, r, err := dicom.ReadHeader(f); err == nil {
			r.MaxValue = 1 << 16
			elems, _ := r.ReadUntil(0x0020000E)
			n[dicom.Find(elems, 0x0020000D).String()]++
		}
		return nil
	})
	return n
}

func requireOrthanc(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"Orthanc", "curl"} {
		testtool.Require(t, tool)
	}
	requireNetns(t)
	return buildCLI(t)
}

// TestSendStudyToOrthanc: every study of the sample folder is listed by
// Orthanc's REST API with the right number of instances.
func TestSendStudyToOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	work := t.TempDir()
	src := "../../testdata/sample-study"
	log := inNetns(t, sm, orthancUp+fmt.Sprintf(`start_orthanc %[1]s
"$SM" echo --pacs ORTHANC@127.0.0.1:4242; echo "echo-exit=$?"
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv >%[1]s/table.txt; echo "exit=$?"
list_studies
stop_orthanc`, work, src))
	if !strings.Contains(log, "echo-exit=0") || !strings.Contains(log, "exit=0") {
		t.Fatalf("echo/send to Orthanc failed:\n%s", log)
	}
	got := orthancStudies(t, log)
	want := studyCounts(t, src)
	if len(got) != len(want) {
		t.Errorf("Orthanc lists %d studies, want %d", len(got), len(want))
	}
	for uid, n := range want {
		if s := got[uid]; s == nil || s.Instances != n {
			t.Errorf("study %s: Orthanc has %v, want %d instances", uid, s, n)
		}
	}
}

// TestSendReconciledToOrthanc: with --patient-id and --issuer, Orthanc
// shows the study under the new Patient ID, with the original one in Other
// Patient IDs Sequence, and the Study Instance UID unchanged.
func TestSendReconciledToOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	work := t.TempDir()
	src := "../../testdata/sample-study/77654033"
	log := inNetns(t, sm, orthancUp+fmt.Sprintf(`start_orthanc %[1]s
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv --patient-id LOCAL-42 --issuer THISHOSP; echo "exit=$?"
list_studies
inst=$(curl -sf http://127.0.0.1:8042/instances | tr -d '[]",' | awk 'NF{print $1; exit}')
printf 'TAGS %%s\n' "$(curl -sf http://127.0.0.1:8042/instances/$inst/simplified-tags | tr -d '\n')"
stop_orthanc`, work, src))
	if !strings.Contains(log, "exit=0") {
		t.Fatalf("send to Orthanc failed:\n%s", log)
	}
	got := orthancStudies(t, log)
	want := studyCounts(t, src)
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
