package dimse

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Transfer syntax UIDs the sender treats specially.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	DeflatedExplicitVR     = "1.2.840.10008.1.2.1.99"
)

// Instance is one SOP instance to send. Open returns its data set (no
// group 0002) encoded in TransferSyntaxUID; it is called once, when the
// instance is sent, so that a disc's instances are decrypted one at a time.
type Instance struct {
	SOPClassUID, SOPInstanceUID, TransferSyntaxUID string
	Size                                           int64 // data set bytes, for progress
	Open                                           func() (io.ReadCloser, error)
	// Label identifies the instance in reports (e.g. a file name).
	Label string
}

// Outcome is the fate of one instance.
type Outcome int

// Outcomes of a send.
const (
	Sent      Outcome = iota // stored, status 0000
	Warned                   // stored with a warning status
	Failed                   // the peer refused it, or it could not be sent
	NotTried                 // never offered: the association ended first
	Refused                  // no context the peer accepted fits its transfer syntax
	Cancelled                // ctx was cancelled before it was sent
)

func (o Outcome) String() string {
	return [...]string{"sent", "warning", "failed", "not sent", "refused", "cancelled"}[o]
}

// Stored reports whether the peer has the instance.
func (o Outcome) Stored() bool { return o == Sent || o == Warned }

// Result is reported for every instance, in order.
type Result struct {
	Instance *Instance
	Outcome  Outcome
	Status   Status // when the peer answered
	Err      error  // why, when not stored
	// TransferSyntaxUID is what went over the wire.
	TransferSyntaxUID string
}

// Detail explains the result in one line.
func (r Result) Detail() string {
	switch {
	case r.Err != nil:
		return r.Err.Error()
	case r.Outcome == Sent:
		return ""
	}
	return r.Status.String()
}

// offered returns the transfer syntaxes proposed for an instance encoded
// in ts, in order of preference: its own, plus implicit VR little endian
// for explicit VR little endian data, which convert.go rewrites
// losslessly, and both for deflated data, which is inflated first. Implicit VR little
// endian is the default every SCP accepts (PS3.5 §10.1), so implicit data
// never needs the reverse (lossy without a full dictionary) conversion.
func offered(ts string) []string {
	switch ts {
	case ExplicitVRLittleEndian:
		return []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}
	case DeflatedExplicitVR:
		// Inflating is lossless too: the deflated stream is an explicit VR
		// little endian data set (PS3.5 §A.5).
		return []string{DeflatedExplicitVR, ExplicitVRLittleEndian, ImplicitVRLittleEndian}
	}
	return []string{ts}
}

type ctxKey struct{ as, ts string }

// plan groups instances into batches of at most 128 distinct contexts,
// in order, each batch being one association (PS3.8 §9.3.2.2).
func plan(insts []*Instance) [][]*Instance {
	var batches [][]*Instance
	var cur []*Instance
	seen := map[ctxKey]bool{}
	for _, in := range insts {
		k := ctxKey{in.SOPClassUID, in.TransferSyntaxUID}
		if !seen[k] && len(seen) == 128 {
			batches = append(batches, cur)
			cur, seen = nil, map[ctxKey]bool{}
		}
		seen[k] = true
		cur = append(cur, in)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

func contextsFor(batch []*Instance) []PresentationContext {
	var out []PresentationContext
	seen := map[ctxKey]bool{}
	for _, in := range batch {
		k := ctxKey{in.SOPClassUID, in.TransferSyntaxUID}
		if !seen[k] {
			seen[k] = true
			out = append(out, PresentationContext{AbstractSyntax: k.as, TransferSyntaxes: offered(k.ts)})
		}
	}
	return out
}

// SendAll stores every instance, one association per batch of 128
// contexts, and calls report once per instance (never concurrently). With
// cfg.Associations > 1 the instances are split into that many contiguous
// runs sent over parallel associations; reports then interleave. It
// returns an error only when nothing could be attempted for some batch
// (e.g. the peer is unreachable); the per-instance results carry the rest.
func SendAll(ctx context.Context, cfg Config, insts []*Instance, report func(Result)) error {
	n := max(1, min(cfg.Associations, len(insts)))
	if n == 1 {
		return sendSerial(ctx, cfg, insts, report)
	}
	var mu sync.Mutex
	locked := func(r Result) {
		mu.Lock()
		defer mu.Unlock()
		report(r)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		part := insts[i*len(insts)/n : (i+1)*len(insts)/n]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sendSerial(ctx, cfg, part, locked)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func sendSerial(ctx context.Context, cfg Config, insts []*Instance, report func(Result)) error {
	var firstErr error
	for _, batch := range plan(insts) {
		err := sendBatch(ctx, cfg, batch, report)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func sendBatch(ctx context.Context, cfg Config, batch []*Instance, report func(Result)) error {
	if ctx.Err() != nil {
		reportRest(batch, Cancelled, ctx.Err(), report)
		return ctx.Err()
	}
	a, err := Dial(ctx, cfg, contextsFor(batch))
	if err != nil {
		reportRest(batch, NotTried, fmt.Errorf("no association: %w", err), report)
		return err
	}
	// Cancellation closes the connection under any read or write in
	// progress (net.Conn allows that concurrently); the peer sees the
	// transport close, which PS3.8 §9.1.6 treats as an abort.
	stop := context.AfterFunc(ctx, func() { a.conn.Close() })
	defer stop()
	for i, in := range batch {
		if ctx.Err() != nil {
			a.Abort()
			reportRest(batch[i:], Cancelled, ctx.Err(), report)
			return ctx.Err()
		}
		r, fatal := sendOne(a, in)
		if fatal != nil && ctx.Err() != nil {
			r.Outcome, r.Err = Cancelled, ctx.Err()
			report(r)
			reportRest(batch[i+1:], Cancelled, ctx.Err(), report)
			return ctx.Err()
		}
		report(r)
		if fatal != nil {
			reportRest(batch[i+1:], NotTried, fmt.Errorf("association lost: %w", fatal), report)
			return nil
		}
	}
	if err := a.Release(); err != nil {
		// Every instance already has its answer; a failed release loses
		// nothing, so it is not reported as a failure.
		return nil
	}
	return nil
}

func reportRest(insts []*Instance, o Outcome, err error, report func(Result)) {
	for _, in := range insts {
		report(Result{Instance: in, Outcome: o, Err: err})
	}
}

// sendOne sends one instance; fatal is set when the association is gone.
func sendOne(a *Assoc, in *Instance) (r Result, fatal error) {
	r = Result{Instance: in}
	id, ts := a.pick(in)
	if id == 0 {
		r.Outcome, r.Err = Refused, a.refusal(in)
		return r, nil
	}
	r.TransferSyntaxUID = ts
	if in.Size%2 == 1 && in.TransferSyntaxUID != DeflatedExplicitVR {
		// Every element has an even length (PS3.5 §7.1), so an odd data
		// set is damaged; peers abort on it and it would cost the others.
		r.Outcome, r.Err = Failed, fmt.Errorf("malformed: data set of odd length %d, not sent", in.Size)
		return r, nil
	}
	rc, err := in.Open()
	if err != nil {
		r.Outcome, r.Err = Failed, fmt.Errorf("cannot read: %w", err)
		return r, nil
	}
	defer rc.Close()
	var data io.Reader = rc
	if ts == DeflatedExplicitVR {
		// PS3.5 §A.5: the deflated stream is padded with one NUL to an
		// even length; some writers forget, and inflate ignores it.
		data = &evenReader{r: rc}
	}
	if in.TransferSyntaxUID == DeflatedExplicitVR && ts != DeflatedExplicitVR {
		fr := flate.NewReader(rc)
		defer fr.Close()
		data = fr
	}
	if ts == ImplicitVRLittleEndian && in.TransferSyntaxUID != ImplicitVRLittleEndian {
		conv := ExplicitToImplicit(data)
		defer conv.Close()
		data = conv
	}
	st, err := a.Store(id, in.SOPClassUID, in.SOPInstanceUID, data)
	if err != nil {
		r.Outcome, r.Err = Failed, err
		var se *sourceError
		if errors.As(err, &se) {
			r.Err = fmt.Errorf("%v (association aborted, instance not stored)", err)
		}
		return r, err
	}
	r.Status = st
	switch st.Kind() {
	case Success:
		r.Outcome = Sent
	case Warning:
		r.Outcome = Warned
	default:
		r.Outcome = Failed
	}
	return r, nil
}

// pick chooses the accepted context for an instance: its own transfer
// syntax first, then implicit VR little endian for explicit VR LE data.
func (a *Assoc) pick(in *Instance) (byte, string) {
	for _, ts := range offered(in.TransferSyntaxUID) {
		if id := a.Accepted(in.SOPClassUID, ts); id != 0 {
			return id, ts
		}
	}
	return 0, ""
}

// evenReader appends a NUL byte to a stream of odd length.
type evenReader struct {
	r    io.Reader
	n    int64
	done bool
}

func (e *evenReader) Read(p []byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	e.n += int64(n)
	if err == io.EOF && n == 0 {
		e.done = true
		if e.n%2 == 1 && len(p) > 0 {
			p[0] = 0
			return 1, nil
		}
	}
	return n, err
}

// ErrSOPClassUnsupported is a Refused result's error when the peer
// rejected the instance's SOP Class itself (not only its encoding).
var ErrSOPClassUnsupported = errors.New("the peer does not support SOP Class")

// refusal explains why no context fits an instance.
func (a *Assoc) refusal(in *Instance) error {
	for _, pc := range a.Contexts {
		if pc.AbstractSyntax == in.SOPClassUID && pc.Result == ResultAbstractSyntaxUnsupported {
			return fmt.Errorf("%w %s", ErrSOPClassUnsupported, in.SOPClassUID)
		}
	}
	return fmt.Errorf("the peer does not accept transfer syntax %s for SOP Class %s, and the instance is not transcoded", in.TransferSyntaxUID, in.SOPClassUID)
}
