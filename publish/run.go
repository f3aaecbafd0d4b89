package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/drive"
	"github.com/securemedia/securemedia/internal/passphrase"
	"github.com/securemedia/securemedia/media"
)

// Run burns jobs as they complete, one at a time, until ctx ends.
func (q *Queue) Run(ctx context.Context) error {
	if q.o.Fetch != nil {
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { q.fetchRequests(ctx) })
	}
	tick := min(max(q.o.Settle/4, 50*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		q.closeSettled()
		if j := q.next(); j != nil {
			switch err := q.burn(ctx, j); {
			case err == nil:
			case ctx.Err() != nil && j.State == Burning:
				// Stopped: the image's writer removed its partial file;
				// the slip of a disc that never appeared goes too. The
				// job stays burning, so a restart burns it again.
				q.removeAttempt(j)
			case ctx.Err() == nil:
				_ = q.fail(j, err)
				if q.o.Failed != nil {
					q.o.Failed(*j, filesDir(q.o.Spool, j.ID), err)
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-q.wake:
		}
	}
}

// closeSettled queues the receiving jobs quiet for Settle.
func (q *Queue) closeSettled() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for key, oj := range q.open {
		if time.Since(oj.last) < q.o.Settle || q.heldByFetch(oj) {
			continue
		}
		j := q.jobs[oj.id]
		if oj.instances == 0 { // made, then a crash before its first instance
			delete(q.open, key)
			delete(q.jobs, j.ID)
			os.RemoveAll(jobDir(q.o.Spool, j.ID))
			continue
		}
		j.State, j.Closed, j.Instances = Queued, time.Now().UTC(), oj.instances
		if err := j.save(q.o.Spool); err != nil {
			q.o.Log("job %d: cannot record it complete: %v (trying again)", j.ID, err)
			continue
		}
		delete(q.open, key)
		q.o.Log("job %d: complete, %d instances; queued", j.ID, j.Instances)
	}
}

// next is the oldest job waiting to be burned (or written to the drive).
func (q *Queue) next() *Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, j := range q.sorted() {
		if j.State == Queued || j.State == Writing {
			return j
		}
	}
	return nil
}

// burn makes the job's disc: slip first, then the image (which appears
// under its name only complete and read back), then verification; see
// the package documentation for why in this order.
func (q *Queue) burn(ctx context.Context, j *Job) error {
	if j.State == Writing {
		return q.toDrive(ctx, j, nil)
	}
	q.removeAttempt(j)
	if _, err := os.Lstat(j.Output); err == nil {
		return fmt.Errorf("%s exists and is not this job's: move it away, then Retry", j.Output)
	}
	j.State, j.Reason = Burning, ""
	j.Attempts++
	if err := q.save(j); err != nil {
		return err
	}
	q.o.Log("job %d: burning %s", j.ID, j.Output)
	pw, err := passphrase.Generate(passphrase.DefaultWords)
	if err != nil {
		return err
	}
	if err := q.savePassword(j, []byte(pw)); err != nil {
		return err
	}
	plan, err := q.plan(ctx, j, []byte(pw))
	if err != nil {
		return err
	}
	if q.o.Device != "" {
		size, err := plan.ImageSize()
		if err != nil {
			return err
		}
		if err := checkDisc(ctx, q.o.Device, size); err != nil {
			return err
		}
	}
	if err := q.o.WriteSlip(j.Slip, plan, []byte(pw)); err != nil {
		return fmt.Errorf("slip %s: %w", j.Slip, err)
	}
	progress := q.testHookWriting(ctx, j)
	if err := plan.WriteImage(ctx, j.Output, false, progress); err != nil {
		return err
	}
	j.State = Verifying
	if err := q.save(j); err != nil {
		return err
	}
	q.testHookWritten(ctx, j)
	n, err := verifyImage(ctx, j.Output, []byte(pw))
	if err != nil {
		return err
	}
	q.o.Log("job %d: %s verified (%d files)", j.ID, j.Output, n)
	return q.toDrive(ctx, j, plan)
}

// plan lays out the job's disc: its instances, sealed for the generated
// password and the site's recipients.
func (q *Queue) plan(ctx context.Context, j *Job, pw []byte) (*media.Plan, error) {
	r, err := cms.NewPasswordRecipient(pw, nil)
	if err != nil {
		return nil, err
	}
	return media.NewPlan(ctx, []string{filesDir(q.o.Spool, j.ID)}, media.Options{Medium: q.o.Medium, FileSetID: j.Label,
		Contact: q.o.Contact, Recipients: append([]cms.Recipient{r}, q.recipients...),
		Version: q.o.Version, Viewers: q.o.Viewers, Page: q.o.Page})
}

// toDrive writes the verified image to the drive, if there is one, then
// finishes the job.
func (q *Queue) toDrive(ctx context.Context, j *Job, plan *media.Plan) error {
	if j.Device != "" {
		j.State = Writing
		if err := q.save(j); err != nil {
			return err
		}
		if err := writeDrive(ctx, j.Device, j.Output, q.o.Speed, q.o.NoEject, q.o.Log); err != nil {
			return err
		}
	}
	return q.finish(ctx, j, plan)
}

// finish records a verified job done and removes its spool files.
func (q *Queue) finish(ctx context.Context, j *Job, plan *media.Plan) error {
	if q.o.Verified != nil {
		if plan == nil { // after a restart: the plan of the disc made
			pw, _ := os.ReadFile(filepath.Join(jobDir(q.o.Spool, j.ID), "password"))
			plan, _ = q.plan(ctx, j, pw)
		}
		q.o.Verified(*j, plan)
	}
	j.State, j.Reason = Done, ""
	if err := q.save(j); err != nil {
		return err
	}
	// The disc is ready now; freeing the instances' space takes a moment
	// more (a large study's unlinks), which is not the operator's wait.
	q.o.Log("job %d: done: %s, slip %s", j.ID, j.Output, j.Slip)
	q.removeFiles(j)
	return nil
}

// removeFiles removes a done job's password and, unless Keep, its instances.
func (q *Queue) removeFiles(j *Job) {
	os.Remove(filepath.Join(jobDir(q.o.Spool, j.ID), "password"))
	if !q.o.Keep {
		os.RemoveAll(filesDir(q.o.Spool, j.ID))
	}
}

// fail records why a job failed; the job stays queued as failed, its
// instances kept, until Retry. A partial attempt is removed, a complete
// verified image kept (only the drive failed).
func (q *Queue) fail(j *Job, err error) error {
	if j.State != Writing {
		q.removeAttempt(j)
		if j.State == Burning || j.State == Verifying {
			os.Remove(j.Output)
		}
	}
	j.State, j.Reason = Failed, err.Error()
	q.o.Log("job %d: failed: %s", j.ID, j.Reason)
	return q.save(j)
}

func (q *Queue) save(j *Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return j.save(q.o.Spool)
}

func (q *Queue) savePassword(j *Job, pw []byte) error {
	path := filepath.Join(jobDir(q.o.Spool, j.ID), "password")
	if err := os.WriteFile(path+".tmp", pw, 0o600); err != nil {
		return err
	}
	f, err := os.Open(path + ".tmp")
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// ErrNotFailed: Retry of a job that has not failed.
var ErrNotFailed = errors.New("only a failed job can be retried")

// Retry queues a failed job again: burned from scratch, or, when only
// writing to the drive failed, written to the drive again.
func (q *Queue) Retry(id int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.jobs[id]
	if j == nil {
		return fmt.Errorf("job %d: %w", id, fs.ErrNotExist)
	}
	if j.State != Failed {
		return fmt.Errorf("job %d is %s: %w", id, j.State, ErrNotFailed)
	}
	j.State, j.Reason = Queued, ""
	if _, err := os.Stat(j.Output); err == nil && j.Device != "" {
		j.State = Writing
	}
	if err := j.save(q.o.Spool); err != nil {
		return err
	}
	q.o.Log("job %d: retry requested", id)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Jobs is a snapshot of every job, oldest first.
func (q *Queue) Jobs() []Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Job
	for _, j := range q.sorted() {
		c := *j
		if oj := q.open[j.Key]; oj != nil && oj.id == j.ID {
			c.Instances = oj.instances
		}
		out = append(out, c)
	}
	return out
}

// verifyImage opens the image with its password and verifies every file
// as "securemedia verify" does; it returns how many files it checked.
func verifyImage(ctx context.Context, path string, pw []byte) (int, error) {
	d, err := media.Open(path)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	id, err := media.Password(pw)
	if err != nil {
		return 0, err
	}
	if err := d.Unlock(id); err != nil {
		return 0, err
	}
	problems, checked, err := d.Verify(ctx, nil)
	if err != nil {
		return 0, err
	}
	if len(problems) > 0 {
		return 0, fmt.Errorf("%s does not verify: %v (and %d more)", path, problems[0], len(problems)-1)
	}
	if names, err := d.NameMismatches(); err != nil || len(names) > 0 {
		return 0, fmt.Errorf("%s does not verify: %v %v", path, names, err)
	}
	return checked, nil
}

// checkDisc makes sure the drive holds a blank disc that size bytes fit
// on, before anything is written.
func checkDisc(ctx context.Context, dev string, size int64) error {
	m, err := drive.Inspect(ctx, dev)
	if err != nil {
		return err
	}
	if !m.Writable() {
		return fmt.Errorf("the disc in %s is not blank (%s, %s): insert a blank disc, then Retry", dev, m.Kind, m.Status)
	}
	if size > m.Free {
		return fmt.Errorf("%w: the image is %d bytes and the disc in %s holds %d: insert a larger disc, then Retry", media.ErrTooLarge, size, dev, m.Free)
	}
	return nil
}

// writeDrive writes the image to the drive (the disc checked again: it
// may have been changed since the burn), reads the disc back and compares
// it byte for byte, and ejects it.
func writeDrive(ctx context.Context, dev, image, speed string, noEject bool, log func(string, ...any)) error {
	var size int64
	if fi, err := os.Stat(image); err == nil {
		size = fi.Size()
	}
	if err := checkDisc(ctx, dev, size); err != nil {
		return err
	}
	if err := drive.WriteAndCompare(ctx, dev, image, speed); err != nil {
		return err
	}
	log("wrote %s to %s and read it back: identical", image, dev)
	if !noEject {
		if err := drive.Eject(ctx, dev); err != nil {
			log("warning: %s did not eject the disc: %v", dev, err)
		}
	}
	return nil
}
