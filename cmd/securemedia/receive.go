package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
)

type receiveOptions struct {
	aet, out, bind string
	port           int
	nf             netFlags
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
is told it was not stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReceive(cmd.Context(), e, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.aet, "aet", "", "our AE title (required)")
	f.IntVar(&o.port, "port", 0, "TCP port to listen on (required)")
	f.StringVarP(&o.out, "out", "o", "", "output directory (required)")
	f.StringVar(&o.bind, "bind", "127.0.0.1", "address to listen on")
	o.nf.register(cmd, false)
	for _, n := range []string{"aet", "port", "out"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func runReceive(ctx context.Context, e *env, o *receiveOptions) error {
	if err := dimse.CheckAETitle(o.aet); err != nil {
		return withCode(exitUsage, err)
	}
	if o.port < 1 || o.port > 65535 {
		return withCode(exitUsage, fmt.Errorf("--port %d: want 1 to 65535", o.port))
	}
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(o.bind, strconv.Itoa(o.port)))
	if err != nil {
		return withCode(exitNetwork, err)
	}
	st := &receiveLog{log: e.stderr}
	fmt.Fprintf(e.stderr, "receive: %s listening on %s, storing into %s\n", o.aet, ln.Addr(), o.out)
	store := &dimse.FolderStore{Dir: o.out, Stored: st.report}
	srv := &dimse.Server{AETitle: o.aet, Store: store.Handle, Timeout: o.nf.timeout}
	err = srv.Serve(ctx, ln)
	fmt.Fprintln(e.stderr, st.summary(o.out))
	return untilInterrupted(ctx, err)
}

// receiveLog counts and reports what arrives.
type receiveLog struct {
	log                               io.Writer
	mu                                sync.Mutex
	stored, identical, apart, refused int
}

// report tells of one instance; it prints UIDs and paths made of UIDs,
// never a patient's name or ID.
func (l *receiveLog) report(req dimse.StoreRequest, res dimse.StoreResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case res.Err != nil:
		l.refused++
		fmt.Fprintf(l.log, "receive: %s not stored: %v\n", req.SOPInstanceUID, res.Err)
	case res.Copy == dimse.IdenticalCopy:
		l.identical++
		fmt.Fprintf(l.log, "receive: %s already stored (identical): %s\n", req.SOPInstanceUID, res.Path)
	case res.Copy == dimse.ConflictingCopy:
		l.apart++
		fmt.Fprintf(l.log, "receive: %s arrived again with other content: kept apart as %s; the first copy %s is unchanged\n",
			req.SOPInstanceUID, res.Path, res.First)
	default:
		l.stored++
		fmt.Fprintln(l.log, "receive: stored "+res.Path)
	}
}

// summary is the end-of-run line. Conflicting copies are named last, with
// what to do, since someone must look at them before DIR is imported.
func (l *receiveLog) summary(dir string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("receive: stopped; %d instances stored, %d already stored (identical), %d refused",
		l.stored, l.identical, l.refused)
	switch {
	case l.apart == 1:
		s += fmt.Sprintf(", 1 conflicting duplicate kept apart in %s: check it before importing", filepath.Join(dir, dimse.ConflictsDir))
	case l.apart > 1:
		s += fmt.Sprintf(", %d conflicting duplicates kept apart in %s: check them before importing", l.apart, filepath.Join(dir, dimse.ConflictsDir))
	}
	return s
}
