package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/media"
)

func newLsCommand(e *env) *cobra.Command {
	var verify bool
	cmd := &cobra.Command{
		Use:   "ls PATH",
		Short: "List the patients, studies and series of a DICOMDIR",
		Long: `ls prints the tree of a DICOM File-set: each patient (name and ID), each study
(date and description) and each series (number, modality and how many
instances of which kind), read from the DICOMDIR. PATH is a DICOMDIR file or a
folder that holds one. Names are shown decoded from their character set.

With --verify, ls also checks that every file the DICOMDIR references exists
and is the instance the DICOMDIR says (exit code 1 if not).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLs(e, args[0], verify)
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "check that every referenced file exists and matches its record")
	return cmd
}

func runLs(e *env, path string, verify bool) error {
	file, err := findDICOMDIR(path)
	if err != nil {
		return err
	}
	d, err := media.OpenDICOMDIR(file)
	if errors.Is(err, media.ErrNoRecipient) || errors.Is(err, media.ErrWrongPassword) {
		return fmt.Errorf("%s is encrypted: use \"securemedia open\", which asks for the password", file)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	for _, w := range d.Warnings() {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	printTree(e.stdout, d)
	if !verify {
		return nil
	}
	errs := d.CheckRecords()
	for _, err := range errs {
		fmt.Fprintf(e.stderr, "verify: %v\n", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d referenced files missing or not matching", len(errs))
	}
	fmt.Fprintln(e.stderr, "verify: every referenced file is present and matches its record")
	return nil
}

// findDICOMDIR accepts a DICOMDIR file or a folder holding one.
func findDICOMDIR(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return path, nil
	}
	return media.DICOMDIRIn(path)
}

// printTree prints the patients, studies and series of an unlocked medium.
func printTree(w io.Writer, d *media.Disc) {
	fmt.Fprintf(w, "File-set %q\n", d.FileSetID())
	for _, r := range d.RootRecords() {
		fmt.Fprintf(w, "%s %s\n", r.Type, orDash(r.Label)) // outside any patient, e.g. PALETTE
	}
	for _, p := range d.Patients() {
		fmt.Fprintf(w, "Patient %s  [ID %s]\n", orDash(p.Name), orDash(p.ID))
		for _, st := range p.Studies {
			instances := 0
			for _, se := range st.Series {
				instances += len(se.Instances)
			}
			fmt.Fprintf(w, "  Study %s  %s  (%d series, %d instances)\n", formatDate(st.Date),
				orDash(st.Description), len(st.Series), instances)
			for _, se := range st.Series {
				fmt.Fprintf(w, "    Series %s  %s  %s\n", orDash(se.Number), orDash(se.Modality), countKinds(se))
			}
		}
	}
}

// countKinds summarises a series' instances by record type, e.g.
// "12 IMAGE" or "3 IMAGE, 1 PRESENTATION".
func countKinds(se *media.Series) string {
	var parts []string
	for _, k := range se.RecordTypes() {
		parts = append(parts, fmt.Sprintf("%d %s", k.Count, k.Type))
	}
	if len(parts) == 0 {
		return "(no instances)"
	}
	return strings.Join(parts, ", ")
}

// formatDate shows a DA value as YYYY-MM-DD when it has that shape.
func formatDate(da string) string {
	if len(da) == 8 && strings.Trim(da, "0123456789") == "" {
		return da[:4] + "-" + da[4:6] + "-" + da[6:]
	}
	return orDash(da)
}

func orDash(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return "-"
	}
	return s
}
