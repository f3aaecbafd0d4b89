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
	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/dicom"
)

func init() { commandFactories = append(commandFactories, newReceiveCommand) }

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
	st := &dirStore{root: o.out, log: e.stderr}
	fmt.Fprintf(e.stderr, "receive: %s listening on %s, storing into %s\n", o.aet, ln.Addr(), o.out)
	srv := &dimse.Server{AETitle: o.aet, Store: st.store, Timeout: o.nf.timeout}
	err = srv.Serve(ctx, ln)
	fmt.Fprintf(e.stderr, "receive: stopped; %d instances stored, %d refused\n", st.stored, st.failed)
	return err
}

// dirStore writes received instances under root, grouped by study.
type dirStore struct {
	root           string
	log            io.Writer
	mu             sync.Mutex
	stored, failed int
}

func (d *dirStore) count(ok bool, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ok {
		d.stored++
	} else {
		d.failed++
	}
	fmt.Fprintln(d.log, msg)
}

func (d *dirStore) store(_ context.Context, req dimse.StoreRequest, data io.Reader) dimse.Status {
	if !safeUID(req.SOPInstanceUID) || !safeUID(req.SOPClassUID) {
		d.count(false, "receive: refused an instance with an invalid SOP Instance/Class UID")
		return dimse.Status{Code: 0xA900, ErrorComment: "invalid SOP Class or Instance UID"}
	}
	path, err := d.write(req, data)
	if err != nil {
		d.count(false, fmt.Sprintf("receive: %s not stored: %v", req.SOPInstanceUID, err))
		return dimse.Status{Code: 0xA700, ErrorComment: truncateComment(err.Error())}
	}
	d.count(true, "receive: stored "+path)
	return dimse.Status{}
}

func truncateComment(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// write streams the instance into DIR/.incoming, then moves it into its
// study folder once the Study Instance UID has been read back from disk.
func (d *dirStore) write(req dimse.StoreRequest, data io.Reader) (string, error) {
	inc := filepath.Join(d.root, ".incoming")
	if err := os.MkdirAll(inc, 0o700); err != nil {
		return "", err
	}
	tmp := filepath.Join(inc, req.SOPInstanceUID+".dcm")
	f, err := atomicfile.Create(tmp, 0o600, true)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if err := writeMeta(f, req); err != nil {
		return "", err
	}
	if _, err := io.Copy(f, data); err != nil {
		return "", err
	}
	if err := f.Commit(); err != nil {
		return "", err
	}
	study := studyOf(tmp)
	dir := filepath.Join(d.root, study)
	final := filepath.Join(dir, req.SOPInstanceUID+".dcm")
	err = os.MkdirAll(dir, 0o700)
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return filepath.Join(study, req.SOPInstanceUID+".dcm"), nil
}

// writeMeta writes the preamble and File Meta Information (PS3.10 §7.1).
func writeMeta(w io.Writer, req dimse.StoreRequest) error {
	meta := []*dicom.Element{
		{Tag: dicom.FileMetaInformationVersion, VR: "OB", Value: []byte{0, 1}},
		dicom.StringElement(dicom.MediaStorageSOPClassUID, "UI", req.SOPClassUID),
		dicom.StringElement(dicom.MediaStorageSOPInstanceUID, "UI", req.SOPInstanceUID),
		dicom.StringElement(dicom.TransferSyntaxUID, "UI", req.TransferSyntaxUID),
		dicom.StringElement(dicom.ImplementationClassUID, "UI", dimse.ImplClassUID),
		dicom.StringElement(dicom.ImplementationVersionName, "SH", dimse.ImplVersion),
	}
	if req.CallingAE != "" {
		meta = append(meta, dicom.StringElement(dicom.SourceApplicationEntityTitle, "AE", req.CallingAE))
	}
	for _, m := range meta {
		dicom.PadValue(m)
	}
	b, err := dicom.AppendFileMeta(nil, meta)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// studyOf reads the Study Instance UID of a stored file; instances without
// a usable one are grouped under "unknown-study".
func studyOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown-study"
	}
	defer f.Close()
	_, r, err := dicom.ReadHeader(f)
	if err != nil {
		return "unknown-study"
	}
	r.MaxValue = 1 << 16
	elems, _ := r.ReadUntil(dicom.SeriesInstanceUID)
	if uid := dicom.Find(elems, dicom.StudyInstanceUID).String(); safeUID(uid) {
		return uid
	}
	return "unknown-study"
}

// safeUID accepts a UID as PS3.5 §9.1 defines it (digits and dots, at
// most 64 characters), which also makes it a safe file name.
func safeUID(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}
