package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/atomicfile"
)

// A Request asks the publisher to fetch the studies of an accession
// number from the PACS (Options.Fetch) and make their disc: what a
// technologist does who types the accession number instead of pushing the
// study. The fetched instances enter the queue through Handle like pushed
// ones, so they are jobbed, settled, burned and verified the same way.
//
// Requests live in SPOOL/requests/N.json. One stays pending until its
// fetch has finished (every instance fsynced into its job), so that a
// crash before then fetches it again at the restart; instances already in
// their job are recognised, not stored twice. Then it is done, kept as a
// record as done jobs are (and so that no number is used twice). A failed
// request (no such study, two patients, the PACS unreachable) stays, with
// its reason, until Retry or Remove.
type Request struct {
	ID int `json:"id"`
	// Accession is the Accession Number asked for; it stays in the spool
	// (the status shows requests by number).
	Accession string       `json:"accession"`
	State     RequestState `json:"state"`
	Reason    string       `json:"reason,omitempty"`
	Attempts  int          `json:"attempts"`
	Instances int          `json:"instances"` // fetched by the last attempt
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
}

// RequestState is where a request is: pending (waiting, or being fetched:
// Status says "fetching"), done, failed, or removed (by the operator;
// listed nowhere).
type RequestState string

const (
	RequestPending  RequestState = "pending"
	RequestFetching RequestState = "fetching" // Status only; on disk it is pending
	RequestDone     RequestState = "done"
	RequestFailed   RequestState = "failed"
	RequestRemoved  RequestState = "removed"
)

// FetchFunc fetches the studies of an accession number from the PACS
// into store (for C-GET; a C-MOVE's instances reach the service's own
// storage SCP, whose handler is Handle too) and says how many instances
// arrived. It refuses studies of two patients and reports a study that
// did not arrive whole as an error.
type FetchFunc func(ctx context.Context, accession string, store dimse.StoreHandler) (int, error)

// ErrAccession refuses a request whose accession number cannot be one.
var ErrAccession = errors.New("an accession number is 1 to 16 characters, no backslash, no control character and no wildcard")

func checkAccession(a string) error {
	if a == "" || len(a) > 16 || strings.TrimSpace(a) == "" || strings.ContainsAny(a, `\*?`) {
		return ErrAccession
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return ErrAccession
		}
	}
	return nil
}

func requestsDir(spool string) string { return filepath.Join(spool, "requests") }

// AddRequest queues a request for accession in the spool, for the
// service to fetch (now if it runs, else when it starts). It may be called
// by another process than the service.
func AddRequest(spool, accession string) (Request, error) {
	if err := checkAccession(accession); err != nil {
		return Request{}, err
	}
	dir := requestsDir(spool)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Request{}, err
	}
	now := time.Now().UTC()
	r := Request{Accession: accession, State: RequestPending, Created: now, Updated: now}
	b, err := json.Marshal(r)
	if err != nil {
		return Request{}, err
	}
	tmp, err := atomicfile.WriteTemp(dir, ".new-*", b)
	if err != nil {
		return Request{}, err
	}
	defer os.Remove(tmp)
	// The number is taken by a hard link, which fails if another process
	// took it first: two requests never share a file. The ID inside is
	// the file's name, whatever the JSON says.
	for range 1000 {
		ids, err := requestIDs(spool)
		if err != nil {
			return Request{}, err
		}
		id := 1
		if len(ids) > 0 {
			id = ids[len(ids)-1] + 1
		}
		switch err := os.Link(tmp, requestPath(spool, id)); {
		case err == nil:
			r.ID = id
			return r, syncDir(dir)
		case !errors.Is(err, fs.ErrExist):
			return Request{}, err
		}
	}
	return Request{}, errors.New("cannot number the request: too many made at once")
}

func requestPath(spool string, id int) string {
	return filepath.Join(requestsDir(spool), strconv.Itoa(id)+".json")
}

// requestIDs are the numbers of the spool's request files, in order
// (none before the first request).
func requestIDs(spool string) ([]int, error) {
	ents, err := os.ReadDir(requestsDir(spool))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var ids []int
	for _, e := range ents {
		if s, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			if id, err := strconv.Atoi(s); err == nil && id > 0 {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids, err
}

// ReadRequests reads the spool's requests, oldest first.
func ReadRequests(spool string) ([]Request, error) {
	ids, err := requestIDs(spool)
	if err != nil {
		return nil, err
	}
	var out []Request
	for _, id := range ids {
		r, err := loadRequest(spool, id)
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func loadRequest(spool string, id int) (Request, error) {
	path := requestPath(spool, id)
	f, err := os.Open(path)
	if err != nil {
		return Request{}, err
	}
	defer f.Close()
	var r Request
	if err := json.NewDecoder(&limited{f, maxStateBytes}).Decode(&r); err != nil {
		return Request{}, fmt.Errorf("%s: %w", path, err)
	}
	r.ID = id
	switch r.State {
	case RequestDone, RequestFailed, RequestRemoved:
	default:
		r.State = RequestPending
	}
	return r, nil
}

func (r *Request) save(spool string) error {
	r.Updated = time.Now().UTC()
	return saveState(requestPath(spool, r.ID), r)
}

// Request queues a request for accession, as AddRequest, and wakes the
// service to fetch it.
func (q *Queue) Request(accession string) (Request, error) {
	r, err := AddRequest(q.o.Spool, accession)
	if err == nil {
		q.o.Log("request %d: queued", r.ID)
		q.wakeFetch()
	}
	return r, err
}

// RetryRequest queues a failed request again.
func (q *Queue) RetryRequest(id int) error {
	if err := q.settleFailed(id, RequestPending, "retry requested"); err != nil {
		return err
	}
	q.mu.Lock()
	q.retry[id] = true
	q.mu.Unlock()
	q.wakeFetch()
	return nil
}

// RemoveRequest drops a failed request (a mistyped number, a study the
// PACS will never have); it is kept on disk, listed nowhere, so that its
// number is not used again.
func (q *Queue) RemoveRequest(id int) error { return q.settleFailed(id, RequestRemoved, "removed") }

// settleFailed moves failed request id to state, as the operator asked.
func (q *Queue) settleFailed(id int, state RequestState, what string) error {
	r, err := loadRequest(q.o.Spool, id)
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	if r.State != RequestFailed {
		return fmt.Errorf("request %d is %s: %w", id, r.State, ErrNotFailed)
	}
	r.State, r.Reason = state, ""
	if err := r.save(q.o.Spool); err != nil {
		return err
	}
	q.o.Log("request %d: %s", id, what)
	return nil
}

func (q *Queue) wakeFetch() {
	select {
	case q.fetchWake <- struct{}{}:
	default:
	}
}

// RequestStatus is a request as status and the page show it: by
// number, without its accession number.
type RequestStatus struct {
	ID        int          `json:"id"`
	State     RequestState `json:"state"` // pending, fetching, done, failed
	Reason    string       `json:"reason,omitempty"`
	Attempts  int          `json:"attempts"`
	Instances int          `json:"instances"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
}

func (r Request) status() RequestStatus {
	return RequestStatus{ID: r.ID, State: r.State, Reason: r.Reason, Attempts: r.Attempts, Instances: r.Instances,
		Created: r.Created, Updated: r.Updated}
}

// ReadRequestStatus lists the spool's requests, for a process other than
// the service (securemedia publish status).
func ReadRequestStatus(spool string) ([]RequestStatus, error) {
	rs, err := ReadRequests(spool)
	out := make([]RequestStatus, 0, len(rs))
	for _, r := range rs {
		if r.State != RequestRemoved {
			out = append(out, r.status())
		}
	}
	return out, err
}

// Requests is every request in the spool, the one being fetched shown so.
func (q *Queue) Requests() []RequestStatus {
	rs, _ := ReadRequestStatus(q.o.Spool)
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range rs {
		if rs[i].ID == q.fetchingID {
			rs[i].State = RequestFetching
		}
	}
	return rs
}

// fetchRequests fetches the pending requests, one at a time, until ctx
// ends; it looks for new ones every second (another process may add them)
// and when woken. A request once done, failed or removed is not read again
// (until Retry), so that the spool's history costs a directory listing.
func (q *Queue) fetchRequests(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	settled := map[int]bool{}
	complained := map[string]bool{}
	for {
		ids, _ := requestIDs(q.o.Spool) // unreadable: tried again in a second
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			if settled[id] && !q.retried(id) {
				continue
			}
			r, err := loadRequest(q.o.Spool, id)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				if !complained[err.Error()] { // once, not every second
					complained[err.Error()] = true
					q.o.Log("request %d: %v (left as it is)", id, err)
				}
			case r.State == RequestPending:
				q.fetch(ctx, r)
			default:
				settled[id] = true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.fetchWake:
		}
	}
}

// retried tells (once) whether id was retried since it was last seen.
func (q *Queue) retried(id int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.retry[id] {
		delete(q.retry, id)
		return true
	}
	return false
}

// fetch runs one request. While it runs, no job that received an
// instance since it began is closed (a PACS slower than the settle time
// between two instances must not split a study over two discs); once it
// ends those jobs settle from then.
func (q *Queue) fetch(ctx context.Context, r Request) {
	q.mu.Lock()
	q.fetchingID, q.fetchSince = r.ID, time.Now()
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		now := time.Now()
		for _, oj := range q.open {
			if !oj.last.Before(q.fetchSince) {
				oj.last = now
			}
		}
		q.fetchingID, q.fetchSince = 0, time.Time{}
		q.mu.Unlock()
	}()
	r.Attempts++
	if err := r.save(q.o.Spool); err != nil {
		q.o.Log("request %d: %v", r.ID, err)
		return
	}
	q.o.Log("request %d: fetching from the PACS (attempt %d)", r.ID, r.Attempts)
	n, err := q.o.Fetch(ctx, r.Accession, q.Handle)
	r.Instances = n
	switch {
	case ctx.Err() != nil:
		// Stopped: the request stays pending and is fetched again at the
		// next start; what arrived is in its jobs already.
		_ = r.save(q.o.Spool)
	case err != nil:
		r.State, r.Reason = RequestFailed, err.Error()
		q.o.Log("request %d: failed: %s", r.ID, r.Reason)
		if err := r.save(q.o.Spool); err != nil {
			q.o.Log("request %d: %v", r.ID, err)
		}
	default:
		r.State = RequestDone
		if err := r.save(q.o.Spool); err != nil {
			q.o.Log("request %d: %v", r.ID, err)
			return
		}
		q.o.Log("request %d: fetched %d instances; their disc is made once they settle", r.ID, n)
	}
}

// heldByFetch tells whether a fetch under way may still add to oj; q.mu is held.
func (q *Queue) heldByFetch(oj *openJob) bool {
	return q.fetchingID != 0 && !oj.last.Before(q.fetchSince)
}
