package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

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

Reconciliation (IHE IRWF): --patient-id, --issuer and --patient-name store
the instances under the local patient identity. Every UID is kept; the
original values are kept in Original Attributes Sequence (0400,0561) and the
original Patient ID in Other Patient IDs Sequence (0010,1002); every other
element is sent byte for byte. Instances in big endian or deflated transfer
syntaxes cannot be reconciled and are reported as failed. The resume state
distinguishes sends with different reconciliations (by a hash, not the
values).

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
to disk.`,
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
	f.StringVar(&o.change.PatientID, "patient-id", "", "store under this Patient ID (the original goes to Other Patient IDs Sequence)")
	f.StringVar(&o.change.Issuer, "issuer", "", "store with this Issuer of Patient ID")
	f.StringVar(&o.change.PatientName, "patient-name", "", "store under this Patient's Name (DICOM PN, e.g. DOE^JANE)")
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
	insts, skipped, done, err := collect(e, src, o)
	if err != nil {
		return err
	}
	defer done()
	importer.Reconcile(insts, o.change)
	st, err := openState(o, p)
	if err != nil {
		return err
	}
	defer st.Close()
	var todo []*dimse.Instance
	var total int64
	for _, in := range insts {
		if st.Stored(in.SOPInstanceUID) {
			skipped = append(skipped, sendItem{Label: in.Label, UID: in.SOPInstanceUID, Result: "skipped", Detail: "already stored (state file)"})
			continue
		}
		todo = append(todo, in)
		total += in.Size
	}
	items := sendInstances(ctx, e, cfg, todo, total, o.associations, st)
	return report(e, append(items, skipped...), src, o.salvage)
}

func sendInstances(ctx context.Context, e *env, cfg dimse.Config, todo []*dimse.Instance, total int64, associations int, st *importer.State) []sendItem {
	prog := newProgress(e.stderr, "sending", len(todo), total)
	var items []sendItem
	_ = importer.Send(ctx, cfg, todo, associations, func(it importer.Item) {
		prog.add(it.Size)
		prog.fileDone()
		if !it.Failed {
			st.Record(it.UID)
		}
		items = append(items, it)
	})
	return items
}

// collect lists what to send: the instances of a medium (an image file
// or a folder, sealed, plain or a mix, with or without a DICOMDIR),
// unlocked with the key flags and open until done is called. Files that
// are not DICOM are listed as skipped; missing and damaged ones as failed.
// A medium of ours with problems (a missing manifest, an added file) is
// refused unless --salvage.
func collect(e *env, src string, o *sendOptions) (insts []*dimse.Instance, skipped []sendItem, done func(), err error) {
	d, err := media.Open(src)
	if err != nil {
		return nil, nil, nil, err
	}
	unlock := unlockDisc
	if o.salvage {
		unlock = salvageDisc
	}
	if err := unlock(e, d, &o.keys); err != nil {
		d.Close()
		return nil, nil, nil, err
	}
	printWarnings(e, d)
	for _, p := range d.Problems() {
		if !o.salvage {
			d.Close()
			return nil, nil, nil, fmt.Errorf("%v\n(nothing was sent: \"securemedia verify\" lists every problem; --salvage sends what is intact): %w", p, p.Err)
		}
		skipped = append(skipped, sendItem{Label: p.Path, Result: "failed", Detail: "not sent: " + p.Err.Error(), Failed: true, Damaged: true})
	}
	for _, f := range d.Others() {
		skipped = append(skipped, sendItem{Label: f.Path, Result: "skipped", Detail: "not a DICOM instance: " + f.What})
	}
	if k := d.Scanned(); k > 0 && !d.Listed() {
		fmt.Fprintf(e.stderr, "send %s: no DICOMDIR, the %d instances were found by scanning\n", src, k)
	} else if k > 0 {
		fmt.Fprintf(e.stderr, "send %s: %d instances are not in the DICOMDIR: found by scanning, and sent too\n", src, k)
	}
	insts, bad, err := importer.DiscInstances(d, nil)
	if err != nil {
		d.Close()
		return nil, nil, nil, err
	}
	return insts, append(skipped, bad...), func() { d.Close() }, nil
}

// report prints the per-instance table on stdout and a summary on stderr.
func report(e *env, items []sendItem, src string, salvage bool) error {
	sort.SliceStable(items, func(i, j int) bool { return items[i].Label < items[j].Label })
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tFILE\tSOP INSTANCE UID\tDETAIL")
	counts := map[string]int{}
	failed, damaged := 0, 0
	for _, it := range items {
		counts[it.Result]++
		if it.Failed {
			failed++
		}
		if it.Damaged {
			damaged++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.Result, it.Label, orDash(it.UID), orDash(it.Detail))
	}
	tw.Flush()
	var parts []string
	for _, k := range []string{"sent", "warning", "skipped", "failed", "refused", "not sent", "cancelled"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	fmt.Fprintf(e.stderr, "send %s: %s\n", src, strings.Join(parts, ", "))
	if salvage && failed > 0 && failed == damaged { // every intact instance was stored
		return &quietError{codedError{code: exitSalvaged, err: fmt.Errorf("%d files lost", damaged)}}
	}
	if failed > 0 {
		return &quietError{codedError{code: exitNotStored, err: fmt.Errorf("%d instances not stored", failed)}}
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
	return importer.OpenState(path, p.String(), o.change, o.noResume)
}
