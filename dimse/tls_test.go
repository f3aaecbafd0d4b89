package dimse

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/testpki"
)

// refusals collects what a Server's Refused hook is told.
type refusals struct {
	mu   sync.Mutex
	errs []error
}

func (r *refusals) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = nil
}

func (r *refusals) add(_ net.Addr, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// wait returns the first refusal, waiting at most 10 s for it.
func (r *refusals) wait(t *testing.T) error {
	t.Helper()
	for range 500 {
		r.mu.Lock()
		if len(r.errs) > 0 {
			err := r.errs[0]
			r.mu.Unlock()
			return err
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the server reported no refusal")
	return nil
}

func pairOf(t *testing.T, p testpki.Pair) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(p.Cert, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func poolOf(t *testing.T, ca *testpki.CA) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatal("no CA certificate")
	}
	return p
}

// TestTLSStoreAndRefusals: over mutual TLS an instance is stored intact;
// the server refuses a client without a certificate and one that does not
// speak TLS, and reports why; a client is told (as a *TLSError) when the
// server's certificate is not signed by a CA it trusts.
func TestTLSStoreAndRefusals(t *testing.T) {
	ca, rogue := testpki.NewCA(t, "Hospital CA"), testpki.NewCA(t, "Rogue CA")
	server, client := ca.Issue(t, testpki.Leaf{Name: "scp"}), ca.Issue(t, testpki.Leaf{Name: "scu"})
	m := &memStore{got: map[string][]byte{}, ts: map[string]string{}}
	ref := &refusals{}
	srv := &Server{AETitle: "TLSSCP", Store: m.handle, Refused: ref.add, TLS: &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pairOf(t, server)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: poolOf(t, ca)}}
	addr := startSCP(t, srv)
	cfg := Config{CallingAE: "SCU", CalledAE: "TLSSCP", Address: addr, Timeout: 5 * time.Second,
		TLS: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: poolOf(t, ca), Certificates: []tls.Certificate{pairOf(t, client)}}}

	in := sampleInstances(t)[0]
	var res []Result
	if err := Send(context.Background(), cfg, []*Instance{in}, SendOptions{}, func(r Result) { res = append(res, r) }); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Outcome != Sent || !bytes.Equal(m.got[in.SOPInstanceUID], dataSet(t, in)) {
		t.Fatalf("over TLS: %+v", res)
	}

	noCert := cfg
	noCert.TLS = &tls.Config{RootCAs: poolOf(t, ca)}
	_, _, err := Echo(context.Background(), noCert)
	var te *TLSError
	if !errors.As(err, &te) {
		t.Errorf("client without a certificate: %v, want a *TLSError", err)
	}
	if err := ref.wait(t); !strings.Contains(err.Error(), "didn't provide a certificate") {
		t.Errorf("server's reason for a client without a certificate: %v", err)
	}

	ref.reset()
	plain := cfg
	plain.TLS = nil
	if _, _, err := Echo(context.Background(), plain); err == nil {
		t.Error("a plain association to a TLS server succeeded")
	}
	var rh tls.RecordHeaderError
	if err := ref.wait(t); !errors.As(err, &rh) {
		t.Errorf("server's reason for a plain client: %v", err)
	}

	distrust := cfg
	distrust.TLS = &tls.Config{RootCAs: poolOf(t, rogue), Certificates: []tls.Certificate{pairOf(t, client)}}
	_, _, err = Echo(context.Background(), distrust)
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &te) || !errors.As(err, &ua) {
		t.Errorf("server certificate from an untrusted CA: %v", err)
	}
}

// A TLS server that drops the connection right after the handshake, as
// dcmtk sometimes does instead of sending its alert when it refuses our
// certificate: the error is a *TLSError saying so, not a bare "connection
// reset" that reads like a network fault.
func TestTLSPeerClosesAfterHandshake(t *testing.T) {
	ca := testpki.NewCA(t, "Hospital CA")
	server := ca.Issue(t, testpki.Leaf{Name: "127.0.0.1"})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pairOf(t, server)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*tls.Conn); ok && tc.Handshake() == nil {
				if raw, ok := tc.NetConn().(*net.TCPConn); ok {
					raw.SetLinger(0) // a reset, not a FIN
				}
			}
			c.Close()
		}
	}()
	cfg := Config{CallingAE: "SCU", CalledAE: "SCP", Address: ln.Addr().String(), Timeout: 5 * time.Second,
		TLS: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: poolOf(t, ca), ServerName: "127.0.0.1"}}
	_, _, err = Echo(context.Background(), cfg)
	var te *TLSError
	if !errors.As(err, &te) || !errors.Is(err, ErrClosedAfterHandshake) {
		t.Fatalf("peer that drops the connection after the handshake: %v, want a *TLSError with ErrClosedAfterHandshake", err)
	}
}
