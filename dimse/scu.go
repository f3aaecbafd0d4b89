package dimse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Config describes the two ends of an association requested by an SCU.
type Config struct {
	CallingAE, CalledAE string
	Address             string        // host:port of the peer
	Timeout             time.Duration // per PDU read/write, and a DIMSE reply
	ARTIM               time.Duration // connect, association and release
	MaxPDU              uint32        // what we can receive; 0: DefaultMaxPDU
	// Associations is how many associations SendAll uses in parallel
	// (0 or 1: one at a time).
	Associations int
}

// Dial connects and negotiates an association proposing contexts. IDs are
// assigned here (odd, in order, PS3.8 §9.3.2.2), so at most 128 contexts.
// Contexts the peer rejected stay in Assoc.Contexts with their Result.
func Dial(ctx context.Context, cfg Config, contexts []PresentationContext) (*Assoc, error) {
	if len(contexts) == 0 || len(contexts) > 128 {
		return nil, fmt.Errorf("dimse: %d presentation contexts (1 to 128 allowed)", len(contexts))
	}
	artim := cfg.ARTIM
	if artim <= 0 {
		artim = DefaultARTIM
	}
	d := net.Dialer{Timeout: artim}
	c, err := d.DialContext(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // one PDU per write; Nagle only adds latency
	}
	a := newAssoc(c, cfg.Timeout, artim, cfg.MaxPDU)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if err := a.requestAssociation(cfg, contexts); err != nil {
		a.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return a, nil
}

func (a *Assoc) requestAssociation(cfg Config, contexts []PresentationContext) error {
	rq := &Associate{CalledAE: cfg.CalledAE, CallingAE: cfg.CallingAE, MaxLength: a.ourMax,
		ImplClassUID: ImplClassUID, ImplVersion: ImplVersion}
	proposed := map[byte]PresentationContext{}
	for i, pc := range contexts {
		pc.ID = byte(2*i + 1)
		rq.Contexts = append(rq.Contexts, pc)
		proposed[pc.ID] = pc
	}
	pdu, err := encodeAssociate(typeAssociateRQ, rq)
	if err != nil {
		return err
	}
	if err := a.write(pdu); err != nil {
		return err
	}
	typ, body, err := a.read(a.ARTIM)
	if err != nil {
		return fmt.Errorf("waiting for A-ASSOCIATE-AC: %w", err)
	}
	switch typ {
	case typeAssociateAC:
	case typeAssociateRJ:
		rj, err := decodeReject(body)
		if err != nil {
			return err
		}
		return rj
	case typeAbort:
		return decodeAbort(body)
	default:
		return protoErr("PDU type %#x in reply to A-ASSOCIATE-RQ", typ)
	}
	ac, err := decodeAssociate(typ, body)
	if err != nil {
		a.abortProvider()
		return err
	}
	a.Peer, a.peerMax = ac, ac.MaxLength
	for _, pc := range ac.Contexts {
		p, ok := proposed[pc.ID]
		if !ok {
			continue
		}
		if pc.Result == ResultAcceptance && (len(pc.TransferSyntaxes) != 1 || !contains(p.TransferSyntaxes, pc.TransferSyntaxes[0])) {
			// Accepting a syntax we did not propose would make us send
			// data the peer decodes wrongly: treat as rejected.
			pc.Result = ResultTransferSyntaxUnsupported
		}
		pc.AbstractSyntax = p.AbstractSyntax
		a.Contexts[pc.ID] = pc
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Accepted returns the ID of an accepted context for abstract syntax as
// with transfer syntax ts, or 0.
func (a *Assoc) Accepted(as, ts string) byte {
	for id, pc := range a.Contexts {
		if pc.Result == ResultAcceptance && pc.AbstractSyntax == as && pc.TransferSyntaxes[0] == ts {
			return id
		}
	}
	return 0
}

// Echo sends C-ECHO-RQ and waits for the response (PS3.7 §9.1.5).
func (a *Assoc) Echo() (Status, error) {
	id := a.Accepted(VerificationSOPClass, "1.2.840.10008.1.2")
	for cid, pc := range a.Contexts {
		if id == 0 && pc.Result == ResultAcceptance && pc.AbstractSyntax == VerificationSOPClass {
			id = cid
		}
	}
	if id == 0 {
		return Status{}, errors.New("the peer did not accept the Verification SOP Class")
	}
	rq := &Command{Field: CEchoRQ, MessageID: a.nextMessageID(), AffectedSOPClass: VerificationSOPClass}
	if err := a.sendCommand(id, rq); err != nil {
		return Status{}, err
	}
	return a.awaitResponse(CEchoRSP, rq.MessageID)
}

// EchoPeer opens an association for the Verification SOP Class, sends one
// C-ECHO and releases the association: what "securemedia echo" and the
// viewer's "Test connection" do. A status other than success is returned
// as is, not as an error. peer, the peer's A-ASSOCIATE-AC, is nil when no
// association was made (the error is then the dial's).
func EchoPeer(ctx context.Context, cfg Config) (st Status, peer *Associate, err error) {
	a, err := Dial(ctx, cfg, []PresentationContext{{AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}}})
	if err != nil {
		return Status{}, nil, err
	}
	if st, err = a.Echo(); err != nil {
		a.Abort()
		return Status{}, a.Peer, err
	}
	_ = a.Release()
	return st, a.Peer, nil
}

// Store sends one C-STORE-RQ on context ctxID with the data set read from
// data, which must already be in the context's transfer syntax and must
// not contain group 0002 (PS3.7 §9.1.1). A returned error means the
// association is unusable; a failure status is not an error.
func (a *Assoc) Store(ctxID byte, sopClass, sopInstance string, data io.Reader) (Status, error) {
	rq := &Command{Field: CStoreRQ, MessageID: a.nextMessageID(), AffectedSOPClass: sopClass,
		AffectedSOPInstance: sopInstance, HasDataSet: true}
	if err := a.sendCommand(ctxID, rq); err != nil {
		return Status{}, err
	}
	if err := a.sendFragments(ctxID, false, data); err != nil {
		var se *sourceError
		if errors.As(err, &se) {
			a.Abort()
		}
		return Status{}, err
	}
	return a.awaitResponse(CStoreRSP, rq.MessageID)
}

// awaitResponse reads the response to message id. The SCP may take as long
// as it likes to store an instance, but not longer than Timeout in silence.
func (a *Assoc) awaitResponse(field, id uint16) (Status, error) {
	c, _, err := a.readCommand(a.Timeout)
	if err != nil {
		if errors.Is(err, errReleased) {
			return Status{}, errors.New("the peer released the association instead of answering")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			a.Abort()
			return Status{}, fmt.Errorf("no response from the peer within %v", a.Timeout)
		}
		return Status{}, err
	}
	if c.Field != field || c.MessageIDRespondedTo != id {
		a.abortProvider()
		return Status{}, protoErr("expected response %#04x to message %d, got %#04x to %d", field, id, c.Field, c.MessageIDRespondedTo)
	}
	if c.HasDataSet {
		a.abortProvider()
		return Status{}, protoErr("response carries a data set")
	}
	return Status{Code: c.Status, ErrorComment: c.ErrorComment, OffendingElements: c.OffendingElementsTags}, nil
}
