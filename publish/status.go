package publish

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// JobStatus is a job as the status command and page show it: no patient
// data (the key stays in the spool), only what an operator needs to find
// the disc and act on it.
type JobStatus struct {
	ID          int       `json:"id"`
	State       string    `json:"state"` // receiving, settling, queued, burning, verifying, writing, done, failed
	Per         string    `json:"per"`
	Instances   int       `json:"instances"`
	Label       string    `json:"label"`
	Output      string    `json:"output,omitempty"`
	Slip        string    `json:"slip,omitempty"`
	Device      string    `json:"device,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	LastArrival time.Time `json:"last_arrival,omitzero"`
	Updated     time.Time `json:"updated"`
}

// receivingWindow: a receiving job shows as "receiving" while instances
// came within this long (or its settle time, if shorter), else "settling".
const receivingWindow = 3 * time.Second

// status describes j; the newest arrival is the modification time of its
// files folder (a name is added there for each instance), so that another
// process reading the spool sees it too.
func status(spool string, j Job, now time.Time) JobStatus {
	s := JobStatus{ID: j.ID, State: string(j.State), Per: j.Per, Instances: j.Instances, Label: j.Label,
		Output: j.Output, Slip: j.Slip, Device: j.Device, Reason: j.Reason, Attempts: j.Attempts, Created: j.Created, Updated: j.Updated}
	if j.State == Done || j.State == Failed || j.State == Queued {
		if _, err := os.Stat(j.Output); err != nil {
			s.Output = ""
		}
		if _, err := os.Stat(j.Slip); err != nil {
			s.Slip = ""
		}
	} else if j.State != Writing {
		s.Output, s.Slip = "", ""
	}
	if j.State != Receiving {
		return s
	}
	dir := filesDir(spool, j.ID)
	if fi, err := os.Stat(dir); err == nil {
		s.LastArrival = fi.ModTime().UTC()
	}
	if n, err := countFiles(dir); err == nil {
		s.Instances = n
	}
	if now.Sub(s.LastArrival) >= min(receivingWindow, time.Duration(j.Settle)) {
		s.State = "settling"
	}
	return s
}

// Status is every job of the running queue, oldest first.
func (q *Queue) Status() []JobStatus {
	now := time.Now()
	var out []JobStatus
	for _, j := range q.Jobs() {
		out = append(out, status(q.o.Spool, j, now))
	}
	return out
}

// ReadStatus reads every job's state from a spool folder, for a process
// other than the service (securemedia publish status).
func ReadStatus(spool string) ([]JobStatus, error) {
	ents, err := os.ReadDir(filepath.Join(spool, "jobs"))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []JobStatus
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil || id < 1 {
			continue
		}
		j, err := loadJob(spool, id)
		if errors.Is(err, os.ErrNotExist) {
			continue // being made
		}
		if err != nil {
			return nil, err
		}
		out = append(out, status(spool, *j, now))
	}
	slices.SortFunc(out, func(a, b JobStatus) int { return a.ID - b.ID })
	return out, nil
}
