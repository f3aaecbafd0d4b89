package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// Paths relative to this package: the repository is /work/main, the
// shared corpus /work/shared/corpus.
const (
	sharedCorpus   = "../../../shared/corpus"
	sampleStudyDir = "../../testdata/sample-study"
)

func requireSharedCorpus(t *testing.T) {
	t.Helper()
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
}

func runIndexLs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func mustIndex(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "fs")
	code, stdout, stderr := runIndexLs(t, append(append([]string{"index"}, args...), "-o", out)...)
	if code != 0 {
		t.Fatalf("index exit %d: %s%s", code, stdout, stderr)
	}
	return out
}

// checkDciodvfy runs dciodvfy on the DICOMDIR and fails on any error other
// than invalid values that the input files themselves carry (we copy key
// values byte for byte, so we inherit them; dciodvfy reports them on the
// inputs too).
func checkDciodvfy(t *testing.T, fs string, inputs []string) {
	testtool.Require(t, "dciodvfy")
	out, _ := exec.Command("dciodvfy", filepath.Join(fs, "DICOMDIR")).CombinedOutput()
	valueErr := regexp.MustCompile(`^Error - Value invalid for this VR - .* = <(.*)> - `)
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "Error") || line == "Error - Dicom dataset contains invalid data values for Value Representations" {
			continue
		}
		m := valueErr.FindStringSubmatch(line)
		if m == nil || !valueInInputs(inputs, []byte(m[1])) {
			t.Errorf("dciodvfy: %s", line)
		}
	}
	if !strings.Contains(string(out), "BasicDirectory") {
		t.Errorf("dciodvfy did not recognise a Basic Directory:\n%s", out)
	}
}

func valueInInputs(inputs []string, value []byte) bool {
	found := false
	for _, in := range inputs {
		filepath.WalkDir(in, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !found {
				b, _ := os.ReadFile(p)
				found = bytes.Contains(b, value)
			}
			return nil
		})
	}
	return found
}

// checkDcmtk: dcmdump parses the DICOMDIR without errors and dcdirdmp
// (dicom3tools) follows every offset without complaint.
func checkDcmtk(t *testing.T, fs string) {
	testtool.Require(t, "dcmdump")
	testtool.Require(t, "dcdirdmp")
	dd := filepath.Join(fs, "DICOMDIR")
	out, err := exec.Command("dcmdump", "-E", dd).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("E: ")) {
		t.Errorf("dcmdump: %v\n%s", err, out)
	}
	out, err = exec.Command("dcdirdmp", dd).CombinedOutput()
	if err != nil || bytes.Contains(bytes.ToLower(out), []byte("error")) {
		t.Errorf("dcdirdmp: %v\n%s", err, out)
	}
}

// checkDcentvfy: dicom3tools' entity checker finds no inconsistency
// (errors) between the DICOMDIR and the instances of the File-set.
func checkDcentvfy(t *testing.T, fs string) {
	testtool.Require(t, "dcentvfy")
	args := []string{filepath.Join(fs, "DICOMDIR")}
	filepath.WalkDir(filepath.Join(fs, "DICOM"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			args = append(args, p)
		}
		return nil
	})
	out, err := exec.Command("dcentvfy", args...).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("Error")) {
		t.Errorf("dcentvfy: %v\n%s", err, out)
	}
}

// checkResolves: every Referenced File ID names the copied file, and that
// file is byte-identical to an input with the same SOP Instance UID.
func checkResolves(t *testing.T, fs string) {
	code, _, stderr := runIndexLs(t, "ls", "--verify", fs)
	if code != 0 {
		t.Fatalf("ls --verify exit %d: %s", code, stderr)
	}
}

// checkAgainstDcmmkdir builds a reference DICOMDIR with dcmtk on our
// File-set and compares the trees: same records per level, same File IDs
// with the same SOP Instance UIDs, same key values.
func checkAgainstDcmmkdir(t *testing.T, fs string) {
	testtool.Require(t, "dcmmkdir")
	ref := filepath.Join(t.TempDir(), "REFDIR")
	cmd := exec.Command("dcmmkdir", "-Pgp", "+I", "+r", "+D", ref, "DICOM")
	cmd.Dir = fs
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dcmmkdir: %v\n%s", err, out)
	}
	want, err := dicomdir.ParseFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dicomdir.ParseFile(filepath.Join(fs, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := treeSummary(got), treeSummary(want); a != b {
		t.Errorf("our tree differs from dcmmkdir's:\nours:\n%s\ndcmmkdir:\n%s", a, b)
	}
}

// summary lists, per record, its level, type, File ID and the key values
// both writers must agree on, sorted (the order of siblings may differ).
func treeSummary(d *dicomdir.Directory) string {
	var lines []string
	var path []string
	d.Walk(func(r *dicomdir.Record, depth int) {
		path = append(path[:depth], r.Type)
		key := ""
		switch r.Type {
		case "PATIENT":
			key = r.Value(dicom.PatientID) + " " + r.Value(dicom.PatientName)
		case "STUDY":
			key = r.Value(dicom.StudyInstanceUID) + " " + r.Value(dicom.StudyDate)
		case "SERIES":
			key = r.Value(dicom.SeriesInstanceUID) + " " + r.Value(dicom.Modality)
		default:
			key = r.Path() + " " + r.Value(dicom.ReferencedSOPInstanceUIDInFile) + " " + r.Value(dicom.InstanceNumber)
		}
		path[depth] = r.Type + "(" + key + ")"
		lines = append(lines, strings.Join(path, " / "))
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestIndexSampleStudy(t *testing.T) {
	fs := mustIndex(t, sampleStudyDir)
	checkResolves(t, fs)
	// Every input instance is copied byte for byte, once.
	if a, b := fileSums(t, sampleStudyDir, "README.md"), fileSums(t, filepath.Join(fs, "DICOM"), ""); a != b {
		t.Errorf("copied files differ from the inputs:\n%s\nvs\n%s", a, b)
	}
	checkDcmtk(t, fs)
	checkDciodvfy(t, fs, []string{sampleStudyDir})
	checkDcentvfy(t, fs)
	checkAgainstDcmmkdir(t, fs)
}

func TestIndexGeneratedMultiPatient(t *testing.T) {
	in := t.TempDir()
	if _, err := dicomtest.Set(in, 4, 2, 2, 3); err != nil {
		t.Fatal(err)
	}
	fs := mustIndex(t, in)
	checkResolves(t, fs)
	checkDcmtk(t, fs)
	checkDciodvfy(t, fs, nil) // generated input: no error at all
	checkDcentvfy(t, fs)
	checkAgainstDcmmkdir(t, fs)
	d, err := dicomdir.ParseFile(filepath.Join(fs, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	d.Walk(func(r *dicomdir.Record, _ int) { n[r.Type]++ })
	if n["PATIENT"] != 4 || n["STUDY"] != 8 || n["SERIES"] != 16 || n["IMAGE"] != 48 {
		t.Errorf("tree %v", n)
	}
}

// An instance without Patient ID, Study Date/Time, Study ID, Modality,
// Series and Instance Number still gets conformant records (dcmmkdir +I
// invents other values, so there is no comparison with it here).
func TestIndexMissingType1Keys(t *testing.T) {
	in := t.TempDir()
	if err := dicomtest.Write(filepath.Join(in, "bare"), dicomtest.Spec{PatientName: "No^Keys",
		StudyUID: "2.25.77", SeriesUID: "2.25.78", SOPUID: "2.25.79"}); err != nil {
		t.Fatal(err)
	}
	fs := mustIndex(t, in)
	checkResolves(t, fs)
	checkDcmtk(t, fs)
	checkDciodvfy(t, fs, nil)
	checkDcentvfy(t, fs)
}

func TestIndexCorpus(t *testing.T) {
	requireSharedCorpus(t)
	code, _, stderr := runIndexLs(t, "index", sharedCorpus, "-o", filepath.Join(t.TempDir(), "x"))
	if code != exitConflict || !strings.Contains(stderr, "chrFren.dcm") || !strings.Contains(stderr, "chrFrenMulti.dcm") {
		t.Fatalf("the corpus has conflicting duplicates; got exit %d: %s", code, stderr)
	}
	fs := mustIndex(t, "--allow-conflicts", sharedCorpus)
	checkResolves(t, fs)
	checkDcmtk(t, fs)
	checkDciodvfy(t, fs, []string{sharedCorpus})
	checkDcentvfyCorpus(t, fs)
	checkPlacementAgainstDcmmkdir(t, fs)
}

// checkPlacementAgainstDcmmkdir runs dcmmkdir as leniently as it goes on
// our corpus File-set. It still refuses some files (unreadable to it, or
// missing Type 1 keys it cannot invent); for every file it does index,
// the instance must sit under the same patient, study and series as in
// our DICOMDIR.
func checkPlacementAgainstDcmmkdir(t *testing.T, fs string) {
	testtool.Require(t, "dcmmkdir")
	ref := filepath.Join(t.TempDir(), "REFDIR")
	cmd := exec.Command("dcmmkdir", "-Pgp", "+I", "-Nxc", "-Nec", "-Nrc", "+Nrs", "+r", "+D", ref, "DICOM")
	cmd.Dir = fs
	cmd.Run() // exit status reflects the refused files; the output decides
	want, err := dicomdir.ParseFile(ref)
	if err != nil {
		t.Fatalf("dcmmkdir wrote no usable DICOMDIR: %v", err)
	}
	got, err := dicomdir.ParseFile(filepath.Join(fs, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := dcmPlacements(got), dcmPlacements(want)
	t.Logf("dcmmkdir indexed %d of our %d instance files", len(theirs), len(ours))
	if len(theirs) < len(ours)*3/4 {
		t.Fatalf("dcmmkdir indexed only %d of our %d files", len(theirs), len(ours))
	}
	for id, w := range theirs {
		g, ok := ours[id]
		if !ok {
			t.Errorf("dcmmkdir indexes %s, we do not", id)
			continue
		}
		if g[1] != w[1] || g[2] != w[2] || g[3] != w[3] || (!strings.HasPrefix(g[0], "NOID") && g[0] != w[0]) {
			t.Errorf("%s: ours %q, dcmmkdir %q", id, g, w)
		}
	}
}

// placements maps each File ID to [Patient ID, Study UID, Series UID, SOP
// Instance UID] of its place in the tree.
func dcmPlacements(d *dicomdir.Directory) map[string][4]string {
	out := map[string][4]string{}
	var chain [3]string
	d.Walk(func(r *dicomdir.Record, depth int) {
		switch r.Type {
		case "PATIENT":
			chain[0] = r.Value(dicom.PatientID)
		case "STUDY":
			chain[1] = r.Value(dicom.StudyInstanceUID)
		case "SERIES":
			chain[2] = r.Value(dicom.SeriesInstanceUID)
		}
		if id := r.Path(); id != "" && depth == 3 {
			out[id] = [4]string{chain[0], chain[1], chain[2], r.Value(dicom.ReferencedSOPInstanceUIDInFile)}
		}
	})
	return out
}

// checkDcentvfyCorpus runs dcentvfy on the DICOMDIR and every copied file
// that dcentvfy can read on its own (it aborts on a few corpus files, e.g.
// deflated ones: its limitation, logged here). The only inconsistencies
// allowed are between files that have no Patient ID at all: dcentvfy sees
// them as one patient, we give each a NOID patient of its own.
func checkDcentvfyCorpus(t *testing.T, fs string) {
	testtool.Require(t, "dcentvfy")
	d, err := dicomdir.ParseFile(filepath.Join(fs, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	patientOf := map[string]string{}
	for _, p := range d.Records {
		d := &dicomdir.Directory{Records: []*dicomdir.Record{p}}
		d.Walk(func(r *dicomdir.Record, _ int) {
			if r.FileID() != nil {
				patientOf[filepath.Join(fs, filepath.FromSlash(r.Path()))] = p.Value(dicom.PatientID)
			}
		})
	}
	args := []string{filepath.Join(fs, "DICOMDIR")}
	for f := range patientOf {
		if err := exec.Command("dcentvfy", f).Run(); err != nil {
			t.Logf("dcentvfy cannot read %s alone (%v): left out", f, err)
			continue
		}
		args = append(args, f)
	}
	// dcentvfy exits non-zero when it reports errors; the lines decide.
	out, _ := exec.Command("dcentvfy", args...).CombinedOutput()
	if bytes.Contains(out, []byte("Assertion")) {
		t.Fatalf("dcentvfy aborted:\n%s", out)
	}
	pair := regexp.MustCompile(`for file <([^>]*)> versus <([^>]*)>`)
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "Error") {
			continue
		}
		m := pair.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(patientOf[m[1]], "NOID") || !strings.HasPrefix(patientOf[m[2]], "NOID") {
			t.Errorf("dcentvfy: %s", line)
		}
	}
}

// Charset test files: names reach the DICOMDIR byte for byte.
func TestIndexCharsets(t *testing.T) {
	requireSharedCorpus(t)
	dir := filepath.Join(sharedCorpus, "pydicom/charset_files")
	fs := mustIndex(t, "--allow-conflicts", dir)
	d, err := dicomdir.ParseFile(filepath.Join(fs, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range d.Records {
		names[string(bytes.TrimRight(p.Get(dicom.PatientName).Value, " "))] = true
	}
	files, _ := filepath.Glob(filepath.Join(dir, "chr*.dcm"))
	for _, f := range files {
		in, reason, err := dicomdir.ReadInstance(f)
		if err != nil || in == nil {
			t.Logf("%s: %s", f, reason)
			continue
		}
		if v := string(bytes.TrimRight(in.Get(dicom.PatientName).Value, " ")); !names[v] {
			t.Errorf("%s: name % x not found byte for byte in the DICOMDIR", filepath.Base(f), v)
		}
	}
}

func TestIndexConflictExitAndNoPartialOutput(t *testing.T) {
	in := t.TempDir()
	s := dicomtest.Spec{PatientID: "P1", PatientName: "A^B", StudyUID: "2.25.1", SeriesUID: "2.25.2",
		SOPUID: "2.25.3", InstanceNumber: "1"}
	if err := dicomtest.Write(filepath.Join(in, "one"), s); err != nil {
		t.Fatal(err)
	}
	s.InstanceNumber = "2"
	if err := dicomtest.Write(filepath.Join(in, "two"), s); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "fs")
	code, _, stderr := runIndexLs(t, "index", in, "-o", out)
	if code != exitConflict {
		t.Fatalf("exit %d, want %d: %s", code, exitConflict, stderr)
	}
	for _, want := range []string{filepath.Join(in, "one"), filepath.Join(in, "two"), "2.25.3"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message %q does not name %s", stderr, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output left behind after a conflict: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
	if code, _, stderr = runIndexLs(t, "index", "--allow-conflicts", in, "-o", out); code != 0 || !strings.Contains(stderr, "kept the first") {
		t.Fatalf("--allow-conflicts: exit %d: %s", code, stderr)
	}
}

func TestIndexUsageAndOutputRules(t *testing.T) {
	if code, _, _ := runIndexLs(t, "index", sampleStudyDir); code != exitUsage {
		t.Errorf("missing -o: exit %d", code)
	}
	if code, _, _ := runIndexLs(t, "index", "-o", t.TempDir()); code != exitUsage {
		t.Errorf("no input: exit %d", code)
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "keep"), []byte("x"), 0o644)
	if code, _, stderr := runIndexLs(t, "index", sampleStudyDir, "-o", full); code != exitFailure || !strings.Contains(stderr, "not empty") {
		t.Errorf("non-empty output: exit %d %s", code, stderr)
	}
	if code, _, _ := runIndexLs(t, "index", sampleStudyDir, "-o", t.TempDir()); code != 0 {
		t.Errorf("empty output folder: exit %d", code)
	}
	if code, _, stderr := runIndexLs(t, "index", "--fileset-id", "lower", sampleStudyDir, "-o", filepath.Join(t.TempDir(), "x")); code == 0 {
		t.Errorf("bad File-set ID accepted: %s", stderr)
	}
}

// index reads its inputs and never writes them; output names are
// deterministic and carry no patient data.
func TestIndexInputUntouchedAndDeterministic(t *testing.T) {
	before := dirDigest(t, sampleStudyDir)
	a, b := mustIndex(t, sampleStudyDir), mustIndex(t, sampleStudyDir)
	if dirDigest(t, sampleStudyDir) != before {
		t.Fatal("input changed")
	}
	if dirDigest(t, a) != dirDigest(t, b) {
		t.Fatal("two runs on the same input differ")
	}
	fileID := regexp.MustCompile(`^[A-Z0-9_]{1,8}$`)
	filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(a, p)
		for _, c := range strings.Split(rel, string(filepath.Separator)) {
			if rel != "." && !fileID.MatchString(c) {
				t.Errorf("name %q is not a File ID component", rel)
			}
		}
		return nil
	})
}

func dirDigest(t *testing.T, root string) string {
	h := sha256.New()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%s\n", rel)
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

// fileSums lists the SHA-256 of every file under root (except one
// name), sorted, one per line.
func fileSums(t *testing.T, root, except string) string {
	var sums []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() && d.Name() != except {
			b, _ := os.ReadFile(p)
			sums = append(sums, fmt.Sprintf("%x", sha256.Sum256(b)))
		}
		return nil
	})
	sort.Strings(sums)
	return strings.Join(sums, "\n")
}
