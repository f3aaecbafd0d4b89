package publish

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

const sample = "../testdata/sample-study/77654033" // one patient, two studies

// leaveInStore puts the sample's files where dimse.FolderStore leaves an
// instance it stored (under a folder the queue reads each study from), as
// a crash between storing and moving into a job would.
func leaveInStore(t *testing.T, spool string) int {
	t.Helper()
	n := 0
	err := filepath.Walk(sample, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		dst := filepath.Join(spool, "store", "readopt", strconv.Itoa(n)+".dcm")
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func open(t *testing.T, spool string, perPatient bool) *Queue {
	t.Helper()
	q, err := Open(context.Background(), Options{Spool: spool, Out: filepath.Join(filepath.Dir(spool), "out"), Settle: time.Hour, PerPatient: perPatient})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Instances stored but not yet in a job when the service died are adopted
// at start: one job per study, or one per patient.
func TestOpenAdoptsStoredInstances(t *testing.T) {
	for _, c := range []struct {
		perPatient bool
		jobs       int
	}{{false, 2}, {true, 1}} {
		spool := filepath.Join(t.TempDir(), "spool")
		n := leaveInStore(t, spool)
		q := open(t, spool, c.perPatient)
		jobs, total := q.Jobs(), 0
		for _, j := range jobs {
			if j.State != Receiving {
				t.Errorf("job %d is %s, want receiving", j.ID, j.State)
			}
			total += j.Instances
		}
		if len(jobs) != c.jobs || total != n {
			t.Errorf("per patient %v: %d jobs with %d instances, want %d with %d", c.perPatient, len(jobs), total, c.jobs, n)
		}
		if left, _ := os.ReadDir(filepath.Join(spool, "store", "readopt")); len(left) != 0 {
			t.Errorf("%d files left in the store", len(left))
		}
		if fi, err := os.Stat(spool); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("spool mode %v (%v), want 0700", fi.Mode().Perm(), err)
		}
	}
}

// A job a crash caught burning, its image not yet under its name, is
// queued again with its partial image and its slip removed.
func TestRecoverInterruptedBurn(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	leaveInStore(t, spool)
	q := open(t, spool, true)
	j := q.jobs[1]
	j.State = Burning
	if err := j.save(spool); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(filepath.Dir(j.Output), "."+filepath.Base(j.Output)+".tmp-123")
	for _, f := range []string{partial, j.Slip, filepath.Join(jobDir(spool, 1), "password")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	q = open(t, spool, true)
	if s := q.jobs[1].State; s != Queued {
		t.Errorf("state %s, want queued", s)
	}
	for _, f := range []string{partial, j.Slip, filepath.Join(jobDir(spool, 1), "password")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s was left", f)
		}
	}
}
