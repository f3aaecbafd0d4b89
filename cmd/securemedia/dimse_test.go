package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// Interop tests of echo, send and receive against dcmtk. dcmtk 3.6.7's
// storescp listens on every interface, so it runs in a private network
// namespace (unshare -rn) with only lo up, together with the securemedia
// binary that talks to it; our own receive binds 127.0.0.1.

// requireNetns checks that the test may create a private network
// namespace, as the storescp tests need.

// buildCLI builds the securemedia binary for tests that must run it in a
// namespace.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "securemedia")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// inNetns runs a shell script in a fresh network namespace with lo up,
// bounded in time; SM names the securemedia binary.
func inNetns(t *testing.T, sm, script string) string {
	t.Helper()
	return pacstest.InNetns(t, script, "SM="+sm)
}

// storescpUp starts storescp with args on port 11112 and waits (bounded)
// until it accepts connections. Its messages go to $SCPLOG (default
// /dev/null) so that they cannot interleave with our output.
const storescpUp = `start_scp() { storescp "$@" 11112 >>"${SCPLOG:-/dev/null}" 2>&1 & SCP=$!; i=0; while ! echoscu -to 1 -aec SCP 127.0.0.1 11112 2>/dev/null; do i=$((i+1)); [ $i -gt 50 ] && exit 9; sleep 0.1; done; }
stop_scp() { kill $SCP; wait $SCP 2>/dev/null; true; }
`

// dataSetHash hashes the data set of a Part 10 file (the bytes after the
// File Meta Information), the part C-STORE carries.
func dataSetHash(t *testing.T, path string) string {
	t.Helper()
	h, b := readPart10(t, path)
	if h.TransferSyntaxUID == "1.2.840.10008.1.2.1.99" && len(b)%2 == 1 {
		b = append(b, 0) // we pad deflated streams as PS3.5 §A.5 asks
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// readPart10 reads a test file's File Meta and its data set bytes.
func readPart10(t *testing.T, path string) (*dicom.Header, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := dicom.ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h, b[h.DataSetOffset:]
}

// tableRows parses send's result table: file -> result and detail.
func tableRows(out string) map[string][2]string {
	rows := map[string][2]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] == "RESULT" || strings.HasPrefix(l, "send ") {
			continue
		}
		res, rest := f[0], f[1:]
		if res == "not" { // "not sent"
			res, rest = "not sent", f[2:]
		}
		rows[rest[0]] = [2]string{res, strings.Join(rest[2:], " ")}
	}
	return rows
}

// TestSendCorpusToStorescp sends the whole shared corpus to storescp
// (+xa: every transfer syntax dcmtk knows; +B: files written exactly as
// received) and checks that every data set arrived byte for byte, and
// that only what no PACS should store was left out.
func TestSendCorpusToStorescp(t *testing.T) {
	requireSharedCorpus(t)
	for _, tool := range []string{"storescp", "echoscu"} {
		testtool.Require(t, tool)
	}
	pacstest.RequireNetns(t)
	sm := buildCLI(t)
	out := t.TempDir()
	state := filepath.Join(t.TempDir(), "state.tsv")
	log := inNetns(t, sm, storescpUp+fmt.Sprintf(`start_scp -aet SCP +xa +B +uf -od %s
"$SM" send %s --pacs SCP@127.0.0.1:11112 --state %s; echo "exit=$?"
stop_scp`, out, sharedCorpus, state))
	rows := tableRows(log)
	want := map[string]string{}
	for file, r := range rows {
		switch r[0] {
		case "sent":
			want[dataSetHash(t, filepath.Join(sharedCorpus, file))] = file
		case "skipped":
		default:
			if !expectedCorpusFailure(file, r[1]) {
				t.Errorf("%s: %s %s", file, r[0], r[1])
			}
		}
	}
	if !strings.Contains(log, "exit=11") {
		t.Errorf("want exit 11 (the corpus has damaged files), log:\n%s", log)
	}
	got := map[string]bool{}
	files, _ := os.ReadDir(out)
	for _, f := range files {
		got[dataSetHash(t, filepath.Join(out, f.Name()))] = true
	}
	for h, file := range want {
		if !got[h] {
			t.Errorf("%s: no byte-identical data set at storescp", file)
		}
	}
	if len(want) < 100 || len(files) < len(want) {
		t.Errorf("%d distinct data sets sent, %d files received", len(want), len(files))
	}
	t.Logf("%d distinct data sets byte-identical at storescp", len(want))
}

// expectedCorpusFailure lists the corpus files no PACS should store.
func expectedCorpusFailure(file, detail string) bool {
	switch {
	case strings.Contains(file, "DICOMDIR"), strings.HasSuffix(file, "meta_missing_tsyntax.dcm"):
		return strings.HasPrefix(detail, "unreadable")
	case strings.HasSuffix(file, "MR_truncated.dcm"): // its pixel data is cut short
		return strings.Contains(detail, "damaged DICOM file") && strings.Contains(detail, "pixel data")
	case strings.HasSuffix(file, "rtplan_truncated.dcm"):
		return strings.Contains(detail, "odd length")
	case strings.HasSuffix(file, "hotiron.dcm"): // Color Palette: not a storage class storescp knows
		return strings.Contains(detail, "1.2.840.10008.5.1.4.39.1")
	}
	return false
}

// syncBuffer is a bytes.Buffer safe for a server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startReceive runs "securemedia receive" in-process on a free port of
// 127.0.0.1 until the test ends, with extra flags if given.
func startReceive(t *testing.T, aet, dir string, extra ...string) (port int, log *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	log = &syncBuffer{}
	done := make(chan int)
	go func() {
		args := []string{"receive", "--aet", aet, "--port", fmt.Sprint(port), "-o", dir, "--timeout", "10s"}
		done <- run(ctx, append(args, extra...), strings.NewReader(""), io.Discard, log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("receive exited %d: %s", code, log.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("receive did not stop on cancel")
		}
	})
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
			return port, log
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("receive did not start: %s", log.String())
	return 0, nil
}

// dumpDataSet is dcmdump's view of a file's data set, without the File
// Meta Information, dcmdump's comments and Data Set Trailing Padding
// (FFFC,FFFC), which storescu drops when it sends. Sequence and item
// lengths (defined or undefined) are encoding, not content: storescu
// re-encodes them, so they are normalised.
var seqLine = regexp.MustCompile(`^(.*(?:Sequence|Item)) with (?:undefined|explicit) length (#=\d+)`)

func dumpDataSet(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("dcmdump", "-q", "+L", path).Output()
	if err != nil {
		t.Fatalf("dcmdump %s: %v", path, err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if s := strings.TrimSpace(l); s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, "(0002,") || strings.HasPrefix(s, "(fffc,fffc)") {
			continue
		}
		if strings.Contains(l, "(fffe,e00d)") || strings.Contains(l, "(fffe,e0dd)") {
			continue
		}
		if m := seqLine.FindStringSubmatch(l); m != nil {
			l = m[1] + m[2]
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// storescuInputs are corpus files covering the transfer syntaxes a PACS
// receives, with the storescu option that proposes each one's own transfer
// syntax (by default storescu proposes uncompressed ones only).
var storescuInputs = [][2]string{
	{"pydicom/test_files/MR_small_implicit.dcm", "-xi"},
	{"pydicom/test_files/MR_small_bigendian.dcm", "-xb"},
	{"pydicom/test_files/CT_small.dcm", "-xe"},
	{"pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm", "-xy"},
	{"pydicom/test_files/SC_rgb_jpeg_gdcm.dcm", "-xs"},
	{"pydicom/test_files/MR_small_jpeg_ls_lossless.dcm", "-xt"},
	{"pydicom/test_files/JPEG2000.dcm", "-xw"},
	{"pydicom/test_files/MR_small_jp2klossless.dcm", "-xv"},
	{"pydicom/test_files/MR_small_RLE.dcm", "-xr"},
	{"pydicom/test_files/image_dfl.dcm", "-xd"},
}

// TestEchoAndStorescuToReceive: echoscu and storescu (dcmtk) talk to our
// receive; every file arrives with the same dcmdump content, grouped by
// study; and our echo gets an answer from our receive.
func TestEchoAndStorescuToReceive(t *testing.T) {
	requireSharedCorpus(t)
	for _, tool := range []string{"echoscu", "storescu", "dcmdump"} {
		testtool.Require(t, tool)
	}
	port, _ := startReceive(t, "SMRX", t.TempDir())
	if out, err := exec.Command("echoscu", "-to", "5", "-aec", "SMRX", "127.0.0.1", fmt.Sprint(port)).CombinedOutput(); err != nil {
		t.Fatalf("echoscu: %v %s", err, out)
	}
	r := cli(t, "", "echo", "--pacs", fmt.Sprintf("SMRX@127.0.0.1:%d", port))
	r.expect(t, 0, "")
	if r := cli(t, "", "echo", "--pacs", fmt.Sprintf("WRONG@127.0.0.1:%d", port)); r.code != exitNetwork || !strings.Contains(r.stderr, "called AE title") {
		t.Errorf("echo to a wrong AE title: exit %d, %s", r.code, r.stderr)
	}
	for _, in := range storescuInputs {
		// A folder each: the MR_small files share one SOP Instance UID,
		// and receive keeps a later one apart instead of overwriting.
		dir := t.TempDir()
		port, log := startReceive(t, "SMRX", dir)
		path := filepath.Join(sharedCorpus, in[0])
		args := []string{in[1], "-to", "10", "-aec", "SMRX", "127.0.0.1", fmt.Sprint(port), path}
		if out, err := exec.Command("storescu", args...).CombinedOutput(); err != nil {
			t.Fatalf("storescu %s: %v %s\nreceive: %s", in[0], err, out, log.String())
		}
		got := receivedPath(t, dir, path)
		if a, b := dumpDataSet(t, path), dumpDataSet(t, got); a != b {
			t.Errorf("%s: dcmdump differs after storescu -> receive", in[0])
		}
	}
}

// headerElements reads a Part 10 file's File Meta and its data set's
// elements before tag until.
func headerElements(t *testing.T, path string, until dicom.Tag) (*dicom.Header, []*dicom.Element) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, r, err := dicom.ReadHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	r.MaxValue = 1 << 16
	elems, err := r.ReadUntil(until)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h, elems
}

// receivedPath is where receive stores a file: DIR/<study>/<sop>.dcm.
func receivedPath(t *testing.T, dir, original string) string {
	t.Helper()
	h, elems := headerElements(t, original, dicom.SeriesInstanceUID)
	got := filepath.Join(dir, dicom.Find(elems, dicom.StudyInstanceUID).String(), h.MetaString(dicom.MediaStorageSOPInstanceUID)+".dcm")
	if _, err := os.Stat(got); err != nil {
		t.Fatalf("%s: not stored under its study: %v", original, err)
	}
	return got
}

// TestEchoToStorescp: our echo against dcmtk's storescp.
func TestEchoToStorescp(t *testing.T) {
	for _, tool := range []string{"storescp", "echoscu"} {
		testtool.Require(t, tool)
	}
	pacstest.RequireNetns(t)
	sm := buildCLI(t)
	log := inNetns(t, sm, storescpUp+`start_scp -aet SCP
"$SM" echo --pacs SCP@127.0.0.1:11112 --calling-aet TESTER; echo "exit=$?"
stop_scp`)
	if !strings.Contains(log, "C-ECHO success") || !strings.Contains(log, "exit=0") {
		t.Fatalf("echo to storescp:\n%s", log)
	}
}

// TestNetworkCommandErrors: usage errors exit 2, an unreachable peer 12
// for echo and send alike.
func TestNetworkCommandErrors(t *testing.T) {
	for _, args := range [][]string{
		{"echo", "--pacs", "nohost"},
		{"echo", "--pacs", "AET@127.0.0.1"},
		{"echo", "--pacs", "WAYTOOLONGAETITLE1@127.0.0.1:104"},
		{"echo"},
		{"receive", "--aet", "X", "--port", "0", "-o", t.TempDir()},
		{"send", "../../testdata/sample-study", "--pacs", "A@127.0.0.1:104", "--patient-name", "Zoë"},
		{"send", "../../testdata/sample-study", "--pacs", "A@127.0.0.1:104", "--associations", "0"},
	} {
		if r := cli(t, "", args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, r.code, exitUsage, r.stderr)
		}
	}
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("PACS@%s", ln.Addr())
	ln.Close()
	cli(t, "", "echo", "--pacs", dead).expect(t, exitNetwork, "connection refused")
	// send: one attempt, one line, exit 12 (as echo), not a row per
	// instance. Two seconds is the bound for the whole run; a
	// refused connection costs milliseconds, so only a retry loop would
	// come near it.
	state := filepath.Join(t.TempDir(), "state.tsv")
	start := time.Now()
	r := cli(t, "", "send", "../../testdata/sample-study", "--pacs", dead, "--state", state, "--associations", "2")
	elapsed := time.Since(start)
	r.expect(t, exitNetwork, "connection refused; nothing was sent")
	if r.stdout != "" || strings.Count(r.stderr, "connection refused") != 1 || strings.Contains(r.stderr, "not sent") {
		t.Errorf("send to a closed port: want one line saying so and no table, got\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	if elapsed > 2*time.Second {
		t.Errorf("send to a closed port took %v, want under 2 s", elapsed)
	}
}
