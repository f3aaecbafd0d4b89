package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testpki"
	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/publish"
)

// The disc publisher fed by a real PACS: Orthanc, in a private network
// namespace with the securemedia binary, sends with C-STORE
// (/modalities/publish/store) to "securemedia publish".

// publishScript defines, for an InNetns script with $W the work folder:
// upload FILES… (into Orthanc; prints the Orthanc patient ID), push ID
// (C-STORE of a patient to publish, waits), start_pub [HOOK] (publish in
// the background, waits until it answers C-ECHO), kill_pub (kill -9),
// wait_hook (until a test hook is reached) and wait_done N (until N jobs
// are done). Every wait is bounded.
const publishScript = `
upload() { for f in "$@"; do curl -sf -X POST http://127.0.0.1:8042/instances --data-binary @"$f" | tr -d '\n' | sed -n 's/.*"ParentPatient" *: *"\([^"]*\)".*/\1/p'; echo; done | sed '/^$/d' | sort -u; }
push() { curl -sf -X POST http://127.0.0.1:8042/modalities/publish/store -d "\"$1\"" >>$W/push.log 2>&1; r=$?; echo "push-exit=$r"; [ $r = 0 ] || [ "${2:-}" = may-fail ] || { echo "push of [$1]:"; cat $W/push.log; exit 9; }; }
trap 'kill -9 ${PUB:-} ${ORTHANC:-} 2>/dev/null' EXIT
start_pub() {
  rm -f $W/spool/hook-reached
  SECUREMEDIA_PUBLISH_TEST_HOOK="${1:-}" "$SM" publish --spool $W/spool --out $W/out --aet PUBLISH --port 11113 \
    --settle ${SETTLE:-1s} --no-viewer --status-port -1 --recipient $W/escrow.pem ${PUB_EXTRA:-} >>$W/pub.log 2>&1 & PUB=$!
  i=0; until "$SM" echo --pacs PUBLISH@127.0.0.1:11113 >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 100 ] && { echo "publish did not start"; cat $W/pub.log; exit 9; }; sleep 0.1; done
}
kill_pub() { kill -9 $PUB; wait $PUB 2>/dev/null; echo "killed"; }
wait_hook() { i=0; until [ -f $W/spool/hook-reached ]; do i=$((i+1)); [ $i -gt 600 ] && { echo "hook not reached"; cat $W/pub.log; exit 9; }; sleep 0.1; done; }
wait_done() { i=0; until [ "$("$SM" publish status --spool $W/spool --json | grep -o '"state":"done","per"' | wc -l)" -eq $1 ]; do i=$((i+1)); [ $i -gt 900 ] && { echo "not done"; "$SM" publish status --spool $W/spool; cat $W/pub.log; exit 9; }; sleep 0.1; done; }
`

func publishSetup(t *testing.T) (sm, work string, escrow testpki.Pair) {
	t.Helper()
	sm = requireOrthanc(t)
	work = t.TempDir()
	escrow = testpki.NewCA(t, "test CA").Issue(t, testpki.Leaf{Name: "site-escrow"})
	if err := os.Link(escrow.Cert, filepath.Join(work, "escrow.pem")); err != nil {
		t.Fatal(err)
	}
	return sm, work, escrow
}

func runPublishScript(t *testing.T, sm, work, script string, env ...string) string {
	t.Helper()
	extra := `, "DicomModalities": { "publish": [ "PUBLISH", "127.0.0.1", 11113 ] }, "DicomScuTimeout": 30, "DicomAlwaysAllowGet": true`
	return pacstest.InNetns(t, pacstest.OrthancScript+publishScript+script, append(env, "SM="+sm, "W="+work, "ORTHANC_EXTRA="+extra)...)
}

// dicomFiles lists the DICOM files under dir (the README is not one).
func dicomFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && !strings.HasSuffix(p, ".md") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPublishFromOrthanc: a two-study patient sent by Orthanc becomes two
// ISO images, each verifying, each with its slip, whose files openssl cms
// opens with the slip's password and with the escrow key; the spool holds
// no instance afterwards.
func TestPublishFromOrthanc(t *testing.T) {
	sm, work, escrow := publishSetup(t)
	src := "../../testdata/sample-study/77654033"
	log := runPublishScript(t, sm, work, fmt.Sprintf(`start_orthanc $W
P=$(upload %s)
start_pub
push "$P"
wait_done 2
"$SM" publish status --spool $W/spool
kill $PUB; wait $PUB
stop_orthanc`, strings.Join(dicomFiles(t, src), " ")))
	if !strings.Contains(log, "push-exit=0") {
		t.Fatalf("Orthanc did not send:\n%s", log)
	}
	discs := publishedDiscs(t, filepath.Join(work, "out"))
	if len(discs) != 2 {
		t.Fatalf("%d discs, want 2 (one per study):\n%s", len(discs), log)
	}
	want := pacstest.StudyCounts(t, src)
	got := map[string]int{}
	for _, d := range discs {
		cmd := exec.Command(sm, "verify", d.iso, "--password-env", "PW")
		cmd.Env = append(os.Environ(), "PW="+d.password)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("verify %s: %v\n%s", d.iso, err, out)
		}
		for study, n := range d.studies {
			got[study] += n
		}
		opensslOpens(t, d, escrow)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("discs hold %v, want %v", got, want)
	}
	if left := spoolInstances(t, filepath.Join(work, "spool")); len(left) > 0 {
		t.Errorf("the spool still holds %v", left)
	}
}

// TestPublishByAccession: discs asked for by accession number. Three
// requests are queued while publish is stopped: the study with accession
// 134, one no study has, and one that is not an accession number at all
// (refused at once, exit 2). Started with --pacs, publish fetches the
// first by C-GET into a disc and marks the second failed with the reason;
// started again with --fetch-method move, a new request is retrieved by
// C-MOVE to publish's own AE title into a second disc. Both discs hold
// the study's four instances; the audit file holds, validated with jing,
// the Export of each disc and the Instances Transferred from Orthanc.
func TestPublishByAccession(t *testing.T) {
	sm, work, _ := publishSetup(t)
	src := "../../testdata/sample-study"
	log := runPublishScript(t, sm, work, fmt.Sprintf(`start_orthanc $W
upload %s >/dev/null
"$SM" publish fetch --spool $W/spool --accession %s; echo "queue-exit=$?"
"$SM" publish fetch --spool $W/spool --accession NOSUCH >/dev/null
"$SM" publish fetch --spool $W/spool --accession 'A*'; echo "bad-exit=$?"
PUB_EXTRA="--pacs ORTHANC@127.0.0.1:4242 --audit file:$W/audit.log" start_pub
wait_done 1
i=0; until "$SM" publish status --spool $W/spool | grep -q 'reason: .*no study has this accession number'; do i=$((i+1)); [ $i -gt 300 ] && { echo "no failed request"; exit 9; }; sleep 0.1; done
"$SM" publish status --spool $W/spool
kill $PUB; wait $PUB; echo "stop-exit=$?"
PUB_EXTRA="--pacs ORTHANC@127.0.0.1:4242 --fetch-method move --audit file:$W/audit.log" start_pub
"$SM" publish fetch --spool $W/spool --accession %[2]s >/dev/null
wait_done 2
kill $PUB; wait $PUB; echo "stop-exit=$?"
"$SM" publish status --spool $W/spool --json > $W/status.json
stop_orthanc`, strings.Join(dicomFiles(t, src), " "), fetchAccession))
	t.Log(log)
	for _, want := range []string{"queue-exit=0", "request 1 queued in", "bad-exit=2", "an accession number is 1 to 16 characters",
		"REQUEST", "failed", "stop-exit=130"} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log", want)
		}
	}
	if strings.Contains(log, "NOSUCH") {
		t.Error("the accession number asked for is in the status output")
	}
	const study = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133"
	discs := publishedDiscs(t, filepath.Join(work, "out"))
	if len(discs) != 2 {
		t.Fatalf("%d discs, want 2 (C-GET, then C-MOVE)", len(discs))
	}
	for _, d := range discs {
		if fmt.Sprint(d.studies) != fmt.Sprintf("map[%s:4]", study) {
			t.Errorf("%s holds %v, want the 4 instances of study %s", d.iso, d.studies, study)
		}
	}
	var st struct {
		Requests []publish.RequestStatus `json:"requests"`
	}
	b, _ := os.ReadFile(filepath.Join(work, "status.json"))
	if err := json.Unmarshal(b, &st); err != nil || len(st.Requests) != 3 || st.Requests[0].State != publish.RequestDone ||
		st.Requests[1].State != publish.RequestFailed || st.Requests[2].State != publish.RequestDone || st.Requests[2].Instances != 4 {
		t.Errorf("status --json: want requests done, failed, done (4 instances): %v\n%s", err, b)
	}
	recs := readAudit(t, filepath.Join(work, "audit.log"))
	events := map[string]int{}
	for _, r := range recs {
		events[r.Event.ID.Code+"/"+r.Event.Outcome]++
		if _, ok := r.objects("3")[study]; !ok {
			t.Errorf("audit event %s names studies %v, want %s", r.Event.ID.Code, r.objects("3"), study)
		}
	}
	if events["110106/0"] != 2 || events["110104/0"] != 2 || len(recs) != 4 {
		t.Errorf("audit events %v, want an Export (110106) per disc and an Instances Transferred (110104) per retrieval", events)
	}
}

// TestPublishByAccessionCrash: publish is killed (kill -9) in the middle
// of fetching a request, its second instance in the job but not yet
// acknowledged. Restarted, it fetches the request again: one disc holds
// the study's four instances, each once, and the request is gone.
func TestPublishByAccessionCrash(t *testing.T) {
	sm, work, _ := publishSetup(t)
	log := runPublishScript(t, sm, work, fmt.Sprintf(`start_orthanc $W
upload %s >/dev/null
"$SM" publish fetch --spool $W/spool --accession %s >/dev/null
PUB_EXTRA="--pacs ORTHANC@127.0.0.1:4242" start_pub received:2
wait_hook
kill_pub
PUB_EXTRA="--pacs ORTHANC@127.0.0.1:4242" start_pub
wait_done 1
kill $PUB; wait $PUB
"$SM" publish status --spool $W/spool --json > $W/status.json
stop_orthanc`, strings.Join(dicomFiles(t, "../../testdata/sample-study"), " "), fetchAccession))
	t.Log(log)
	discs := publishedDiscs(t, filepath.Join(work, "out"))
	if len(discs) != 1 {
		t.Fatalf("%d discs, want 1", len(discs))
	}
	if len(discs[0].sops) != 4 {
		t.Errorf("the disc holds %d instances, want the study's 4", len(discs[0].sops))
	}
	for sop, n := range discs[0].sops {
		if n != 1 {
			t.Errorf("%s is on the disc %d times", sop, n)
		}
	}
	var st struct {
		Jobs     []publish.JobStatus     `json:"jobs"`
		Requests []publish.RequestStatus `json:"requests"`
	}
	b, _ := os.ReadFile(filepath.Join(work, "status.json"))
	if err := json.Unmarshal(b, &st); err != nil || len(st.Requests) != 1 || st.Requests[0].State != publish.RequestDone ||
		st.Requests[0].Attempts != 2 || len(st.Jobs) != 1 || st.Jobs[0].State != "done" {
		t.Errorf("after the restart: %v\n%s", err, b)
	}
}

type publishedDisc struct {
	iso, password string
	sops          map[string]int // SOP Instance UID → count
	studies       map[string]int // Study Instance UID → instances
	sealed        string         // one sealed instance's file ID
	disc          *media.Disc
}

var slipPassword = regexp.MustCompile(`<div class="password">([^<]+)</div>`)

// publishedDiscs opens every image in out with the password of its slip
// (OUT/LABEL.slip.html) and lists what it holds.
func publishedDiscs(t *testing.T, out string) []publishedDisc {
	t.Helper()
	isos, _ := filepath.Glob(filepath.Join(out, "*.iso"))
	var discs []publishedDisc
	for _, iso := range isos {
		slip, err := os.ReadFile(strings.TrimSuffix(iso, ".iso") + ".slip.html")
		if err != nil {
			t.Fatalf("%s has no slip: %v", iso, err)
		}
		m := slipPassword.FindSubmatch(slip)
		if m == nil {
			t.Fatalf("no password on the slip of %s", iso)
		}
		pd := publishedDisc{iso: iso, password: string(m[1]), sops: map[string]int{}, studies: map[string]int{}}
		d, err := media.Open(iso)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		id, err := media.Password([]byte(pd.password))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Unlock(id); err != nil {
			t.Fatalf("%s does not open with its slip's password: %v", iso, err)
		}
		for _, in := range d.Instances() {
			pd.sops[in.SOPInstanceUID]++
			pd.studies[in.Series.Study.UID]++
			pd.sealed = strings.Join(in.FileID, "/")
		}
		pd.disc = d
		discs = append(discs, pd)
	}
	return discs
}

// opensslOpens decrypts one sealed file of the disc with openssl cms, by
// the slip's password and by the escrow certificate's key.
func opensslOpens(t *testing.T, d publishedDisc, escrow testpki.Pair) {
	t.Helper()
	f, err := d.disc.Open(d.sealed)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sealed := filepath.Join(dir, "sealed")
	if err := os.WriteFile(sealed, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, how := range [][]string{{"-pwri_password", d.password}, {"-recip", escrow.Cert, "-inkey", escrow.Key}} {
		inner := filepath.Join(dir, "inner")
		args := append([]string{"cms", "-decrypt", "-binary", "-inform", "DER", "-in", sealed, "-out", inner}, how...)
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Errorf("openssl cms %s on %s of %s: %v\n%s", how[0], d.sealed, d.iso, err, out)
			continue
		}
		plain := testtool.OpensslDigested(t, inner)
		if len(plain) < 132 || string(plain[128:132]) != "DICM" {
			t.Errorf("openssl cms %s: %s of %s is not a DICOM file inside", how[0], d.sealed, d.iso)
		}
	}
}

// spoolInstances lists the files under the spool other than job state.
func spoolInstances(t *testing.T, spool string) []string {
	t.Helper()
	var left []string
	_ = filepath.Walk(spool, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Name() != "state.json" {
			left = append(left, p)
		}
		return nil
	})
	return left
}

// TestPublishCrashSafety kills publish with kill -9 mid-receive (an
// instance in its job but not yet acknowledged), mid-burn (a partial
// image written) and between a complete image and its job being recorded
// done, restarting it each time: every instance Orthanc sent is on exactly
// one disc, every disc has its slip, and no partial image is left.
func TestPublishCrashSafety(t *testing.T) {
	sm, work, _ := publishSetup(t)
	p1, p2 := "../../testdata/sample-study/77654033", "../../testdata/sample-study/9889200"
	files2 := append(dicomFiles(t, p2+"1"), dicomFiles(t, p2+"3")...)
	log := runPublishScript(t, sm, work, fmt.Sprintf(`start_orthanc $W
P1=$(upload %s)
P2=$(upload %s)
echo "phase A: kill -9 mid-receive"
SETTLE=3s start_pub received:3
push "$P1" may-fail & BG=$!
wait_hook; kill_pub; wait $BG
SETTLE=3s start_pub
push "$P1"
wait_done 2
kill_pub
echo "phase B: kill -9 mid-burn"
start_pub writing
push "$P2"
wait_hook
echo "partial-images=$(ls -a $W/out | grep -c '\.iso\.tmp-')"
kill_pub
echo "phase C: kill -9 with the image complete, not yet recorded done"
start_pub written
wait_hook
kill_pub
start_pub
wait_done 6
"$SM" publish status --spool $W/spool --json | tr -d '\n'; echo
"$SM" publish status --spool $W/spool
kill_pub
stop_orthanc
echo "left-in-out: $(ls -a $W/out | grep -c '\.tmp-')"
grep "not burned again\|burning it again" $W/pub.log`, strings.Join(dicomFiles(t, p1), " "), strings.Join(files2, " ")))
	for _, want := range []string{"partial-images=1", "left-in-out: 0", "not burned again", "burning it again"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	discs := publishedDiscs(t, filepath.Join(work, "out"))
	slips, _ := filepath.Glob(filepath.Join(work, "out", "*.slip.html"))
	if len(discs) != 6 || len(slips) != 6 {
		t.Fatalf("%d discs and %d slips, want 6 of each (one per study):\n%s", len(discs), len(slips), log)
	}
	onDiscs := map[string]int{}
	for _, d := range discs {
		for sop, n := range d.sops {
			onDiscs[sop] += n
		}
	}
	sent := append(dicomFiles(t, p1), files2...)
	for _, f := range sent {
		h, _ := readPart10(t, f)
		if sop := h.MetaString(dicom.MediaStorageSOPInstanceUID); onDiscs[sop] != 1 {
			t.Errorf("%s (%s) is on %d discs, want exactly 1", f, sop, onDiscs[sop])
		}
	}
	if len(onDiscs) != len(sent) {
		t.Errorf("the discs hold %d instances, Orthanc sent %d", len(onDiscs), len(sent))
	}
	if left := spoolInstances(t, filepath.Join(work, "spool")); len(left) > 0 {
		t.Errorf("the spool still holds %v", left)
	}
}

// TestPublishFailedBurnAndRetry: a drive that cannot be written leaves the
// job failed with its reason, its instances kept; the status page (which
// refuses requests without its token or for another host) lists it with
// Retry, and Retry, once the drive is there, makes the disc.
func TestPublishFailedBurnAndRetry(t *testing.T) {
	testtool.Require(t, "xorriso")
	sm := buildCLI(t)
	dir := t.TempDir()
	spool, out, drive := filepath.Join(dir, "spool"), filepath.Join(dir, "out"), filepath.Join(dir, "drive", "disc.img")
	port := testtool.FreePort(t, "tcp")
	logPath := filepath.Join(dir, "publish.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	pub := exec.Command(sm, "publish", "--spool", spool, "--out", out, "--aet", "PUB", "--port", strconv.Itoa(port),
		"--settle", "300ms", "--no-viewer", "--device", "stdio:"+drive, "--status-port", "0")
	pub.Stdout, pub.Stderr = logf, logf
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Process.Kill(); pub.Wait() })
	statusURL := testtool.Poll(t, "the status page's address", 100*time.Millisecond, 300, func() (string, bool) {
		b, _ := os.ReadFile(logPath)
		m := regexp.MustCompile(`status page: (\S+)`).FindSubmatch(b)
		if m == nil {
			return "", false
		}
		return string(m[1]), true
	})
	send := exec.Command(sm, "send", sampleStudy+"/77654033/CR1", "--pacs", fmt.Sprintf("PUB@127.0.0.1:%d", port), "--state", filepath.Join(dir, "send.tsv"))
	if b, err := send.CombinedOutput(); err != nil {
		t.Fatalf("send: %v\n%s", err, b)
	}
	failed := waitForState(t, spool, "failed")
	if !strings.Contains(failed.Reason, "drive") && !strings.Contains(failed.Reason, drive) {
		t.Errorf("reason %q does not name the drive", failed.Reason)
	}
	if n, _ := os.ReadDir(filepath.Join(spool, "jobs", "1", "files")); len(n) == 0 {
		t.Errorf("the failed job's instances are gone")
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := strings.Split(statusURL, "/?")[0]
	if resp, err := http.Get(base + "/"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("the status page without its token: %v %v, want 403", resp.StatusCode, err)
	}
	resp, err := client.Get(statusURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), ">Retry<") || !strings.Contains(string(page), "failed") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("status page (%d, CSP %q):\n%s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), page)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Host = "attacker.example:80"
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("another Host: %v %v, want 403", resp.StatusCode, err)
	}

	if err := os.MkdirAll(filepath.Dir(drive), 0o700); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/jobs/1/retry", nil)
	req.Header.Set("Origin", base)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("Retry: %v %v", resp.StatusCode, err)
	}
	done := waitForState(t, spool, "done")
	if done.Attempts != 2 { // the drive is checked before the image is made: Retry burns again
		t.Errorf("attempts %d, want 2", done.Attempts)
	}
	discs := publishedDiscs(t, out)
	if len(discs) != 1 {
		t.Fatalf("%d discs, want 1", len(discs))
	}
	v := exec.Command(sm, "verify", drive, "--password-env", "PW")
	v.Env = append(os.Environ(), "PW="+discs[0].password)
	if b, err := v.CombinedOutput(); err != nil {
		t.Errorf("verify of the drive: %v\n%s", err, b)
	}
}

func waitForState(t *testing.T, spool, state string) publish.JobStatus {
	t.Helper()
	return testtool.Poll(t, "job "+state, 100*time.Millisecond, 300, func() (publish.JobStatus, bool) {
		jobs, err := publish.ReadStatus(spool)
		if err != nil || len(jobs) != 1 || jobs[0].State != state {
			return publish.JobStatus{}, false
		}
		return jobs[0], true
	})
}

// TestPublishDiscFull: the disc in the drive is too small for the job's
// image (the stdio: drive is a file on a 64 KiB tmpfs, in a mount
// namespace of the test's own). The job fails with a reason that says so,
// nothing is written, no image or slip is left, and the instances stay in
// the spool for a Retry with a larger disc. burn --device says the same.
func TestPublishDiscFull(t *testing.T) {
	testtool.Require(t, "xorriso")
	testtool.Require(t, "unshare")
	sm := buildCLI(t)
	work, small := t.TempDir(), t.TempDir()
	port := testtool.FreePort(t, "tcp")
	script := `mount -t tmpfs -o size=64k tmpfs "$D" || { echo "no tmpfs"; exit 9; }
"$SM" burn "$SAMPLE" --device "stdio:$D/disc.img" --generate-password --no-viewer -o "$W/burn.iso" >/dev/null 2>"$W/burn.err"; echo "burn-exit=$?"
"$SM" publish --spool "$W/spool" --out "$W/out" --aet PUB --port $PORT --settle 300ms --no-viewer --device "stdio:$D/disc.img" \
  --status-port -1 --audit "file:$W/audit.log" >"$W/pub.log" 2>&1 & PUB=$!
i=0; until "$SM" echo --pacs PUB@127.0.0.1:$PORT >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 100 ] && { echo "publish did not start"; exit 9; }; sleep 0.1; done
"$SM" send "$SAMPLE" --pacs PUB@127.0.0.1:$PORT --state "$W/send.tsv" >/dev/null 2>&1; echo "send-exit=$?"
i=0; until "$SM" publish status --spool "$W/spool" | grep -q ' failed '; do i=$((i+1)); [ $i -gt 300 ] && break; sleep 0.1; done
"$SM" publish status --spool "$W/spool"
kill $PUB; wait $PUB
ls -A "$D"`
	cmd := exec.Command("unshare", "-m", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "SM="+sm, "W="+work, "D="+small, "PORT="+strconv.Itoa(port), "SAMPLE="+sampleStudy+"/77654033/CT2")
	b, err := cmd.CombinedOutput()
	log := string(b)
	if strings.Contains(log, "no tmpfs") || (err != nil && strings.Contains(log, "unshare")) {
		testtool.Missing(t, "a mount namespace with a tmpfs (unshare -m needs root): "+log)
	}
	t.Log(log)
	burnErr, _ := os.ReadFile(filepath.Join(work, "burn.err"))
	if !strings.Contains(log, "burn-exit=9") || !strings.Contains(string(burnErr), "insert a larger disc; nothing was written") {
		t.Errorf("burn --device on a full disc:\n%s", burnErr)
	}
	mustNotExist(t, filepath.Join(work, "burn.iso"))
	if !strings.Contains(log, "send-exit=0") || !regexp.MustCompile(`reason: .*the disc in stdio:\S+ holds \d+: insert a larger disc, then Retry`).MatchString(log) {
		t.Errorf("want the job failed because the disc is too small:\n%s", log)
	}
	if n := dicomFiles(t, filepath.Join(work, "spool", "jobs", "1", "files")); len(n) == 0 {
		t.Error("the failed job's instances are gone")
	}
	if left, _ := os.ReadDir(filepath.Join(work, "out")); len(left) != 0 {
		t.Errorf("left in the output folder: %v", left)
	}
	// The failed attempt is in the audit trail: an Export, outcome 8,
	// naming the job's study and patient.
	recs := readAudit(t, filepath.Join(work, "audit.log"))
	var exports []auditRecord
	for _, r := range recs {
		if r.Event.ID.Code == "110106" {
			exports = append(exports, r)
		}
	}
	if len(exports) != 1 || exports[0].Event.Outcome != "8" || len(exports[0].objects("3")) != 1 || len(exports[0].objects("1")) != 1 {
		t.Errorf("audit: want one failed Export (110106, outcome 8) naming one study and one patient, got %+v", exports)
	}
}
