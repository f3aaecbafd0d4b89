package dimse

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// holdIdle opens n TCP connections to addr that send nothing, and closes
// them when the test ends.
func holdIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	return conns
}

// closedByPeer reports whether the server closed c within d (a read ends
// with EOF or a reset rather than the deadline).
func closedByPeer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !isTimeout(err)
}

// TestIdleConnectionsDoNotBlock: 200 connections that never send an
// A-ASSOCIATE-RQ hold no association slot: with a single slot, a real
// sender still stores an instance while they are open (within a generous
// 10 s), and the idle ones are closed after ARTIM.
func TestIdleConnectionsDoNotBlock(t *testing.T) {
	m := &memStore{got: map[string][]byte{}, ts: map[string]string{}}
	srv := &Server{AETitle: "SCP", Store: m.handle, MaxAssociations: 1, ARTIM: 3 * time.Second, Timeout: 10 * time.Second}
	addr := startSCP(t, srv)
	idle := holdIdle(t, addr, 200)
	in := sampleInstances(t)[0]
	cfg := Config{CallingAE: "SCU", CalledAE: "SCP", Address: addr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	var res []Result
	if err := Send(ctx, cfg, []*Instance{in}, SendOptions{}, func(r Result) { res = append(res, r) }); err != nil || len(res) != 1 || res[0].Outcome != Sent {
		t.Fatalf("real sender during the flood: %v %+v", err, res)
	}
	t.Logf("stored one instance in %v with 200 idle connections open", time.Since(start).Round(time.Millisecond))
	for i, c := range []net.Conn{idle[0], idle[199]} {
		if !closedByPeer(c, 15*time.Second) {
			t.Errorf("idle connection %d not closed after ARTIM", i)
		}
	}
}

// TestPendingBoundEvictsOldest: beyond MaxPending connections that have
// not associated, the oldest is closed at once (ARTIM is long here, so
// only the bound can close it), and the newcomer is served.
func TestPendingBoundEvictsOldest(t *testing.T) {
	srv := &Server{AETitle: "SCP", MaxPending: 10, ARTIM: time.Minute}
	addr := startSCP(t, srv)
	idle := holdIdle(t, addr, 10)
	time.Sleep(100 * time.Millisecond) // let the server record the ten in order
	st, _, err := Echo(context.Background(), Config{CallingAE: "SCU", CalledAE: "SCP", Address: addr, Timeout: 10 * time.Second})
	if err != nil || st.Kind() != Success {
		t.Fatalf("echo beyond the pending bound: %v %v", st, err)
	}
	if !closedByPeer(idle[0], 10*time.Second) {
		t.Error("the oldest idle connection was not closed")
	}
	if closedByPeer(idle[9], 200*time.Millisecond) {
		t.Error("the newest idle connection was closed, the oldest should have been")
	}
}

// TestIdleAssociationClosed: an association silent for Timeout is closed.
func TestIdleAssociationClosed(t *testing.T) {
	addr := startSCP(t, &Server{AETitle: "SCP", Timeout: time.Second})
	a, err := Dial(context.Background(), Config{CallingAE: "SCU", CalledAE: "SCP", Address: addr, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	_, _, err = a.read(15 * time.Second)
	if err == nil || isTimeout(err) {
		t.Fatalf("silent association: %v, want the server to close it", err)
	}
}

// TestCallingAERejected: a calling AE title AllowCalling refuses gets
// A-ASSOCIATE-RJ rejected-permanent, service user, reason 3 (calling AE
// title not recognized, PS3.8 §9.3.4), and the server reports it; an
// allowed one associates.
func TestCallingAERejected(t *testing.T) {
	ref := &refusals{}
	var seen atomic.Value
	srv := &Server{AETitle: "SCP", Refused: ref.add, AllowCalling: func(ae string, remote net.Addr) bool {
		seen.Store(remote.String())
		return ae == "GOOD"
	}}
	addr := startSCP(t, srv)
	cfg := Config{CallingAE: "BAD", CalledAE: "SCP", Address: addr, Timeout: 5 * time.Second}
	_, err := Dial(context.Background(), cfg)
	var rj *Reject
	if !errors.As(err, &rj) || *rj != (Reject{Result: 1, Source: 1, Reason: 3}) {
		t.Fatalf("calling AE title not allowed: %v, want rejected-permanent, service user, reason 3", err)
	}
	var rf *Refusal
	if err := ref.wait(t); !errors.As(err, &rf) || rf.CallingAE != "BAD" || rf.Reason != 3 {
		t.Errorf("server's report: %v", err)
	}
	if host, _, _ := net.SplitHostPort(seen.Load().(string)); host != "127.0.0.1" {
		t.Errorf("AllowCalling was given %v, want the peer's address", seen.Load())
	}
	cfg.CallingAE = "GOOD"
	if st, _, err := Echo(context.Background(), cfg); err != nil || st.Kind() != Success {
		t.Errorf("allowed calling AE title: %v %v", st, err)
	}
}
