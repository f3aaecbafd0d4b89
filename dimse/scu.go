package dimse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Config describes the two ends of an association requested by an SCU.
type Config struct {
	CallingAE, CalledAE string
	Address             string        // host:port of the peer
	Timeout             time.Duration // per PDU read/write, and a DIMSE reply
	ARTIM               time.Duration // connect, association and release
	MaxPDU              uint32        // what we can receive; 0: DefaultMaxPDU
	// TLS, when set, secures the association (PS3.15 Annex B, Secure
	// Transport Connection Profiles): the TCP connection is a TLS client
	// connection with this configuration, its handshake done within
	// ARTIM. As with crypto/tls.Dial, an empty ServerName is the host of
	// Address. A handshake failure is a *TLSError.
	TLS *tls.Config
}

// TLSError is a failed TLS handshake (Addr is the peer's), as crypto/tls
// reported it: often an x509 error about the peer's certificate, or a tls
// alert by which the peer refused ours.
type TLSError struct {
	Addr string
	Err  error
}

func (e *TLSError) Error() string { return "TLS handshake with " + e.Addr + ": " + e.Err.Error() }
func (e *TLSError) Unwrap() error { return e.Err }

// Peer is the other end of an association, as its A-ASSOCIATE said: its
// implementation (PS3.7 D.3.3.2).
type Peer struct {
	ImplClassUID, ImplVersion string
}

// Dial connects and negotiates an association that can store insts: one
// presentation context per SOP Class and transfer syntax among them, each
// offering the instance's own transfer syntax and the lossless rewrites
// Store may make (see offered); at most 128 contexts (PS3.8 §9.3.2.2).
// With no instances it proposes the Verification SOP Class, for Echo.
func Dial(ctx context.Context, cfg Config, insts ...*Instance) (*Assoc, error) {
	contexts := contextsFor(insts)
	if len(insts) == 0 {
		contexts = []presentationContext{{AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}}}
	}
	return dial(ctx, cfg, contexts)
}

// Peer identifies the other end of the association.
func (a *Assoc) Peer() Peer {
	return Peer{ImplClassUID: a.peer.ImplClassUID, ImplVersion: a.peer.ImplVersion}
}

// dial connects and proposes contexts. IDs are assigned here (odd, in
// order, PS3.8 §9.3.2.2), so at most 128. Contexts the peer rejected stay
// in a.contexts with their result.
func dial(ctx context.Context, cfg Config, contexts []presentationContext) (*Assoc, error) {
	return dialRoles(ctx, cfg, contexts, nil)
}

// dialRoles is dial proposing SCP/SCU roles too (PS3.7 §D.3.3.4).
func dialRoles(ctx context.Context, cfg Config, contexts []presentationContext, roles []roleSelection) (*Assoc, error) {
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
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if cfg.TLS != nil {
		if c, err = clientHandshake(ctx, c, cfg, artim); err != nil {
			return nil, err
		}
	}
	a := newAssoc(c, cfg.Timeout, artim, cfg.MaxPDU)
	if err := a.requestAssociation(cfg, contexts, roles); err != nil {
		a.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if oe, ok := errors.AsType[*net.OpError](err); ok && cfg.TLS != nil && oe.Op == "remote error" {
			// In TLS 1.3 a server refuses our certificate after our side
			// of the handshake is done: its alert arrives on the first read.
			return nil, &TLSError{Addr: cfg.Address, Err: oe}
		}
		if cfg.TLS != nil && resetByPeer(err) {
			// Or the server drops the connection instead of sending its
			// alert (dcmtk does, now and then): our first write meets a
			// reset.
			return nil, &TLSError{Addr: cfg.Address, Err: fmt.Errorf("%w (%w)", ErrClosedAfterHandshake, err)}
		}
		return nil, err
	}
	return a, nil
}

// ErrClosedAfterHandshake is a TLS peer that closed the connection at
// once after the handshake, before any association: in TLS 1.3 that is how
// a server that refuses our certificate may end it.
var ErrClosedAfterHandshake = errors.New("the peer closed the connection right after the TLS handshake")

// resetByPeer tells an error of a connection the peer reset or closed.
func resetByPeer(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// clientHandshake makes c a TLS client connection (closing c on failure).
func clientHandshake(ctx context.Context, c net.Conn, cfg Config, artim time.Duration) (net.Conn, error) {
	tcfg := cfg.TLS
	if tcfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(cfg.Address); err == nil {
			tcfg = tcfg.Clone()
			tcfg.ServerName = host
		}
	}
	tc := tls.Client(c, tcfg)
	err := c.SetDeadline(time.Now().Add(artim))
	if err == nil {
		err = tc.HandshakeContext(ctx)
	}
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &TLSError{Addr: cfg.Address, Err: err}
	}
	return tc, nil
}

func (a *Assoc) requestAssociation(cfg Config, contexts []presentationContext, roles []roleSelection) error {
	rq := &associate{CalledAE: cfg.CalledAE, CallingAE: cfg.CallingAE, MaxLength: a.ourMax,
		ImplClassUID: ImplClassUID, ImplVersion: ImplVersion, roles: roles}
	proposed := map[byte]presentationContext{}
	for i, pc := range contexts {
		pc.ID = byte(2*i + 1)
		rq.contexts = append(rq.contexts, pc)
		proposed[pc.ID] = pc
	}
	pdu, err := encodeAssociate(typeAssociateRQ, rq)
	if err != nil {
		return err
	}
	if err := a.write(pdu); err != nil {
		return err
	}
	typ, body, err := a.read(a.artim)
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
	a.peer, a.peerMax = ac, ac.MaxLength
	for _, pc := range ac.contexts {
		p, ok := proposed[pc.ID]
		if !ok {
			continue
		}
		if pc.Result == resultAcceptance && (len(pc.TransferSyntaxes) != 1 || !contains(p.TransferSyntaxes, pc.TransferSyntaxes[0])) {
			// Accepting a syntax we did not propose would make us send
			// data the peer decodes wrongly: treat as rejected.
			pc.Result = resultTransferSyntaxUnsupported
		}
		pc.AbstractSyntax = p.AbstractSyntax
		a.contexts[pc.ID] = pc
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
func (a *Assoc) accepted(as, ts string) byte {
	for id, pc := range a.contexts {
		if pc.Result == resultAcceptance && pc.AbstractSyntax == as && pc.TransferSyntaxes[0] == ts {
			return id
		}
	}
	return 0
}

// Echo sends C-ECHO-RQ and waits for the response (PS3.7 §9.1.5).
func (a *Assoc) Echo() (Status, error) {
	id := a.accepted(VerificationSOPClass, "1.2.840.10008.1.2")
	for cid, pc := range a.contexts {
		if id == 0 && pc.Result == resultAcceptance && pc.AbstractSyntax == VerificationSOPClass {
			id = cid
		}
	}
	if id == 0 {
		return Status{}, errors.New("the peer did not accept the Verification SOP Class")
	}
	rq := &command{Field: cEchoRQ, MessageID: a.nextMessageID(), AffectedSOPClass: VerificationSOPClass}
	if err := a.sendCommand(id, rq); err != nil {
		return Status{}, err
	}
	return a.awaitResponse(cEchoRSP, rq.MessageID)
}

// Echo opens an association for the Verification SOP Class, sends one
// C-ECHO and releases the association: what "securemedia echo" and the
// viewer's "Test connection" do. A status other than success is returned
// as is, not as an error. peer is nil when no association was made (the
// error is then the dial's).
func Echo(ctx context.Context, cfg Config) (st Status, peer *Peer, err error) {
	a, err := Dial(ctx, cfg)
	if err != nil {
		return Status{}, nil, err
	}
	p := a.Peer()
	if st, err = a.Echo(); err != nil {
		a.Abort()
		return Status{}, &p, err
	}
	_ = a.Release()
	return st, &p, nil
}

// store sends one C-STORE-RQ on context ctxID with the data set read from
// data, which must already be in the context's transfer syntax and must
// not contain group 0002 (PS3.7 §9.1.1). A returned error means the
// association is unusable; a failure status is not an error.
func (a *Assoc) store(ctxID byte, sopClass, sopInstance string, data io.Reader) (Status, error) {
	rq := &command{Field: cStoreRQ, MessageID: a.nextMessageID(), AffectedSOPClass: sopClass,
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
	return a.awaitResponse(cStoreRSP, rq.MessageID)
}

// awaitResponse reads the response to message id. The SCP may take as long
// as it likes to store an instance, but not longer than Timeout in silence.
func (a *Assoc) awaitResponse(field, id uint16) (Status, error) {
	c, _, err := a.readCommand(a.timeout)
	if err != nil {
		if errors.Is(err, errReleased) {
			return Status{}, errors.New("the peer released the association instead of answering")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			a.Abort()
			return Status{}, fmt.Errorf("no response from the peer within %v", a.timeout)
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
