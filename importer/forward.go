package importer

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/media"
)

// Item is the result of one instance.
type Item struct {
	Label  string // the File ID on the medium (A/B/C), or a file name
	UID    string // SOP Instance UID, when known
	Result string // sent, warning, failed, refused, not sent, cancelled, skipped
	Detail string // why, in one line; "" when sent
	Failed bool   // not stored (a skipped instance is not failed)
	// Damaged is set when the medium's copy failed its integrity check
	// (or could not be read): it was never offered to the peer.
	Damaged bool
	Size    int64         // data set bytes
	Outcome dimse.Outcome // when it was offered
	Status  dimse.Status  // the peer's answer, when there was one
	Err     error         // the cause, when not stored
}

// ErrNoInstances means the DICOMDIR (or the selection) names no instance.
var ErrNoInstances = errors.New("the medium's DICOMDIR references no instances")

// Check prepares the instances ids of the unlocked medium d (all of them
// when ids is nil) for sending: each is decrypted to its end, which checks
// its integrity and gives its size. Those that fail are returned as
// damaged items, never as instances. progress, if set, is called after
// each instance with the number checked so far. The medium must stay open
// until the instances are sent.
func Check(ctx context.Context, d *media.Disc, ids [][]string, progress func(done, total int)) ([]*dimse.Instance, []Item, error) {
	if ids == nil {
		ids = d.Instances()
	}
	var out []*dimse.Instance
	var bad []Item
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		label := strings.Join(id, "/")
		in, err := check(d, id, label)
		if err != nil {
			bad = append(bad, Item{Label: label, Result: "failed", Detail: "not sent: " + err.Error(), Failed: true, Damaged: true, Err: err})
		} else {
			out = append(out, in)
		}
		if progress != nil {
			progress(i+1, len(ids))
		}
	}
	if len(out)+len(bad) == 0 {
		return nil, nil, ErrNoInstances
	}
	return out, bad, nil
}

func check(d *media.Disc, id []string, label string) (*dimse.Instance, error) {
	size, err := plainSize(d, id)
	if err != nil {
		return nil, err
	}
	return dimse.StreamInstance(func() (io.ReadCloser, error) { return d.OpenFile(id) }, size, label)
}

// plainSize decrypts an instance to its end (checking its integrity) and
// returns its size.
func plainSize(d *media.Disc, id []string) (int64, error) {
	r, err := d.OpenFile(id)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(io.Discard, r)
}

// Reconcile makes every instance's data set carry the new patient identity
// c when it is opened (IHE IRWF, see internal/reconcile). The caller checks
// c first (c.Check).
func Reconcile(insts []*dimse.Instance, c Change) {
	if c.Empty() {
		return
	}
	for _, in := range insts {
		reconcileOnOpen(in, c)
	}
}

func reconcileOnOpen(in *dimse.Instance, c Change) {
	open, ts := in.Open, in.TransferSyntaxUID
	in.Open = func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, err
		}
		r, err := Rewrite(rc, ts, c)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{r, rc}, nil
	}
}

// Send stores insts with dimse.SendAll (one association per batch of 128
// presentation contexts, cfg.Associations in parallel) and calls report
// once per instance, never concurrently. The error is SendAll's: set when
// nothing could be attempted for some batch (e.g. the peer is unreachable);
// the items say so per instance too.
func Send(ctx context.Context, cfg dimse.Config, insts []*dimse.Instance, report func(Item)) error {
	return dimse.SendAll(ctx, cfg, insts, func(r dimse.Result) {
		report(Item{Label: r.Instance.Label, UID: r.Instance.SOPInstanceUID, Result: r.Outcome.String(), Detail: r.Detail(),
			Failed: !r.Outcome.Stored(), Size: r.Instance.Size, Outcome: r.Outcome, Status: r.Status, Err: r.Err})
	})
}
