package publish

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/securemedia/securemedia/internal/atomicfile"
)

// State is where a job is in its life. Only these are written to disk;
// "settling" (Status) is receiving with nothing arriving.
type State string

const (
	Receiving State = "receiving" // collecting instances
	Queued    State = "queued"    // complete (settled, or Retry): waiting to be burned
	Burning   State = "burning"   // the image is being written
	Verifying State = "verifying" // the image is complete; being read back and verified
	Writing   State = "writing"   // the verified image is being written to the drive
	Done      State = "done"      // verified (and on the drive); spool files removed unless Keep
	Failed    State = "failed"    // see Reason; Retry queues it again
)

// Job is one disc to be: its state file, SPOOL/jobs/N/state.json.
type Job struct {
	ID      int       `json:"id"`
	State   State     `json:"state"`
	Per     string    `json:"per"` // "study" or "patient"
	Key     string    `json:"key"` // Study Instance UID, or the patient's identifiers (spool only)
	Label   string    `json:"label"`
	Created time.Time `json:"created"`
	// Closed is when the job stopped receiving.
	Closed    time.Time `json:"closed,omitzero"`
	Settle    Duration  `json:"settle"`
	Instances int       `json:"instances"` // counted when it closed
	Output    string    `json:"output,omitempty"`
	Slip      string    `json:"slip,omitempty"`
	Device    string    `json:"device,omitempty"`
	Reason    string    `json:"reason,omitempty"` // why it failed
	Attempts  int       `json:"attempts"`
	Updated   time.Time `json:"updated"`
}

// Duration is a time.Duration written as "30s".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// maxStateBytes bounds a state file read back: a real one is a few
// hundred bytes, and a damaged spool must not exhaust memory.
const maxStateBytes = 64 << 10

func jobDir(spool string, id int) string { return filepath.Join(spool, "jobs", strconv.Itoa(id)) }

// filesDir holds a job's instances.
func filesDir(spool string, id int) string { return filepath.Join(jobDir(spool, id), "files") }

// save replaces the job's state file atomically: written, fsynced,
// renamed, and the folder fsynced, so that a state read after a crash is
// one that was saved.
func (j *Job) save(spool string) error {
	j.Updated = time.Now().UTC()
	return saveState(filepath.Join(jobDir(spool, j.ID), "state.json"), j)
}

// saveState replaces path with v as indented JSON, atomically and
// durably: written, fsynced, renamed, and the folder fsynced.
func saveState(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(path, 0o600, true)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// loadJob reads SPOOL/jobs/N/state.json.
func loadJob(spool string, id int) (*Job, error) {
	path := filepath.Join(jobDir(spool, id), "state.json")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var j Job
	dec := json.NewDecoder(&limited{f, maxStateBytes})
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if j.ID != id {
		return nil, fmt.Errorf("%s: says job %d", path, j.ID)
	}
	return &j, nil
}

type limited struct {
	f *os.File
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("state file larger than %d bytes", maxStateBytes)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// syncDir fsyncs a folder, so that the names created or renamed in it
// survive a crash of the machine, not only of the process.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
