package dimse

import (
	"context"
	"errors"
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
type Server struct {
	// AETitle is the called AE title we answer to; empty accepts any.
	AETitle string
	Store   StoreHandler
	Timeout time.Duration // per PDU, as for Assoc
	ARTIM   time.Duration // time allowed for A-ASSOCIATE-RQ and release
	MaxPDU  uint32
	// MaxAssociations bounds concurrent associations (0: 16); more are
	// rejected transiently ("local limit exceeded", PS3.8 Table 9-21) so
	// the sender retries later instead of overloading the disk.
	MaxAssociations int
	// Syntaxes, when set, are the only transfer syntaxes accepted, in our
	// order of preference; otherwise every Acceptable one is, in the
	// proposer's order.
	Syntaxes []string
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
// the associations in progress to end (each within its timeouts).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	limit := s.MaxAssociations
	if limit <= 0 {
		limit = 16
	}
	slots := make(chan struct{}, limit)
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				s.serveConn(ctx, c)
			default:
				s.refuse(c)
			}
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	a := newAssoc(c, s.Timeout, s.ARTIM, s.MaxPDU)
	defer a.close()
	// An aborted server aborts its associations (PS3.8 §7.3).
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	rq, ok := s.negotiate(a)
	if !ok {
		return
	}
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

// negotiate reads the A-ASSOCIATE-RQ within ARTIM and accepts or rejects.
func (s *Server) negotiate(a *Assoc) (*associate, bool) {
	typ, body, err := a.read(a.artim)
	if err != nil || typ != typeAssociateRQ {
		return nil, false
	}
	rq, err := decodeAssociate(typ, body)
	if err != nil {
		a.abortProvider()
		return nil, false
	}
	if rej := s.check(rq); rej != nil {
		_ = a.write(encodeReject(*rej))
		return nil, false
	}
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
	if err != nil || a.write(pdu) != nil {
		return nil, false
	}
	return rq, true
}

// check applies PS3.8 §9.3.4 rejection rules.
func (s *Server) check(rq *associate) *Reject {
	switch {
	case rq.AppContext != applicationContext:
		return &Reject{Result: 1, Source: 1, Reason: 2}
	case s.AETitle != "" && rq.CalledAE != s.AETitle:
		return &Reject{Result: 1, Source: 1, Reason: 7}
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
	d := &dataReader{a: a, ctxID: ctxID}
	req := StoreRequest{CallingAE: rq.CallingAE, CalledAE: rq.CalledAE, SOPClassUID: cmd.AffectedSOPClass,
		SOPInstanceUID: cmd.AffectedSOPInstance, TransferSyntaxUID: a.contexts[ctxID].TransferSyntaxes[0]}
	st := Status{Code: 0x0110, ErrorComment: "no storage configured"}
	if s.Store != nil {
		st = s.Store(ctx, req, d)
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

// refuse answers an association over the limit with a transient
// rejection (result 2, source 3: service provider presentation related,
// reason 2: local limit exceeded).
func (s *Server) refuse(c net.Conn) {
	a := newAssoc(c, s.Timeout, s.ARTIM, s.MaxPDU)
	defer a.close()
	if typ, _, err := a.read(a.artim); err == nil && typ == typeAssociateRQ {
		_ = a.write(encodeReject(Reject{Result: 2, Source: 3, Reason: 2}))
	}
}
