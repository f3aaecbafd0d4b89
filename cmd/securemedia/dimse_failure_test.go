package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// phases splits a namespace script's log at "=== name" lines.
func phases(log string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, l := range strings.SplitAfter(log, "\n") {
		if strings.HasPrefix(l, "=== ") {
			name = strings.TrimSpace(l[4:])
			continue
		}
		out[name] += l
	}
	return out
}

func exitOf(t *testing.T, phase string) string {
	t.Helper()
	m := regexp.MustCompile(`exit=(\d+)`).FindStringSubmatch(phase)
	if m == nil {
		t.Fatalf("no exit status in:\n%s", phase)
	}
	return m[1]
}

// countRows counts the table rows with each result.
func countRows(rows map[string][2]string) map[string]int {
	n := map[string]int{}
	for _, r := range rows {
		n[r[0]]++
	}
	return n
}

// TestSendFailuresAndResume: a peer that rejects a transfer syntax, aborts
// mid-study, or stops answering. Each time send names exactly the
// instances not stored, exits 11, and a re-run completes the rest while
// skipping what the peer already confirmed.
func TestSendFailuresAndResume(t *testing.T) {
	requireSharedCorpus(t)
	for _, tool := range []string{"storescp", "echoscu", "dcmconv", "dcmdump"} {
		testtool.Require(t, tool)
	}
	pacstest.RequireNetns(t)
	sm := buildCLI(t)
	study := t.TempDir()
	copyTree(t, "../../testdata/sample-study", study)
	jpeg := filepath.Join(study, "jpeg.dcm")
	copyTestFile(t, filepath.Join(sharedCorpus, "pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm"), jpeg)
	tmp := t.TempDir()
	send := func(state string, extra ...string) string {
		return fmt.Sprintf(`"$SM" send %s --pacs SCP@127.0.0.1:11112 --state %s/%s %s; echo "exit=$?"`, study, tmp, state, strings.Join(extra, " "))
	}
	log := inNetns(t, sm, storescpUp+fmt.Sprintf(`
mkdir -p %[1]s/a %[1]s/b %[1]s/c
echo "=== implicit-only"
start_scp -aet SCP +xi -od %[1]s/a; %[2]s; stop_scp
echo "=== implicit-only rerun"
start_scp -aet SCP +xa -od %[1]s/a; %[3]s; stop_scp
echo "=== abort"
start_scp -aet SCP --abort-after -od %[1]s/b; %[4]s; stop_scp
echo "=== abort rerun"
start_scp -aet SCP +xa -od %[1]s/b; %[4]s; stop_scp
echo "=== silent"
start_scp -aet SCP --sleep-during 30 -od %[1]s/c; %[5]s; stop_scp
echo "=== silent rerun"
start_scp -aet SCP +xa -od %[1]s/c; %[6]s; stop_scp
`, tmp, send("s1"), send("s1"), send("s2"), send("s3", "--timeout", "2s"), send("s3")))
	ph := phases(log)
	const instances = 32 // the sample study's 31 DICOM files plus jpeg.dcm

	// Implicit VR only: the JPEG instance is refused, not transcoded; the
	// explicit VR files travel as implicit VR.
	rows := tableRows(ph["implicit-only"])
	if exitOf(t, ph["implicit-only"]) != "11" || rows["jpeg.dcm"][0] != "refused" || countRows(rows)["sent"] != instances-1 {
		t.Errorf("implicit-only peer:\n%s", ph["implicit-only"])
	}
	checkImplicitCopies(t, study, filepath.Join(tmp, "a"))
	rows = tableRows(ph["implicit-only rerun"])
	if exitOf(t, ph["implicit-only rerun"]) != "0" || rows["jpeg.dcm"][0] != "sent" || countRows(rows)["sent"] != 1 {
		t.Errorf("rerun after a refusal:\n%s", ph["implicit-only rerun"])
	}

	// Aborted at the first C-STORE: that one failed, the others not sent.
	rows = tableRows(ph["abort"])
	n := countRows(rows)
	if exitOf(t, ph["abort"]) != "11" || n["failed"] != 1 || n["not sent"] != instances-1 || n["sent"] != 0 {
		t.Errorf("aborting peer: %v\n%s", n, ph["abort"])
	}
	if n := countRows(tableRows(ph["abort rerun"])); exitOf(t, ph["abort rerun"]) != "0" || n["sent"] != instances {
		t.Errorf("rerun after abort: %v\n%s", n, ph["abort rerun"])
	}

	// Silent peer: no answer within --timeout, reported, not hung.
	rows = tableRows(ph["silent"])
	n = countRows(rows)
	if exitOf(t, ph["silent"]) != "11" || n["failed"] != 1 || n["not sent"] != instances-1 || !strings.Contains(ph["silent"], "no response from the peer within 2s") {
		t.Errorf("silent peer: %v\n%s", n, ph["silent"])
	}
	if n := countRows(tableRows(ph["silent rerun"])); exitOf(t, ph["silent rerun"]) != "0" || n["sent"] != instances {
		t.Errorf("rerun after silence: %v\n%s", n, ph["silent rerun"])
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		copyTestFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyTestFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o755)
	}
	if err == nil {
		err = os.WriteFile(dst, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// checkImplicitCopies: what we rewrote from explicit to implicit VR and
// storescp stored has the same dcmdump as dcmtk's own conversion of the
// original (dcmconv +ti).
func checkImplicitCopies(t *testing.T, study, received string) {
	t.Helper()
	conv := filepath.Join(t.TempDir(), "conv.dcm")
	n := 0
	filepath.Walk(study, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "README.md" || fi.Name() == "jpeg.dcm" {
			return err
		}
		got, _ := filepath.Glob(filepath.Join(received, "*."+sopInstanceOf(t, p)))
		if len(got) != 1 {
			t.Errorf("%s: %d files received", p, len(got))
			return nil
		}
		if out, err := exec.Command("dcmconv", "+ti", p, conv).CombinedOutput(); err != nil {
			t.Fatalf("dcmconv: %v %s", err, out)
		}
		if dumpDataSet(t, conv) != dumpDataSet(t, got[0]) {
			t.Errorf("%s: our implicit VR rewrite differs from dcmconv +ti", p)
		}
		n++
		return nil
	})
	if n != 31 {
		t.Errorf("%d files compared, want 31", n)
	}
}

func sopInstanceOf(t *testing.T, path string) string {
	t.Helper()
	h, _ := readPart10(t, path)
	return h.MetaString(dicom.MediaStorageSOPInstanceUID)
}
