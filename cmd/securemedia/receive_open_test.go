package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// TestReceiveIdleFlood: while 200 TCP connections that never send an
// association request are held open, "securemedia send" still stores a
// study in receive at the first attempt (within a generous 10 s), and the
// idle connections are closed after --handshake-timeout.
func TestReceiveIdleFlood(t *testing.T) {
	dir := t.TempDir()
	port, log := startReceive(t, "SMRX", dir, "--handshake-timeout", "3s")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	idle := make([]net.Conn, 0, 200)
	t.Cleanup(func() {
		for _, c := range idle {
			c.Close()
		}
	})
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(idle)+1, err)
		}
		idle = append(idle, c)
	}
	src := "../../testdata/sample-study/77654033"
	start := time.Now()
	done := make(chan result, 1)
	go func() {
		done <- cli(t, "", "send", src, "--pacs", "SMRX@"+addr, "--state", t.TempDir()+"/state.tsv", "--timeout", "10s")
	}()
	select {
	case r := <-done:
		r.expect(t, 0, "")
	case <-time.After(10 * time.Second):
		t.Fatalf("send did not finish within 10 s during the flood:\n%s", log.String())
	}
	t.Logf("send stored %s in %v with 200 idle connections open", src, time.Since(start).Round(time.Millisecond))
	sameCounts(t, studiesIn(t, dir), pacstest.StudyCounts(t, src))
	for _, i := range []int{0, 199} {
		_ = idle[i].SetReadDeadline(time.Now().Add(15 * time.Second))
		var ne net.Error
		if _, err := idle[i].Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("idle connection %d still open after --handshake-timeout: %v", i, err)
		}
	}
	waitLog(t, log, ": no A-ASSOCIATE-RQ within 3s\n") // said as it is, not as a TLS failure
}

// TestReceiveAllowAET: with --allow-aet, only the calling AE titles
// listed (from the host given, if one is) associate; others are rejected
// permanently with reason 3 (calling AE title not recognized), which our
// echo and dcmtk's echoscu report, and receive logs.
func TestReceiveAllowAET(t *testing.T) {
	port, log := startReceive(t, "SMRX", t.TempDir(), "--allow-aet", "GOOD", "--allow-aet", "LOCAL@127.0.0.1",
		"--allow-aet", "ELSEWHERE@127.0.0.2")
	pacs := fmt.Sprintf("SMRX@127.0.0.1:%d", port)
	for _, aet := range []string{"GOOD", "LOCAL"} {
		cli(t, "", "echo", "--pacs", pacs, "--calling-aet", aet).expect(t, 0, "")
	}
	for _, aet := range []string{"BAD", "ELSEWHERE", "good"} {
		cli(t, "", "echo", "--pacs", pacs, "--calling-aet", aet).expect(t, exitNetwork, "association rejected permanently by the peer: calling AE title not recognized")
		waitLog(t, log, fmt.Sprintf(`: association from %q to "SMRX" rejected: calling AE title not recognized (not allowed by --allow-aet)`, aet))
	}
	_, _, err := dimse.Echo(context.Background(), dimse.Config{CallingAE: "BAD", CalledAE: "SMRX", Address: fmt.Sprintf("127.0.0.1:%d", port), Timeout: 5 * time.Second})
	var rj *dimse.Reject
	if !errors.As(err, &rj) || *rj != (dimse.Reject{Result: 1, Source: 1, Reason: 3}) {
		t.Errorf("A-ASSOCIATE-RJ for a calling AE title not allowed: %v, want result 1 (permanent), source 1 (service user), reason 3", err)
	}
	testtool.Require(t, "echoscu")
	out, err := exec.Command("echoscu", "-to", "5", "-aet", "BAD", "-aec", "SMRX", "127.0.0.1", fmt.Sprint(port)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Calling AE Title Not Recognized") {
		t.Errorf("echoscu -aet BAD: %v %s", err, out)
	}
	if out, err := exec.Command("echoscu", "-to", "5", "-aet", "GOOD", "-aec", "SMRX", "127.0.0.1", fmt.Sprint(port)).CombinedOutput(); err != nil {
		t.Errorf("echoscu -aet GOOD: %v %s", err, out)
	}
}

// TestReceiveFlagErrors: receive's new flags refuse bad values (exit 2).
func TestReceiveFlagErrors(t *testing.T) {
	recv := []string{"receive", "--aet", "SMRX", "--port", "11112", "-o", t.TempDir()}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-associations", "0"}, "--max-associations 0: want 1 to 256"},
		{[]string{"--handshake-timeout", "0s"}, "must be positive"},
		{[]string{"--allow-aet", "WAYTOOLONGAETITLE1"}, "must be 1 to 16 characters"},
		{[]string{"--allow-aet", "GOOD@no-such-host.invalid"}, `cannot look up host "no-such-host.invalid"`},
	} {
		cli(t, "", append(recv, c.args...)...).expect(t, exitUsage, c.want)
	}
}
