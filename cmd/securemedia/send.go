package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/internal/dicom"
)

func init() { commandFactories = append(commandFactories, newSendCommand) }

// discInstances is the seam for sending from an encrypted disc or image:
// the media package's command file sets it (in its init) to a function
// that unlocks the disc and returns instances whose Open decrypts one
// instance at a time. While it is nil, send takes folders of plain DICOM
// files only.
var discInstances func(ctx context.Context, e *env, path string, o *sendOptions) ([]*dimse.Instance, []sendItem, error)

type sendOptions struct {
	nf           netFlags
	change       importer.Change
	associations int
	state        string
	noResume     bool
	keys         keyFlags // for an encrypted medium
}

func newSendCommand(e *env) *cobra.Command {
	var o sendOptions
	cmd := &cobra.Command{
		Use:   "send DISC|FOLDER --pacs AET@HOST:PORT",
		Short: "Send the studies of an encrypted medium or a folder to a PACS (C-STORE)",
		Long: `send stores every instance of an encrypted medium (DISC), or every DICOM
Part 10 file found under FOLDER, in the PACS with C-STORE. Each instance is
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
prompt, or --key/--cert or --p12. Every instance is decrypted and its digest
or signature checked before sending starts (a damaged one is reported, not
sent), and checked again as it is streamed: a failure then aborts that
transfer, so the PACS never stores an incomplete instance. Nothing
decrypted is written to disk.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSend(cmd.Context(), e, args[0], &o) },
	}
	o.nf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&o.state, "state", "", "state file of instances already confirmed (default <user cache dir>/securemedia/sent.tsv)")
	f.IntVar(&o.associations, "associations", 1, "parallel associations (1 to 8)")
	f.BoolVar(&o.noResume, "no-resume", false, "send every instance, even those the PACS already confirmed")
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
	insts, skipped, err := collect(ctx, e, src, o)
	if err != nil {
		return err
	}
	if o.associations < 1 || o.associations > 8 {
		return withCode(exitUsage, fmt.Errorf("--associations %d: want 1 to 8", o.associations))
	}
	cfg.Associations = o.associations
	if err := o.change.Check(); err != nil {
		return withCode(exitUsage, err)
	}
	importer.Reconcile(insts, o.change)
	st, err := openState(o, p)
	if err != nil {
		return err
	}
	defer st.close()
	var todo []*dimse.Instance
	var total int64
	for _, in := range insts {
		if st.done[in.SOPInstanceUID] {
			skipped = append(skipped, sendItem{Label: in.Label, UID: in.SOPInstanceUID, Result: "skipped", Detail: "already stored (state file)"})
			continue
		}
		todo = append(todo, in)
		total += in.Size
	}
	items := sendInstances(ctx, e, cfg, todo, total, st)
	return report(e, append(items, skipped...), src)
}

func sendInstances(ctx context.Context, e *env, cfg dimse.Config, todo []*dimse.Instance, total int64, st *sendState) []sendItem {
	prog := newProgress(e.stderr, "sending", len(todo), total)
	var items []sendItem
	_ = importer.Send(ctx, cfg, todo, func(it importer.Item) {
		prog.add(it.Size)
		prog.fileDone()
		if !it.Failed {
			st.record(it.UID)
		}
		items = append(items, it)
	})
	return items
}

// collect lists what to send: a folder of plain DICOM files, or (through
// discInstances) an encrypted disc.
func collect(ctx context.Context, e *env, src string, o *sendOptions) ([]*dimse.Instance, []sendItem, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() || isMedium(src) {
		if discInstances == nil {
			return nil, nil, withCode(exitUsage, errors.New("sending from an encrypted disc or image needs media support, which this version does not have; give a folder of plain DICOM files"))
		}
		return discInstances(ctx, e, src, o)
	}
	return folderInstances(src)
}

// mediaStorageDirectory is the SOP Class of a DICOMDIR, which is not
// something to store in a PACS.
const mediaStorageDirectory = "1.2.840.10008.1.3.10"

func folderInstances(root string) ([]*dimse.Instance, []sendItem, error) {
	var insts []*dimse.Instance
	var skipped []sendItem
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		in, err := dimse.FileInstance(p)
		switch {
		case errors.Is(err, dicom.ErrNotPart10):
			skipped = append(skipped, sendItem{Label: rel, Result: "skipped", Detail: "not a DICOM Part 10 file"})
		case errors.Is(err, dimse.ErrNoSOPInstance):
			skipped = append(skipped, sendItem{Label: rel, Result: "skipped", Detail: err.Error()})
		case err != nil:
			skipped = append(skipped, sendItem{Label: rel, Result: "failed", Detail: "unreadable: " + err.Error(), Failed: true})
		case in.SOPClassUID == mediaStorageDirectory:
			skipped = append(skipped, sendItem{Label: rel, UID: in.SOPInstanceUID, Result: "skipped", Detail: "DICOMDIR"})
		default:
			in.Label = rel
			insts = append(insts, in)
		}
		return nil
	})
	return insts, skipped, err
}

// report prints the per-instance table on stdout and a summary on stderr.
func report(e *env, items []sendItem, src string) error {
	sort.SliceStable(items, func(i, j int) bool { return items[i].Label < items[j].Label })
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tFILE\tSOP INSTANCE UID\tDETAIL")
	counts := map[string]int{}
	failed := 0
	for _, it := range items {
		counts[it.Result]++
		if it.Failed {
			failed++
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
	if failed > 0 {
		return &quietError{codedError{code: exitNotStored, err: fmt.Errorf("%d instances not stored", failed)}}
	}
	return nil
}

// sendState records the instances a peer confirmed, for resuming.
type sendState struct {
	key  string
	done map[string]bool
	f    *os.File
}

func openState(o *sendOptions, p peer) (*sendState, error) {
	path := o.state
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for the resume state (use --state FILE): %w", err)
		}
		path = filepath.Join(dir, "securemedia", "sent.tsv")
	}
	s := &sendState{key: p.String(), done: map[string]bool{}}
	if k := o.change.Key(); k != "" {
		s.key += "#" + k
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	s.f = f
	if !o.noResume {
		if err := s.load(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("state file %s: %w", path, err)
		}
	}
	return s, nil
}

func (s *sendState) load(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, uid, ok := strings.Cut(sc.Text(), "\t")
		if ok && k == s.key {
			s.done[uid] = true
		}
	}
	return sc.Err()
}

// record appends one confirmed instance; a line is written in one call
// so that an interrupted run leaves whole lines only.
func (s *sendState) record(uid string) {
	_, _ = s.f.WriteString(s.key + "\t" + uid + "\n")
}

func (s *sendState) close() { s.f.Close() }
