package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
)

// maxFetchStudies bounds what one selector may fetch: a patient with
// more studies is better fetched study by study.
const maxFetchStudies = 100

type fetchOptions struct {
	nf       netFlags
	sel      importer.StudySelector
	out      string
	method   string
	moveDest string
	port     int
	bind     string
	allow    []string
	asJSON   bool
}

func newFetchCommand(e *env) *cobra.Command {
	var o fetchOptions
	cmd := &cobra.Command{
		Use:   "fetch --pacs AET@HOST:PORT (--accession N | --patient-id ID | --study UID) -o DIR",
		Short: "Fetch studies from a PACS (C-FIND, then C-GET or C-MOVE) into a folder",
		Long: `fetch finds the studies named by --accession, --patient-id or --study in the
PACS (C-FIND, Study Root Query/Retrieve Information Model, STUDY level, DICOM
PS3.4 Annex C), says how many it found, and retrieves each of them into DIR
as "securemedia receive" lays it out: DIR/<Study Instance UID>/<SOP Instance
UID>.dcm, each data set exactly as the PACS sent it behind a File Meta
Information of our own. Each file appears under its final name complete or
not at all; an instance already in DIR with the same data set is not stored
twice, one with other content is kept apart in DIR/conflicts and reported
(see "securemedia help receive").

One selector is required, with an exact value (no wildcards): fetch never
retrieves "everything". When the studies found belong to more than one
patient (two Patient IDs, or one ID with two issuers, which for an accession
number means a mistake in the PACS), fetch refuses (exit 10) and retrieves
nothing: one patient's images are never fetched with another's under one
request. At most 100 studies are fetched at a time.

--pacs (and --timeout) may be set once for the site in the configuration
file ("pacs = PACS@pacs.example:104"; see "securemedia help publish"); the
command line wins.

Retrieval, --method:
  get   (the default) C-GET, Study Root: the PACS sends the instances over
        the association fetch opened (PS3.4 C.4.3). fetch needs no port of
        its own and the PACS no configuration beyond allowing C-GET from our
        AE title (--calling-aet). Each storage class is offered in explicit
        and implicit VR little endian and, for the common images (CR, DX,
        MG, CT, MR, US, SC, XA, NM, PET), in each lossless compressed
        transfer syntax (JPEG lossless, JPEG-LS, JPEG 2000, HTJ2K, RLE), so
        instances stored that way arrive byte for byte. No lossy syntax is
        offered, so that nothing is ever recompressed: the PACS decompresses
        a lossy JPEG (Orthanc does), or reports it failed.
  move  C-MOVE, Study Root: fetch starts a storage SCP of its own for the
        time of the fetch, with the AE title --move-dest (default: our
        --calling-aet) on --port (required) and --bind (default 0.0.0.0),
        and asks the PACS to store the study there (PS3.4 C.4.2). The PACS
        must know that AE title with our host and port (Orthanc:
        "DicomModalities": {"us": ["SECUREMEDIA", "our-host", 11112]});
        otherwise it answers "move destination unknown" (A801). Only the
        PACS's own AE title may store to it (--allow-aet AET[@HOST] to name
        another, repeatable).

Progress (instances received, and what the PACS says remains) is shown on a
terminal. At the end, a table on stdout gives each study's result: its
Study Instance UID, the instances stored, and those that failed. Instances
that failed are listed on stderr with the reason, and so are instances the
PACS sent of another study than the one asked for.

Exit codes: 0 when every study was retrieved whole; 11 if any instance was
not retrieved or the PACS reported a failure or warning for a study; 14 if
no study matched; 10 if the studies found belong to more than one patient;
12 if the PACS could not be reached or refused the query; 2 for a bad
selector. Ctrl-C (exit 130) sends C-CANCEL to the PACS and stops within a
second: the instance being received is discarded, every instance already
in DIR is whole, and a re-run fetches the rest (what is there already is
recognised as identical).

--json prints one JSON object on stdout instead of the table (keys: see
README.md, "--json output"), with the studies found and, for each
instance, its result.

Logs: stderr names the PACS, the number of studies, their Study Instance
UIDs, modalities and instance counts, never a patient's name or ID, nor the
value given to --patient-id or --accession ("no study matches the
--accession given"). The table and --json on stdout hold what the PACS
answered (--json: Patient ID and accession number included).

` + tlsClientHelp + `

With --method move and --tls, the PACS also connects to our storage SCP over
TLS: it presents our --tls-cert (required then), and the PACS's client
certificate must be signed by a CA in --tls-ca.

` + auditHelp + `
  fetch records one DICOM Instances Transferred message per study, from the
  PACS to us, with what arrived (a failure, outcome 8, when the study did
  not arrive whole).

EXAMPLES
  securemedia fetch --pacs PACS@pacs.example:104 --accession A123456 -o study/
  securemedia fetch --pacs PACS@pacs.example:104 --study 1.2.840.113619.2.55.3.604688 -o study/ --json
  securemedia fetch --pacs PACS@pacs.example:104 --patient-id 123456 -o patient/ \
      --method move --move-dest SECUREMEDIA --port 11112
  securemedia fetch --pacs PACS@pacs.example:2762 --accession A123456 -o study/ \
      --tls --tls-ca hospital-ca.pem --tls-cert me.pem --tls-key me.key`,
		Args: cobra.NoArgs,
		// --pacs and --timeout may come from the site configuration
		// (before cobra checks that --pacs is given).
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return applySiteConfig(e, cmd, []string{"pacs", "timeout"}, siteConfigKeys)
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runFetch(cmd.Context(), e, &o) },
	}
	o.nf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&o.sel.AccessionNumber, "accession", "", "fetch the studies with Accession Number `N`")
	f.StringVar(&o.sel.PatientID, "patient-id", "", "fetch every study of this Patient `ID`")
	f.StringVar(&o.sel.StudyUID, "study", "", "fetch the study with this Study Instance `UID`")
	f.StringVarP(&o.out, "out", "o", "", "output directory (required)")
	f.StringVar(&o.method, "method", "get", "retrieve by C-GET or by C-MOVE to our own storage SCP: `get|move`")
	f.StringVar(&o.moveDest, "move-dest", "", "--method move: the `AET` of our storage SCP, as the PACS knows it (default: --calling-aet)")
	f.IntVar(&o.port, "port", 0, "--method move: TCP port `N` of our storage SCP, where the PACS connects")
	f.StringVar(&o.bind, "bind", "0.0.0.0", "--method move: the `ADDRESS` our storage SCP listens on")
	f.StringArrayVar(&o.allow, "allow-aet", nil, "--method move: accept C-STOREs only from this calling `AET[@HOST]` (repeatable; default: the PACS's AE title)")
	addJSONFlag(cmd, &o.asJSON)
	addAuditFlags(cmd, e)
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runFetch(ctx context.Context, e *env, o *fetchOptions) (err error) {
	if err := o.sel.Check(); err != nil {
		return withCode(exitUsage, err)
	}
	if err := o.check(); err != nil {
		return withCode(exitUsage, err)
	}
	cfg, p, err := o.nf.config()
	if err != nil {
		return err
	}
	finished := false
	if o.asJSON {
		// A script reading --json learns why nothing was fetched, as
		// stderr says it (no patient data: the selector is not repeated).
		defer func() {
			if err != nil && !finished && ctx.Err() == nil {
				_ = writeJSON(e.stdout, fetchJSON{Peer: p.String(), Dir: o.out, Studies: []fetchStudyJSON{}, Counts: map[string]int{}, Error: err.Error()})
			}
		}()
	}
	if err := e.startAudit(ctx, "securemedia fetch"); err != nil {
		return err
	}
	var scp *moveSCP
	if o.method == "move" {
		if scp, err = o.startSCP(ctx, e, p); err != nil {
			return err
		}
		defer scp.stop()
	}
	studies, err := importer.FindStudies(ctx, cfg, o.sel, maxFetchStudies)
	switch {
	case errors.Is(err, importer.ErrTooManyStudies):
		return withCode(exitUsage, fmt.Errorf("%s: more than %d studies match: fetch them by --study, a few at a time", p, maxFetchStudies))
	case err != nil:
		return withCode(exitNetwork, fmt.Errorf("%s: C-FIND: %w", p, explainFetch(err, cfg.CallingAE, "C-FIND")))
	case len(studies) == 0:
		return withCode(exitNoMatch, fmt.Errorf("%s: no study matches %s", p, o.selectorWords()))
	}
	if err := importer.OnePatient(studies); err != nil {
		return withCode(exitConflict, fmt.Errorf("%s: %s: %w; nothing fetched", p, o.selectorWords(), err))
	}
	listStudies(e.info(), p, studies)
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return err
	}
	run := &fetchRun{e: e, out: o.out, peer: p}
	for i, st := range studies {
		sr := run.fetchStudy(ctx, cfg, o, scp, fmt.Sprintf("%d/%d", i+1, len(studies)), st)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		run.studies = append(run.studies, sr)
		run.record(ctx, cfg, o, sr)
	}
	_ = os.Remove(filepath.Join(o.out, ".incoming")) // FolderStore's, empty now
	finished = true
	return run.finish(o.asJSON)
}

// listStudies says what the query found: Study Instance UIDs, modalities
// and the PACS's instance counts, no patient data (stderr may be logged).
func listStudies(w io.Writer, p peer, studies []importer.StudyMatch) {
	fmt.Fprintf(w, "fetch %s: %s found\n", p, count(len(studies), "study"))
	for i, st := range studies {
		n := "?"
		if st.Instances != "" {
			n = st.Instances
		}
		fmt.Fprintf(w, "  %d/%d  %s  %s, %s instances\n", i+1, len(studies), st.StudyUID, orDash(st.Modalities), n)
	}
}

// check refuses option combinations that make no sense.
func (o *fetchOptions) check() error {
	switch o.method {
	case "get":
		if o.port != 0 || o.moveDest != "" || len(o.allow) > 0 {
			return errors.New("--port, --move-dest and --allow-aet go with --method move")
		}
		return nil
	case "move":
	default:
		return fmt.Errorf("--method %q: want get or move", o.method)
	}
	if o.port < 1 || o.port > 65535 {
		return errors.New("--method move needs --port N (1 to 65535), where the PACS connects to store the study")
	}
	if o.moveDest == "" {
		o.moveDest = o.nf.callingAET
	}
	if o.nf.tls.on && o.nf.tls.cert == "" {
		return errors.New("--method move --tls needs --tls-cert and --tls-key: the PACS connects to our storage SCP over TLS")
	}
	return dimse.CheckAETitle(o.moveDest)
}

// selectorWords names the selector for messages on stderr, which may be
// logged: a Study Instance UID with its value, the identifiers of a
// patient or a request by their flag only.
func (o *fetchOptions) selectorWords() string {
	switch {
	case o.sel.AccessionNumber != "":
		return "the --accession given"
	case o.sel.PatientID != "":
		return "the --patient-id given"
	}
	return "--study " + o.sel.StudyUID
}

// explainFetch adds the likely cause to what a PACS does to an AE title it
// does not allow (Orthanc aborts the association).
func explainFetch(err error, aet, op string) error {
	var abort *dimse.Abort
	if errors.As(err, &abort) {
		return fmt.Errorf("%w (does the PACS allow %s from AE title %s?)", err, op, aet)
	}
	return explainTLS(err, false)
}

// moveSCP is the storage SCP that C-MOVE stores to, for the time of one
// fetch. Instances go to the FolderStore of the study being fetched.
type moveSCP struct {
	srv    *dimse.Server
	addr   net.Addr
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	sink   func(dimse.StoreRequest, dimse.StoreResult) // the study being fetched
}

func (o *fetchOptions) startSCP(ctx context.Context, e *env, p peer) (*moveSCP, error) {
	allowed := o.allow
	if len(allowed) == 0 {
		allowed = []string{p.AET}
	}
	allow, err := parseAllowed(ctx, allowed)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	var tc = o.nf.tls // the same certificate and CAs, as a server
	tc.server = ""
	tlsCfg, err := tc.serverConfig()
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(o.bind, strconv.Itoa(o.port)))
	if err != nil {
		return nil, withCode(exitNetwork, fmt.Errorf("--port %d: %w", o.port, err))
	}
	s := &moveSCP{addr: ln.Addr(), done: make(chan error, 1)}
	store := &dimse.FolderStore{Dir: o.out, Stored: s.stored}
	s.srv = &dimse.Server{AETitle: o.moveDest, Store: store.Handle, Timeout: o.nf.timeout, TLS: tlsCfg,
		AllowCalling: allow.allows, Refused: func(remote net.Addr, err error) {
			fmt.Fprintf(e.stderr, "fetch: our storage SCP refused %s: %v\n", remote, err)
		}}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go func() { s.done <- s.srv.Serve(sctx, ln) }()
	fmt.Fprintf(e.info(), "fetch: storage SCP %s listening on %s for the PACS's C-STOREs\n", o.moveDest, s.addr)
	// Ctrl-C aborts what the PACS is storing (the file is discarded).
	context.AfterFunc(ctx, cancel)
	return s, nil
}

func (s *moveSCP) stored(req dimse.StoreRequest, res dimse.StoreResult) {
	s.mu.Lock()
	sink := s.sink
	s.mu.Unlock()
	if sink != nil {
		sink(req, res)
	}
}

func (s *moveSCP) setSink(f func(dimse.StoreRequest, dimse.StoreResult)) {
	s.mu.Lock()
	s.sink = f
	s.mu.Unlock()
}

func (s *moveSCP) stop() {
	s.cancel()
	<-s.done
}

// fetchRun collects the results of one fetch.
type fetchRun struct {
	e       *env
	out     string
	peer    peer
	studies []*studyResult
}

// studyResult is what fetching one study brought.
type studyResult struct {
	Match     importer.StudyMatch
	Instances []instanceResult
	Status    string // the PACS's final status, in words
	Failed    int    // sub-operations the PACS counted as failed
	Warning   int
	Kind      dimse.Kind // of the PACS's final status
	Error     string     // the retrieval failed (network, refusal), or instances are missing
	mu        sync.Mutex
	bar       *fetchProgress
}

type instanceResult struct {
	SOPInstanceUID string `json:"sop_instance_uid"`
	Path           string `json:"path,omitempty"`
	Result         string `json:"result"` // stored, identical, conflict, failed, other_study
	Error          string `json:"error,omitempty"`
	sopClass       string // for the audit record
}

// stored records one instance of the study; an instance of another study
// (a PACS that sends more than was asked) is reported, not hidden.
func (sr *studyResult) stored(req dimse.StoreRequest, res dimse.StoreResult) {
	r := instanceResult{SOPInstanceUID: req.SOPInstanceUID, Path: res.Path, sopClass: req.SOPClassUID}
	switch {
	case res.Err != nil:
		r.Result, r.Error = "failed", res.Err.Error()
	case !strings.HasPrefix(filepath.ToSlash(firstCopy(res)), sr.Match.StudyUID+"/"):
		r.Result, r.Error = "other_study", "the PACS sent an instance of another study"
	case res.Copy == dimse.IdenticalCopy:
		r.Result = "identical"
	case res.Copy == dimse.ConflictingCopy:
		r.Result = "conflict"
	default:
		r.Result = "stored"
	}
	sr.mu.Lock()
	sr.Instances = append(sr.Instances, r)
	n := len(sr.Instances)
	sr.mu.Unlock()
	sr.bar.instance(n)
}

// firstCopy is the path of the instance's first copy, under its study.
func firstCopy(res dimse.StoreResult) string {
	if res.Copy == dimse.ConflictingCopy {
		return res.First
	}
	return res.Path
}

func (ir instanceResult) failed() bool {
	return ir.Result == "failed" || ir.Result == "other_study"
}

// fetchStudy retrieves one study; its failures are in the result.
func (run *fetchRun) fetchStudy(ctx context.Context, cfg dimse.Config, o *fetchOptions, scp *moveSCP, nth string, m importer.StudyMatch) *studyResult {
	sr := &studyResult{Match: m, bar: newFetchProgress(run.e.info(), nth)}
	r := importer.Retrieval{Progress: sr.bar.pending}
	if scp != nil {
		r.Move, r.MoveDestination = true, o.moveDest
		scp.setSink(sr.stored)
		defer scp.setSink(nil)
	} else {
		r.Store = (&dimse.FolderStore{Dir: run.out, Stored: sr.stored}).Handle
	}
	op := "C-GET"
	if r.Move {
		op = "C-MOVE"
	}
	res, err := importer.RetrieveStudy(ctx, cfg, m.StudyUID, r)
	sr.bar.done()
	if err != nil {
		sr.Error = fmt.Sprintf("%s: %v", op, explainFetch(err, cfg.CallingAE, op))
		return sr
	}
	sr.Status, sr.Failed, sr.Warning = res.Status.String(), max(res.Failed, 0), max(res.Warning, 0)
	sr.Kind = res.Status.Kind()
	sr.Error = missing(op, res, sr, o.moveDest)
	return sr
}

// missing says what is wrong with a retrieval the PACS answered, or "":
// a failure status, or fewer instances here than the PACS says it
// stored: with C-MOVE, its entry for our AE title may point to another
// host or port, where the instances went instead.
func missing(op string, res dimse.RetrieveResult, sr *studyResult, moveDest string) string {
	if res.Status.Kind() == dimse.Failure {
		return fmt.Sprintf("%s answered %v", op, res.Status)
	}
	stored, _ := sr.counts()
	hint := ""
	if op == "C-MOVE" {
		hint = fmt.Sprintf(" (does the PACS's entry for AE title %s name this host and --port?)", moveDest)
	}
	switch {
	case res.Completed > stored:
		return fmt.Sprintf("the PACS reports %s stored, %d arrived here%s", count(res.Completed, "instance"), stored, hint)
	case stored == 0:
		return "no instance arrived" + hint
	}
	return ""
}

// ok reports a study fully retrieved.
func (sr *studyResult) ok() bool {
	if sr.Error != "" || sr.Kind != dimse.Success || sr.Failed > 0 || sr.Warning > 0 {
		return false
	}
	for _, ir := range sr.Instances {
		if ir.failed() {
			return false
		}
	}
	return true
}

func (sr *studyResult) counts() (stored, failed int) {
	for _, ir := range sr.Instances {
		if ir.failed() {
			failed++
		} else {
			stored++
		}
	}
	return stored, failed + sr.Failed
}

// finish prints the result table (or JSON) and the failures, and gives
// the exit code: 11 if anything was not retrieved.
func (run *fetchRun) finish(asJSON bool) error {
	bad := 0
	for _, sr := range run.studies {
		if !sr.ok() {
			bad++
		}
		for _, ir := range sr.Instances {
			if ir.failed() {
				fmt.Fprintf(run.e.stderr, "fetch: %s: %s\n", ir.SOPInstanceUID, ir.Error)
			}
		}
		if sr.Error != "" {
			fmt.Fprintf(run.e.stderr, "fetch: study %s: %s\n", sr.Match.StudyUID, sr.Error)
		} else if !sr.ok() {
			fmt.Fprintf(run.e.stderr, "fetch: study %s: the PACS answered %s\n", sr.Match.StudyUID, sr.Status)
		}
	}
	var err error
	if asJSON {
		err = writeJSON(run.e.stdout, run.json())
	} else {
		err = run.table(run.e.stdout)
	}
	if err != nil {
		return err
	}
	if bad > 0 {
		return withCode(exitNotStored, fmt.Errorf("%s: %d of %s not fully retrieved", run.peer, bad, count(len(run.studies), "study")))
	}
	stored := 0
	for _, sr := range run.studies {
		n, _ := sr.counts()
		stored += n
	}
	fmt.Fprintf(run.e.info(), "fetch %s: %s, %s into %s\n", run.peer, count(len(run.studies), "study"), count(stored, "instance"), run.out)
	return nil
}

func (run *fetchRun) table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "STUDY INSTANCE UID\tMODALITIES\tINSTANCES\tFAILED\tRESULT")
	for _, sr := range run.studies {
		stored, failed := sr.counts()
		result := "retrieved"
		if !sr.ok() {
			result = "incomplete"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", sr.Match.StudyUID, orDash(sr.Match.Modalities), stored, failed, result)
	}
	return tw.Flush()
}

// fetchJSON is fetch --json.
type fetchJSON struct {
	Peer    string           `json:"peer"`
	Dir     string           `json:"dir"`
	Studies []fetchStudyJSON `json:"studies"`
	Counts  map[string]int   `json:"counts"`          // instances by result
	Error   string           `json:"error,omitempty"` // why nothing was fetched (no match, two patients, PACS unreachable)
}

type fetchStudyJSON struct {
	importer.StudyMatch
	Result    string           `json:"result"` // retrieved or incomplete
	Status    string           `json:"status,omitempty"`
	Failed    int              `json:"failed_sub_operations"`
	Warning   int              `json:"warning_sub_operations"`
	Error     string           `json:"error,omitempty"`
	Instances []instanceResult `json:"instances"`
}

func (run *fetchRun) json() fetchJSON {
	out := fetchJSON{Peer: run.peer.String(), Dir: run.out, Studies: []fetchStudyJSON{}, Counts: map[string]int{}}
	for _, sr := range run.studies {
		sj := fetchStudyJSON{StudyMatch: sr.Match, Result: "retrieved", Status: sr.Status, Failed: sr.Failed,
			Warning: sr.Warning, Error: sr.Error, Instances: sr.Instances}
		if !sr.ok() {
			sj.Result = "incomplete"
		}
		if sj.Instances == nil {
			sj.Instances = []instanceResult{}
		}
		for _, ir := range sr.Instances {
			out.Counts[ir.Result]++
		}
		out.Studies = append(out.Studies, sj)
	}
	return out
}

// fetchProgress shows, on a terminal, the instances of the study being
// fetched and what the PACS says remains; UIDs and counts only.
type fetchProgress struct {
	p         *progress
	nth       string // "2/3": the study's place in the fetch
	mu        sync.Mutex
	received  int
	remaining int
}

func newFetchProgress(w io.Writer, nth string) *fetchProgress {
	return &fetchProgress{p: newProgress(w, "fetch", 0, 0), nth: nth, remaining: -1}
}

func (f *fetchProgress) instance(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received = n
	f.show(false)
}

func (f *fetchProgress) pending(s dimse.SubOperations) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remaining = s.Remaining
	f.show(false)
}

func (f *fetchProgress) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.show(true)
}

func (f *fetchProgress) show(final bool) {
	f.p.line(final, func() string {
		rest := ""
		if f.remaining >= 0 && !final {
			rest = fmt.Sprintf(", %d remaining", f.remaining)
		}
		return fmt.Sprintf("fetch: study %s: %s%s", f.nth, count(f.received, "instance"), rest)
	})
}

// record is fetch's audit record of one study: DICOM Instances
// Transferred from the PACS to us (we asked: we are the requestor), with
// the instances that are here, and as a failure when the study did not
// arrive whole. The patient is the one its files name, else the one the
// C-FIND answer gave.
func (run *fetchRun) record(ctx context.Context, cfg dimse.Config, o *fetchOptions, sr *studyResult) {
	e := run.e
	if e.audit.logger == nil {
		return
	}
	st := audit.Study{UID: sr.Match.StudyUID, Accession: sr.Match.AccessionNumber,
		Patient: audit.Patient{ID: sr.Match.PatientID}, SOPClasses: map[string]int{}}
	named := false
	for _, ir := range sr.Instances {
		if ir.failed() || ir.Path == "" {
			continue
		}
		st.SOPClasses[ir.sopClass]++
		if !named {
			if in, _, err := dicomdir.ReadInstance(filepath.Join(run.out, ir.Path)); err == nil && in != nil {
				id, name, _, _ := in.Subject()
				st.Patient, named = audit.Patient{ID: id, Name: name}, true
			}
		}
	}
	var err error
	if !sr.ok() {
		err = errors.New(cmp.Or(sr.Error, "the study did not arrive whole"))
	}
	host, _, _ := net.SplitHostPort(run.peer.Addr)
	pacs := audit.Participant{UserID: run.peer.AET, AETitle: run.peer.AET, Host: host}
	local := e.audit.local
	local.AETitle = cfg.CallingAE
	if o.method == "move" {
		local.AETitle = o.moveDest
	}
	e.record(ctx, audit.InstancesTransferred(e.auditEvent(err), audit.Create, pacs, local, []audit.Study{st})...)
}
