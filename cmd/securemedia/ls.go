package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/media"
)

func newLsCommand(e *env) *cobra.Command {
	var verify, asJSON bool
	var k keyFlags
	cmd := &cobra.Command{
		Use:   "ls PATH",
		Short: "List the patients, studies and series of a DICOM medium or DICOMDIR",
		Long: `ls prints the tree of a DICOM File-set: each patient (name and ID), each study
(date and description) and each series (number, modality and how many
instances of which kind), read from the DICOMDIR. PATH is a medium (an ISO
image, a folder, a mounted disc: see below), or a DICOMDIR file of any name.
Names are shown decoded from their character set. Files the DICOMDIR does not
list, files it lists that are missing, and files that are not DICOM are
listed after the tree.

With --verify, ls also checks that every file the DICOMDIR references exists
and is the instance the DICOMDIR says, reading each to its end (exit code 1
if not).

` + discArg,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLs(e, args[0], verify, asJSON, &k)
		},
	}
	k.addFlags(cmd)
	cmd.Flags().BoolVar(&verify, "verify", false, "check that every referenced file exists and matches its record")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func runLs(e *env, path string, verify, asJSON bool, k *keyFlags) error {
	d, err := openForLs(e, path, k)
	if err != nil {
		return err
	}
	defer d.Close()
	if asJSON {
		if err := printMediumJSON(e, path, d); err != nil && !verify {
			return err
		}
	} else {
		printWarnings(e, d)
		printTree(e.stdout, d)
		if err := printInventory(e.stdout, d); err != nil && !verify {
			return err
		}
	}
	if !verify {
		return nil
	}
	errs := d.CheckRecords()
	for _, err := range errs {
		fmt.Fprintf(e.stderr, "verify: %v\n", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s missing or not matching", count(len(errs), "referenced file"))
	}
	fmt.Fprintln(e.info(), "verify: every referenced file is present and matches its record")
	return nil
}

// openForLs opens a medium, or the File-set of a DICOMDIR file given by
// its path.
func openForLs(e *env, path string, k *keyFlags) (*media.Disc, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() || !isDICOMDIRFile(path) {
		if !st.IsDir() && isSecureDICOMFile(path) {
			return nil, withCode(exitUsage, fmt.Errorf("%s is a Secure DICOM File, not a medium: to list an encrypted medium, give its folder, disc or ISO image (\"securemedia ls DIR\" or \"securemedia open DIR\"); \"securemedia inspect\" describes a single file", path))
		}
		return openDisc(e, path, k)
	}
	return media.OpenDICOMDIR(path)
}

// isDICOMDIRFile tells a DICOMDIR file (a plain DICOM file) from an ISO
// image: only the former has "DICM" after its preamble.
func isDICOMDIRFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 132)
	n, _ := io.ReadFull(f, head)
	return n == 132 && string(head[128:]) == "DICM"
}

// describeMedium says in one line what kind of medium d is.
func describeMedium(d *media.Disc) string {
	state := "plain (not encrypted)"
	switch sealed, plain := d.SealedFiles(), d.PlainFiles(); {
	case sealed > 0 && plain > 0:
		state = fmt.Sprintf("partly encrypted (%d sealed and %d plain DICOM files)", sealed, plain)
	case d.Sealed():
		state = "encrypted with " + d.Cipher()
	}
	n := len(d.Instances()) - len(d.Missing())
	if !d.Listed() {
		return fmt.Sprintf("no DICOMDIR: %s found by scanning, %s", count(n, "instance"), state)
	}
	s := fmt.Sprintf("DICOM File-set %q, %s, %s", d.FileSetID(), state, count(n, "instance"))
	if fp, err := d.Fingerprint(); err == nil && fp != "" {
		s += ", fingerprint " + fp
	}
	if k := d.Scanned(); k > 0 {
		s += fmt.Sprintf(" (%d of them not in the DICOMDIR, found by scanning)", k)
	}
	if k := len(d.Missing()); k > 0 {
		s += fmt.Sprintf("; %d more referenced but missing", k)
	}
	return s
}

// printInventory lists, after the tree, what is missing, what is not
// DICOM and what is wrong with the medium as a whole; an error when
// something is missing or wrong.
func printInventory(w io.Writer, d *media.Disc) error {
	for _, in := range d.Missing() {
		fmt.Fprintf(w, "MISSING  %s: %v\n", in.Path(), in.Lost())
	}
	printOthers(w, d)
	for _, p := range d.Problems() {
		fmt.Fprintf(w, "PROBLEM  %s: %v\n", p.Path, p.Err)
	}
	if n := len(d.Missing()) + len(d.Problems()); n > 0 {
		return withCode(exitIntegrity, fmt.Errorf("%s of this medium missing or wrong (\"securemedia verify\" checks every file)", count(n, "file")))
	}
	return nil
}

// printWarnings shows what reading the medium tolerated.
func printWarnings(e *env, d *media.Disc) {
	for _, w := range d.Warnings() {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
}

// printOthers lists the files that are not DICOM instances of the medium.
func printOthers(w io.Writer, d *media.Disc) {
	for _, o := range d.Others() {
		what := o.What
		if o.Err != nil {
			what += ": " + o.Err.Error()
		}
		fmt.Fprintf(w, "OTHER    %s: %s\n", o.Path, what)
	}
}

// printTree prints the patients, studies and series of an unlocked
// medium, numbered as a selection (--patient/--study/--series #N) names
// them: studies and series across the whole medium.
func printTree(w io.Writer, d *media.Disc) {
	fmt.Fprintf(w, "File-set %q\n", d.FileSetID())
	for _, r := range d.RootRecords() {
		fmt.Fprintf(w, "%s %s\n", r.Type, orDash(r.Label)) // outside any patient, e.g. PALETTE
	}
	num := importer.Number(d)
	for i, p := range d.Patients() {
		scanned := ""
		if p.Scanned {
			scanned = "  (found by scanning: not in the DICOMDIR)"
		}
		fmt.Fprintf(w, "Patient #%d  %s  %s%s\n", i+1, orDash(p.Name), importer.IDLabel(p), scanned)
		for _, st := range p.Studies {
			instances := 0
			for _, se := range st.Series {
				instances += len(se.Instances)
			}
			fmt.Fprintf(w, "  Study #%d  %s  %s  (%s, %s)  UID %s\n", num.Study[st], formatDate(st.Date),
				orDash(st.Description), count(len(st.Series), "series"), count(instances, "instance"), orDash(st.UID))
			for _, se := range st.Series {
				desc := ""
				if d := strings.TrimSpace(se.Description); d != "" {
					desc = "  " + d
				}
				fmt.Fprintf(w, "    Series #%d  number %s  %s%s  %s  UID %s\n", num.Series[se], orDash(se.Number), orDash(se.Modality),
					desc, countKinds(se), orDash(se.UID))
			}
		}
	}
}

// countKinds summarises a series' instances by record type, e.g.
// "12 IMAGE" or "3 IMAGE, 1 PRESENTATION".
func countKinds(se *media.Series) string {
	var parts []string
	for _, k := range se.RecordTypes() {
		part := fmt.Sprintf("%d %s", k.Count, k.Type)
		if k.Frames > 0 {
			part += fmt.Sprintf(" (%d frames)", k.Frames)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "(no instances)"
	}
	return strings.Join(parts, ", ")
}

// formatDate shows a DA value as YYYY-MM-DD when it has that shape.
func formatDate(da string) string { return orDash(media.DisplayDate(da)) }

func orDash(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return "-"
	}
	return s
}
