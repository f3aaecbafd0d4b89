package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/media"
)

// The audit trail (see audit and README.md, "Audit trail"). A command that
// moves or shows patient data opens the site's audit repository before it
// starts: one that cannot be reached stops it with exit 15, nothing done,
// so that no disc leaves and no study is sent unrecorded. A message that
// cannot be delivered afterwards (the repository went away meanwhile)
// leaves the work done, says so on stderr at once and makes the command
// exit 15 at the end, so that a script notices.

// auditState is a command's audit repository.
type auditState struct {
	url, ca   string // --audit, --audit-ca
	cert, key string // --audit-cert, --audit-key: our node certificate
	logger    audit.Logger
	local     audit.Participant
	mu        sync.Mutex // the viewer's pages record concurrently
	failed    int        // messages not delivered
}

const auditHelp = `AUDIT TRAIL
  --audit URL records DICOM audit messages (PS3.15 A.5, IHE ATNA) in the
  site's audit repository: syslog+tls://HOST:PORT (RFC 5425, verified
  against --audit-ca), syslog://HOST:PORT (UDP) or file:PATH. The default
  is the site configuration's "audit" (and "audit-ca"; "audit-cert" and
  "audit-key", or --audit-cert and --audit-key, for a repository that
  authenticates its clients, as IHE ATNA asks). A repository that
  cannot be reached stops the command before it starts (exit 15).`

// addAuditFlags gives cmd --audit and --audit-ca.
func addAuditFlags(cmd *cobra.Command, e *env) {
	f := cmd.Flags()
	f.StringVar(&e.audit.url, "audit", "", "record audit messages in `URL`: syslog+tls://HOST:PORT, syslog://HOST:PORT or file:PATH (default: the site configuration's audit)")
	f.StringVar(&e.audit.ca, "audit-ca", "", "the CA certificate `FILE` that verifies a syslog+tls audit repository (default: the site configuration's audit-ca, else the system's roots)")
	f.StringVar(&e.audit.cert, "audit-cert", "", "this node's certificate `FILE` (PEM) for a syslog+tls repository that authenticates its clients (default: the site configuration's audit-cert)")
	f.StringVar(&e.audit.key, "audit-key", "", "the private key `FILE` (PEM) of --audit-cert (default: the site configuration's audit-key)")
}

// startAudit opens the audit repository the flags or the site
// configuration name, for the command program; nothing when none does.
func (e *env) startAudit(ctx context.Context, program string) error {
	cfg, err := e.siteConfig()
	if err != nil {
		return err
	}
	setting := func(flag, key string) string {
		if flag == "" {
			flag, _ = cfg.Get(key)
		}
		return flag
	}
	url := setting(e.audit.url, "audit")
	if url == "" {
		return nil
	}
	o := audit.Options{CAFile: setting(e.audit.ca, "audit-ca"), CertFile: setting(e.audit.cert, "audit-cert"), KeyFile: setting(e.audit.key, "audit-key")}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return withCode(exitUsage, errors.New("--audit-cert and --audit-key go together"))
	}
	l, err := audit.Open(ctx, url, o)
	if errors.Is(err, audit.ErrURL) {
		return withCode(exitUsage, fmt.Errorf("--audit: %w", err))
	}
	if err != nil {
		return withCode(exitAudit, fmt.Errorf("%w; nothing was done (the audit trail must record it)", err))
	}
	e.audit.logger, e.audit.local = l, audit.Local(program)
	return nil
}

// auditEvent is an Event of this process that ended with err (nil:
// success) as outcome.
func (e *env) auditEvent(err error) audit.Event {
	ev := audit.Event{Local: e.audit.local}
	if err != nil {
		ev.Outcome, ev.Failure = audit.SeriousFailure, err.Error()
	}
	return ev
}

// record sends the messages; one that cannot be delivered is a warning now
// and exit 15 at the end. Sent even after Ctrl-C: what was done by then is
// recorded (the Logger's timeout bounds it).
func (e *env) record(ctx context.Context, msgs ...*audit.Message) {
	if e.audit.logger == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, m := range msgs {
		if err := e.audit.logger.Log(ctx, m); err != nil {
			e.audit.mu.Lock()
			e.audit.failed++
			e.audit.mu.Unlock()
			fmt.Fprintf(e.stderr, "warning: %v: this event is NOT in the audit trail\n", err)
		}
	}
}

// finishAudit closes the repository; an undelivered message makes a
// successful command exit 15.
func (e *env) finishAudit(err error) error {
	if e.audit.logger == nil {
		return err
	}
	e.audit.logger.Close()
	if err == nil && e.audit.failed > 0 {
		return withCode(exitAudit, fmt.Errorf("the work is done, but %s could not be recorded in the audit repository %s (see the warnings above)",
			count(e.audit.failed, "audit message"), e.audit.logger))
	}
	return err
}

// auditStudies are the studies of patients as audit records name them,
// counting the instances include accepts; identity gives the patient as
// the event left it (nil: as recorded).
func auditStudies(patients []*media.Patient, include func(*media.Instance) bool, identity func(*media.Instance) *audit.Patient) []audit.Study {
	var out []audit.Study
	for _, p := range patients {
		for _, st := range p.Studies {
			s := audit.Study{UID: st.UID, Accession: st.AccessionNumber, Patient: audit.Patient{ID: p.ID, Name: p.Name},
				SOPClasses: map[string]int{}}
			n := 0
			for _, se := range st.Series {
				for _, in := range se.Instances {
					if include != nil && !include(in) {
						continue
					}
					if n == 0 && identity != nil {
						if who := identity(in); who != nil {
							s.Patient = *who
						}
					}
					n++
					s.SOPClasses[in.SOPClassUID]++
				}
			}
			if n > 0 {
				out = append(out, s)
			}
		}
	}
	return out
}

// auditMediaType is the DCID 405 type of a medium securemedia writes; a
// Blu-ray disc, which DCID 405 has no code for, is named by its URI.
func auditMediaType(m media.Medium) (audit.MediaType, bool) {
	switch m {
	case media.CD:
		return audit.MediaCD, true
	case media.DVD, media.DVDDL:
		return audit.MediaDVD, true
	case media.USB:
		return audit.MediaUSB, true
	}
	return audit.MediaURI, false
}

// fileURI is path as a file: URI.
func fileURI(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "file://" + filepath.ToSlash(path)
}

// viewAuditor records what securemedia view's pages do with the disc
// (viewer.Auditor): DICOM Instances Accessed when its studies are shown,
// and for Send to PACS what send records.
type viewAuditor struct {
	ctx context.Context
	e   *env
	src string
}

func (a viewAuditor) Accessed(d *media.Disc) {
	a.e.record(a.ctx, audit.InstancesAccessed(a.e.auditEvent(nil), audit.Read, auditStudies(d.Patients(), nil, nil))...)
}

func (a viewAuditor) Forwarded(d *media.Disc, cfg dimse.Config, change importer.Change, items []importer.Item, err error) {
	changeOf := map[string]importer.Change{}
	for _, it := range items {
		changeOf[it.Label] = change
	}
	recordSend(a.ctx, a.e, sendAudit{src: a.src, disc: d, calling: cfg.CallingAE, peer: peer{AET: cfg.CalledAE, Addr: cfg.Address}, changeOf: changeOf}, items, err)
}
