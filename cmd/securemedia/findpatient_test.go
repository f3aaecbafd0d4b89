package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// findPatients are the patients stored in Orthanc for the find-patient
// tests: copies of sample files given these identities by dcmodify.
// FP-1001 has two studies; FP-1003's name is Latin-1 (ISO_IR 100).
var findPatients = []struct{ file, name, id, issuer, birth, sex string }{
	{"77654033/CR1/6154", "DOE^JANE", "FP-1001", "TESTHOSP", "19800101", "F"},
	{"77654033/CT2/17106", "DOE^JANE", "FP-1001", "TESTHOSP", "19800101", "F"},
	{"98892001/CT5N/2062", "DOE^JOHN", "FP-1002", "", "19750615", "M"},
	{"98892003/MR1/4919", "M\xdcLLER^J\xdcRGEN", "FP-1003", "", "19800101", "M"},
}

// findPatientFolder writes the findPatients files into a new folder.
func findPatientFolder(t *testing.T) string {
	t.Helper()
	testtool.Require(t, "dcmodify")
	dir := t.TempDir()
	for i, p := range findPatients {
		b, err := os.ReadFile(filepath.Join("../../testdata/sample-study", p.file))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, fmt.Sprintf("IM%d", i))
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("dcmodify", "-nb", "-i", "(0008,0005)=ISO_IR 100", "-i", "(0010,0010)="+p.name,
			"-i", "(0010,0020)="+p.id, "-i", "(0010,0021)="+p.issuer, "-i", "(0010,0030)="+p.birth,
			"-i", "(0010,0040)="+p.sex, dst).CombinedOutput()
		if err != nil {
			t.Fatalf("dcmodify: %v\n%s", err, out)
		}
	}
	return dir
}

// findRun is one find-patient run: its arguments (after --pacs, which the
// script adds unless args give one) and what it printed.
type findRun struct {
	args             []string
	stdout, stderr   string
	exit             string
	wantExit         string
	wantIDs          []string // the PATIENT ID column (or JSON ids), in order
	wantSummary      string   // in stderr
	json, customPACS bool
	emptyOut         bool // nothing on stdout
}

// TestFindPatientInOrthanc: find-patient against Orthanc holding three
// patients: by exact name, by name with a wildcard, by birth date (a
// Latin-1 name decoded), by ID as JSON, no match, a search cut at --max,
// empty and bad queries (exit 2) and a wrong called AE title (exit 12). No
// run puts a name or ID on stderr.
func TestFindPatientInOrthanc(t *testing.T) {
	src := findPatientFolder(t)
	sm := requireOrthanc(t)
	runs := map[string]*findRun{
		"exact":    {args: []string{"--name", "DOE^JANE"}, wantExit: "0", wantIDs: []string{"FP-1001"}, wantSummary: ": 1 match\n"},
		"wildcard": {args: []string{"--name", "doe*"}, wantExit: "0", wantIDs: []string{"FP-1001", "FP-1002"}, wantSummary: ": 2 matches\n"},
		"birth":    {args: []string{"--birth-date", "1980-01-01"}, wantExit: "0", wantIDs: []string{"FP-1001", "FP-1003"}, wantSummary: ": 2 matches\n"},
		"id":       {args: []string{"--id", "FP-1002", "--json"}, json: true, wantExit: "0", wantIDs: []string{"FP-1002"}, wantSummary: ": 1 match\n"},
		"none":     {args: []string{"--name", "NOBODY*", "--sex", "F"}, wantExit: "0", emptyOut: true, wantSummary: ": no patient matches\n"},
		"nonejson": {args: []string{"--name", "NOBODY", "--json"}, json: true, wantExit: "0", wantSummary: ": no patient matches\n"},
		"cut":      {args: []string{"--sex", "M", "--max", "1"}, wantExit: "0", wantSummary: ": more than 1 match: narrow the search\n"},
		"empty":    {wantExit: "2", emptyOut: true},
		"onlystar": {args: []string{"--name", "*", "--id", "*"}, wantExit: "2", emptyOut: true},
		"baddate":  {args: []string{"--birth-date", "19801301"}, wantExit: "2", emptyOut: true},
		"wrongaet": {args: []string{"--pacs", "NOTORTHANC@127.0.0.1:4242", "--name", "DOE*"}, customPACS: true, wantExit: "12", emptyOut: true},
	}
	work := t.TempDir()
	script := pacstest.OrthancScript + fmt.Sprintf(`start_orthanc %[1]s
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv >%[1]s/send.txt 2>&1; echo "send-exit=$?"
`, work, src)
	for name, r := range runs {
		args := r.args
		if !r.customPACS {
			args = append([]string{"--pacs", "ORTHANC@127.0.0.1:4242"}, args...)
		}
		script += fmt.Sprintf(`"$SM" find-patient %s >%s/%s.out 2>%[2]s/%[3]s.err; echo "%[3]s-exit=$?"`+"\n", shellQuote(args), work, name)
	}
	log := inNetns(t, sm, script+"stop_orthanc")
	if !strings.Contains(log, "send-exit=0") {
		b, _ := os.ReadFile(filepath.Join(work, "send.txt"))
		t.Fatalf("send to Orthanc failed:\n%s\n%s", log, b)
	}
	for name, r := range runs {
		out, _ := os.ReadFile(filepath.Join(work, name+".out"))
		errb, _ := os.ReadFile(filepath.Join(work, name+".err"))
		r.stdout, r.stderr = string(out), string(errb)
		r.exit = runExit(log, name)
		t.Run(name, func(t *testing.T) { r.check(t) })
	}
	checkRows(t, runs["exact"].stdout, map[string][]string{"FP-1001": {"TESTHOSP", "DOE^JANE", "1980-01-01", "F", "2"}})
	checkRows(t, runs["birth"].stdout, map[string][]string{"FP-1003": {"-", "MÜLLER^JÜRGEN", "1980-01-01", "M", "1"}})
	var got []importer.PatientMatch
	if err := json.Unmarshal([]byte(runs["id"].stdout), &got); err != nil || len(got) != 1 ||
		got[0] != (importer.PatientMatch{ID: "FP-1002", Name: "DOE^JOHN", BirthDate: "19750615", Sex: "M", Studies: "1"}) {
		t.Errorf("--json: %+v (%v) from\n%s", got, err, runs["id"].stdout)
	}
	if s := strings.TrimSpace(runs["nonejson"].stdout); s != "[]" {
		t.Errorf("--json without a match: %q, want []", s)
	}
	if ids := tableIDs(runs["cut"].stdout); len(ids) != 1 || (ids[0] != "FP-1002" && ids[0] != "FP-1003") {
		t.Errorf("cut at 1: listed %v", ids)
	}
}

func (r *findRun) check(t *testing.T) {
	if r.exit != r.wantExit {
		t.Fatalf("%v: exit %q, want %s\nstdout:\n%s\nstderr:\n%s", r.args, r.exit, r.wantExit, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, r.wantSummary) || (r.wantSummary != "" && !strings.HasPrefix(r.stderr, "find-patient ")) {
		t.Errorf("%v: stderr %q, want %q", r.args, r.stderr, r.wantSummary)
	}
	for _, p := range findPatients {
		if strings.Contains(r.stderr, p.id) || strings.Contains(r.stderr, "DOE^") {
			t.Errorf("%v: patient data on stderr: %q", r.args, r.stderr)
		}
	}
	if r.emptyOut {
		if r.stdout != "" {
			t.Errorf("%v: stdout %q, want nothing", r.args, r.stdout)
		}
		return
	}
	if r.wantIDs == nil && !r.json {
		return // checked by the caller
	}
	ids := tableIDs(r.stdout)
	if r.json {
		var got []importer.PatientMatch
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%v: %v in\n%s", r.args, err, r.stdout)
		}
		ids = nil
		for _, m := range got {
			ids = append(ids, m.ID)
		}
	}
	if !slices.Equal(ids, r.wantIDs) {
		t.Errorf("%v: patients %v, want %v\n%s", r.args, ids, r.wantIDs, r.stdout)
	}
}

// tableIDs returns the PATIENT ID column of find-patient's table.
func tableIDs(out string) []string {
	var ids []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 7 && f[0] != "#" {
			ids = append(ids, f[1])
		}
	}
	return ids
}

// checkRows compares whole table rows, by Patient ID.
func checkRows(t *testing.T, out string, want map[string][]string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "# PATIENT ID ISSUER NAME BIRTH DATE SEX STUDIES" {
		t.Errorf("table header: %q", lines[0])
	}
	for id, cols := range want {
		found := false
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 7 && f[1] == id {
				found = true
				if !slices.Equal(f[2:], cols) {
					t.Errorf("patient %s: row %v, want %v", id, f[2:], cols)
				}
			}
		}
		if !found {
			t.Errorf("patient %s not listed in\n%s", id, out)
		}
	}
}

// runExit finds "NAME-exit=N" in the script's log.
func runExit(log, name string) string {
	for _, l := range strings.Split(log, "\n") {
		if v, ok := strings.CutPrefix(l, name+"-exit="); ok {
			return v
		}
	}
	return "(not run)"
}

// shellQuote quotes args for sh.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
