// Package pacstest runs real PACS programs (Orthanc, dcmtk's storescp) for
// interop tests. They cannot be told to listen on 127.0.0.1 only, so they
// run in a private network namespace (unshare -rn) with only lo up,
// together with whatever talks to them: a shell script started by InNetns,
// which may run a securemedia binary or the test binary itself. Every
// process the script starts dies with the namespace at the latest.
//
// The rule of internal/testtool applies: a missing tool or namespace
// support skips the test, and fails it under CI=true.
package pacstest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/testtool"
)

// RequireNetns checks that the test may create a private network
// namespace.
func RequireNetns(t testing.TB) {
	t.Helper()
	testtool.Require(t, "unshare")
	testtool.Require(t, "ip")
	if err := exec.Command("unshare", "-rn", "ip", "link", "set", "lo", "up").Run(); err != nil {
		testtool.Missing(t, "cannot create a network namespace ("+err.Error()+"): namespace test skipped")
	}
}

// RequireOrthanc checks for Orthanc, curl and namespace support.
func RequireOrthanc(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"Orthanc", "curl"} {
		testtool.Require(t, tool)
	}
	RequireNetns(t)
}

// InNetns runs a shell script in a fresh network namespace with lo up,
// bounded in time (3 minutes), with env added to the environment, and
// returns its output.
func InNetns(t testing.TB, script string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-rn", "--kill-child", "sh", "-c", "set -u; ip link set lo up; "+script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("namespace script timed out:\n%s", out)
	}
	if err != nil {
		t.Fatalf("namespace script: %v\n%s", err, out)
	}
	return string(out)
}

// Orthanc in the namespace: AE title ORTHANC on 127.0.0.1:4242, REST API
// on 127.0.0.1:8042.
const (
	OrthancAET  = "ORTHANC"
	OrthancPort = 4242
)

// OrthancScript defines shell functions for an InNetns script:
// start_orthanc DIR starts Orthanc with a temporary configuration and
// storage under DIR (answering C-FIND from any AE title, as it does C-ECHO
// and C-STORE) and waits (bounded) for its REST API; stop_orthanc
// ends it; list_studies prints what Orthanc stores, for Studies.
// $ORTHANC_EXTRA, if set, is added to the configuration's members (it
// starts with a comma), as the DICOM TLS tests do.
const OrthancScript = `start_orthanc() {
cat > "$1/orthanc.json" <<JSON
{ "Name": "securemedia-test", "StorageDirectory": "$1/db", "IndexDirectory": "$1/db",
  "DicomAet": "ORTHANC", "DicomPort": 4242, "HttpPort": 8042, "DicomCheckCalledAet": true,
  "DicomAlwaysAllowFind": true,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "Plugins": [] ${ORTHANC_EXTRA:-} }
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

// Study is one study as Orthanc's REST API describes it.
type Study struct {
	MainDicomTags        map[string]string
	PatientMainDicomTags map[string]string
	Instances            int
}

// Studies parses list_studies output, keyed by Study Instance UID.
func Studies(t testing.TB, log string) map[string]*Study {
	t.Helper()
	out := map[string]*Study{}
	var cur *Study
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(l, "STUDY "):
			cur = &Study{}
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

// StudyCounts counts the DICOM instances of a folder by Study Instance UID.
func StudyCounts(t testing.TB, root string) map[string]int {
	t.Helper()
	n := map[string]int{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if h, r, err := dicom.ReadHeader(f); err == nil && h.MetaString(dicom.MediaStorageSOPClassUID) != "1.2.840.10008.1.3.10" { // not a DICOMDIR
			r.MaxValue = 1 << 16
			elems, err := r.ReadUntil(dicom.SeriesInstanceUID)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			uid := dicom.Find(elems, dicom.StudyInstanceUID).String()
			if uid == "" {
				return fmt.Errorf("%s: no Study Instance UID", p)
			}
			n[uid]++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("counting the studies under %s: %v", root, err)
	}
	if len(n) == 0 {
		t.Fatalf("no DICOM study under %s", root) // else two empty counts would agree
	}
	return n
}

// CheckStudies fails t unless Orthanc's list_studies output in log holds
// exactly the studies of the folder src, each with all its instances.
func CheckStudies(t testing.TB, log, src string) {
	t.Helper()
	got, want := Studies(t, log), StudyCounts(t, src)
	if len(got) != len(want) {
		t.Errorf("Orthanc lists %d studies, want %d", len(got), len(want))
	}
	for uid, n := range want {
		if s := got[uid]; s == nil || s.Instances != n {
			t.Errorf("study %s: Orthanc has %v, want %d instances", uid, s, n)
		}
	}
}
