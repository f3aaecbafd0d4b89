package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/media"
)

type sendOptions struct {
	nf           netFlags
	change       importer.Change
	associations int
	state        string
	noResume     bool
	keys         keyFlags // for an encrypted medium
	salvage      bool
	sel          importer.Selection
	reconcile    string // a file mapping disc patients to local identities
	asJSON       bool
}

func newSendCommand(e *env) *cobra.Command {
	var o sendOptions
	cmd := &cobra.Command{
		Use:   "send DISC|FOLDER --pacs AET@HOST:PORT",
		Short: "Send the studies of an encrypted medium or a folder to a PACS (C-STORE)",
		Long: `send stores every instance of an encrypted medium (DISC), or every DICOM
Part 10 file found under FOLDER, in the PACS with C-STORE. DISC and FOLDER
are read alike: with or without a DICOMDIR, sealed, plain or a mix. Each instance is
offered in its own transfer syntax: compressed data is never transcoded. Two
lossless rewrites are allowed when the PACS does not take an instance's own
encoding: explicit VR little endian data may travel as implicit VR little
endian (element headers only), and deflated data inflated (explicit or
implicit VR little endian). Anything else the PACS cannot take is reported as
refused, never sent altered. Progress is shown on a terminal.
Files that are not DICOM Part 10 files, and DICOMDIRs, are listed as skipped.

At the end a table gives each instance's result: sent, warning (stored, with
the PACS's warning status), or failed/refused/not sent with the reason. The
exit code is 11 if any instance was not stored.

Resuming: every instance the PACS confirms is recorded in a state file
(default: <user cache dir>/securemedia/sent.tsv, one line per instance:
AET@HOST:PORT, tab, SOP Instance UID). A re-run to the same PACS skips those
and sends only the rest. --no-resume sends everything again; deleting the file
forgets everything. The file holds UIDs only, no patient data.

Selection: --patient, --study and --series send part of the medium, as
"securemedia open" lists and numbers it (see SELECTION below).

Reconciliation (IHE IRWF), one patient at a time: --patient-id, --issuer and
--patient-name store the instances under the local patient identity, and
apply only when the selection holds exactly one patient: with two patients on
the medium, send refuses (exit 2, nothing sent) and lists them, so that one
patient's images are never filed under another's record. To find the local
identity, "securemedia find-patient" asks the PACS. To send several patients
in one run, --reconcile FILE maps each to its own local identity: one line per
patient, tab-separated: the medium's Patient ID (or #N), the local Patient ID,
and optionally the local issuer and name; lines starting with "#" and a
non-digit are comments. A patient the file does not map is not sent, and
listed (exit 11). Every UID is kept; the original values are kept in
Original Attributes Sequence (0400,0561) and the original Patient ID in Other
Patient IDs Sequence (0010,1002); every other element is sent byte for byte.
Instances in big endian or deflated transfer syntaxes cannot be reconciled
and are reported as failed. The resume state distinguishes sends with
different reconciliations (by a hash, not the values).

An encrypted medium (an ISO image, a USB folder or a mounted disc made by
"securemedia burn" or another Basic DICOM Media Security Profile writer) is
unlocked like "securemedia open": --password-file, --password-env or a
prompt, or --key/--cert or --p12. Each instance's file is read once:
decrypted into memory to its end (its digest or signature checked) and
compared with its DICOMDIR record while the previous instance is sent, and
only then offered; a damaged instance, or one that is not what its record
says, is reported, not sent. (One over 64 MiB is checked in a first pass
and streamed in a second, whose own check aborts the transfer on a failure:
the PACS never stores an incomplete instance.) Nothing decrypted is written
to disk.

` + selectionHelp + "\n\n" + tlsClientHelp + "\n\n" + auditHelp + `
  send records DICOM Instances Transferred to the PACS for the instances it
  stored (one message per patient, under the identity they were stored
  with) and, for a medium (a DICOMDIR or sealed files), its Import; those
  not stored are recorded as a failure.

EXAMPLES
  securemedia open disc.iso
  securemedia find-patient --pacs PACS@pacs.example:104 --name 'DOE^PETER' --birth-date 19700101
  securemedia send disc.iso --pacs PACS@pacs.example:104 --patient '#1' --patient-id LOCAL-42 --issuer HOSP
  securemedia send disc.iso --pacs PACS@pacs.example:104 --reconcile patients.tsv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSend(cmd.Context(), e, args[0], &o) },
	}
	o.nf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&o.state, "state", "", "state file of instances already confirmed (default <user cache dir>/securemedia/sent.tsv)")
	f.IntVar(&o.associations, "associations", 1, "parallel associations (1 to 8)")
	f.BoolVar(&o.noResume, "no-resume", false, "send every instance, even those the PACS already confirmed")
	f.BoolVar(&o.salvage, "salvage", false, "a damaged medium: send every instance that is intact, even when the DICOMDIR or manifest cannot be read (exit 13 if anything was lost)")
	o.keys.addFlags(cmd)
	addSelectionFlags(cmd, &o.sel)
	addJSONFlag(cmd, &o.asJSON)
	f.StringVar(&o.reconcile, "reconcile", "", "store each patient under its local identity from `FILE` (TSV: disc Patient ID or #N, local Patient ID, issuer, name)")
	f.StringVar(&o.change.PatientID, "patient-id", "", "store under this Patient ID (the original goes to Other Patient IDs Sequence); one patient only")
	f.StringVar(&o.change.Issuer, "issuer", "", "store with this Issuer of Patient ID")
	f.StringVar(&o.change.PatientName, "patient-name", "", "store under this Patient's Name (DICOM PN, e.g. DOE^JANE)")
	addAuditFlags(cmd, e)
	return cmd
}

// sendItem is one line of the result table.
type sendItem = importer.Item

func runSend(ctx context.Context, e *env, src string, o *sendOptions) error {
	cfg, p, err := o.nf.config()
	if err != nil {
		return err
	}
	if o.associations < 1 || o.associations > 8 {
		return withCode(exitUsage, fmt.Errorf("--associations %d: want 1 to 8", o.associations))
	}
	if err := o.change.Check(); err != nil {
		return withCode(exitUsage, err)
	}
	var maps []importer.Mapping
	if o.reconcile != "" {
		if !o.change.Empty() {
			return withCode(exitUsage, errors.New("--reconcile gives each patient its identity: it does not go with --patient-id, --issuer or --patient-name"))
		}
		if maps, err = readMappings(o.reconcile); err != nil {
			return withCode(exitUsage, err)
		}
	}
	if err := e.startAudit(ctx, "securemedia send"); err != nil {
		return err
	}
	d, skipped, err := collect(e, src, o)
	if err != nil {
		return err
	}
	defer d.Close()
	batches, refused, err := plan(d, o, maps)
	if err != nil {
		return err
	}
	skipped = append(skipped, refused...)
	st, err := openState(o, p)
	if err != nil {
		return err
	}
	defer st.Close()
	var todo []*dimse.Instance
	var total int64
	changeOf := map[string]importer.Change{} // by Label: one per file
	for _, b := range batches {
		insts, bad, err := importer.DiscInstances(d, b.instances)
		if err != nil {
			return err
		}
		skipped = append(skipped, bad...)
		importer.Reconcile(insts, b.change)
		for _, in := range insts {
			if st.Stored(b.change, in.SOPInstanceUID) {
				skipped = append(skipped, sendItem{Label: in.Label, UID: in.SOPInstanceUID, Result: "skipped", Detail: "already stored (state file)"})
				continue
			}
			changeOf[in.Label] = b.change
			todo = append(todo, in)
			total += in.Size
		}
	}
	items, err := sendInstances(ctx, e, cfg, todo, total, o.associations, func(it sendItem) { st.Record(changeOf[it.Label], it.UID) })
	recordSend(ctx, e, sendAudit{src: src, disc: d, calling: cfg.CallingAE, peer: p, changeOf: changeOf}, items, err)
	if err != nil && ctx.Err() == nil && neverAssociated(items) {
		// Not one association: one line says why, not a row per instance.
		err = withCode(exitNetwork, fmt.Errorf("send to %s: %w; nothing was sent", p, explainTLS(firstError(err), false)))
		if o.asJSON {
			writeJSON(e.stdout, sendJSON{Source: src, Peer: p.String(), Results: []sendItemJSON{}, Counts: map[string]int{}, Error: err.Error()})
		}
		return err
	}
	items = append(items, skipped...)
	if o.asJSON {
		return reportJSON(e, items, src, p, o.salvage)
	}
	return report(e, items, src, o.salvage)
}

// batch is instances to store under one identity (an empty change: as
// they are on the medium).
type batch struct {
	instances []*media.Instance
	change    importer.Change
}

// plan applies the selection and the reconciliation (IHE IRWF, one
// patient at a time): a new identity from the flags only for a selection
// of exactly one patient, or per patient from the --reconcile file, whose
// unmapped patients are not sent but listed. Nothing is sent when the
// selection or the reconciliation does not hold (exit 2).
func plan(d *media.Disc, o *sendOptions, maps []importer.Mapping) ([]batch, []sendItem, error) {
	picks, rest, err := importer.Select(d, o.sel)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	var out []batch
	var notSent []sendItem
	switch {
	case maps != nil:
		if out, notSent, err = planMapped(d, picks, maps); err != nil {
			return nil, nil, err
		}
	case !o.change.Empty() && len(picks) != 1:
		return nil, nil, withCode(exitUsage, fmt.Errorf("--patient-id, --issuer and --patient-name are one patient's identity, and this selection holds %d patients: nothing was sent\n%s\n(or map each patient to its local identity with --reconcile FILE)",
			len(picks), listPicks(picks)))
	default:
		for _, p := range picks {
			out = append(out, batch{instances: p.Instances, change: o.change})
		}
	}
	if len(rest) > 0 {
		out = append(out, batch{instances: rest}) // outside any patient: nothing to reconcile
	}
	return out, notSent, nil
}

// planMapped gives each picked patient the identity the reconciliation
// file maps it to; those it does not map are listed, not sent.
func planMapped(d *media.Disc, picks []*importer.Pick, maps []importer.Mapping) ([]batch, []sendItem, error) {
	changes, unmapped, err := importer.Assign(picks, d.Patients(), maps)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	var out []batch
	for _, p := range picks {
		if c, ok := changes[p]; ok {
			out = append(out, batch{instances: p.Instances, change: c})
		}
	}
	var notSent []sendItem
	for _, p := range unmapped {
		for _, in := range p.Instances {
			notSent = append(notSent, sendItem{Label: in.Path(), UID: in.SOPInstanceUID, Result: "not sent", Failed: true,
				Detail: fmt.Sprintf("patient #%d is not in the reconciliation file", p.Number)})
		}
	}
	return out, notSent, nil
}

// listPicks lists the selected patients with their numbers.
func listPicks(picks []*importer.Pick) string {
	var b strings.Builder
	for _, p := range picks {
		fmt.Fprintf(&b, "  %s\n", p.Label())
	}
	b.WriteString("select one with --patient '#N' (as \"securemedia open\" numbers them)")
	return b.String()
}

func readMappings(path string) ([]importer.Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--reconcile: %w", err)
	}
	defer f.Close()
	maps, err := importer.ParseMappings(f)
	if err != nil {
		return nil, fmt.Errorf("--reconcile %s: %w", path, err)
	}
	return maps, nil
}

// sendInstances sends todo and returns a row per instance, and the error
// of an association that could not be had (the peer unreachable, or
// rejecting us).
func sendInstances(ctx context.Context, e *env, cfg dimse.Config, todo []*dimse.Instance, total int64, associations int, stored func(sendItem)) ([]sendItem, error) {
	prog := newProgress(e.info(), "sending", len(todo), total)
	var items []sendItem
	err := importer.Send(ctx, cfg, todo, associations, func(it importer.Item) {
		prog.add(it.Size)
		prog.fileDone()
		if !it.Failed {
			stored(it)
		}
		items = append(items, it)
	})
	return items, err
}

// firstError is the first of errors joined (parallel associations fail
// alike: one says it).
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		return j.Unwrap()[0]
	}
	return err
}

// neverAssociated tells whether no instance got as far as an association.
func neverAssociated(items []sendItem) bool {
	for _, it := range items {
		if it.Outcome != dimse.NotTried {
			return false
		}
	}
	return true
}

// collect opens the medium (an image file or a folder, sealed, plain or a
// mix, with or without a DICOMDIR), unlocked with the key flags. Files
// that are not DICOM are listed as skipped. A medium of ours with problems
// (a missing manifest, an added file) is refused unless --salvage, which
// lists them as failed.
func collect(e *env, src string, o *sendOptions) (d *media.Disc, skipped []sendItem, err error) {
	d, err = media.Open(src)
	if err != nil {
		return nil, nil, err
	}
	unlock := unlockDisc
	if o.salvage {
		unlock = salvageDisc
	}
	if err := unlock(e, d, &o.keys); err != nil {
		d.Close()
		return nil, nil, err
	}
	printWarnings(e, d)
	for _, p := range d.Problems() {
		if !o.salvage {
			d.Close()
			return nil, nil, fmt.Errorf("%v\n(nothing was sent: \"securemedia verify\" lists every problem; --salvage sends what is intact): %w", p, p.Err)
		}
		skipped = append(skipped, sendItem{Label: p.Path, Result: "failed", Detail: "not sent: " + p.Err.Error(), Failed: true, Damaged: true})
	}
	for _, f := range d.Others() {
		skipped = append(skipped, sendItem{Label: f.Path, Result: "skipped", Detail: "not a DICOM instance: " + f.What})
	}
	if k := d.Scanned(); k > 0 && !d.Listed() {
		fmt.Fprintf(e.info(), "send %s: no DICOMDIR, %s found by scanning\n", src, count(k, "instance"))
	} else if k > 0 {
		fmt.Fprintf(e.info(), "send %s: %s not in the DICOMDIR: found by scanning, and sent too\n", src, count(k, "instance"))
	}
	return d, skipped, nil
}

// report prints the per-instance table on stdout and a summary on stderr.
func report(e *env, items []sendItem, src string, salvage bool) error {
	sort.SliceStable(items, func(i, j int) bool { return items[i].Label < items[j].Label })
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tFILE\tSOP INSTANCE UID\tDETAIL")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Result, it.Label, orDash(it.UID), orDash(it.Detail))
	}
	tw.Flush()
	return summarize(e, items, src, salvage)
}

// reportJSON is report for --json: one object on stdout.
func reportJSON(e *env, items []sendItem, src string, p peer, salvage bool) error {
	sort.SliceStable(items, func(i, j int) bool { return items[i].Label < items[j].Label })
	j := sendJSON{Source: src, Peer: p.String(), Results: []sendItemJSON{}, Counts: resultCounts(items)}
	for _, it := range items {
		j.Results = append(j.Results, sendItemJSON{Result: it.Result, File: it.Label, SOPInstanceUID: it.UID, Detail: it.Detail, Failed: it.Failed})
	}
	if err := writeJSON(e.stdout, j); err != nil {
		return err
	}
	return summarize(e, items, src, salvage)
}

// sendResults are the results a send reports, in the summary's order.
var sendResults = []string{"sent", "warning", "skipped", "failed", "refused", "not sent", "cancelled"}

func resultCounts(items []sendItem) map[string]int {
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Result]++
	}
	return counts
}

// summarize prints the summary line on stderr and returns the exit.
func summarize(e *env, items []sendItem, src string, salvage bool) error {
	counts := resultCounts(items)
	failed, damaged := 0, 0
	for _, it := range items {
		if it.Failed {
			failed++
		}
		if it.Damaged {
			damaged++
		}
	}
	var parts []string
	for _, k := range sendResults {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	fmt.Fprintf(e.info(), "send %s: %s\n", src, strings.Join(parts, ", "))
	if salvage && failed > 0 && failed == damaged { // every intact instance was stored
		return &quietError{codedError{code: exitSalvaged, err: fmt.Errorf("%s lost", count(damaged, "file"))}}
	}
	if failed > 0 {
		return &quietError{codedError{code: exitNotStored, err: fmt.Errorf("%s not stored", count(failed, "instance"))}}
	}
	return nil
}

func openState(o *sendOptions, p peer) (*importer.State, error) {
	path := o.state
	if path == "" {
		var err error
		if path, err = importer.DefaultStatePath(); err != nil {
			return nil, fmt.Errorf("%w (use --state FILE)", err)
		}
	}
	return importer.OpenState(path, p.String(), o.noResume)
}

// sendAudit is what send's audit records name besides the results.
type sendAudit struct {
	src      string
	disc     *media.Disc
	calling  string
	peer     peer
	changeOf map[string]importer.Change // by label, for the instances sent
}

// recordSend records what send did: for the instances stored, DICOM
// Instances Transferred to the PACS (under the identity they were stored
// with) and, when they came from a medium (a DICOMDIR or sealed files),
// its Import; for those the PACS did not store, the same as failures
// (PS3.15 A.5.2: one message for what succeeded, one for what failed).
func recordSend(ctx context.Context, e *env, a sendAudit, items []sendItem, err error) {
	if e.audit.logger == nil {
		return
	}
	stored, failed := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		switch {
		case it.Failed:
			failed[it.Label] = true
		case it.Result == "sent" || it.Result == "warning":
			stored[it.Label] = true
		}
	}
	if len(failed) > 0 && err == nil {
		err = fmt.Errorf("%s not stored by %s", count(len(failed), "instance"), a.peer)
	}
	local := e.audit.local
	local.AETitle = a.calling
	host, _, _ := net.SplitHostPort(a.peer.Addr)
	pacs := audit.Participant{UserID: a.peer.AET, AETitle: a.peer.AET, Host: host}
	storedAs := func(in *media.Instance) *audit.Patient {
		c, ok := a.changeOf[in.Path()]
		if !ok || c.Empty() || in.Series == nil {
			return nil
		}
		p := in.Series.Study.Patient
		return &audit.Patient{ID: cmp.Or(c.PatientID, p.ID), Name: cmp.Or(c.PatientName, p.Name)}
	}
	fromMedium := a.disc.Listed() || a.disc.Sealed()
	medium := audit.Medium{Type: audit.MediaURI, URI: fileURI(a.src), Label: a.disc.FileSetID()}
	for _, part := range []struct {
		done map[string]bool
		err  error
	}{{stored, nil}, {failed, err}} {
		if len(part.done) == 0 {
			continue
		}
		in := func(i *media.Instance) bool { return part.done[i.Path()] }
		ev := e.auditEvent(part.err)
		if fromMedium {
			e.record(ctx, audit.Import(ev, medium, auditStudies(a.disc.Patients(), in, nil)))
		}
		e.record(ctx, audit.InstancesTransferred(ev, audit.Read, local, pacs, auditStudies(a.disc.Patients(), in, storedAs))...)
	}
}
