package dimse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Query/Retrieve Information Models for C-FIND (PS3.4 Annex C.6).
const (
	PatientRootFind = "1.2.840.10008.5.1.4.1.2.1.1"
	StudyRootFind   = "1.2.840.10008.5.1.4.1.2.2.1"
)

// Bounds on what a peer may make Find read. A real identifier is a few
// hundred bytes; a peer still talking long after C-CANCEL is not
// cancelling.
const (
	maxIdentifierBytes    = 1 << 20
	maxIdentifierElements = 4096
	maxResponsesAfterStop = 4096
)

// ErrTooManyMatches is returned by Find when the peer had more matches than
// asked for: the query was cancelled after the limit, and the caller should ask
// for a narrower one.
var ErrTooManyMatches = errors.New("more matches than the limit")

// findSyntaxes are what Find proposes for the identifier: explicit VR
// first, since it keeps the VRs of attributes our dictionary lacks.
var findSyntaxes = []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}

// Find opens an association for model (PatientRootFind or StudyRootFind),
// sends one C-FIND-RQ with identifier (PS3.4 Annex C, PS3.7 §9.1.2) and
// passes each matching identifier the peer returns to match, in order. The
// final status is returned as the peer gave it (success, cancel, failure),
// not as an error. After limit matches, one more makes Find cancel the query
// (C-CANCEL-RQ) and return ErrTooManyMatches; an error from match aborts
// the association and is returned. Each response identifier is bounded
// (1 MiB); one that does not decode is an error.
func Find(ctx context.Context, cfg Config, model string, identifier []*dicom.Element, limit int,
	match func([]*dicom.Element) error) (Status, error) {
	if limit < 1 {
		return Status{}, fmt.Errorf("dimse: Find with limit %d (at least 1 needed)", limit)
	}
	query, err := sortedIdentifier(identifier)
	if err != nil {
		return Status{}, err
	}
	a, err := dial(ctx, cfg, []presentationContext{{AbstractSyntax: model, TransferSyntaxes: findSyntaxes}})
	if err != nil {
		return Status{}, err
	}
	// Cancelling ctx interrupts whatever read or write is under way.
	stop := context.AfterFunc(ctx, func() { a.conn.SetDeadline(time.Now()) })
	defer stop()
	st, err := a.find(model, query, limit, match)
	switch {
	case a.closed:
	case err == nil || errors.Is(err, ErrTooManyMatches):
		_ = a.Release()
	default:
		a.Abort()
	}
	if ctx.Err() != nil {
		return Status{}, ctx.Err()
	}
	return st, err
}

// sortedIdentifier copies identifier in tag order (PS3.5 §7.1) and refuses
// command, meta and directory elements, which a data set never holds.
func sortedIdentifier(identifier []*dicom.Element) ([]*dicom.Element, error) {
	out := append([]*dicom.Element(nil), identifier...)
	for _, e := range out {
		if e.Tag.Group() < 0x0008 {
			return nil, fmt.Errorf("dimse: identifier element %v is not a data set element", e.Tag)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

// find runs one C-FIND on an established association.
func (a *Assoc) find(model string, query []*dicom.Element, limit int, match func([]*dicom.Element) error) (Status, error) {
	ctxID, syntax, err := a.findContext(model)
	if err != nil {
		return Status{}, err
	}
	data, err := encodeIdentifier(query, syntax)
	if err != nil {
		return Status{}, err
	}
	rq := &command{Field: cFindRQ, MessageID: a.nextMessageID(), AffectedSOPClass: model, HasDataSet: true}
	if err := a.sendRequest(ctxID, rq, data); err != nil {
		return Status{}, err
	}
	for n := 0; ; n++ {
		c, err := a.awaitFindResponse(ctxID, rq.MessageID)
		if err != nil {
			return Status{}, err
		}
		if !pending(c.Status) {
			return statusOf(c), a.skipDataSet(c, ctxID)
		}
		if !c.HasDataSet {
			a.abortProvider()
			return Status{}, protoErr("pending C-FIND response without an identifier")
		}
		b, err := a.readIdentifier(ctxID)
		if err != nil {
			return Status{}, err
		}
		if n == limit {
			return a.cancelFind(ctxID, rq.MessageID)
		}
		elems, err := decodeIdentifier(b, syntax)
		if err != nil {
			return Status{}, fmt.Errorf("C-FIND response %d: %w", n+1, err)
		}
		if err := match(elems); err != nil {
			return Status{}, err
		}
	}
}

// encodeIdentifier encodes a request's identifier in the context's syntax.
func encodeIdentifier(elems []*dicom.Element, s dicom.Syntax) ([]byte, error) {
	var data []byte
	for _, e := range elems {
		var err error
		if data, err = dicom.AppendElementSyntax(data, e, s); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// sendRequest sends a request command and its identifier.
func (a *Assoc) sendRequest(ctxID byte, rq *command, identifier []byte) error {
	if err := a.sendCommand(ctxID, rq); err != nil {
		return err
	}
	return a.sendFragments(ctxID, false, &byteReader{identifier})
}

// findContext returns the accepted context for model and the encoding of
// its data sets.
func (a *Assoc) findContext(model string) (byte, dicom.Syntax, error) {
	for _, ts := range findSyntaxes {
		if id := a.accepted(model, ts); id != 0 {
			s, _ := dicom.SyntaxOf(ts)
			return id, s, nil
		}
	}
	return 0, dicom.Syntax{}, fmt.Errorf("the peer did not accept the %s", modelName(model))
}

func modelName(model string) string {
	switch model {
	case PatientRootFind:
		return "Patient Root Query/Retrieve Information Model (C-FIND)"
	case StudyRootFind:
		return "Study Root Query/Retrieve Information Model (C-FIND)"
	case StudyRootMove:
		return "Study Root Query/Retrieve Information Model (C-MOVE)"
	case StudyRootGet:
		return "Study Root Query/Retrieve Information Model (C-GET)"
	case PatientRootMove:
		return "Patient Root Query/Retrieve Information Model (C-MOVE)"
	case PatientRootGet:
		return "Patient Root Query/Retrieve Information Model (C-GET)"
	}
	return "SOP Class " + model
}

// pending reports the C-FIND statuses that carry a match (PS3.4 Table
// C.4-1): FF00, and FF01 (optional keys not supported).
func pending(code uint16) bool { return code == 0xFF00 || code == 0xFF01 }

func statusOf(c *command) Status {
	return Status{Code: c.Status, ErrorComment: c.ErrorComment, OffendingElements: c.OffendingElementsTags}
}

// awaitFindResponse reads the next C-FIND-RSP to message id on ctxID.
// Unlike awaitResponse it allows a data set, which pending responses
// carry.
func (a *Assoc) awaitFindResponse(ctxID byte, id uint16) (*command, error) {
	c, got, err := a.readCommand(a.timeout)
	if err != nil {
		return nil, a.responseError(err)
	}
	if c.Field != cFindRSP || c.MessageIDRespondedTo != id || got != ctxID {
		a.abortProvider()
		return nil, protoErr("expected C-FIND-RSP to message %d on context %d, got %#04x to %d on context %d",
			id, ctxID, c.Field, c.MessageIDRespondedTo, got)
	}
	return c, nil
}

// responseError words a failure to read a response as awaitResponse does.
func (a *Assoc) responseError(err error) error {
	if errors.Is(err, errReleased) {
		return errors.New("the peer released the association instead of answering")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		a.Abort()
		return fmt.Errorf("no response from the peer within %v", a.timeout)
	}
	return err
}

// readIdentifier reads the data set that follows a response, at most
// maxIdentifierBytes of it; a longer one aborts the association.
func (a *Assoc) readIdentifier(ctxID byte) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(&dataReader{a: a, ctxID: ctxID}, maxIdentifierBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading a C-FIND identifier: %w", a.responseError(err))
	}
	if len(b) > maxIdentifierBytes {
		a.Abort()
		return nil, fmt.Errorf("a C-FIND identifier longer than %d bytes", maxIdentifierBytes)
	}
	return b, nil
}

// skipDataSet reads and drops the data set of a final response, which
// PS3.4 does not expect but some peers send (with a failure, say).
func (a *Assoc) skipDataSet(c *command, ctxID byte) error {
	if !c.HasDataSet {
		return nil
	}
	_, err := a.readIdentifier(ctxID)
	return err
}

// decodeIdentifier parses a response identifier; it must decode to its
// end, within maxIdentifierElements.
func decodeIdentifier(b []byte, s dicom.Syntax) ([]*dicom.Element, error) {
	r := dicom.NewReader(bytes.NewReader(b), 0, s)
	r.MaxElements = maxIdentifierElements
	var out []*dicom.Element
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("malformed identifier: %w", err)
		}
		out = append(out, e)
	}
}

// cancelFind sends C-CANCEL-RQ for message id and reads the responses
// still under way, dropping their identifiers, up to the final one. The
// cut is reported even when the cancel fails (the association is then
// aborted): the matches already passed on stand.
func (a *Assoc) cancelFind(ctxID byte, id uint16) (Status, error) {
	st, err := a.awaitCancelled(ctxID, id)
	if err != nil {
		return st, fmt.Errorf("%w (cancelling the query: %v)", ErrTooManyMatches, err)
	}
	return st, ErrTooManyMatches
}

func (a *Assoc) awaitCancelled(ctxID byte, id uint16) (Status, error) {
	if err := a.sendCommand(ctxID, &command{Field: cCancelRQ, MessageIDRespondedTo: id}); err != nil {
		return Status{}, err
	}
	for range maxResponsesAfterStop {
		c, err := a.awaitFindResponse(ctxID, id)
		if err != nil {
			return Status{}, err
		}
		if err := a.skipDataSet(c, ctxID); err != nil {
			return Status{}, err
		}
		if !pending(c.Status) {
			return statusOf(c), nil
		}
	}
	a.Abort()
	return Status{}, fmt.Errorf("the peer sent more than %d responses after C-CANCEL-RQ", maxResponsesAfterStop)
}
