package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/media"
)

// Options configure a Queue.
type Options struct {
	Spool string // the queue's folder (made 0700)
	Out   string // where images and slips go
	// PerPatient makes one job per patient instead of one per study.
	PerPatient bool
	// Settle is how long a job must be quiet before it is burned.
	Settle time.Duration
	// Keep keeps a job's received instances after its disc verified.
	Keep bool
	// LabelPrefix starts every disc's label (A-Z 0-9 _, at most 6):
	// PREFIX + YYMMDD + the job number (4 digits).
	LabelPrefix string
	// SlipExt is the slip's file name extension, ".html" or ".txt".
	SlipExt string

	// The medium's settings, as for burn.
	Medium  media.Medium
	Contact string
	// RecipientCerts are certificate files (PEM or DER) whose holders
	// can open every disc besides its generated password: the site's
	// escrow certificate.
	RecipientCerts []string
	Version        string
	Viewers        []media.ViewerFile
	Page           []media.PageFile
	// Device, if set, is an optical drive (or xorriso's stdio:FILE) every
	// verified image is also written to; Speed and NoEject as for burn.
	Device, Speed string
	NoEject       bool

	// WriteSlip writes a disc's password slip (never over an existing file).
	WriteSlip func(path string, plan *media.Plan, password []byte) error
	// Log is told of what happens, in words without patient data.
	Log func(format string, args ...any)
	// Verified, if set, is called once a job's disc has verified, before
	// the job is recorded done and its spool files removed: the place for
	// the audit trail's Export message (PS3.15 A.5.3.4). It may be called
	// again for the same disc after a crash at that moment.
	Verified func(j Job, plan *media.Plan)
	// Received, if set, is told of each instance entering a job (path: its
	// file there), before success is answered: the place for the audit
	// trail's DICOM Instances Transferred.
	Received func(req dimse.StoreRequest, path string)
	// Failed, if set, is told of a job that failed (not of one stopped by
	// ctx): the place for the audit trail's Export failure. files is the
	// folder of the job's instances.
	Failed func(j Job, files string, err error)
	// Fetch, if set, fetches a Request's studies from the PACS; without
	// it, requests wait in the spool.
	Fetch FetchFunc
}

// Queue is the publisher's on-disk queue of jobs.
type Queue struct {
	o     Options
	store string // SPOOL/store, where dimse.FolderStore receives

	mu         sync.Mutex
	jobs       map[int]*Job
	recipients []cms.Recipient     // from RecipientCerts
	open       map[string]*openJob // receiving jobs by key
	nextID     int
	wake       chan struct{}
	received   int // instances adopted by this process (test hook)

	fetchWake  chan struct{}
	retry      map[int]bool // requests retried, to be read again
	fetchingID int          // the request being fetched, 0: none
	fetchSince time.Time    // when it began
}

type openJob struct {
	id        int
	last      time.Time // when its last instance arrived
	instances int
}

// Open opens (or creates) the queue in o.Spool and recovers what a crash
// left: see the package documentation.
func Open(ctx context.Context, o Options) (*Queue, error) {
	if o.Settle <= 0 {
		return nil, errors.New("publish: settle time must be positive")
	}
	if o.SlipExt == "" {
		o.SlipExt = ".html"
	}
	if o.LabelPrefix == "" {
		o.LabelPrefix = "SM"
	}
	if err := media.ValidFileSetID(o.LabelPrefix + "2612310000"); err != nil || len(o.LabelPrefix) > 6 {
		return nil, fmt.Errorf("label prefix %q: up to 6 of A-Z 0-9 _", o.LabelPrefix)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	q := &Queue{o: o, store: filepath.Join(o.Spool, "store"), jobs: map[int]*Job{}, open: map[string]*openJob{},
		nextID: 1, wake: make(chan struct{}, 1), fetchWake: make(chan struct{}, 1), retry: map[int]bool{}}
	for _, d := range []string{o.Spool, q.store, filepath.Join(o.Spool, "jobs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// The spool holds patients' images: the service's user only.
	if err := os.Chmod(o.Spool, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o700); err != nil {
		return nil, err
	}
	for _, path := range o.RecipientCerts {
		certs, err := keyfile.Certificates(path)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			r, err := cms.NewCertificateRecipient(c, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			q.recipients = append(q.recipients, r)
		}
	}
	if err := q.load(); err != nil {
		return nil, err
	}
	if err := q.recover(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

// load reads every job's state file.
func (q *Queue) load() error {
	ents, err := os.ReadDir(filepath.Join(q.o.Spool, "jobs"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil || id < 1 {
			continue
		}
		q.nextID = max(q.nextID, id+1)
		j, err := loadJob(q.o.Spool, id)
		if errors.Is(err, fs.ErrNotExist) {
			// Created but its first state never saved: an empty folder,
			// or instances moved in are adopted again below.
			if err := q.readopt(filesDir(q.o.Spool, id)); err != nil {
				return err
			}
			os.RemoveAll(jobDir(q.o.Spool, id))
			continue
		}
		if err != nil {
			return err
		}
		q.jobs[id] = j
	}
	return nil
}

// readopt moves the files of an unsaved job back into the store, to be
// adopted again.
func (q *Queue) readopt(dir string) error {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		dst := filepath.Join(q.store, "readopt", e.Name())
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(dir, e.Name()), dst); err != nil {
			return err
		}
	}
	return nil
}

// recover puts every job back on its way after a crash.
func (q *Queue) recover(ctx context.Context) error {
	now := time.Now()
	for _, j := range q.sorted() {
		switch j.State {
		case Receiving:
			n, _ := countFiles(filesDir(q.o.Spool, j.ID))
			q.open[j.Key] = &openJob{id: j.ID, last: now, instances: n}
		case Burning, Verifying:
			if err := q.recoverBurn(ctx, j); err != nil {
				return err
			}
		case Done:
			q.removeFiles(j)
		}
	}
	// Instances stored but not yet moved into a job (never acknowledged,
	// but complete): adopted now. Partial receptions are discarded.
	os.RemoveAll(filepath.Join(q.store, ".incoming"))
	ents, err := os.ReadDir(q.store)
	if err != nil {
		return err
	}
	for _, d := range ents {
		if !d.IsDir() || d.Name() == dimse.ConflictsDir {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(q.store, d.Name()))
		for _, f := range files {
			if _, err := q.adopt(filepath.Join(d.Name(), f.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// recoverBurn decides about a job a crash caught while burning: an image
// under its final name is complete and was read back, so it is verified
// and the job finished; otherwise everything of the attempt goes, and the
// job is queued to be burned again.
func (q *Queue) recoverBurn(ctx context.Context, j *Job) error {
	if j.Output != "" {
		if _, err := os.Stat(j.Output); err == nil {
			pw, err := os.ReadFile(filepath.Join(jobDir(q.o.Spool, j.ID), "password"))
			if err == nil {
				_, err = verifyImage(ctx, j.Output, pw)
			}
			if err != nil {
				return q.fail(j, fmt.Errorf("%s exists from before a restart but does not verify: %w; move it away and Retry", j.Output, err))
			}
			q.o.Log("job %d: %s was complete before the restart; verified, not burned again", j.ID, j.Output)
			if j.Device != "" {
				j.State = Writing
				return j.save(q.o.Spool)
			}
			return q.finish(ctx, j, nil)
		}
	}
	q.removeAttempt(j)
	j.State = Queued
	q.o.Log("job %d: interrupted while burning; burning it again", j.ID)
	return j.save(q.o.Spool)
}

// removeAttempt removes what a burn attempt that did not finish left:
// the image's temporary file, the slip (its disc never appeared) and the
// password.
func (q *Queue) removeAttempt(j *Job) {
	if j.Output != "" {
		tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(j.Output), "."+filepath.Base(j.Output)+".tmp-*"))
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	if j.Slip != "" {
		os.Remove(j.Slip)
		tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(j.Slip), "."+filepath.Base(j.Slip)+".tmp-*"))
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	os.Remove(filepath.Join(jobDir(q.o.Spool, j.ID), "password"))
}

func (q *Queue) sorted() []*Job {
	var js []*Job
	for _, j := range q.jobs {
		js = append(js, j)
	}
	slices.SortFunc(js, func(a, b *Job) int { return a.ID - b.ID })
	return js
}

func countFiles(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	return len(ents), err
}

// Handle is the dimse.StoreHandler: every instance enters the queue here,
// pushed by a PACS, or fetched for a Request (by C-GET, or by C-MOVE to
// our own AE title) like any push.
//
// The instance is stored (fsynced) into the store, moved into its job
// and the job's folder fsynced, and only then is success answered. An
// instance arriving for a job already complete starts a new job: it is
// never added to a disc being burned.
func (q *Queue) Handle(ctx context.Context, req dimse.StoreRequest, data io.Reader) dimse.Status {
	var res dimse.StoreResult
	// A FolderStore per instance, to be told of this instance's result.
	st := (&dimse.FolderStore{Dir: q.store, Stored: func(_ dimse.StoreRequest, r dimse.StoreResult) { res = r }}).Handle(ctx, req, data)
	if st.Code != 0 {
		q.o.Log("%s from %s not stored: %v", req.SOPInstanceUID, req.CallingAE, res.Err)
		return st
	}
	switch res.Copy {
	case dimse.ConflictingCopy:
		q.o.Log("%s arrived again with other content: kept apart in %s, not burned; check it", req.SOPInstanceUID, filepath.Join(q.store, res.Path))
		return st
	case dimse.IdenticalCopy:
		return st
	}
	id, err := q.adopt(res.Path)
	if err != nil {
		q.o.Log("%s: %v", req.SOPInstanceUID, err)
		return dimse.Status{Code: 0xA700, ErrorComment: "cannot queue the instance"}
	}
	if q.o.Received != nil {
		q.o.Received(req, filepath.Join(filesDir(q.o.Spool, id), filepath.Base(res.Path)))
	}
	q.testHookReceived(ctx, id)
	return st
}

// adopt moves the stored file rel (relative to the store) into the
// receiving job for its key, making one if needed, and returns the job.
func (q *Queue) adopt(rel string) (int, error) {
	src := filepath.Join(q.store, rel)
	key, err := q.keyOf(src, rel)
	if err != nil {
		return 0, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	oj := q.open[key]
	if oj == nil {
		if oj, err = q.newJob(key); err != nil {
			return 0, err
		}
	}
	dir := filesDir(q.o.Spool, oj.id)
	dst := filepath.Join(dir, filepath.Base(rel))
	switch err := os.Link(src, dst); {
	case err == nil:
		oj.instances++
	case errors.Is(err, fs.ErrExist):
		if !sameFile(src, dst) {
			apart := filepath.Join(q.store, dimse.ConflictsDir, filepath.Base(rel)+".job"+strconv.Itoa(oj.id)+".dcm")
			_ = os.MkdirAll(filepath.Dir(apart), 0o700)
			if err := os.Rename(src, apart); err != nil {
				return 0, err
			}
			q.o.Log("%s arrived again with other content: kept apart as %s, not burned; check it", filepath.Base(rel), apart)
			return oj.id, nil
		}
	default:
		return 0, err
	}
	if err := syncDir(dir); err != nil {
		return 0, err
	}
	if err := os.Remove(src); err != nil {
		return 0, err
	}
	oj.last = time.Now()
	return oj.id, nil
}

// newJob makes a receiving job for key; q.mu is held.
func (q *Queue) newJob(key string) (*openJob, error) {
	id := q.nextID
	q.nextID++
	if err := os.MkdirAll(filesDir(q.o.Spool, id), 0o700); err != nil {
		return nil, err
	}
	per := "study"
	if q.o.PerPatient {
		per = "patient"
	}
	now := time.Now().UTC()
	label := fmt.Sprintf("%s%s%04d", q.o.LabelPrefix, now.Format("060102"), id%10000)
	j := &Job{ID: id, State: Receiving, Per: per, Key: key, Label: label, Created: now, Settle: Duration(q.o.Settle),
		Output: filepath.Join(q.o.Out, label+".iso"), Slip: filepath.Join(q.o.Out, label+".slip"+q.o.SlipExt), Device: q.o.Device}
	if err := j.save(q.o.Spool); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Join(q.o.Spool, "jobs")); err != nil {
		return nil, err
	}
	q.jobs[id] = j
	oj := &openJob{id: id, last: time.Now()}
	q.open[key] = oj
	q.o.Log("job %d: receiving (disc %s)", id, label)
	return oj, nil
}

// keyOf is the job key of a stored file: its Study Instance UID (the
// store's folder name), or with PerPatient the patient's identifiers,
// Patient ID with its issuer and the name, so that two patients sharing
// an ID are never put on one disc. An instance without a Patient ID goes
// with its study alone: an identity is never guessed.
func (q *Queue) keyOf(path, rel string) (string, error) {
	study := filepath.Dir(rel)
	if study == "readopt" || study == "." {
		study = ""
	}
	if !q.o.PerPatient && study != "" {
		return "study:" + study, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, r, err := dicom.ReadHeader(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	r.MaxValue = 1 << 16
	elems, _ := r.ReadUntil(dicom.StudyInstanceUID + 1)
	if study == "" {
		study = dicom.Find(elems, dicom.StudyInstanceUID).String()
	}
	id := dicom.Find(elems, dicom.PatientID).String()
	if !q.o.PerPatient || id == "" {
		return "study:" + study, nil
	}
	return "patient:" + strings.Join([]string{id, dicom.Find(elems, dicom.IssuerOfPatientID).String(),
		dicom.Find(elems, dicom.PatientName).String()}, "\x00"), nil
}

// sameFile tells whether two files hold the same bytes, streaming.
func sameFile(a, b string) bool {
	x, err1 := fileSum(a)
	y, err2 := fileSum(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
