package dimse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
)

// findPeer is a scripted C-FIND SCP: it negotiates as a Server with
// syntaxes would, reads one C-FIND-RQ with its identifier and lets answer
// reply; then it serves the release. What it saw is sent on seen.
type findPeer struct {
	rq       *command
	ident    []*dicom.Element
	syntax   dicom.Syntax
	released bool // the SCU released the association (rather than aborting)
	err      error
}

func startFindPeer(t *testing.T, syntaxes []string, answer func(a *Assoc, ctxID byte, p *findPeer) error) (string, <-chan *findPeer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan *findPeer, 1)
	go func() {
		p := &findPeer{}
		defer func() { seen <- p }()
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			p.err = err
			return
		}
		a := newAssoc(c, 5*time.Second, 5*time.Second, 0)
		defer a.close()
		if _, _, err := (&Server{Syntaxes: syntaxes}).negotiate(a, time.Now().Add(5*time.Second), make(chan struct{}, 1)); err != nil {
			p.err = fmt.Errorf("association not accepted: %w", err)
			return
		}
		p.err = p.serve(a, answer)
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), seen
}

func (p *findPeer) serve(a *Assoc, answer func(a *Assoc, ctxID byte, p *findPeer) error) error {
	var ctxID byte
	var err error
	if p.rq, ctxID, err = a.readCommand(a.timeout); err != nil {
		return err
	}
	p.syntax, _ = dicom.SyntaxOf(a.contexts[ctxID].TransferSyntaxes[0])
	b, err := io.ReadAll(&dataReader{a: a, ctxID: ctxID})
	if err != nil {
		return err
	}
	if p.ident, err = decodeIdentifier(b, p.syntax); err != nil {
		return err
	}
	if err := answer(a, ctxID, p); err != nil {
		return err
	}
	_, _, err = a.readCommand(a.timeout)
	p.released = errors.Is(err, errReleased)
	return nil
}

// respond sends a C-FIND-RSP with status code and, if ident is not nil,
// those bytes as its data set.
func respond(a *Assoc, ctxID byte, to uint16, code uint16, ident []byte) error {
	return sendResponse(a, ctxID, &command{Field: cFindRSP, MessageIDRespondedTo: to, AffectedSOPClass: PatientRootFind, Status: code}, ident)
}

// sendResponse sends rsp and, if ident is not nil, those bytes as its
// data set.
func sendResponse(a *Assoc, ctxID byte, rsp *command, ident []byte) error {
	rsp.HasDataSet = ident != nil
	if err := a.sendCommand(ctxID, rsp); err != nil {
		return err
	}
	if ident == nil {
		return nil
	}
	return a.sendFragments(ctxID, false, &byteReader{ident})
}

// patientIdent encodes a PATIENT level match. It runs in the peer's
// goroutine, where t.Fatal is not allowed; these elements always encode.
func patientIdent(s dicom.Syntax, id string) []byte {
	var b []byte
	for _, e := range []*dicom.Element{dicom.StringElement(dicom.QueryRetrieveLevel, "CS", "PATIENT"),
		dicom.StringElement(dicom.PatientName, "PN", "DOE^JANE"), dicom.StringElement(dicom.PatientID, "LO", id)} {
		b, _ = dicom.AppendElementSyntax(b, e, s)
	}
	return b
}

func findConfig(addr string) Config {
	return Config{CallingAE: "SCU", CalledAE: "SCP", Address: addr, Timeout: 5 * time.Second}
}

// query is given out of tag order, as a caller may; Find sorts it.
var query = []*dicom.Element{
	dicom.StringElement(dicom.PatientName, "PN", "DOE*"),
	dicom.StringElement(dicom.QueryRetrieveLevel, "CS", "PATIENT"),
	dicom.StringElement(dicom.PatientID, "LO", ""),
}

func collect(got *[]string) func([]*dicom.Element) error {
	return func(elems []*dicom.Element) error {
		*got = append(*got, dicom.Find(elems, dicom.PatientID).String())
		return nil
	}
}

// TestFindPassesEachMatch: in either transfer syntax, the peer receives
// a C-FIND-RQ with the identifier in tag order, and each pending
// response's identifier reaches match in order; the association is
// released.
func TestFindPassesEachMatch(t *testing.T) {
	for _, ts := range []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian} {
		addr, seen := startFindPeer(t, []string{ts}, func(a *Assoc, ctxID byte, p *findPeer) error {
			for i := 1; i <= 3; i++ {
				if err := respond(a, ctxID, p.rq.MessageID, 0xFF00, patientIdent(p.syntax, fmt.Sprintf("P%d", i))); err != nil {
					return err
				}
			}
			return respond(a, ctxID, p.rq.MessageID, 0x0000, nil)
		})
		var got []string
		st, err := Find(context.Background(), findConfig(addr), PatientRootFind, query, 10, collect(&got))
		if err != nil || st.Code != 0 || strings.Join(got, ",") != "P1,P2,P3" {
			t.Fatalf("%s: status %v, err %v, matches %q", ts, st, err, got)
		}
		p := <-seen
		if p.err != nil {
			t.Fatalf("%s: peer: %v", ts, p.err)
		}
		if p.rq.Field != cFindRQ || p.rq.AffectedSOPClass != PatientRootFind || !p.rq.HasDataSet {
			t.Errorf("%s: request %+v", ts, p.rq)
		}
		if len(p.ident) != 3 || p.ident[0].Tag != dicom.QueryRetrieveLevel || p.ident[1].Tag != dicom.PatientName ||
			p.ident[1].String() != "DOE*" || p.ident[2].Tag != dicom.PatientID {
			t.Errorf("%s: identifier received %v", ts, p.ident)
		}
		if !p.released {
			t.Errorf("%s: association not released", ts)
		}
	}
}

// TestFindCutsAtLimit: a peer with 20 matches for a limit of 5 gets a
// C-CANCEL-RQ for the query; Find passes on 5 and says the result was cut.
func TestFindCutsAtLimit(t *testing.T) {
	var cancel *command
	addr, seen := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		for i := range 20 {
			if err := respond(a, ctxID, p.rq.MessageID, 0xFF00, patientIdent(p.syntax, fmt.Sprint(i))); err != nil {
				return err
			}
		}
		var err error
		if cancel, _, err = a.readCommand(a.timeout); err != nil {
			return err
		}
		return respond(a, ctxID, p.rq.MessageID, 0xFE00, nil)
	})
	var got []string
	st, err := Find(context.Background(), findConfig(addr), PatientRootFind, query, 5, collect(&got))
	if !errors.Is(err, ErrTooManyMatches) || len(got) != 5 || st.Code != 0xFE00 {
		t.Fatalf("status %v, err %v, %d matches", st, err, len(got))
	}
	p := <-seen
	if p.err != nil {
		t.Fatal(p.err)
	}
	if cancel.Field != cCancelRQ || cancel.MessageIDRespondedTo != p.rq.MessageID || cancel.HasDataSet {
		t.Errorf("after the limit the peer got %+v, want C-CANCEL-RQ for message %d", cancel, p.rq.MessageID)
	}
	if !p.released {
		t.Error("association not released after the cancel")
	}
}

// TestFindPeerIgnoringCancel: a peer that goes on sending matches after
// the cancel is aborted after a bounded number; the cut is still reported.
func TestFindPeerIgnoringCancel(t *testing.T) {
	addr, _ := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		for {
			if err := respond(a, ctxID, p.rq.MessageID, 0xFF00, patientIdent(p.syntax, "X")); err != nil {
				return nil // aborted, as it should be
			}
		}
	})
	n := 0
	_, err := Find(context.Background(), findConfig(addr), PatientRootFind, query, 3, func([]*dicom.Element) error { n++; return nil })
	if !errors.Is(err, ErrTooManyMatches) || !strings.Contains(err.Error(), "after C-CANCEL-RQ") || n != 3 {
		t.Fatalf("err %v after %d matches", err, n)
	}
}

// TestFindBadPeers: whatever a peer answers, Find returns an error (or
// the peer's status), never panics, and passes on nothing malformed.
func TestFindBadPeers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		syntaxes []string
		answer   func(a *Assoc, ctxID byte, p *findPeer) error
		want     string // in the error; "" for none
		code     uint16
	}{
		{name: "truncated element", answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return respond(a, ctxID, p.rq.MessageID, 0xFF00, []byte{0x10, 0, 0x10, 0, 'P', 'N', 0xFE, 0x00, 'A', 'B'})
		}, want: "malformed identifier"},
		{name: "implicit VR length past the end", syntaxes: []string{ImplicitVRLittleEndian}, answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return respond(a, ctxID, p.rq.MessageID, 0xFF00, []byte{0x10, 0, 0x20, 0, 0, 0, 0, 0x10, 'A', 'B'})
		}, want: "malformed identifier"},
		{name: "identifier over 1 MiB", answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return respond(a, ctxID, p.rq.MessageID, 0xFF00, make([]byte, maxIdentifierBytes+2))
		}, want: "longer than"},
		{name: "pending without identifier", answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return respond(a, ctxID, p.rq.MessageID, 0xFF00, nil)
		}, want: "without an identifier"},
		{name: "wrong message ID", answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return respond(a, ctxID, p.rq.MessageID+1, 0x0000, nil)
		}, want: "expected C-FIND-RSP"},
		{name: "C-ECHO-RSP instead", answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return a.sendCommand(ctxID, &command{Field: cEchoRSP, MessageIDRespondedTo: p.rq.MessageID})
		}, want: "expected C-FIND-RSP"},
		{name: "release instead of an answer", answer: func(a *Assoc, _ byte, _ *findPeer) error {
			return a.write(encodeRelease(typeReleaseRQ))
		}, want: "released the association"},
		{name: "failure status", answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return respond(a, ctxID, p.rq.MessageID, 0xA700, nil)
		}, code: 0xA700},
		{name: "final response with a data set", answer: func(a *Assoc, ctxID byte, p *findPeer) error {
			return respond(a, ctxID, p.rq.MessageID, 0xC001, patientIdent(p.syntax, "X"))
		}, code: 0xC001},
		{name: "model not accepted", syntaxes: []string{"1.2.840.10008.1.2.4.50"}, answer: func(*Assoc, byte, *findPeer) error { return nil },
			want: "did not accept the Patient Root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := startFindPeer(t, tc.syntaxes, tc.answer)
			n := 0
			st, err := Find(context.Background(), findConfig(addr), PatientRootFind, query, 10, func([]*dicom.Element) error { n++; return nil })
			if tc.want == "" {
				if err != nil || st.Code != tc.code {
					t.Fatalf("status %v, err %v; want status %04X", st, err, tc.code)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrTooManyMatches) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
			if n != 0 {
				t.Errorf("%d matches passed on", n)
			}
		})
	}
}

// TestFindSilentPeer: a peer that never answers is given up on after one
// timeout.
func TestFindSilentPeer(t *testing.T) {
	done := make(chan struct{})
	addr, _ := startFindPeer(t, nil, func(*Assoc, byte, *findPeer) error { <-done; return nil })
	defer close(done)
	cfg := findConfig(addr)
	cfg.Timeout = 300 * time.Millisecond
	t0 := time.Now()
	_, err := Find(context.Background(), cfg, PatientRootFind, query, 10, func([]*dicom.Element) error { return nil })
	// The error says "no response" (the timeout fired); the bound only
	// catches a hang, generously for a loaded machine.
	if err == nil || !strings.Contains(err.Error(), "no response") || time.Since(t0) > 30*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(t0))
	}
}

// TestFindMatchErrorStops: an error from match ends the query with that
// error.
func TestFindMatchErrorStops(t *testing.T) {
	addr, _ := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		for range 3 {
			if err := respond(a, ctxID, p.rq.MessageID, 0xFF00, patientIdent(p.syntax, "X")); err != nil {
				return nil
			}
		}
		return respond(a, ctxID, p.rq.MessageID, 0, nil)
	})
	stop := errors.New("stop")
	n := 0
	_, err := Find(context.Background(), findConfig(addr), PatientRootFind, query, 10, func([]*dicom.Element) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d matches", err, n)
	}
}
