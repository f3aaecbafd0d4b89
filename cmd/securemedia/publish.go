package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/publish"
)

type publishOptions struct {
	receiveOptions
	spool, per, medium, label, contact, slip string
	settle                                   time.Duration
	keep, noViewer, noEject                  bool
	recipients                               []string
	device, speed, viewerDir                 string
	statusPort                               int
	pacs, fetchMethod                        string // requests by accession number
}

// siteConfigKeys are the settings the site configuration file may hold:
// long flag names of publish, which takes them all, and of the other
// commands that take some (fetch: pacs, timeout; burn, send, receive,
// view: audit, audit-ca). Any other key is refused.
var siteConfigKeys = []string{"spool", "out", "aet", "port", "bind", "per", "settle", "keep", "allow-aet",
	"max-associations", "handshake-timeout", "timeout", "media", "recipient", "label", "contact", "slip",
	"device", "speed", "no-eject", "viewer-dir", "no-viewer", "status-port",
	"tls", "tls-cert", "tls-key", "tls-ca", "tls-no-client-cert", "pacs", "fetch-method", "audit", "audit-ca", "audit-cert", "audit-key"}

func newPublishCommand(e *env) *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish --spool DIR --out DIR --aet AET --port N [flags]",
		Short: "Run the disc publisher: studies sent by a PACS become verified encrypted discs",
		Long: `publish is the imaging centre's disc publisher: a DICOM storage AE (C-STORE
SCP, as "securemedia receive") whose instances are collected into jobs, one
per study (--per study, the default) or one per patient (--per patient). A
job is complete when nothing has arrived for it for --settle (default 30s);
then it is burned as "securemedia burn" would: an encrypted ISO image
OUT/<LABEL>.iso with a new generated password, its password slip next to it
(OUT/<LABEL>.slip.html, or .txt with slip = text), sealed for the site's
--recipient certificates too (its escrow certificate, for recovery). The
image is read back and verified like "securemedia verify" (every file
decrypted and checked against the manifest); with --device it is then
written to the optical drive, read back and compared, and ejected. Once
the disc has verified, the job's received instances are removed from the
spool (--keep retains them). An instance arriving after its job was complete
starts a new job (another disc), never changes a disc being burned.

SITE SETTINGS
  Every flag may be set in the site configuration file (--config FILE,
  $SECUREMEDIA_CONFIG, else /etc/securemedia/securemedia.conf), one
  "key = value" line each, the key being the long flag name; recipient and
  allow-aet may repeat. Flags on the command line win. Unknown keys are
  refused.

THE SPOOL (crash safety)
  The queue lives in --spool DIR (made readable by this user only): each
  job's state in DIR/jobs/N/state.json, replaced atomically, and its
  instances in DIR/jobs/N/files. An instance is answered with success only
  once it is on disk (fsynced) in its job. Killed at any moment (even kill
  -9) and started again, publish loses no instance, burns no study twice
  (an image under its final name was complete; it is verified and the job
  finished) and finishes the interrupted job (a partial image and its slip
  are removed and the job burned again, with a new password).

STATUS
  "securemedia publish status --spool DIR" lists the jobs: receiving,
  settling (quiet, waiting for --settle), queued, burning, verifying,
  writing (to the drive), done, or failed with the reason. A failed job
  (no blank disc, a full disc, a write error) stays queued as failed, its
  instances kept, until Retry on the status page. The status page is
  served on 127.0.0.1 (--status-port, default a random port) at the
  address publish prints, with a token for this run; it lists the jobs
  with Retry and Print slip buttons. No patient data is shown: jobs are
  told apart by number, label, times and counts.

WHO MAY SEND
  As for "securemedia receive": --bind, --allow-aet AET[@HOST],
  --max-associations, --handshake-timeout, --timeout, and DICOM TLS.

BY ACCESSION NUMBER
  With --pacs AET@HOST:PORT, a disc can also be asked for by accession
  number: "securemedia publish fetch --spool DIR --accession N", or the
  status page's form. The publisher finds the studies in the PACS (C-FIND,
  as "securemedia fetch") and retrieves them into its queue by C-GET, or by
  C-MOVE to its own --aet (--fetch-method move; the PACS must know that AE
  title with this host and --port). They become a job like a pushed study.
  A request stays in the spool until its studies have arrived, so that a
  restart fetches it again; one that fails (no such study, two patients,
  the PACS unreachable or incomplete) stays failed with the reason until
  Retry (or Remove) on the status page. With --tls the PACS is reached over TLS too, with --tls-cert and
  --tls-key as our client certificate and --tls-ca for the PACS's.

` + tlsHelp + `

` + auditHelp + `
  publish records an Export for each disc once it has verified (its label,
  studies and patients), a failed Export for each attempt that failed, and
  a DICOM Instances Transferred from the sender to us for each study
  received (once it has settled, and at stop).

EXAMPLES
  securemedia publish --spool /var/spool/securemedia --out /srv/discs --aet PUBLISHER --port 11112 \
      --recipient /etc/securemedia/escrow.pem --label CTR --contact "Imaging, +1 555 0100"
  securemedia --config /etc/securemedia/securemedia.conf publish
  securemedia publish status --spool /var/spool/securemedia
  securemedia publish status --spool /var/spool/securemedia --json
  securemedia publish fetch --spool /var/spool/securemedia --accession A123456

Exit codes: see "securemedia help exit-codes".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applySiteConfig(e, cmd, siteConfigKeys, siteConfigKeys); err != nil {
				return err
			}
			return runPublish(cmd.Context(), e, cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.spool, "spool", "", "the queue's `DIR` (required; made readable by this user only)")
	f.StringVarP(&o.out, "out", "o", "", "where images and slips go, `DIR` (required)")
	f.StringVar(&o.aet, "aet", "", "our AE title (required)")
	f.IntVar(&o.port, "port", 0, "TCP port to listen on (required)")
	f.StringVar(&o.bind, "bind", "127.0.0.1", "address to listen on")
	f.StringVar(&o.per, "per", "study", "one disc per study or per patient")
	f.DurationVar(&o.settle, "settle", 30*time.Second, "a job is complete when nothing arrived for it this long")
	f.BoolVar(&o.keep, "keep", false, "keep a job's received instances after its disc verified")
	f.StringArrayVar(&o.allow, "allow-aet", nil, "accept only this calling `AET[@HOST]` (repeatable; default: any)")
	f.IntVar(&o.maxAssociations, "max-associations", 16, "associations at a time (1 to 256)")
	f.DurationVar(&o.handshakeTimeout, "handshake-timeout", dimse.DefaultServerARTIM, "time a new connection has to send its association request (and complete TLS)")
	f.StringVar(&o.medium, "media", "", "cd, dvd, dvd-dl or bd (default: the smallest disc that fits)")
	f.StringArrayVar(&o.recipients, "recipient", nil, "certificate `FILE` whose holder can open every disc too, such as the site's escrow certificate (repeatable)")
	f.StringVar(&o.label, "label", "SM", "label prefix: up to 6 of A-Z 0-9 _; a disc's label is PREFIX + YYMMDD + its job number")
	f.StringVar(&o.contact, "contact", "", "who to contact, printed in README.TXT (no patient data)")
	f.StringVar(&o.slip, "slip", "html", "password slip format: html (for a printer) or text")
	f.StringVar(&o.device, "device", "", "also write every disc to the optical drive `DRIVE` (/dev/sr0, or xorriso's stdio:FILE)")
	f.StringVar(&o.speed, "speed", "", "writing speed for --device, as xorriso takes it")
	f.BoolVar(&o.noEject, "no-eject", false, "leave the disc in the drive after --device")
	f.StringVar(&o.viewerDir, "viewer-dir", "", "take the viewer programs from `DIR` (see burn)")
	f.BoolVar(&o.noViewer, "no-viewer", false, "do not put the viewer programs on the discs")
	f.IntVar(&o.statusPort, "status-port", 0, "port of the status page on 127.0.0.1 (default: a random one; -1: none)")
	f.StringVar(&o.pacs, "pacs", "", "the PACS requests by accession number are fetched from, as `AET@HOST:PORT`")
	f.StringVar(&o.fetchMethod, "fetch-method", "get", "how requests are retrieved: get (C-GET) or move (C-MOVE to --aet)")
	o.nf.register(cmd, false)
	addAuditFlags(cmd, e)
	cmd.AddCommand(newPublishStatusCommand(e), newPublishFetchCommand(e))
	return cmd
}

// applySiteConfig sets every flag of cmd the command line left unset
// from the site configuration file, for the settings keys; settings not
// in known are refused, so that a misspelt one is not silently ignored.
func applySiteConfig(e *env, cmd *cobra.Command, keys, known []string) error {
	c, err := e.siteConfig()
	if err != nil || c == nil {
		return err
	}
	if err := c.Unknown(known...); err != nil {
		return withCode(exitUsage, err)
	}
	for _, k := range keys {
		fl := cmd.Flags().Lookup(k)
		if fl == nil || fl.Changed {
			continue
		}
		for _, v := range c.All(k) {
			if err := cmd.Flags().Set(k, v); err != nil {
				return withCode(exitUsage, fmt.Errorf("configuration file %s: %s = %s: %w", c.Path, k, v, err))
			}
		}
	}
	return nil
}

func runPublish(ctx context.Context, e *env, cmd *cobra.Command, o *publishOptions) error {
	for _, n := range []string{"spool", "out", "aet", "port"} {
		if fl := cmd.Flags().Lookup(n); !fl.Changed {
			return withCode(exitUsage, fmt.Errorf("--%s is required (on the command line or in the configuration file)", n))
		}
	}
	po, err := o.queueOptions(e)
	if err != nil {
		return err
	}
	if po.Fetch, err = o.fetcher(); err != nil {
		return err
	}
	srv, err := o.storageSCP(ctx)
	if err != nil {
		return err
	}
	if err := e.startAudit(ctx, "securemedia publish"); err != nil {
		return err
	}
	ra := newReceiveAudit(ctx, e, "", o.aet)
	defer ra.stop()
	if e.audit.logger != nil {
		po.Received = func(req dimse.StoreRequest, path string) { ra.add(req.CallingAE, req.SOPClassUID, path) }
		po.Verified = func(j publish.Job, plan *media.Plan) { e.record(ctx, publishExport(e, j, plan)) }
		po.Failed = func(j publish.Job, files string, err error) { e.record(ctx, publishExportFailed(e, j, files, err)) }
	}
	q, err := publish.Open(ctx, po)
	if err != nil {
		return err
	}
	if rs, _ := publish.ReadRequests(o.spool); po.Fetch == nil {
		waiting := 0
		for _, r := range rs {
			if r.State == publish.RequestPending {
				waiting++
			}
		}
		if waiting > 0 {
			fmt.Fprintf(e.stderr, "publish: warning: %s by accession number in the spool; without --pacs they are not fetched\n", count(waiting, "request"))
		}
	}
	ln, err := o.listen(ctx)
	if err != nil {
		return err
	}
	srv.Store = q.Handle
	over := ""
	if srv.TLS != nil {
		over = " (TLS)"
	}
	fmt.Fprintf(e.stderr, "publish: %s listening on %s%s; spool %s, discs into %s, settle %v\n", o.aet, ln.Addr(), over, o.spool, o.out, o.settle)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if o.statusPort >= 0 {
		page, err := publish.NewStatusPage(q, o.statusPort)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "publish: status page: %s\n", page.URL())
		wg.Go(func() { _ = page.Serve(ctx) })
	}
	wg.Go(func() { _ = q.Run(ctx) })
	err = srv.Serve(ctx, ln)
	cancel()
	wg.Wait()
	return untilInterrupted(ctx, err)
}

// queueOptions turns the flags into the queue's options.
func (o *publishOptions) queueOptions(e *env) (publish.Options, error) {
	po := publish.Options{Spool: o.spool, Out: o.out, Settle: o.settle, Keep: o.keep, LabelPrefix: o.label,
		Contact: o.contact, RecipientCerts: o.recipients, Version: versionString(), Device: o.device, Speed: o.speed, NoEject: o.noEject}
	switch o.per {
	case "study":
	case "patient":
		po.PerPatient = true
	default:
		return po, withCode(exitUsage, fmt.Errorf("--per %q: study or patient", o.per))
	}
	if o.settle <= 0 {
		return po, withCode(exitUsage, errors.New("--settle must be positive"))
	}
	switch o.slip {
	case "html":
		po.SlipExt = ".html"
	case "text", "txt":
		po.SlipExt = ".txt"
	default:
		return po, withCode(exitUsage, fmt.Errorf("--slip %q: html or text", o.slip))
	}
	if o.medium != "" {
		m, err := media.ParseMedium(o.medium)
		if err != nil || m == media.USB {
			return po, withCode(exitUsage, fmt.Errorf("--media %q: cd, dvd, dvd-dl or bd", o.medium))
		}
		po.Medium = m
	}
	if o.device != "" {
		if _, err := os.Stat(o.out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return po, err
		}
	}
	viewers, page, err := findViewers(e, &burnOptions{noViewer: o.noViewer, viewerDir: o.viewerDir})
	if err != nil {
		return po, err
	}
	po.Viewers, po.Page = viewers, page
	po.WriteSlip = func(path string, plan *media.Plan, pw []byte) error { return writeSlip(path, newSlip(plan, pw, false)) }
	po.Log = func(format string, args ...any) { fmt.Fprintf(e.stderr, "publish: "+format+"\n", args...) }
	return po, nil
}

// publishExport is the audit record of a verified disc: an Export of its
// studies and patients to the medium by its label. After a crash between
// the disc verifying and its job being recorded done it may be sent again
// at the restart: twice rather than never.
func publishExport(e *env, j publish.Job, plan *media.Plan) *audit.Message {
	m := audit.Medium{Label: j.Label}
	var studies []audit.Study
	if plan != nil {
		m.FileSetUID = plan.Directory.FileSetUID
		studies = auditStudies(plan.Patients(), nil, nil)
		var known bool
		if m.Type, known = auditMediaType(plan.Medium); !known {
			m.URI = fileURI(j.Output)
		}
	} else {
		m.Type, m.URI = audit.MediaURI, fileURI(j.Output)
	}
	return audit.Export(e.auditEvent(nil), m, studies)
}

// publishExportFailed is the audit record of a disc that could not be
// made (each attempt): an Export failure naming the studies and patients
// of the job's instances, read from their files.
func publishExportFailed(e *env, j publish.Job, files string, err error) *audit.Message {
	m := audit.Medium{Type: audit.MediaURI, URI: fileURI(j.Output), Label: j.Label}
	if j.Device != "" {
		m.URI = j.Device
	}
	return audit.Export(e.auditEvent(err), m, studiesInFolder(files))
}

// studiesInFolder are the studies of the DICOM files in dir, as audit
// records name them; a file that cannot be read is left out.
func studiesInFolder(dir string) []audit.Study {
	ents, _ := os.ReadDir(dir)
	var out []audit.Study
	at := map[string]int{} // study UID + patient → index in out
	for _, de := range ents {
		in, _, err := dicomdir.ReadInstance(filepath.Join(dir, de.Name()))
		if err != nil || in == nil {
			continue
		}
		id, name, study, accession := in.Subject()
		k := study + "\x00" + id + "\x00" + name
		i, ok := at[k]
		if !ok {
			i, at[k] = len(out), len(out)
			out = append(out, audit.Study{UID: study, Accession: accession, Patient: audit.Patient{ID: id, Name: name}, SOPClasses: map[string]int{}})
		}
		out[i].SOPClasses[in.SOPClassUID]++
	}
	return out
}

func newPublishStatusCommand(e *env) *cobra.Command {
	var spool string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status --spool DIR [--json]",
		Short: "List the disc publisher's jobs and their state",
		Long: `status reads the publisher's spool folder (it need not be running) and lists
its jobs, oldest first: number, state (receiving, settling, queued, burning,
verifying, writing, done, failed), instance count, disc label and output
image; a failed job with its reason. No patient data is shown. --spool may
come from the site configuration file.

EXAMPLES
  securemedia publish status --spool /var/spool/securemedia
  securemedia publish status --spool /var/spool/securemedia --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applySiteConfig(e, cmd, []string{"spool"}, siteConfigKeys); err != nil {
				return err
			}
			if spool == "" {
				return withCode(exitUsage, errors.New("--spool DIR is required"))
			}
			jobs, err := publish.ReadStatus(spool)
			if err != nil {
				return err
			}
			requests, err := publish.ReadRequestStatus(spool)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e.stdout, struct {
					Spool    string                  `json:"spool"`
					Jobs     []publish.JobStatus     `json:"jobs"`
					Requests []publish.RequestStatus `json:"requests"`
				}{spool, orEmpty(jobs), requests})
			}
			printJobs(e, spool, jobs)
			printRequests(e, requests)
			return nil
		},
	}
	cmd.Flags().StringVar(&spool, "spool", "", "the publisher's spool `DIR`")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func orEmpty(j []publish.JobStatus) []publish.JobStatus {
	if j == nil {
		return []publish.JobStatus{}
	}
	return j
}

// printRequests lists the requests by accession number still in the
// spool (pending, or failed with the reason), by number only.
func printRequests(e *env, rs []publish.RequestStatus) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(e.stdout, "\n%-8s %-9s %8s %9s\n", "REQUEST", "STATE", "ATTEMPTS", "INSTANCES")
	for _, r := range rs {
		fmt.Fprintf(e.stdout, "%-8d %-9s %8d %9d\n", r.ID, r.State, r.Attempts, r.Instances)
		if r.Reason != "" {
			fmt.Fprintf(e.stdout, "         reason: %s\n", r.Reason)
		}
	}
}

func printJobs(e *env, spool string, jobs []publish.JobStatus) {
	if len(jobs) == 0 {
		fmt.Fprintf(e.stdout, "%s: no jobs\n", spool)
		return
	}
	fmt.Fprintf(e.stdout, "%-5s %-10s %9s  %-16s %s\n", "JOB", "STATE", "INSTANCES", "LABEL", "OUTPUT")
	for _, j := range jobs {
		out := j.Output
		if out == "" {
			out = "-"
		}
		fmt.Fprintf(e.stdout, "%-5d %-10s %9d  %-16s %s\n", j.ID, j.State, j.Instances, j.Label, out)
		if j.Reason != "" {
			fmt.Fprintf(e.stdout, "      reason: %s\n", j.Reason)
		}
	}
}
