package importer

import (
	"context"
	"errors"
	"io"

	"github.com/securemedia/securemedia/dimse"
)

// Item is the result of one instance.
type Item struct {
	Label  string // the File ID on the medium (A/B/C), or a file name
	UID    string // SOP Instance UID, when known
	Result string // sent, warning, failed, refused, not sent, cancelled, skipped
	Detail string // why, in one line; "" when sent
	Failed bool   // not stored (a skipped instance is not failed)
	// Damaged is set when the medium's copy failed its integrity check, or
	// could not be read, or is not the instance its directory record
	// names: it was never offered to the peer.
	Damaged bool
	Size    int64         // data set bytes
	Outcome dimse.Outcome // when it was offered
	Status  dimse.Status  // the peer's answer, when there was one
	Err     error         // the cause, when not stored
}

// ErrNoInstances means the DICOMDIR (or the selection) names no instance.
var ErrNoInstances = errors.New("the medium's DICOMDIR references no instances")

// Reconcile makes every instance's data set carry the new patient identity
// c when it is opened (IHE IRWF, see Rewrite). The caller checks c first
// (c.Check).
func Reconcile(insts []*dimse.Instance, c Change) {
	if c.Empty() {
		return
	}
	for _, in := range insts {
		reconcileOnOpen(in, c)
	}
}

func reconcileOnOpen(in *dimse.Instance, c Change) {
	open, planned := in.Open, in.TransferSyntaxUID
	in.Open = func() (*dimse.DataSet, error) {
		ds, err := open()
		if err != nil {
			return nil, err
		}
		ts := planned
		if ds.TransferSyntaxUID != "" {
			ts = ds.TransferSyntaxUID
		}
		r, err := Rewrite(ds, ts, c)
		if err != nil {
			ds.Close()
			return nil, err
		}
		// The rewritten data set is longer by the elements added: its
		// size is unknown, and the odd-length check keeps the original's.
		return &dimse.DataSet{ReadCloser: struct {
			io.Reader
			io.Closer
		}{r, ds}, TransferSyntaxUID: ds.TransferSyntaxUID, Size: ds.Size}, nil
	}
}

// Send stores insts with dimse.Send (one association per batch of 128
// presentation contexts, associations of them in parallel) and calls
// report once per instance, never concurrently. An instance that failed
// to open (a damaged copy on the medium) is reported Damaged: it was never
// offered. The error is dimse.Send's: set when nothing could be attempted
// for some batch (e.g. the peer is unreachable); the items say so per
// instance too.
func Send(ctx context.Context, cfg dimse.Config, insts []*dimse.Instance, associations int, report func(Item)) error {
	return dimse.Send(ctx, cfg, insts, dimse.SendOptions{Associations: associations}, func(r dimse.Result) {
		it := Item{Label: r.Instance.Label, UID: r.Instance.SOPInstanceUID, Result: r.Outcome.String(), Detail: r.Detail(),
			Failed: !r.Outcome.Stored(), Size: r.Size, Outcome: r.Outcome, Status: r.Status, Err: r.Err}
		var oe *openError
		if errors.As(r.Err, &oe) {
			it.Damaged, it.Err, it.Detail = true, oe.err, "not sent: "+oe.err.Error()
		}
		report(it)
	})
}

// openError marks an instance that could not be read from its source:
// dimse reports it failed; Send reports it damaged, never offered.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }
