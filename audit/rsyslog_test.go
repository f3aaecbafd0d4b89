package audit_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/internal/audittest"
	"github.com/securemedia/securemedia/internal/testpki"
	"github.com/securemedia/securemedia/internal/testtool"
)

// rsyslog is a real syslog receiver on 127.0.0.1, started for one test:
// UDP (imudp, RFC 5426) and TLS (imtcp with the gtls driver, RFC 5425),
// writing "PRI APP-NAME MSGID MSG" lines to out.
type rsyslog struct {
	udp, tls string // HOST:PORT
	ca       string // the CA file that verifies its certificate
	pki      *testpki.CA
	out      string
}

func startRsyslog(t *testing.T) *rsyslog { t.Helper(); return startRsyslogAuth(t, "anon") }

// startRsyslogAuth starts rsyslog with the gtls driver's authMode: anon
// (any client), or x509/certvalid (a client certificate its CA signed:
// ATNA node authentication).
func startRsyslogAuth(t *testing.T, authMode string) *rsyslog {
	t.Helper()
	bin := testtool.Require(t, "rsyslogd")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"); err != nil {
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
			testtool.Missing(t, "rsyslog's TLS driver (rsyslog-gnutls) is not installed (see .ci/run)")
		}
	}
	dir := t.TempDir()
	ca := testpki.NewCA(t, "audit repository CA")
	server := ca.Issue(t, testpki.Leaf{Name: "repository"})
	r := &rsyslog{udp: fmt.Sprintf("127.0.0.1:%d", testtool.FreePort(t, "udp")), tls: fmt.Sprintf("127.0.0.1:%d", testtool.FreePort(t, "tcp")),
		ca: ca.File, pki: ca, out: filepath.Join(dir, "out.log")}
	_, udpPort, _ := net.SplitHostPort(r.udp)
	_, tlsPort, _ := net.SplitHostPort(r.tls)
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k"
  defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile=%q
  defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q)
module(load="imudp")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode=%q)
input(type="imudp" address="127.0.0.1" port=%q)
input(type="imtcp" address="127.0.0.1" port=%q)
template(name="audit" type="string" string="%%pri%% %%app-name%% %%msgid%% %%msg%%\n")
action(type="omfile" file=%q template="audit")
`, dir, ca.File, server.Cert, server.Key, authMode, udpPort, tlsPort, r.out)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	// Ready when the TLS port answers (imudp is opened before it).
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("rsyslogd exited: %v\n%s", err, stderr.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", r.tls, time.Second); err == nil {
			c.Close()
			return r
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("rsyslogd did not listen on %s within 15 s\n%s", r.tls, stderr.String())
		}
	}
}

// lines waits (up to 10 s) for n lines in rsyslog's output.
func (r *rsyslog) lines(t *testing.T, n int) []string {
	t.Helper()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(r.out)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("rsyslog wrote %d of %d lines in 10 s:\n%s", len(lines), n, b)
		}
	}
}

// A real rsyslogd receives messages over TLS, verified against its CA, and
// over UDP; what it stored parses with the syslog header IHE ATNA asks for
// and validates against the DICOM schema.
func TestRsyslogReceivesOverTLSAndUDP(t *testing.T) {
	r := startRsyslog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	export := audit.Export(event(audit.Success), audit.Medium{Type: audit.MediaDVD, Label: "SM1"}, studies())
	failed := audit.Export(event(audit.SeriousFailure), audit.Medium{Type: audit.MediaDVD, Label: "SM2"}, studies())
	for _, url := range []string{"syslog+tls://" + r.tls, "syslog://" + r.udp} {
		l, err := audit.Open(ctx, url, audit.Options{CAFile: r.ca})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*audit.Message{export, failed} {
			if err := l.Log(ctx, m); err != nil {
				t.Fatalf("%s: %v", url, err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	lines := r.lines(t, 4)
	docs := map[string][]byte{}
	notices := 0
	for i, line := range lines {
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 || f[1] != "securemedia" || f[2] != "IHE+RFC-3881" || !strings.HasPrefix(f[3], "<?xml") {
			t.Fatalf("line %d: %.200q, want PRI securemedia IHE+RFC-3881 <?xml...", i, line)
		}
		switch f[0] {
		case "85": // authpriv.notice
			notices++
		case "84": // authpriv.warning, for the failure
		default:
			t.Errorf("line %d: PRI %s, want 85 (10×8+5) or 84", i, f[0])
		}
		docs[fmt.Sprint(i)] = []byte(f[3])
	}
	if notices != 2 {
		t.Errorf("%d notices, want 2 (one success each way)", notices)
	}
	if bad := audittest.Validate(t, docs); bad != "" {
		t.Fatalf("what rsyslog stored does not validate:\n%s", bad)
	}
}

// A repository whose certificate the CA does not vouch for is refused:
// no message goes to an unverified peer.
func TestTLSRefusesAnUnverifiedRepository(t *testing.T) {
	r := startRsyslog(t)
	other := testpki.NewCA(t, "another CA")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := audit.Open(ctx, "syslog+tls://"+r.tls, audit.Options{CAFile: other.File})
	if err == nil {
		l.Close()
		t.Fatal("a repository with a certificate from another CA was accepted")
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not say it is the certificate", err)
	}
}

// An unreachable repository is an error within the timeout, not a hang.
func TestTLSUnreachableFailsInTime(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testtool.FreePort(t, "tcp")) // nothing listens
	start := time.Now()
	_, err := audit.Open(context.Background(), "syslog+tls://"+addr, audit.Options{Timeout: 2 * time.Second})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// A repository that closed the connection since the last message gets the
// next on a new one: nothing written into a closed connection is lost.
func TestTLSReconnectsToARepositoryThatClosed(t *testing.T) {
	got := make(chan string, 1)
	idle, closed := make(chan struct{}), make(chan struct{})
	addr, ca, _ := audittest.TLSRepository(t, func(i int, c *tls.Conn) bool {
		if i == 0 {
			<-idle // then closed, as a repository may close an idle connection
			defer close(closed)
			return true
		}
		b, _ := io.ReadAll(c)
		got <- string(b)
		return true
	})
	ctx := context.Background()
	l, err := audit.Open(ctx, "syslog+tls://"+addr, audit.Options{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	close(idle)
	<-closed
	time.Sleep(50 * time.Millisecond) // the close has reached us
	if err := l.Log(ctx, audit.Export(event(audit.Success), audit.Medium{Type: audit.MediaCD, Label: "X"}, studies())); err != nil {
		t.Fatal(err)
	}
	l.Close()
	select {
	case frame := <-got:
		n, msg, _ := strings.Cut(frame, " ")
		if fmt.Sprint(len(msg)) != n || !strings.HasPrefix(msg, "<85>1 ") || !strings.Contains(msg, " IHE+RFC-3881 - <?xml") {
			t.Fatalf("frame %.120q: want octet counting of an RFC 5424 message", frame)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the message did not arrive on a new connection")
	}
}

// A repository gone between Open and Log is an error, not a silent loss.
func TestTLSRepositoryGoneIsAnError(t *testing.T) {
	leave := make(chan struct{})
	addr, ca, stop := audittest.TLSRepository(t, func(int, *tls.Conn) bool { <-leave; return true })
	ctx := context.Background()
	l, err := audit.Open(ctx, "syslog+tls://"+addr, audit.Options{CAFile: ca, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	close(leave)
	stop()
	if err := l.Log(ctx, audit.Export(event(audit.Success), audit.Medium{Type: audit.MediaCD, Label: "X"}, studies())); err == nil {
		t.Fatal("a message to a repository that is gone was reported delivered")
	}
}

// ATNA node authentication: an rsyslog that wants a client certificate
// signed by its CA takes messages from a node that presents one, and a
// node without one learns it at Open (TLS 1.3 tells a client it was
// refused only after its handshake), not by losing its messages.
func TestRsyslogNodeAuthentication(t *testing.T) {
	r := startRsyslogAuth(t, "x509/certvalid")
	node := r.pki.Issue(t, testpki.Leaf{Name: "securemedia-node"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := audit.Open(ctx, "syslog+tls://"+r.tls, audit.Options{CAFile: r.ca, CertFile: node.Cert, KeyFile: node.Key})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log(ctx, audit.Export(event(audit.Success), audit.Medium{Type: audit.MediaDVD, Label: "NODE"}, studies())); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if lines := r.lines(t, 1); !strings.Contains(lines[0], "NODE") {
		t.Errorf("rsyslog stored %.200q", lines[0])
	}
	l, err = audit.Open(ctx, "syslog+tls://"+r.tls, audit.Options{CAFile: r.ca})
	if err == nil {
		l.Close()
		t.Fatal("a repository that wants a client certificate took a connection without one")
	}
	if !strings.Contains(err.Error(), "--audit-cert") {
		t.Errorf("error %q does not say what to give", err)
	}
}
