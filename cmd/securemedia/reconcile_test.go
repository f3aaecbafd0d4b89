package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/pacstest"
)

// The sample study's two patients as "open" numbers them: #1 Doe^Archibald
// (77654033: studies #1 and #2, 7 instances), #2 Doe^Peter (98890234:
// studies #3 to #6, 24 instances).
const (
	brainStudy  = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133" // study #4: 4 instances
	series700   = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.118" // series #11: 7 instances of study #5
	brainMRA    = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.1"   // study #5
	archibaldID = "77654033"
	peterID     = "98890234"
)

// A sealed two-patient disc goes to Orthanc one patient at a time (IHE
// IRWF): a new Patient ID for the whole disc is refused with nothing
// stored; '#1' with a new ID stores exactly that patient's instances under
// it, with the originals kept; a reconciliation file stores each patient
// under its own local identity; --study and --series send only those.
func TestSendOnePatientAtATimeToOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	dir, iso, pw := burnSample(t)
	mapping := writeFile(t, dir, "map.tsv", "# disc patient\tlocal ID\tissuer\tname\n#1\tLOCAL-A\tTHISHOSP\tDOE^ARCHIBALD^J\n"+peterID+"\tLOCAL-P\n")
	send := fmt.Sprintf(`"$SM" send %s --pacs ORTHANC@127.0.0.1:4242 --password-file %s --no-resume --state %s/state.tsv`, iso, pw, dir)
	log := inNetns(t, sm, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
count() { curl -sf http://127.0.0.1:8042/instances | tr -d '[]",' | wc -w; }
clear() { for p in $(curl -sf http://127.0.0.1:8042/patients | tr -d '[]",'); do curl -sf -X DELETE http://127.0.0.1:8042/patients/$p >/dev/null; done; }
%[2]s --patient-id LOCAL-X >/dev/null 2>%[1]s/refused.txt; echo "refused-exit=$?"; echo "after-refusal=$(count)"
%[2]s --patient '#1' --patient-id LOCAL-1 --issuer THISHOSP >/dev/null; echo "one-exit=$?"
echo MARK one; list_studies
inst=$(curl -sf http://127.0.0.1:8042/instances | tr -d '[]",' | awk 'NF{print $1; exit}')
printf 'TAGS %%s\n' "$(curl -sf http://127.0.0.1:8042/instances/$inst/simplified-tags | tr -d '\n')"
clear
%[2]s --reconcile %[3]s >/dev/null; echo "map-exit=$?"
echo MARK map; list_studies; clear
%[2]s --study %[4]s --patient-id LOCAL-S >/dev/null; echo "study-exit=$?"
echo MARK study; list_studies; clear
%[2]s --series '#11' >/dev/null; echo "series-exit=$?"
echo MARK series; list_studies
stop_orthanc`, dir, send, mapping, brainStudy))
	for _, want := range []string{"refused-exit=2", "after-refusal=0", "one-exit=0", "map-exit=0", "study-exit=0", "series-exit=0"} {
		if !strings.Contains(log, want+"\n") {
			t.Errorf("want %s:\n%s", want, log)
		}
	}
	refused, _ := os.ReadFile(filepath.Join(dir, "refused.txt"))
	if !strings.Contains(string(refused), "#2 Doe^Peter [ID 98890234]") || !strings.Contains(string(refused), "--patient '#N'") {
		t.Errorf("the refusal does not list the patients and how to choose:\n%s", refused)
	}
	parts := markedParts(log)
	expectStudies(t, "--patient '#1' --patient-id LOCAL-1", parts["one"], map[string]studyWant{
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.1": {4, "LOCAL-1", ""},
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196527414.5534.0.1":  {3, "LOCAL-1", ""}})
	checkOriginalsKept(t, parts["one"])
	expectStudies(t, "--reconcile", parts["map"], map[string]studyWant{
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.1": {4, "LOCAL-A", "DOE^ARCHIBALD^J"},
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196527414.5534.0.1":  {3, "LOCAL-A", "DOE^ARCHIBALD^J"},
		"1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.1": {7, "LOCAL-P", "Doe^Peter"},
		brainStudy: {4, "LOCAL-P", "Doe^Peter"},
		brainMRA:   {11, "LOCAL-P", "Doe^Peter"},
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.427": {2, "LOCAL-P", "Doe^Peter"}})
	expectStudies(t, "--study", parts["study"], map[string]studyWant{brainStudy: {4, "LOCAL-S", ""}})
	expectStudies(t, "--series '#11'", parts["series"], map[string]studyWant{brainMRA: {7, peterID, ""}})
}

type studyWant struct {
	instances int
	patientID string
	name      string // "" if not checked
}

// markedParts splits a log at "MARK name" lines.
func markedParts(log string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, l := range strings.Split(log, "\n") {
		if n, ok := strings.CutPrefix(l, "MARK "); ok {
			name = n
			continue
		}
		out[name] += l + "\n"
	}
	return out
}

// expectStudies checks that Orthanc holds exactly the studies wanted.
func expectStudies(t *testing.T, what, log string, want map[string]studyWant) {
	t.Helper()
	got := pacstest.Studies(t, log)
	if len(got) != len(want) {
		t.Errorf("%s: Orthanc holds %d studies, want %d", what, len(got), len(want))
	}
	for uid, w := range want {
		s := got[uid]
		if s == nil || s.Instances != w.instances || s.PatientMainDicomTags["PatientID"] != w.patientID ||
			(w.name != "" && s.PatientMainDicomTags["PatientName"] != w.name) {
			t.Errorf("%s: study %s: Orthanc has %+v, want %d instances of patient %s %s", what, uid, s, w.instances, w.patientID, w.name)
		}
	}
}

// checkOriginalsKept: the reconciled instance keeps its original Patient
// ID in Other Patient IDs Sequence and in Original Attributes Sequence.
func checkOriginalsKept(t *testing.T, log string) {
	t.Helper()
	var tags struct {
		PatientID, IssuerOfPatientID string
		OtherPatientIDsSequence      []map[string]any
		OriginalAttributesSequence   []struct {
			ModifiedAttributesSequence []map[string]any
		}
	}
	for _, l := range strings.Split(log, "\n") {
		if j, ok := strings.CutPrefix(l, "TAGS "); ok {
			if err := json.Unmarshal([]byte(j), &tags); err != nil {
				t.Fatal(err)
			}
		}
	}
	oas := tags.OriginalAttributesSequence
	if tags.PatientID != "LOCAL-1" || tags.IssuerOfPatientID != "THISHOSP" || len(tags.OtherPatientIDsSequence) != 1 ||
		tags.OtherPatientIDsSequence[0]["PatientID"] != archibaldID || len(oas) != 1 || len(oas[0].ModifiedAttributesSequence) != 1 ||
		oas[0].ModifiedAttributesSequence[0]["PatientID"] != archibaldID {
		t.Errorf("instance tags in Orthanc: %+v", tags)
	}
}

// "open" numbers patients, studies and series; a patient whose instances
// carry no Patient ID is shown as such, never under the stand-in the
// DICOMDIR needs; extract takes the same selection.
func TestSelectionOnTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	noID := filepath.Join(dir, "noid")
	for i, sop := range []string{"2.25.901", "2.25.902"} {
		if err := dicomtest.Write(filepath.Join(noID, sop), dicomtest.Spec{PatientName: "Nobody^Known", StudyUID: "2.25.900",
			SeriesUID: "2.25.910", SOPUID: sop, Modality: "OT", InstanceNumber: fmt.Sprint(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	pw := passwordFile(t, dir)
	usb := filepath.Join(dir, "usb")
	cli(t, "", "burn", filepath.Join(sampleStudy, archibaldID), noID, "-o", usb, "--media", "usb", "--password-file", pw, "--no-viewer").expect(t, 0, "")
	r := cli(t, "", "open", usb, "--password-file", pw)
	r.expect(t, 0, "")
	for _, want := range []string{"Patient #1  Doe^Archibald  [ID 77654033]\n", "Patient #2  Nobody^Known  [no ID on the disc]\n",
		"  Study #3  1900-01-01  -  (1 series, 2 instances)  UID 2.25.900\n", "    Series #5  number 1  OT  2 IMAGE  UID 2.25.910\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("open lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "NOID") {
		t.Errorf("open shows the stand-in ID as the patient's:\n%s", r.stdout)
	}
	extracted := func(name string, sel ...string) int {
		out := filepath.Join(dir, name)
		cli(t, "", append([]string{"extract", usb, "-o", out, "--password-file", pw}, sel...)...).expect(t, 0, "")
		return strings.Count(cli(t, "", "ls", out).stdout, " IMAGE")
	}
	if n := extracted("p2", "--patient", "#2"); n != 1 {
		t.Errorf("--patient '#2': %d series extracted, want the no-ID patient's 1", n)
	}
	if n := extracted("p1", "--patient", archibaldID, "--study", "#2"); n != 3 {
		t.Errorf("--patient ID --study '#2': %d series extracted, want 3", n)
	}
	cli(t, "", "extract", usb, "-o", filepath.Join(dir, "none"), "--password-file", pw, "--patient", "#2", "--study", "#1").
		expect(t, exitUsage, "no instance in common")
	mustNotExist(t, filepath.Join(dir, "none"))
	cli(t, "", "extract", usb, "-o", filepath.Join(dir, "none"), "--password-file", pw, "--series", "2.25.999").
		expect(t, exitUsage, "no series 2.25.999")
}
