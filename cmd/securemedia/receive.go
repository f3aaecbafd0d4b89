package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
)

type receiveOptions struct {
	aet, out, bind   string
	port             int
	nf               netFlags
	allow            []string // --allow-aet AET[@HOST]
	maxAssociations  int
	handshakeTimeout time.Duration
	asJSON           bool
}

func newReceiveCommand(e *env) *cobra.Command {
	var o receiveOptions
	cmd := &cobra.Command{
		Use:   "receive --aet NAME --port N -o DIR",
		Short: "Receive studies from a PACS or modality (C-STORE SCP)",
		Long: `receive listens for DICOM associations and stores every instance sent with
C-STORE as a DICOM Part 10 file, DIR/<Study Instance UID>/<SOP Instance UID>.dcm,
exactly as received (the File Meta Information is added, the data set is
untouched). Each instance is streamed to disk, never held whole in memory, and
appears under its final name complete or not at all. C-ECHO is answered.

A stored file is never overwritten. When an instance arrives whose file
DIR/<Study Instance UID>/<SOP Instance UID>.dcm exists, its data set is compared
with the stored one: the same data set is discarded ("already stored
(identical)"); another one, which usually means a broken sender or two patients'
images under one UID, is kept apart as DIR/conflicts/<SOP Instance UID>.<hash>.dcm,
the first copy left unchanged, and reported. Check the conflicts folder before
importing DIR anywhere. Both cases are answered with success: the sender's
bytes are stored.

It listens on 127.0.0.1 unless --bind says otherwise (for example --bind 0.0.0.0
to accept other machines), answers only to the called AE title --aet, and runs
until interrupted (Ctrl-C). An interrupt aborts the associations in progress:
an instance being received is discarded (never left partial), and its sender
is told it was not stored.

Who may send: --allow-aet AET accepts associations only from the calling AE
title AET; --allow-aet AET@HOST only from AET coming from HOST (an IP address,
or a host name looked up once, at start). The flag may be repeated; without
it any calling AE title is accepted. Others are rejected (A-ASSOCIATE-RJ,
rejected-permanent, by the DICOM UL service-user, reason 3:
calling-AE-title-not-recognized, PS3.8 §9.3.4), and the refusal is logged.

Staying open: a connection that has not sent its association request (and,
with --tls, completed its TLS handshake) within --handshake-timeout (default
5s) is closed; an association silent for --timeout is closed. Only an accepted
association counts towards --max-associations (default 16; more are refused
transiently, "local limit exceeded", so the sender retries later). Connections
still negotiating are bounded apart (256; beyond that the oldest is closed),
so idle sockets cannot keep a real sender out. Refused connections are logged,
at most 20 lines every 10 seconds (then a count).

With --tls, only TLS connections are accepted, and each sender must present a
client certificate signed by a CA in --tls-ca (mutual authentication), unless
--tls-no-client-cert. A refused handshake is logged in plain words (for
example "the peer did not present a client certificate").

` + tlsHelp + "\n\n" + auditHelp + `
  receive records DICOM Instances Transferred from the sender for each of
  its studies, once no instance of it has arrived for 10 s, and for all
  that are left when it stops.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReceive(cmd.Context(), e, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.aet, "aet", "", "our AE title (required)")
	f.IntVar(&o.port, "port", 0, "TCP port to listen on (required)")
	f.StringVarP(&o.out, "out", "o", "", "output directory (required)")
	f.StringVar(&o.bind, "bind", "127.0.0.1", "address to listen on")
	f.StringArrayVar(&o.allow, "allow-aet", nil, "accept only this calling `AET[@HOST]` (repeatable; default: any)")
	f.IntVar(&o.maxAssociations, "max-associations", 16, "associations at a time (1 to 256); more are refused transiently")
	f.BoolVar(&o.asJSON, "json", false, "log as JSON lines on stdout, one per event (keys: see README.md), instead of text on stderr")
	f.DurationVar(&o.handshakeTimeout, "handshake-timeout", dimse.DefaultServerARTIM, "time a new connection has to send its association request (and complete TLS)")
	o.nf.register(cmd, false)
	for _, n := range []string{"aet", "port", "out"} {
		_ = cmd.MarkFlagRequired(n)
	}
	addAuditFlags(cmd, e)
	return cmd
}

// storageSCP checks the flags receive and publish share (AE title, port,
// associations, timeouts, --allow-aet, DICOM TLS) and makes their storage
// SCP, for the caller to give its Store.
func (o *receiveOptions) storageSCP(ctx context.Context) (*dimse.Server, error) {
	if err := dimse.CheckAETitle(o.aet); err != nil {
		return nil, withCode(exitUsage, err)
	}
	if o.port < 1 || o.port > 65535 {
		return nil, withCode(exitUsage, fmt.Errorf("--port %d: want 1 to 65535", o.port))
	}
	if o.maxAssociations < 1 || o.maxAssociations > 256 {
		return nil, withCode(exitUsage, fmt.Errorf("--max-associations %d: want 1 to 256", o.maxAssociations))
	}
	if o.handshakeTimeout <= 0 || o.nf.timeout <= 0 {
		return nil, withCode(exitUsage, errors.New("--handshake-timeout and --timeout must be positive"))
	}
	allow, err := parseAllowed(ctx, o.allow)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	tc, err := o.nf.tls.serverConfig()
	if err != nil {
		return nil, err
	}
	srv := &dimse.Server{AETitle: o.aet, Timeout: o.nf.timeout, ARTIM: o.handshakeTimeout,
		MaxAssociations: o.maxAssociations, TLS: tc}
	if allow != nil {
		srv.AllowCalling = allow.allows
	}
	return srv, nil
}

// listen opens the storage SCP's port (--bind, --port).
func (o *receiveOptions) listen(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(o.bind, strconv.Itoa(o.port)))
	if err != nil {
		return nil, withCode(exitNetwork, err)
	}
	return ln, nil
}

func runReceive(ctx context.Context, e *env, o *receiveOptions) error {
	srv, err := o.storageSCP(ctx)
	if err != nil {
		return err
	}
	if err := e.startAudit(ctx, "securemedia receive"); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return err
	}
	ln, err := o.listen(ctx)
	if err != nil {
		return err
	}
	st := &receiveLog{log: e.stderr}
	if o.asJSON {
		st.json = e.stdout
	}
	st.listening(o.aet, ln.Addr(), srv.TLS != nil, o.out)
	ra := newReceiveAudit(ctx, e, o.out, o.aet)
	store := &dimse.FolderStore{Dir: o.out, Stored: func(req dimse.StoreRequest, res dimse.StoreResult) {
		st.report(req, res)
		if res.Err == nil {
			ra.add(req.CallingAE, req.SOPClassUID, res.Path)
		}
	}}
	srv.Store, srv.Refused = store.Handle, st.refusedConn
	err = srv.Serve(ctx, ln)
	ra.stop()
	st.stopped(o.out)
	return untilInterrupted(ctx, err)
}

// receiveLog counts and reports what arrives: as text on stderr, or with
// --json as one JSON object per line on stdout (receiveEvent).
type receiveLog struct {
	log                               io.Writer
	json                              io.Writer // --json: events here instead
	mu                                sync.Mutex
	stored, identical, apart, refused int
	// Refused connections are logged at most refusedBurst per
	// refusedWindow: a hostile peer must not fill the disk.
	window     time.Time
	logged     int
	suppressed int
}

const (
	refusedBurst  = 20
	refusedWindow = 10 * time.Second
)

// refusedConn tells of a connection that ended without an association. It
// names the peer's address and AE titles, never a patient.
func (l *receiveLog) refusedConn(remote net.Addr, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.window) >= refusedWindow {
		if l.suppressed > 0 {
			if !l.event(receiveEvent{Event: "refused_unlogged", Count: l.suppressed}) {
				fmt.Fprintf(l.log, "receive: refused connections not logged in the last %v: %d\n", refusedWindow, l.suppressed)
			}
		}
		l.window, l.logged, l.suppressed = now, 0, 0
	}
	if l.logged >= refusedBurst {
		l.suppressed++
		return
	}
	l.logged++
	var rf *dimse.Refusal
	if errors.As(err, &rf) && rf.Reason == 3 && rf.Source == 1 {
		err = fmt.Errorf("%w (not allowed by --allow-aet)", err)
	} else if !errors.As(err, &rf) {
		err = explainTLS(err, true)
	}
	if !l.event(receiveEvent{Event: "refused", Remote: remote.String(), Error: err.Error()}) {
		fmt.Fprintf(l.log, "receive: refused %s: %v\n", remote, err)
	}
}

// report tells of one instance; it prints UIDs and paths made of UIDs,
// never a patient's name or ID.
func (l *receiveLog) report(req dimse.StoreRequest, res dimse.StoreResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := receiveEvent{SOPInstanceUID: req.SOPInstanceUID, Path: res.Path}
	switch {
	case res.Err != nil:
		l.refused++
		ev.Event, ev.Path, ev.Error = "not_stored", "", res.Err.Error()
		if !l.event(ev) {
			fmt.Fprintf(l.log, "receive: %s not stored: %v\n", req.SOPInstanceUID, res.Err)
		}
	case res.Copy == dimse.IdenticalCopy:
		l.identical++
		if ev.Event = "identical"; !l.event(ev) {
			fmt.Fprintf(l.log, "receive: %s already stored (identical): %s\n", req.SOPInstanceUID, res.Path)
		}
	case res.Copy == dimse.ConflictingCopy:
		l.apart++
		ev.Event, ev.First = "conflict", res.First
		if !l.event(ev) {
			fmt.Fprintf(l.log, "receive: %s arrived again with other content: kept apart as %s; the first copy %s is unchanged\n",
				req.SOPInstanceUID, res.Path, res.First)
		}
	default:
		l.stored++
		if ev.Event = "stored"; !l.event(ev) {
			fmt.Fprintln(l.log, "receive: stored "+res.Path)
		}
	}
}

// receiveEvent is one line of receive --json. Event is listening,
// stored, identical (already stored), conflict (kept apart), not_stored,
// refused (a connection without an association), refused_unlogged (how
// many refusals the rate limit left out) or stopped (with counts).
type receiveEvent struct {
	Time           string         `json:"time"` // RFC 3339, UTC
	Event          string         `json:"event"`
	SOPInstanceUID string         `json:"sop_instance_uid,omitempty"`
	Path           string         `json:"path,omitempty"`
	First          string         `json:"first,omitempty"` // conflict: the copy kept
	Remote         string         `json:"remote,omitempty"`
	Error          string         `json:"error,omitempty"`
	Count          int            `json:"count,omitempty"`
	AET            string         `json:"aet,omitempty"`
	Address        string         `json:"address,omitempty"`
	TLS            bool           `json:"tls,omitempty"`
	Dir            string         `json:"dir,omitempty"`
	Counts         *receiveCounts `json:"counts,omitempty"`
}

type receiveCounts struct {
	Stored    int    `json:"stored"`
	Identical int    `json:"identical"`
	Refused   int    `json:"refused"`
	Conflicts int    `json:"conflicts"`
	Apart     string `json:"conflicts_dir,omitempty"`
}

// event writes ev as a JSON line when --json asked for them; false
// otherwise (the caller then writes text). l.mu is held, or not yet
// needed (listening, stopped).
func (l *receiveLog) event(ev receiveEvent) bool {
	if l.json == nil {
		return false
	}
	ev.Time = time.Now().UTC().Format(time.RFC3339Nano)
	writeJSON(l.json, ev)
	return true
}

func (l *receiveLog) listening(aet string, addr net.Addr, tls bool, dir string) {
	if l.event(receiveEvent{Event: "listening", AET: aet, Address: addr.String(), TLS: tls, Dir: dir}) {
		return
	}
	over := ""
	if tls {
		over = " (TLS)"
	}
	fmt.Fprintf(l.log, "receive: %s listening on %s%s, storing into %s\n", aet, addr, over, dir)
}

func (l *receiveLog) stopped(dir string) {
	l.mu.Lock()
	c := &receiveCounts{Stored: l.stored, Identical: l.identical, Refused: l.refused, Conflicts: l.apart}
	l.mu.Unlock()
	if c.Conflicts > 0 {
		c.Apart = filepath.Join(dir, dimse.ConflictsDir)
	}
	if !l.event(receiveEvent{Event: "stopped", Counts: c}) {
		fmt.Fprintln(l.log, l.summary(dir))
	}
}

// summary is the end-of-run line. Conflicting copies are named last, with
// what to do, since someone must look at them before DIR is imported.
func (l *receiveLog) summary(dir string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("receive: stopped; %s stored, %d already stored (identical), %d refused",
		count(l.stored, "instance"), l.identical, l.refused)
	switch {
	case l.apart == 1:
		s += fmt.Sprintf(", 1 conflicting duplicate kept apart in %s: check it before importing", filepath.Join(dir, dimse.ConflictsDir))
	case l.apart > 1:
		s += fmt.Sprintf(", %d conflicting duplicates kept apart in %s: check them before importing", l.apart, filepath.Join(dir, dimse.ConflictsDir))
	}
	return s
}

// allowList is --allow-aet: calling AE titles, each from any host or from
// the given addresses only.
type allowList map[string]*allowedFrom

type allowedFrom struct {
	anyHost bool
	hosts   []netip.Addr
}

func (a allowList) allows(callingAE string, remote net.Addr) bool {
	from, ok := a[callingAE]
	if !ok {
		return false
	}
	if from.anyHost {
		return true
	}
	ap, err := netip.ParseAddrPort(remote.String())
	return err == nil && slices.Contains(from.hosts, ap.Addr().Unmap())
}

// parseAllowed reads the --allow-aet values, AET or AET@HOST (the last @
// separates, since an AE title may hold one); a host name is looked up
// now, once. Nil: no restriction.
func parseAllowed(ctx context.Context, vals []string) (allowList, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := allowList{}
	for _, v := range vals {
		aet, host := v, ""
		if i := strings.LastIndex(v, "@"); i > 0 {
			aet, host = v[:i], v[i+1:]
		}
		if err := dimse.CheckAETitle(aet); err != nil {
			return nil, fmt.Errorf("--allow-aet %q: %w", v, err)
		}
		if out[aet] == nil {
			out[aet] = &allowedFrom{}
		}
		if host == "" { // AET alone: from every host, whatever else is given
			out[aet].anyHost = true
			continue
		}
		addrs, err := lookupHost(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("--allow-aet %q: %w", v, err)
		}
		out[aet].hosts = append(out[aet].hosts, addrs...)
	}
	return out, nil
}

func lookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("cannot look up host %q: %w", host, err)
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}
