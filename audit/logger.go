package audit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Logger records audit messages in an audit repository.
type Logger interface {
	// Log records m, or says why it could not; it gives up after the
	// Logger's timeout.
	Log(ctx context.Context, m *Message) error
	// String names the repository (for messages to the user).
	String() string
	Close() error
}

// Options configure Open.
type Options struct {
	// CAFile holds the PEM certificates that verify a syslog+tls
	// repository's certificate (default: the system's roots).
	CAFile string
	// CertFile and KeyFile: this node's certificate, for a repository that
	// authenticates its clients (ATNA node authentication).
	CertFile, KeyFile string
	// Timeout bounds each Log and the connection Open makes (default 10 s).
	Timeout time.Duration
	// AppName is the syslog APP-NAME (default "securemedia").
	AppName string
}

// ErrURL: the URL does not name an audit repository (a usage error, not
// an unreachable repository).
var ErrURL = errors.New("not an audit repository URL")

// DefaultTimeout bounds a message's delivery when Options.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Open is the Logger that url names:
//
//	syslog+tls://HOST:PORT  RFC 5424 syslog over TLS (RFC 5425); it connects now
//	syslog://HOST:PORT      RFC 5424 syslog over UDP (RFC 5426)
//	file:PATH               one message a line appended to PATH (created 0600)
//
// A repository that cannot be reached (TLS) or opened (file) is an error
// now, before the work it would record is done.
func Open(ctx context.Context, url string, o Options) (Logger, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.AppName == "" {
		o.AppName = "securemedia"
	}
	scheme, rest, ok := strings.Cut(url, ":")
	if !ok {
		return nil, fmt.Errorf("audit repository %q: %w: expected syslog+tls://HOST:PORT, syslog://HOST:PORT or file:PATH", url, ErrURL)
	}
	switch scheme {
	case "file":
		if rest == "" || strings.HasPrefix(rest, "//") && len(rest) == 2 {
			return nil, fmt.Errorf("audit repository %q: %w: file: needs a PATH", url, ErrURL)
		}
		// file:///var/log/x and file:/var/log/x alike.
		return openFile(strings.TrimPrefix(rest, "//"))
	case "syslog", "syslog+tls":
		addr, ok := strings.CutPrefix(rest, "//")
		if !ok {
			return nil, fmt.Errorf("audit repository %q: %w: expected %s://HOST:PORT", url, ErrURL, scheme)
		}
		addr = strings.TrimSuffix(addr, "/")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("audit repository %q: %w: %v", url, ErrURL, err)
		}
		if scheme == "syslog" {
			return openUDP(ctx, addr, o)
		}
		return openTLS(ctx, addr, o)
	}
	return nil, fmt.Errorf("audit repository %q: %w: unknown scheme %q (syslog+tls, syslog or file)", url, ErrURL, scheme)
}

// deadline is the earlier of ctx's deadline and timeout from now.
func deadline(ctx context.Context, timeout time.Duration) time.Time {
	d := time.Now().Add(timeout)
	if c, ok := ctx.Deadline(); ok && c.Before(d) {
		return c
	}
	return d
}

// fileLogger appends one message a line: the XML holds no raw newline
// (encoding/xml writes it as &#xA;), so a line is a message.
type fileLogger struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openFile(path string) (*fileLogger, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit file: %w", err)
	}
	return &fileLogger{path: path, f: f}, nil
}

func (l *fileLogger) String() string { return "file:" + l.path }

func (l *fileLogger) Log(_ context.Context, m *Message) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if strings.ContainsAny(string(b), "\r\n") {
		return errors.New("audit: a message with a line break") // cannot happen: see fileLogger
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// One write: with O_APPEND, concurrent writers' lines do not interleave.
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("audit file %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit file %s: %w", l.path, err)
	}
	return nil
}

func (l *fileLogger) Close() error { return l.f.Close() }

// MaxUDPMessage is the largest syslog message sent over UDP: what an IPv4
// datagram holds (RFC 5426 §3.2). A larger audit message is refused, never
// cut: a cut XML message is no message. Such datagrams are fragmented on
// the way and an audit repository may limit them further (rsyslog: 8 KiB
// unless configured), which is why syslog+tls is the one to use.
const MaxUDPMessage = 65507

type udpLogger struct {
	addr string
	conn net.Conn
	o    Options
	host string
}

func openUDP(ctx context.Context, addr string, o Options) (*udpLogger, error) {
	d := net.Dialer{Deadline: deadline(ctx, o.Timeout)}
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("audit repository syslog://%s: %w", addr, err)
	}
	return &udpLogger{addr: addr, conn: c, o: o, host: hostname()}, nil
}

func (l *udpLogger) String() string { return "syslog://" + l.addr }

func (l *udpLogger) Log(ctx context.Context, m *Message) error {
	msg, err := Syslog(m, l.host, l.o.AppName)
	if err != nil {
		return err
	}
	if len(msg) > MaxUDPMessage {
		return fmt.Errorf("audit repository %s: the message is %d bytes, more than a UDP datagram holds (%d): use syslog+tls", l, len(msg), MaxUDPMessage)
	}
	l.conn.SetWriteDeadline(deadline(ctx, l.o.Timeout))
	if _, err := l.conn.Write(msg); err != nil {
		return fmt.Errorf("audit repository %s: %w", l, err)
	}
	return nil
}

func (l *udpLogger) Close() error { return l.conn.Close() }

// tlsLogger keeps one TLS connection, made again once if the repository
// closed it between messages.
type tlsLogger struct {
	mu   sync.Mutex
	addr string
	cfg  *tls.Config
	o    Options
	host string
	conn *tls.Conn
}

func openTLS(ctx context.Context, addr string, o Options) (*tlsLogger, error) {
	cfg, err := tlsConfig(addr, o)
	if err != nil {
		return nil, err
	}
	l := &tlsLogger{addr: addr, cfg: cfg, o: o, host: hostname()}
	if err := l.dial(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// tlsConfig verifies the repository against CAFile and its host name, TLS
// 1.2 or later (RFC 5425 §5; BCP 195).
func tlsConfig(addr string, o Options) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("audit CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("audit CA %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (l *tlsLogger) String() string { return "syslog+tls://" + l.addr }

func (l *tlsLogger) dial(ctx context.Context) error {
	d := tls.Dialer{NetDialer: &net.Dialer{Deadline: deadline(ctx, l.o.Timeout)}, Config: l.cfg}
	c, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return fmt.Errorf("audit repository %s: %w", l, err)
	}
	tc := c.(*tls.Conn)
	// With TLS 1.3 a repository that refuses our certificate (or wants one
	// we did not give: ATNA node authentication) does so after the
	// client's handshake is over, by an alert or by closing (rsyslog's
	// gtls driver closes), so the new connection is listened to for a
	// moment: one refused like that would take every frame without an
	// error. A repository that closes an idle connection later is found
	// by Log, which dials again.
	if err := probe(tc, dialProbe); err != nil {
		tc.Close()
		return fmt.Errorf("audit repository %s closed the connection right after the TLS handshake (%v): does it want a client certificate (--audit-cert, --audit-key) that it trusts?", l, err)
	}
	l.conn = tc
	return nil
}

func (l *tlsLogger) Log(ctx context.Context, m *Message) error {
	msg, err := Syslog(m, l.host, l.o.AppName)
	if err != nil {
		return err
	}
	// RFC 5425 §4.3: octet-counting framing, MSG-LEN SP SYSLOG-MSG.
	frame := append(fmt.Appendf(nil, "%d ", len(msg)), msg...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil && !l.alive() {
		l.conn.Close()
		l.conn = nil
	}
	for attempt := 0; ; attempt++ {
		if l.conn == nil {
			if err := l.dial(ctx); err != nil {
				return err
			}
		}
		l.conn.SetWriteDeadline(deadline(ctx, l.o.Timeout))
		_, err := l.conn.Write(frame)
		if err == nil {
			return nil
		}
		l.conn.Close()
		l.conn = nil
		if attempt == 1 || ctx.Err() != nil {
			return fmt.Errorf("audit repository %s: %w", l, err)
		}
	}
}

// alive tells whether the repository still holds the connection open. A
// repository never writes to us (RFC 5425 has no acknowledgements), so a
// read that ends at once means it closed the connection: a frame written
// now would vanish without an error. A read that times out (after
// aliveWait) is the open connection's silence; crypto/tls recovers from
// a read timeout.
func (l *tlsLogger) alive() bool { return probe(l.conn, aliveWait) == nil }

// probe reads from c for wait: nil if nothing came (the connection is
// open and silent), else what ended the read (EOF, or the TLS alert the
// repository sent).
func probe(c *tls.Conn, wait time.Duration) error {
	c.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	_, err := c.Read(b[:])
	c.SetReadDeadline(time.Time{})
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	if err == nil {
		return errors.New("the repository wrote to us, which RFC 5425 repositories do not")
	}
	return err
}

const (
	aliveWait = 20 * time.Millisecond
	// dialProbe is how long a new connection is listened to for a refusal.
	dialProbe = 250 * time.Millisecond
)

func (l *tlsLogger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	// close_notify, so the repository reads the last frame as complete.
	l.conn.SetWriteDeadline(time.Now().Add(time.Second))
	err := l.conn.Close()
	l.conn = nil
	return err
}
