package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
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
	store := &dimse.FolderStore{Dir: o.out, Stored: st.stored}
	srv := &dimse.Server{AETitle: o.aet, Store: store.Handle, Timeout: o.nf.timeout}
	err = srv.Serve(ctx, ln)
	fmt.Fprintf(e.stderr, "receive: stopped; %d instances stored, %d refused\n", st.ok, st.failed)
	return err
}

// receiveLog counts and reports what arrives.
type receiveLog struct {
	log        io.Writer
	mu         sync.Mutex
	ok, failed int
}

func (l *receiveLog) stored(req dimse.StoreRequest, path string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
		fmt.Fprintf(l.log, "receive: %s not stored: %v\n", req.SOPInstanceUID, err)
		return
	}
	l.ok++
	fmt.Fprintln(l.log, "receive: stored "+path)
}
