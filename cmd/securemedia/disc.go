package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/audit"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/internal/drive"
	"github.com/securemedia/securemedia/internal/passphrase"
	"github.com/securemedia/securemedia/media"
)

type burnOptions struct {
	sealOptions
	medium         string
	label          string
	contact        string
	generate       bool
	slip           string
	slipPatient    bool
	noViewer       bool
	viewerDir      string
	allowConflicts bool
	device, speed  string
	noEject        bool
}

func newBurnCommand(e *env) *cobra.Command {
	var o burnOptions
	cmd := &cobra.Command{
		Use:   "burn INPUT... -o OUTPUT [flags]",
		Short: "Make an encrypted DICOM disc image (ISO) or USB folder from DICOM files",
		Long: `burn turns DICOM files and folders into an encrypted DICOM medium: a DICOM
File-set in which every file, the DICOMDIR included, is a Secure DICOM File
(the STD-GEN-SEC-* profiles of DICOM PS3.11), plus README.TXT in plain
language (no patient data) and a sealed MANIFEST of every file's SHA-256.

OUTPUT is an ISO 9660 image to burn with any burning program, or, with
--media usb, a folder (a new one, or an empty one such as the root of a
stick). It appears complete or not at all; inputs are never modified.

MEDIUM AND PROFILE
  --media cd|dvd|dvd-dl|bd|usb; without it the smallest disc that holds the
  content is chosen. Content that does not fit is refused before anything is
  written, saying by how much. The profile follows the medium and the
  transfer syntaxes present (CD: uncompressed only; DVD/BD/USB: JPEG or JPEG
  2000 too); files outside it are written unchanged with a warning.

WHO CAN OPEN IT (recommended: a password for the patient AND the
authoring site's own certificate, for recovery)
  --password-file, --password-env or a prompt, or --generate-password, which
  prints a new passphrase once on the terminal and writes it only to --slip
  FILE if given, never onto the medium. --recipient CERT (repeatable) adds
  certificate holders. All files share one key derivation; each has its
  own content key.

TO A DRIVE
  --device DRIVE writes the image to an optical drive with xorriso (/dev/sr0;
  stdio:FILE is a file standing in for a drive), after checking that the
  drive holds a blank (or rewritable) disc large enough, then reads the disc
  back and compares it with the checked image byte for byte, and ejects it
  (--no-eject keeps it in). -o FILE keeps the image too; without it, the
  image is staged in a temporary folder and removed. --speed is xorriso's.

THE VIEWER PROGRAMS
  Every medium gets the disc viewer for Windows, macOS (Apple silicon and
  Intel) and Linux under VIEWER/, unsealed (they hold no patient data), and
  README.TXT says how to start them. They are taken from --viewer-dir DIR,
  else from $SECUREMEDIA_VIEWER_DIR, else from the folder VIEWER next to
  the securemedia program (where "make viewers" puts them: bin/VIEWER),
  else, for a program PREFIX/bin/securemedia, from
  PREFIX/lib/securemedia/VIEWER (where "make install" puts them; PREFIX is
  /usr/local unless chosen otherwise). The folder holds WIN/VIEWER.EXE,
  MAC_ARM/VIEWER, MAC_X64/VIEWER and LINUX/VIEWER. If the default folders
  have none, burn warns and makes the medium without them; --no-viewer
  leaves them out silently.

` + auditHelp + `
  burn records an Export of the studies and patients to the medium (by its
  label) once it is written and checked, or the failure.

EXAMPLES
  securemedia burn study/ -o disc.iso --generate-password --slip slip.txt --recipient site-escrow.pem
  securemedia burn study/ -o /media/usb --media usb --password-file pw.txt
  securemedia open disc.iso --password-file pw.txt

Exit codes: see "securemedia help exit-codes".`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runBurn(cmd.Context(), e, args, &o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "the ISO image `FILE`, or the FOLDER with --media usb (required unless --device)")
	f.StringVar(&o.device, "device", "", "also write the image to the optical drive `DRIVE` (/dev/sr0, or xorriso's stdio:FILE) and read it back")
	f.StringVar(&o.speed, "speed", "", "writing speed for --device, as xorriso takes it (e.g. 8, max; default: the drive's)")
	f.BoolVar(&o.noEject, "no-eject", false, "leave the disc in the drive after --device")
	o.sealOptions.addFlags(cmd, "disc")
	o.password.canGenerate = true
	f.BoolVar(&o.generate, "generate-password", false, "generate a passphrase (shown once; see --slip)")
	f.StringVar(&o.slip, "slip", "", "write the generated passphrase, with the label, date and fingerprint, to `FILE` (.html: for a printer); never replaces a file")
	f.BoolVar(&o.slipPatient, "slip-patient-name", false, "print the patient's name on the slip too (then slip and disc must both be kept private)")
	f.StringVar(&o.medium, "media", "", "cd, dvd, dvd-dl, bd or usb (default: the smallest disc that fits)")
	f.StringVar(&o.label, "label", "", "volume label and File-set ID: up to 16 of A-Z 0-9 _, no patient data (default SM<date>_<time>)")
	f.StringVar(&o.contact, "contact", "", "who to contact, printed in README.TXT (no patient data)")
	f.BoolVar(&o.noViewer, "no-viewer", false, "do not put the viewer programs on the medium")
	f.StringVar(&o.viewerDir, "viewer-dir", "", "take the viewer programs from `DIR` (see THE VIEWER PROGRAMS)")
	f.BoolVar(&o.allowConflicts, "allow-conflicts", false, "keep the first of conflicting files or names (see \"securemedia index\")")
	f.BoolVarP(&o.force, "force", "f", false, "replace OUTPUT if it exists")
	cmd.MarkFlagsMutuallyExclusive("generate-password", "password-file", "password-env", "ask-password")
	cmd.MarkFlagsMutuallyExclusive("no-viewer", "viewer-dir")
	addAuditFlags(cmd, e)
	return cmd
}

func runBurn(ctx context.Context, e *env, inputs []string, o *burnOptions) (err error) {
	m := media.Medium("")
	if o.medium != "" {
		var err error
		if m, err = media.ParseMedium(o.medium); err != nil {
			return withCode(exitUsage, err)
		}
	}
	switch {
	case o.out == "" && o.device == "":
		return withCode(exitUsage, errors.New("--output is required (or --device DRIVE)"))
	case o.device != "" && m == media.USB:
		return withCode(exitUsage, errors.New("--device writes a disc: it does not go with --media usb"))
	case (o.speed != "" || o.noEject) && o.device == "":
		return withCode(exitUsage, errors.New("--speed and --no-eject go with --device DRIVE"))
	case o.out == "":
		// The image is staged in a private temporary folder, removed after.
		tmp, err := os.MkdirTemp("", "securemedia-burn-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		o.out = filepath.Join(tmp, "disc.iso")
	}
	if m != media.USB {
		if st, err := os.Stat(o.out); err == nil && st.IsDir() {
			return withCode(exitUsage, fmt.Errorf("%s is a folder: an ISO image is a file (use --media usb to write a folder)", o.out))
		}
	}
	if o.slip != "" && !o.generate {
		return withCode(exitUsage, errors.New("--slip writes a generated password: it goes with --generate-password"))
	}
	if o.slipPatient && o.slip == "" {
		return withCode(exitUsage, errors.New("--slip-patient-name goes with --slip FILE"))
	}
	if o.slip != "" {
		if err := checkSlipFree(o.slip); err != nil {
			return err
		}
	}
	if o.generate {
		pw, err := passphrase.Generate(passphrase.DefaultWords)
		if err != nil {
			return err
		}
		o.generated = []byte(pw)
	}
	if o.label != "" {
		if err := media.ValidFileSetID(o.label); err != nil {
			return err
		}
	}
	viewers, page, err := findViewers(e, o)
	if err != nil {
		return err
	}
	if err := e.startAudit(ctx, "securemedia burn"); err != nil {
		return err
	}
	// media scans the input while the password's key is derived: both
	// take a noticeable fraction of a second, and they are independent.
	plan, err := media.NewPlan(ctx, inputs, media.Options{Medium: m, FileSetID: o.label, Contact: o.contact,
		Keys: o.keys(e), AllowConflicts: o.allowConflicts,
		Version: versionString(), Viewers: viewers, Page: page})
	if err != nil {
		return err
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(e.info(), "skipped %s: %s\n", s.Path, s.Reason)
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	written := false
	defer func() { e.record(ctx, exportMessage(e, plan, o, written, err)) }()
	if o.device != "" {
		if err := checkDrive(ctx, plan, o.device); err != nil {
			return err
		}
	}
	if err := writePlan(ctx, e, plan, o); err != nil {
		return err
	}
	if o.device != "" {
		if err := burnToDrive(ctx, e, o); err != nil {
			return err
		}
	}
	written = true
	if o.generated != nil {
		if err := showGenerated(e, plan, o); err != nil {
			return err
		}
	}
	fingerprint := ""
	if plan.Fingerprint != "" {
		fingerprint = ", fingerprint " + plan.Fingerprint
	}
	where := o.out
	if o.device != "" {
		where = o.device
	}
	fmt.Fprintf(e.stdout, "%s: %s, profile %s, label %s%s\n  %s, %s, %s, %s, %s\n  opens with: %s\n",
		where, plan.Medium, plan.Profile, plan.FileSetID, fingerprint,
		count(plan.Counts.Patients, "patient"), count(plan.Counts.Studies, "study"), count(plan.Counts.Series, "series"),
		count(plan.Counts.Instances, "instance"), humanBytes(plan.Size()), strings.Join(plan.RecipientNames(), "; "))
	return nil
}

// exportMessage is burn's audit record: an Export of the plan's studies
// to the medium, a success once the medium is written and checked (a
// slip that failed afterwards does not undo that), else a failure saying
// why.
func exportMessage(e *env, plan *media.Plan, o *burnOptions, written bool, err error) *audit.Message {
	ev := e.auditEvent(nil)
	if !written {
		ev = e.auditEvent(err)
	}
	m := audit.Medium{Label: plan.FileSetID, FileSetUID: plan.Directory.FileSetUID}
	var known bool
	if m.Type, known = auditMediaType(plan.Medium); !known {
		m.URI = fileURI(o.out)
	}
	return audit.Export(ev, m, auditStudies(plan.Patients(), nil, nil))
}

// writePlan writes the medium; the writers read it back and compare every
// file with what was written before they publish it.
func writePlan(ctx context.Context, e *env, plan *media.Plan, o *burnOptions) error {
	p := newProgress(e.info(), "writing", len(plan.Entries), plan.Size())
	var err error
	if plan.Medium == media.USB {
		err = plan.WriteFolder(ctx, o.out, o.force, p.add)
	} else {
		err = plan.WriteImage(ctx, o.out, o.force, p.add)
	}
	if err != nil {
		return err
	}
	p.doneFiles = p.files
	p.show(true)
	fmt.Fprintf(e.info(), "read back and checked %s\n", count(len(plan.Entries), "file"))
	return nil
}

// checkDrive makes sure the drive holds a disc the image can be written
// to, before anything is written.
func checkDrive(ctx context.Context, plan *media.Plan, dev string) error {
	m, err := drive.Inspect(ctx, dev)
	if err != nil {
		return err
	}
	if !m.Writable() {
		return fmt.Errorf("the disc in %s is not blank (%s, %s): insert a blank disc; nothing was written", dev, m.Kind, m.Status)
	}
	size, err := plan.ImageSize()
	if err != nil {
		return err
	}
	if size > m.Free {
		return withCode(exitPolicy, fmt.Errorf("%w: the image is %s and the disc in %s holds %s: insert a larger disc; nothing was written",
			media.ErrTooLarge, humanBytes(size), dev, humanBytes(m.Free)))
	}
	return nil
}

// burnToDrive writes the checked image to the drive, reads the disc back
// and compares it with the image byte for byte, then ejects it.
func burnToDrive(ctx context.Context, e *env, o *burnOptions) error {
	fmt.Fprintf(e.info(), "writing the image to %s\n", o.device)
	if err := drive.WriteAndCompare(ctx, o.device, o.out, o.speed); err != nil {
		return err
	}
	fmt.Fprintf(e.info(), "read the disc in %s back: identical to the checked image\n", o.device)
	if !o.noEject {
		if err := drive.Eject(ctx, o.device); err != nil {
			fmt.Fprintf(e.stderr, "warning: the disc is written and checked, but %s did not eject it: %v\n", o.device, err)
		}
	}
	return nil
}

func showGenerated(e *env, plan *media.Plan, o *burnOptions) error {
	if o.slip != "" {
		if err := writeSlip(o.slip, newSlip(plan, o.generated, o.slipPatient)); err != nil {
			fmt.Fprintf(e.stderr, "\nThe medium is written, but not the slip. Its password (shown once):\n\n    %s\n\n", o.generated)
			return fmt.Errorf("slip: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "\nPassword for this %s (shown once; give it to the patient separately):\n\n    %s\n\n", mediumName(plan.Medium), o.generated)
	return nil
}

// openDisc opens and unlocks a medium with the key flags.
func openDisc(e *env, path string, k *keyFlags) (*media.Disc, error) {
	d, err := media.Open(path)
	if err != nil {
		return nil, err
	}
	if err := unlockDisc(e, d, k); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// unlockDisc unlocks an opened medium with the key flags. A password (or
// key) is asked for only when something on the medium is sealed.
func unlockDisc(e *env, d *media.Disc, k *keyFlags) error { return unlockWith(e, d, k, d.Unlock) }

// salvageDisc is unlockDisc for a damaged medium (media.Disc.Salvage).
func salvageDisc(e *env, d *media.Disc, k *keyFlags) error { return unlockWith(e, d, k, d.Salvage) }

func unlockWith(e *env, d *media.Disc, k *keyFlags, unlock func(...media.Identity) error) error {
	d.SetMaxKDFWork(k.maxKDFWork)
	need, err := d.NeedsKey()
	if err != nil {
		return err
	}
	var ids []media.Identity
	if need {
		if ids, err = k.identities(e); err != nil {
			return err
		}
	}
	return unlock(ids...)
}

func discCommand(e *env, use, short, long string, run func(context.Context, *media.Disc, []string) error, extra func(*cobra.Command)) *cobra.Command {
	var k keyFlags
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := openDisc(e, args[0], &k)
			if err != nil {
				return err
			}
			defer d.Close()
			return run(cmd.Context(), d, args)
		},
	}
	k.addFlags(cmd)
	if extra != nil {
		extra(cmd)
	}
	return cmd
}

const discArg = `DISC is an ISO image, a folder, a USB stick or a mounted disc, made by any
tool: with or without a DICOMDIR (files it does not list, or all of them
without one, are found by scanning, and the output says so), in upper, lower
or mixed case, sealed, plain or a mix. When something on it is sealed, it
opens with a password (--password-file, --password-env, or a prompt) or a
private key (--key with --cert, or --p12), as for unseal; a plain medium asks
for nothing. A wrong password is reported at once. A medium whose sealed
files would cost more key derivation than --max-kdf-work is refused before
any (exit 9).`

func newOpenCommand(e *env) *cobra.Command {
	var asJSON bool
	return discCommand(e, "open DISC", "Unlock an encrypted DICOM medium and list its patients, studies and series",
		"open decrypts the DICOMDIR of an encrypted DICOM medium and prints its\ncontents: patients, studies (date, description, Study Instance UID) and\nseries (number, modality, counts, Series Instance UID), numbered #1, #2, ...\nas send and extract select them (--patient, --study, --series; studies and\nseries are numbered across the whole medium). A patient whose files carry no\nPatient ID is shown as \"no ID on the disc\". Nothing is written.\n\n"+discArg,
		func(_ context.Context, d *media.Disc, args []string) error {
			if asJSON {
				return printMediumJSON(e, args[0], d)
			}
			fmt.Fprintf(e.stdout, "%s: %s\n", args[0], describeMedium(d))
			printTree(e.stdout, d)
			return printInventory(e.stdout, d)
		}, func(cmd *cobra.Command) { addJSONFlag(cmd, &asJSON) })
}

// addJSONFlag adds --json.
func addJSONFlag(cmd *cobra.Command, asJSON *bool) {
	cmd.Flags().BoolVar(asJSON, "json", false, "print one JSON object on stdout (keys: see README.md, \"--json output\")")
}

// printMediumJSON is open and ls with --json; the exit code is the text
// output's.
func printMediumJSON(e *env, path string, d *media.Disc) error {
	if err := writeJSON(e.stdout, newMediumJSON(path, d)); err != nil {
		return err
	}
	return printInventory(io.Discard, d)
}

func newVerifyCommand(e *env) *cobra.Command {
	var asJSON bool
	return discCommand(e, "verify DISC", "Check that every file of an encrypted DICOM medium is present and intact",
		"verify reads every file of the medium once: it compares it with the sealed\nMANIFEST (size and SHA-256), decrypts it completely (padding, digest or\nsignature) and lists every missing or altered file by name. Exit code 6 if\nanything is wrong.\n\n"+discArg,
		func(ctx context.Context, d *media.Disc, args []string) error {
			printWarnings(e, d)
			p := newProgress(e.info(), "verifying", 1, 0)
			problems, checked, err := d.Verify(ctx, p.add)
			if err != nil {
				return err
			}
			names, err := d.NameMismatches()
			if err != nil {
				return err
			}
			bad := len(problems) + min(len(names), 1)
			if asJSON {
				j := verifyJSON{Medium: args[0], Checked: checked, Intact: bad == 0, Problems: problemsJSON(problems), Others: othersJSON(d)}
				for _, n := range names {
					j.Problems = append(j.Problems, problemJSON{Error: n}) // about the image's names, not one file
				}
				if err := writeJSON(e.stdout, j); err != nil {
					return err
				}
			} else {
				for _, pr := range problems {
					fmt.Fprintf(e.stdout, "BAD  %s: %v\n", pr.Path, pr.Err)
				}
				printOthers(e.stdout, d)
				for _, n := range names {
					fmt.Fprintf(e.stdout, "BAD  %s\n", n)
				}
			}
			if bad > 0 {
				return withCode(exitIntegrity, fmt.Errorf("%d of %s missing, altered or unexpected", bad, count(checked, "file")))
			}
			if !asJSON {
				fmt.Fprintf(e.stdout, "%s: %s present and intact\n", args[0], allOf(checked, "file"))
			}
			return nil
		}, func(cmd *cobra.Command) { addJSONFlag(cmd, &asJSON) })
}

func newExtractCommand(e *env) *cobra.Command {
	var out string
	var salvage bool
	var k keyFlags
	var sel importer.Selection
	cmd := &cobra.Command{
		Use:   "extract DISC -o DIR",
		Short: "Decrypt an encrypted DICOM medium into a plain standard File-set",
		Long:  "extract decrypts every instance of the medium into DIR as a plain DICOM\nFile-set with a freshly built DICOMDIR, ready for any viewer, a PACS import\nor \"securemedia burn\". DIR must not exist or be empty; it appears complete\n(every file's integrity checked) or not at all. --patient, --study and\n--series extract part of the medium.\n\n" + discArg + "\n\n" + selectionHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return withCode(exitUsage, errors.New("-o DIR is required"))
			}
			d, err := media.Open(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			// The output folder is prepared while the key is derived.
			x, err := d.StartExtract(out)
			if err != nil {
				return err
			}
			defer x.Abort()
			unlock := unlockDisc
			if salvage {
				unlock, x.Salvage = salvageDisc, true
			}
			if err := unlock(e, d, &k); err != nil {
				return err
			}
			printWarnings(e, d)
			n := len(d.Instances())
			if !sel.Empty() {
				picks, rest, err := importer.Select(d, sel)
				if err != nil {
					return withCode(exitUsage, err)
				}
				x.Only = importer.Instances(picks, rest)
				n = len(x.Only)
			}
			p := newProgress(e.info(), "extracting", n, 0)
			res, err := x.Run(cmd.Context(), p.add)
			if err != nil {
				if !salvage && cmd.Context().Err() == nil {
					err = fmt.Errorf("%w\n(nothing was written; \"securemedia verify\" lists every problem, and --salvage extracts what is intact)", err)
				}
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %s extracted, integrity checked\n", out, count(res.Instances, "instance"))
			return salvaged(e, res.Lost, filepath.Join(out, media.SalvageReport))
		},
	}
	k.addFlags(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "output `DIR` (required)")
	addSelectionFlags(cmd, &sel)
	cmd.Flags().BoolVar(&salvage, "salvage", false, "extract every instance that is intact, list the rest in SALVAGE.TXT (exit 13 if any was lost)")
	return cmd
}
