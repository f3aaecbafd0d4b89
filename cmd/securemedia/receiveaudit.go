package main

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/dicomdir"
)

// receiveSettle is how long a study goes without a new instance from its
// sender before receive records its DICOM Instances Transferred.
const receiveSettle = 10 * time.Second

// receiveAudit gathers what receive stores into one DICOM Instances
// Transferred message per sender and study (one patient each), recorded
// once the study has settled, and for all that are left when receive
// stops. The dimse server tells of instances, not of associations: a
// study that settles is what the sender finished.
type receiveAudit struct {
	e        *env
	ctx      context.Context
	dir      string
	calledAE string
	mu       sync.Mutex
	pending  map[receiveKey]*receiveBatch
	timer    *time.Timer
}

type receiveKey struct{ callingAE, studyUID string }

type receiveBatch struct {
	study audit.Study
	last  time.Time
}

func newReceiveAudit(ctx context.Context, e *env, dir, calledAE string) *receiveAudit {
	if e.audit.logger == nil {
		return nil
	}
	return &receiveAudit{e: e, ctx: ctx, dir: dir, calledAE: calledAE, pending: map[receiveKey]*receiveBatch{}}
}

// add counts one instance the sender transferred (stored now, or already
// held), read back from its file for the patient and study it belongs to.
func (a *receiveAudit) add(callingAE, sopClass, path string) {
	if a == nil {
		return
	}
	in, _, err := dicomdir.ReadInstance(filepath.Join(a.dir, path))
	if err != nil || in == nil {
		return // the file is there (the store said so); an unreadable header is not ours to report twice
	}
	id, name, study, accession := in.Subject()
	var done []*audit.Message
	defer func() { a.e.record(a.ctx, done...) }() // after the lock: a slow repository holds up no store
	a.mu.Lock()
	defer a.mu.Unlock()
	k := receiveKey{callingAE, study}
	b := a.pending[k]
	if b == nil || b.study.Patient != (audit.Patient{ID: id, Name: name}) {
		if b != nil { // another patient under one study UID: never merged
			done = a.flushLocked(k)
		}
		b = &receiveBatch{study: audit.Study{UID: study, Accession: accession, Patient: audit.Patient{ID: id, Name: name}, SOPClasses: map[string]int{}}}
		a.pending[k] = b
	}
	b.study.SOPClasses[sopClass]++
	b.last = time.Now()
	if a.timer == nil {
		a.timer = time.AfterFunc(receiveSettle, a.settle)
	}
}

// settle records the studies that have settled and waits for the rest.
func (a *receiveAudit) settle() {
	var done []*audit.Message
	defer func() { a.e.record(a.ctx, done...) }()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.timer = nil
	next := time.Duration(0)
	for k, b := range a.pending {
		if wait := receiveSettle - time.Since(b.last); wait > 0 {
			next = max(next, wait)
			continue
		}
		done = append(done, a.flushLocked(k)...)
	}
	if len(a.pending) > 0 {
		a.timer = time.AfterFunc(max(next, time.Second), a.settle)
	}
}

// stop records every study still pending.
func (a *receiveAudit) stop() {
	if a == nil {
		return
	}
	var done []*audit.Message
	defer func() { a.e.record(a.ctx, done...) }()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	for k := range a.pending {
		done = append(done, a.flushLocked(k)...)
	}
}

// flushLocked takes study k out of the pending ones: its messages.
func (a *receiveAudit) flushLocked(k receiveKey) []*audit.Message {
	b := a.pending[k]
	delete(a.pending, k)
	sender := audit.Participant{UserID: k.callingAE, AETitle: k.callingAE, Requestor: true}
	local := a.e.audit.local
	local.AETitle, local.Requestor = a.calledAE, false
	return audit.InstancesTransferred(a.e.auditEvent(nil), audit.Create, sender, local, []audit.Study{b.study})
}
