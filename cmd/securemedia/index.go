package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/media"
)

type indexOptions struct {
	out            string
	fileSetID      string
	allowConflicts bool
}

func newIndexCommand(e *env) *cobra.Command {
	var o indexOptions
	cmd := &cobra.Command{
		Use:   "index INPUT... -o DIR",
		Short: "Build a standard DICOM File-set (DICOMDIR + files) from DICOM files and folders",
		Long: `index scans DICOM files, folders (recursively) or an existing File-set, and
writes a new, unencrypted DICOM File-set to DIR: every instance copied byte for
byte under a new File ID (DICOM/Pnnnnnnn/STnnnnnn/SEnnnnnn/IMnnnnnn: upper case,
8 characters, no patient data in names, the same for the same input), and a
DICOMDIR (Basic Directory, DICOM PS3.3 Annex F) listing them. Inputs are never
modified. DIR must not exist (or be empty); it appears complete or not at all.

A DICOMDIR file given as INPUT stands for the files it references. Files that
are not DICOM, DICOM data sets without a Part 10 header and SOP Classes
without a directory record type are skipped and listed on stderr.
Byte-identical copies of one instance are indexed once. Color palettes go
under DICOM/ROOT, outside any patient.

Conflicts stop index with exit code 10 and name both files:
  - two files with the same SOP Instance UID and different content;
  - one Patient ID with two different Patient's Names;
  - one Study Instance UID under two Patient IDs, or one Series Instance UID
    under two studies.
--allow-conflicts keeps the first file (in sorted path order), or the name in
the instance with the lowest SOP Instance UID, reports the others on stderr,
and continues (not for the study and series cases). Trailing empty name
components ("Doe^John^^^" and "Doe^John") are not a conflict.

Type 1 directory keys missing in an instance are filled so that the DICOMDIR
stays conformant: Patient ID becomes NOID + 12 hex digits of a hash of the
name and birth date; Study Date/Time come from the Series, Acquisition or
Content Date/Time, else 19000101/000000; Study ID, Series Number and Instance
Number become the position among their siblings; Modality becomes OT.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runIndex(cmd.Context(), e, args, o)
			var ce *dicomdir.ConflictError
			if errors.As(err, &ce) {
				return withCode(exitConflict, err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "output folder for the File-set (required)")
	f.StringVar(&o.fileSetID, "fileset-id", "SECUREMEDIA", "File-set ID: up to 16 of A-Z 0-9 _ (no patient data)")
	f.BoolVar(&o.allowConflicts, "allow-conflicts", false, "keep the first of conflicting files or names instead of failing")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runIndex(ctx context.Context, e *env, inputs []string, o indexOptions) error {
	// Checked first, so a non-empty output folder is refused before scanning.
	if err := media.CheckNewFolder(o.out); err != nil {
		return err
	}
	res, err := dicomdir.Scan(ctx, inputs, dicomdir.ScanOptions{AllowConflicts: o.allowConflicts})
	if err != nil {
		return err
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(e.info(), "skipped %s: %s\n", s.Path, s.Reason)
	}
	if len(res.Instances) == 0 {
		return errors.New("no DICOM instances found in the input")
	}
	b, err := dicomdir.Build(res.Instances, dicomdir.BuildOptions{FileSetID: o.fileSetID, AllowConflicts: o.allowConflicts})
	if err != nil {
		return err
	}
	for _, c := range append(res.Conflicts, b.Conflicts...) {
		fmt.Fprintf(e.stderr, "warning: %v (kept the first)\n", c)
	}
	var total int64
	for _, pl := range b.Placements {
		total += pl.Instance.Size
	}
	p := newProgress(e.info(), "writing", len(b.Placements)+1, total)
	if err := media.WriteFileSet(ctx, o.out, b, p.add); err != nil {
		return err
	}
	n := map[string]int{}
	b.Directory.Walk(func(r *dicomdir.Record, _ int) { n[r.Type]++ })
	fmt.Fprintf(e.stdout, "%s: %s, %s, %s, %s", o.out,
		count(len(b.Placements), "instance"), count(n["PATIENT"], "patient"), count(n["STUDY"], "study"), count(n["SERIES"], "series"))
	if res.Duplicates > 0 {
		fmt.Fprintf(e.stdout, " (%s collapsed)", count(res.Duplicates, "identical duplicate"))
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(e.stdout, "; %s skipped", count(len(res.Skipped), "file"))
	}
	fmt.Fprintln(e.stdout)
	return nil
}
