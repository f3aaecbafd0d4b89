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

// Instance is one SOP instance to send. Its UIDs and transfer syntax say
// which presentation context it needs; Open gives its data set when it is
// about to be sent, so that a disc's instances are decrypted one at a time
// (see Send for the one opened ahead).
type Instance struct {
	SOPClassUID, SOPInstanceUID, TransferSyntaxUID string
	Size                                           int64 // data set bytes (an estimate is fine: progress)
	Open                                           func() (*DataSet, error)
	// Label identifies the instance in reports (e.g. a file name).
	Label string
}

// DataSet is an instance's data set as Instance.Open gives it: the bytes
// after the File Meta Information, which is never sent.
type DataSet struct {
	io.ReadCloser
	// TransferSyntaxUID is the data set's encoding when Open found it to
	// differ from the Instance's (an uncompressed file whose label lied,
	// found out once it was read); "" when it is the Instance's.
	TransferSyntaxUID string
	// Size is the data set's exact size when Open knows it better than the
	// Instance did; 0 otherwise.
	Size int64
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
	Size              int64 // data set bytes, as far as known
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

func contextsFor(batch []*Instance) []presentationContext {
	var out []presentationContext
	seen := map[ctxKey]bool{}
	for _, in := range batch {
		k := ctxKey{in.SOPClassUID, in.TransferSyntaxUID}
		if !seen[k] {
			seen[k] = true
			out = append(out, presentationContext{AbstractSyntax: k.as, TransferSyntaxes: offered(k.ts)})
		}
	}
	return out
}

// SendOptions are the choices of one Send.
type SendOptions struct {
	// Associations is how many associations run in parallel (0 or 1: one).
	Associations int
}

// Send stores every instance, one association per batch of 128 contexts,
// and calls report once per instance (never concurrently). With
// o.Associations > 1 the instances are split into that many contiguous
// runs sent over parallel associations; reports then interleave.
//
// On each association the next instance is opened while the current one
// is stored, so that producing an instance (decrypting and checking it)
// overlaps the network; an instance no accepted context can take is
// refused without being opened. An instance whose Open fails is reported
// as failed and never offered to the peer.
//
// Send returns an error only when nothing could be attempted for some
// batch (e.g. the peer is unreachable); the per-instance results carry the
// rest.
func Send(ctx context.Context, cfg Config, insts []*Instance, o SendOptions, report func(Result)) error {
	n := max(1, min(o.Associations, len(insts)))
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

// sendSerial sends the batches one after the other. A batch that gets no
// association (the peer is unreachable or rejects us) ends the run: the
// next one would be refused the same way, after another timeout, so the
// rest are reported not tried without a new attempt.
func sendSerial(ctx context.Context, cfg Config, insts []*Instance, report func(Result)) error {
	batches := plan(insts)
	for i, batch := range batches {
		if err := sendBatch(ctx, cfg, batch, report); err != nil {
			for _, rest := range batches[i+1:] {
				if ctx.Err() != nil {
					reportRest(rest, Cancelled, ctx.Err(), report)
				} else {
					reportRest(rest, NotTried, fmt.Errorf("no association: %w", err), report)
				}
			}
			return err
		}
	}
	return nil
}

func sendBatch(ctx context.Context, cfg Config, batch []*Instance, report func(Result)) error {
	if ctx.Err() != nil {
		reportRest(batch, Cancelled, ctx.Err(), report)
		return ctx.Err()
	}
	a, err := dial(ctx, cfg, contextsFor(batch))
	if err != nil {
		reportRest(batch, NotTried, fmt.Errorf("no association: %w", err), report)
		return err
	}
	// Cancellation closes the connection under any read or write in
	// progress (net.Conn allows that concurrently); the peer sees the
	// transport close, which PS3.8 §9.1.6 treats as an abort.
	stop := context.AfterFunc(ctx, func() { a.conn.Close() })
	defer stop()
	var ahead *opening // batch[i]'s Open, started while batch[i-1] was stored
	defer func() { ahead.discard() }()
	for i, in := range batch {
		cur := ahead
		ahead = nil
		if ctx.Err() != nil {
			cur.discard()
			a.Abort()
			reportRest(batch[i:], Cancelled, ctx.Err(), report)
			return ctx.Err()
		}
		if id, _ := a.pick(in.SOPClassUID, in.TransferSyntaxUID); id == 0 {
			cur.discard()
			report(Result{Instance: in, Outcome: Refused, Err: a.refusal(in), Size: in.Size})
			continue
		}
		if cur == nil {
			cur = startOpen(in)
		}
		if i+1 < len(batch) {
			if next := batch[i+1]; a.canTake(next) {
				ahead = startOpen(next)
			}
		}
		ds, openErr := cur.wait()
		r, fatal := a.storeOpened(in, ds, openErr)
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
	// Every instance already has its answer; a failed release loses
	// nothing, so it is not reported as a failure.
	_ = a.Release()
	return nil
}

// opening is an Instance.Open running in the background.
type opening struct {
	done chan struct{}
	ds   *DataSet
	err  error
}

func startOpen(in *Instance) *opening {
	o := &opening{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.ds, o.err = in.Open()
	}()
	return o
}

func (o *opening) wait() (*DataSet, error) {
	<-o.done
	return o.ds, o.err
}

// discard closes what an opening not to be sent has opened.
func (o *opening) discard() {
	if o == nil {
		return
	}
	if ds, err := o.wait(); err == nil {
		ds.Close()
	}
}

func reportRest(insts []*Instance, o Outcome, err error, report func(Result)) {
	for _, in := range insts {
		report(Result{Instance: in, Outcome: o, Err: err, Size: in.Size})
	}
}

// Store sends one instance on the association, on the accepted context
// that fits its transfer syntax (see offered). The Result says what the
// peer did; a returned error means the association is gone.
func (a *Assoc) Store(in *Instance) (Result, error) {
	if id, _ := a.pick(in.SOPClassUID, in.TransferSyntaxUID); id == 0 {
		return Result{Instance: in, Outcome: Refused, Err: a.refusal(in), Size: in.Size}, nil
	}
	ds, err := in.Open()
	return a.storeOpened(in, ds, err)
}

// canTake reports whether an accepted context fits in as planned.
func (a *Assoc) canTake(in *Instance) bool {
	id, _ := a.pick(in.SOPClassUID, in.TransferSyntaxUID)
	return id != 0
}

// storeOpened sends an instance whose Open has returned ds, err; fatal is
// set when the association is gone.
func (a *Assoc) storeOpened(in *Instance, ds *DataSet, err error) (r Result, fatal error) {
	r = Result{Instance: in, Size: in.Size}
	if err != nil {
		r.Outcome, r.Err = Failed, fmt.Errorf("cannot read: %w", err)
		return r, nil
	}
	defer ds.Close()
	own := in.TransferSyntaxUID
	if ds.TransferSyntaxUID != "" {
		own = ds.TransferSyntaxUID
	}
	if ds.Size > 0 {
		r.Size = ds.Size
	}
	id, ts := a.pick(in.SOPClassUID, own)
	if id == 0 {
		r.Outcome, r.Err = Refused, a.refusal(&Instance{SOPClassUID: in.SOPClassUID, TransferSyntaxUID: own})
		return r, nil
	}
	r.TransferSyntaxUID = ts
	if r.Size%2 == 1 && own != DeflatedExplicitVR {
		// Every element has an even length (PS3.5 §7.1), so an odd data
		// set is damaged; peers abort on it and it would cost the others.
		r.Outcome, r.Err = Failed, fmt.Errorf("malformed: data set of odd length %d, not sent", r.Size)
		return r, nil
	}
	data, closeData := encode(ds, own, ts)
	defer closeData()
	st, err := a.store(id, in.SOPClassUID, in.SOPInstanceUID, data)
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

// encode turns a data set in transfer syntax own into one in ts, which
// pick chose among offered(own): as it is, inflated, or rewritten to
// implicit VR.
func encode(r io.Reader, own, ts string) (io.Reader, func()) {
	var closers []func()
	data := r
	if ts == DeflatedExplicitVR {
		// PS3.5 §A.5: the deflated stream is padded with one NUL to an
		// even length; some writers forget, and inflate ignores it.
		data = &evenReader{r: r}
	}
	if own == DeflatedExplicitVR && ts != DeflatedExplicitVR {
		fr := flate.NewReader(r)
		closers = append(closers, func() { fr.Close() })
		data = fr
	}
	if ts == ImplicitVRLittleEndian && own != ImplicitVRLittleEndian {
		conv := explicitToImplicit(data)
		closers = append(closers, func() { conv.Close() })
		data = conv
	}
	return data, func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
}

// pick chooses the accepted context for a data set of SOP Class as in
// transfer syntax own: its own transfer syntax first, then the lossless
// rewrites of offered.
func (a *Assoc) pick(as, own string) (byte, string) {
	for _, ts := range offered(own) {
		if id := a.accepted(as, ts); id != 0 {
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
	for _, pc := range a.contexts {
		if pc.AbstractSyntax == in.SOPClassUID && pc.Result == resultAbstractSyntaxUnsupported {
			return fmt.Errorf("%w %s", ErrSOPClassUnsupported, in.SOPClassUID)
		}
	}
	return fmt.Errorf("the peer does not accept transfer syntax %s for SOP Class %s, and the instance is not transcoded", in.TransferSyntaxUID, in.SOPClassUID)
}
