package dimse

import (
	"container/list"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// StoreRequest describes an incoming C-STORE.
type StoreRequest struct {
	CallingAE, CalledAE string
	SOPClassUID         string
	SOPInstanceUID      string
	TransferSyntaxUID   string // of the data set, as negotiated
}

// StoreHandler receives one instance. data yields the data set (no group
// 0002) in req.TransferSyntaxUID; the handler should read it to the end
// and return the status to send back. Whatever it leaves unread is
// discarded.
type StoreHandler func(ctx context.Context, req StoreRequest, data io.Reader) Status

// Server is a C-ECHO and C-STORE SCP.
//
// A connection goes through two stages, bounded separately so that idle
// sockets cannot keep a real sender out: until its A-ASSOCIATE-RQ has been
// accepted it is pending (at most MaxPending of them, each given ARTIM for
// its TLS handshake and its request; when a new connection would exceed
// MaxPending the oldest pending one is closed); only an accepted
// association holds one of the MaxAssociations slots, and it is closed
// after Timeout without a message.
type Server struct {
	// AETitle is the called AE title we answer to; empty accepts any.
	AETitle string
	// AllowCalling, when set, decides whether a calling AE title, coming
	// from remote, may associate; others are rejected permanently by the
	// service user with reason 3, calling AE title not recognized (PS3.8
	// §9.3.4, Table 9-21). Nil accepts any.
	AllowCalling func(callingAE string, remote net.Addr) bool
	Store        StoreHandler
	Timeout      time.Duration // per PDU, as for Assoc: an association silent longer is closed
	// ARTIM is the time a new connection has for its TLS handshake and its
	// A-ASSOCIATE-RQ together (0: DefaultServerARTIM), then for a release.
	ARTIM  time.Duration
	MaxPDU uint32
	// MaxAssociations bounds concurrent associations (0: 16); more are
	// rejected transiently ("local limit exceeded", PS3.8 Table 9-21) so
	// the sender retries later instead of overloading the disk.
	MaxAssociations int
	// MaxPending bounds the connections that have not yet been accepted as
	// associations (0: DefaultMaxPending).
	MaxPending int
	// Syntaxes, when set, are the only transfer syntaxes accepted, in our
	// order of preference; otherwise every Acceptable one is, in the
	// proposer's order.
	Syntaxes []string
	// TLS, when set, makes every connection a TLS server connection with
	// this configuration (PS3.15 Annex B, Secure Transport Connection
	// Profiles): the handshake must complete within ARTIM. As with
	// net/http's Server.TLSConfig, client certificates are required only
	// if its ClientAuth says so.
	TLS *tls.Config
	// Refused, when set, is told of every connection that ended without an
	// association: a failed TLS handshake, nothing (or no A-ASSOCIATE-RQ)
	// within ARTIM, a rejected request (err is then a *TLSError or a
	// *Refusal); not of
	// one closed by its peer before it sent anything (a port probe). It
	// must be safe for concurrent use.
	Refused func(remote net.Addr, err error)
}

// Defaults of a Server: a connection that sends nothing is cheap to keep
// but must not stay long; the pending connections are many more than the
// associations, so that a flood of idle ones is shed before it reaches
// them.
const (
	DefaultServerARTIM = 5 * time.Second
	DefaultMaxPending  = 256
)

// Refusal is an association request the server rejected.
type Refusal struct {
	CallingAE, CalledAE string
	Reject
}

func (r *Refusal) Error() string {
	reason, ok := rejectReasons[[2]byte{r.Source, r.Reason}]
	if !ok {
		reason = fmt.Sprintf("source %d, reason %d", r.Source, r.Reason)
	}
	return fmt.Sprintf("association from %q to %q rejected: %s", r.CallingAE, r.CalledAE, reason)
}

// transferSyntaxes the SCP accepts. Data is stored as received, so any
// DICOM transfer syntax is fine as long as its data set is little endian
// explicit VR after the encapsulation; listing them keeps us honest.
var storableSyntaxes = map[string]bool{
	"1.2.840.10008.1.2": true, "1.2.840.10008.1.2.1": true, "1.2.840.10008.1.2.2": true,
	"1.2.840.10008.1.2.1.99": true, "1.2.840.10008.1.2.5": true,
}

// Acceptable reports whether the SCP accepts transfer syntax ts: the
// uncompressed, deflated and RLE ones, and the encapsulated families
// 1.2.840.10008.1.2.4.* (JPEG, JPEG-LS, JPEG 2000, MPEG, HEVC, HTJ2K).
func acceptable(ts string) bool {
	return storableSyntaxes[ts] || strings.HasPrefix(ts, "1.2.840.10008.1.2.4.")
}

// Serve accepts associations on ln until ctx is cancelled, then waits for
// the associations in progress to end (each within its timeouts). The
// accept loop itself never waits for a peer.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	limit := s.MaxAssociations
	if limit <= 0 {
		limit = 16
	}
	slots := make(chan struct{}, limit)
	pend := &pendingConns{max: s.MaxPending, l: list.New()}
	if pend.max <= 0 {
		pend.max = DefaultMaxPending
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		e := pend.add(c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c, pend, e, slots)
		}()
	}
}

// pendingConns are the connections not yet associated, oldest first.
type pendingConns struct {
	mu  sync.Mutex
	max int
	l   *list.List // of *pendingConn
}

type pendingConn struct {
	c       net.Conn
	evicted bool
}

// add records c, closing the oldest pending connection if c is one too
// many: it has had the longest time to send its request.
func (p *pendingConns) add(c net.Conn) *list.Element {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l.Len() >= p.max {
		old := p.l.Remove(p.l.Front()).(*pendingConn)
		old.evicted = true
		old.c.Close()
	}
	return p.l.PushBack(&pendingConn{c: c})
}

func (p *pendingConns) remove(e *list.Element) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.l.Remove(e) // a no-op if add closed it already
}

// why replaces err by the reason a connection was closed, if add closed
// it to make room.
func (p *pendingConns) why(e *list.Element, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Value.(*pendingConn).evicted {
		return fmt.Errorf("closed without an association to make room: more than %d connections had not sent an A-ASSOCIATE-RQ", p.max)
	}
	return err
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, pend *pendingConns, e *list.Element, slots chan struct{}) {
	defer pend.remove(e)
	// An aborted server aborts its associations (PS3.8 §7.3).
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	artim := s.ARTIM
	if artim <= 0 {
		artim = DefaultServerARTIM
	}
	deadline := time.Now().Add(artim)
	refused := func(err error) {
		if s.Refused != nil && !errors.Is(err, io.EOF) { // io.EOF: closed before sending anything (a port probe)
			s.Refused(c.RemoteAddr(), pend.why(e, err))
		}
	}
	conn := c
	if s.TLS != nil {
		tc := tls.Server(c, s.TLS)
		err := c.SetDeadline(deadline)
		if err == nil {
			err = tc.HandshakeContext(ctx)
		}
		if err != nil {
			if isTimeout(err) {
				err = fmt.Errorf("no TLS handshake within %v", artim)
			}
			refused(&TLSError{Addr: c.RemoteAddr().String(), Err: err})
			c.Close()
			return
		}
		conn = tc
	}
	a := newAssoc(conn, s.Timeout, artim, s.MaxPDU)
	defer a.close()
	// The deadline above ends the read under way only: each PDU read sets
	// its own. cutOff holds for the reads still to come, so that an
	// instance arriving when ctx ends is cut, not received to its end.
	stopReads := context.AfterFunc(ctx, func() { a.cutOff(time.Now()) })
	defer stopReads()
	rq, release, err := s.negotiate(a, deadline, slots)
	if err != nil {
		refused(err)
		return
	}
	defer release()
	pend.remove(e)
	for {
		cmd, ctxID, err := a.readCommand(a.timeout)
		if err != nil {
			if ctx.Err() != nil && !a.closed {
				_ = a.write(encodeAbort(0, 0))
			}
			return
		}
		if !s.dispatch(ctx, a, rq, cmd, ctxID) {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// negotiate reads the A-ASSOCIATE-RQ by deadline and accepts or rejects
// it. An accepted association holds one of slots until release is called.
func (s *Server) negotiate(a *Assoc, deadline time.Time, slots chan struct{}) (*associate, func(), error) {
	typ, body, err := a.read(time.Until(deadline))
	switch {
	case isTimeout(err):
		return nil, nil, fmt.Errorf("no A-ASSOCIATE-RQ within %v", a.artim)
	case err != nil:
		return nil, nil, err
	case typ != typeAssociateRQ:
		return nil, nil, protoErr("PDU type %#x instead of A-ASSOCIATE-RQ", typ)
	}
	rq, err := decodeAssociate(typ, body)
	if err != nil {
		a.abortProvider()
		return nil, nil, err
	}
	rej := s.check(rq, a.conn.RemoteAddr())
	if rej == nil {
		select {
		case slots <- struct{}{}:
		default:
			rej = &Reject{Result: 2, Source: 3, Reason: 2} // transient: local limit exceeded
		}
	}
	if rej != nil {
		_ = a.write(encodeReject(*rej))
		return nil, nil, &Refusal{CallingAE: rq.CallingAE, CalledAE: rq.CalledAE, Reject: *rej}
	}
	release := func() { <-slots }
	a.peer, a.peerMax = rq, rq.MaxLength
	ac := &associate{CalledAE: rq.CalledAE, CallingAE: rq.CallingAE, MaxLength: a.ourMax,
		ImplClassUID: ImplClassUID, ImplVersion: ImplVersion}
	for _, pc := range rq.contexts {
		res := s.choose(pc)
		ac.contexts = append(ac.contexts, res)
		if res.Result == resultAcceptance {
			res.AbstractSyntax = pc.AbstractSyntax
			a.contexts[pc.ID] = res
		}
	}
	pdu, err := encodeAssociate(typeAssociateAC, ac)
	if err == nil {
		err = a.write(pdu)
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return rq, release, nil
}

// check applies PS3.8 §9.3.4 rejection rules (reasons of Table 9-21):
// all permanent, by the service user.
func (s *Server) check(rq *associate, remote net.Addr) *Reject {
	switch {
	case rq.AppContext != applicationContext:
		return &Reject{Result: 1, Source: 1, Reason: 2}
	case s.AETitle != "" && rq.CalledAE != s.AETitle:
		return &Reject{Result: 1, Source: 1, Reason: 7}
	case s.AllowCalling != nil && !s.AllowCalling(rq.CallingAE, remote):
		return &Reject{Result: 1, Source: 1, Reason: 3}
	}
	return nil
}

// choose answers one proposed context: the proposer's first acceptable
// transfer syntax, since PS3.8 lists them in its order of preference.
func (s *Server) choose(pc presentationContext) presentationContext {
	out := presentationContext{ID: pc.ID, Result: resultTransferSyntaxUnsupported}
	if pc.AbstractSyntax == "" {
		out.Result = resultAbstractSyntaxUnsupported
		return out
	}
	for _, ts := range s.preference(pc.TransferSyntaxes) {
		if contains(pc.TransferSyntaxes, ts) && (s.Syntaxes != nil || acceptable(ts)) {
			out.Result, out.TransferSyntaxes = resultAcceptance, []string{ts}
			return out
		}
	}
	// PS3.8 §9.3.3.2: the reply still carries one transfer syntax item.
	out.TransferSyntaxes = []string{"1.2.840.10008.1.2"}
	return out
}

// dispatch answers one command; false ends the association.
func (s *Server) dispatch(ctx context.Context, a *Assoc, rq *associate, cmd *command, ctxID byte) bool {
	rsp := &command{MessageIDRespondedTo: cmd.MessageID, AffectedSOPClass: cmd.AffectedSOPClass,
		AffectedSOPInstance: cmd.AffectedSOPInstance}
	switch {
	case cmd.Field == cEchoRQ && !cmd.HasDataSet:
		rsp.Field = cEchoRSP
	case cmd.Field == cStoreRQ && cmd.HasDataSet:
		rsp.Field = cStoreRSP
		st, ok := s.store(ctx, a, rq, cmd, ctxID)
		if !ok {
			return false
		}
		rsp.Status, rsp.ErrorComment = st.Code, st.ErrorComment
	default:
		if cmd.HasDataSet && (&dataReader{a: a, ctxID: ctxID}).drain() != nil {
			return false
		}
		rsp.Field = cmd.Field | 0x8000
		rsp.Status = 0x0211 // unrecognized operation (PS3.7 Annex C)
	}
	return a.sendCommand(ctxID, rsp) == nil
}

func (s *Server) store(ctx context.Context, a *Assoc, rq *associate, cmd *command, ctxID byte) (Status, bool) {
	return receiveStore(ctx, a, s.Store, rq.CallingAE, rq.CalledAE, cmd, ctxID)
}

// receiveStore hands the data set of C-STORE-RQ cmd to h (no handler: a
// failure status) and reads what h left; false means the association
// broke. Our SCP and a C-GET's sub-operations (get.go) share it.
func receiveStore(ctx context.Context, a *Assoc, h StoreHandler, callingAE, calledAE string, cmd *command, ctxID byte) (Status, bool) {
	d := &dataReader{a: a, ctxID: ctxID}
	req := StoreRequest{CallingAE: callingAE, CalledAE: calledAE, SOPClassUID: cmd.AffectedSOPClass,
		SOPInstanceUID: cmd.AffectedSOPInstance, TransferSyntaxUID: a.contexts[ctxID].TransferSyntaxes[0]}
	st := Status{Code: 0x0110, ErrorComment: "no storage configured"}
	if h != nil {
		st = h(ctx, req, d)
	}
	if d.drain() != nil {
		return st, false
	}
	return st, true
}

func (s *Server) preference(proposed []string) []string {
	if s.Syntaxes != nil {
		return s.Syntaxes
	}
	return proposed
}
