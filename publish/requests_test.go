package publish

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/testtool"
)

// Requests made at once, as by several "publish fetch" processes, each
// get a number of their own, and their files are the service user's only.
func TestAddRequestNumbers(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := AddRequest(spool, "A123"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rs, err := ReadRequests(spool)
	if err != nil || len(rs) != 20 {
		t.Fatalf("%d requests (%v), want 20", len(rs), err)
	}
	for i, r := range rs {
		if r.ID != i+1 || r.State != RequestPending || r.Accession != "A123" {
			t.Errorf("request %d: %+v", i+1, r)
		}
		if fi, err := os.Stat(requestPath(spool, r.ID)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("request %d: mode %v (%v), want 0600", r.ID, fi.Mode().Perm(), err)
		}
	}
	for _, bad := range []string{"", " ", "A*", "A?", `A\B`, "12345678901234567", "A\nB"} {
		if _, err := AddRequest(spool, bad); !errors.Is(err, ErrAccession) {
			t.Errorf("accession %q: %v, want ErrAccession", bad, err)
		}
	}
}

// While a request is being fetched, a job that received an instance since
// the fetch began is not closed, however long the PACS pauses: a study
// fetched is one disc. One quiet since before the fetch is closed.
func TestFetchHoldsItsJobsOpen(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	leaveInStore(t, spool)
	q := open(t, spool, false) // two receiving jobs, one per study
	q.o.Settle = time.Millisecond
	start := time.Now()
	q.mu.Lock()
	var during, before *openJob
	for _, oj := range q.open {
		if during == nil {
			during, oj.last = oj, start.Add(time.Millisecond)
		} else {
			before, oj.last = oj, start.Add(-time.Hour)
		}
	}
	q.fetchingID, q.fetchSince = 7, start
	q.mu.Unlock()
	time.Sleep(20 * time.Millisecond) // longer than Settle since either arrived
	q.closeSettled()
	if q.jobs[during.id].State != Receiving || q.jobs[before.id].State != Queued {
		t.Fatalf("during the fetch: job that received %s, the quiet one %s; want receiving, queued", q.jobs[during.id].State, q.jobs[before.id].State)
	}
	q.mu.Lock()
	q.fetchingID = 0
	during.last = start.Add(-time.Hour)
	q.mu.Unlock()
	q.closeSettled()
	if q.jobs[during.id].State != Queued {
		t.Errorf("after the fetch: %s, want queued", q.jobs[during.id].State)
	}
}

// The status page queues a request from its form, lists it by number
// without its accession number, shows a failure's reason, and Retry runs
// it again; the service fetches each request and removes a fetched one.
func TestPageRequests(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	var mu sync.Mutex
	var asked []string
	fetch := func(_ context.Context, accession string, _ dimse.StoreHandler) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, accession)
		if accession == "NOSUCH" {
			return 0, errors.New("PACS@127.0.0.1:104: no study has this accession number")
		}
		return 3, nil
	}
	q, err := Open(context.Background(), Options{Spool: spool, Out: filepath.Join(filepath.Dir(spool), "out"), Settle: time.Hour, Fetch: fetch})
	if err != nil {
		t.Fatal(err)
	}
	page, err := NewStatusPage(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = page.Serve(ctx) })
	wg.Go(func() { _ = q.Run(ctx) })

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) string {
		t.Helper()
		rsp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		b, _ := io.ReadAll(rsp.Body)
		return string(b)
	}
	post := func(path string, form url.Values) string {
		t.Helper()
		origin := page.URL()[:strings.Index(page.URL(), "/?")]
		req, _ := http.NewRequest("POST", origin+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		rsp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		b, _ := io.ReadAll(rsp.Body)
		return string(b)
	}
	if body := get(page.URL()); !strings.Contains(body, `href="/requests/new"`) {
		t.Fatalf("no way to the request form on the page:\n%s", body)
	}
	base := strings.TrimSuffix(page.URL()[:strings.Index(page.URL(), "?")], "/")
	if body := get(base + "/requests/new"); !strings.Contains(body, `action="/requests"`) {
		t.Fatalf("no request form:\n%s", body)
	}
	if body := post("/requests", url.Values{"accession": {"A*"}}); !strings.Contains(body, "not an accession number") {
		t.Errorf("a wildcard was not refused:\n%s", body)
	}
	post("/requests", url.Values{"accession": {"A123"}})
	post("/requests", url.Values{"accession": {"NOSUCH"}})
	body := testtool.Poll(t, "failed request", 50*time.Millisecond, 200, func() (string, bool) {
		b := get(base + "/")
		return b, strings.Contains(b, "no study has this accession number") && !strings.Contains(b, "pending")
	})
	if strings.Contains(body, "NOSUCH") || strings.Contains(body, "A123") {
		t.Errorf("the page shows an accession number:\n%s", body)
	}
	rs, _ := ReadRequests(spool)
	if len(rs) != 2 || rs[0].State != RequestDone || rs[1].ID != 2 || rs[1].State != RequestFailed {
		t.Fatalf("requests %+v, want request 1 done and 2 failed", rs)
	}
	post("/requests/2/retry", nil)
	testtool.Poll(t, "the retry", 50*time.Millisecond, 200, func() (bool, bool) {
		mu.Lock()
		defer mu.Unlock()
		return true, len(asked) == 3
	})
	mu.Lock()
	if strings.Join(asked, ",") != "A123,NOSUCH,NOSUCH" {
		t.Errorf("fetched %v, want A123, NOSUCH, then NOSUCH again", asked)
	}
	mu.Unlock()
	testtool.Poll(t, "the retry to fail again", 50*time.Millisecond, 200, func() (bool, bool) {
		rs, _ := ReadRequests(spool)
		return true, len(rs) == 2 && rs[1].State == RequestFailed
	})
	if body := post("/requests/2/remove", nil); !strings.Contains(body, "The request is removed") {
		t.Errorf("Remove:\n%s", body)
	}
	if rs, _ := ReadRequestStatus(spool); len(rs) != 1 || rs[0].ID != 1 {
		t.Errorf("requests listed after Remove: %+v, want request 1 only", rs)
	}
	// Numbers are never used twice, even after a Remove.
	if r, err := AddRequest(spool, "B1"); err != nil || r.ID != 3 {
		t.Errorf("the next request is %d (%v), want 3", r.ID, err)
	}
}
