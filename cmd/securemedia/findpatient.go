package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
)

// maxFindLimit bounds --max: a longer list is no help in choosing one
// patient, and each match costs the PACS a lookup.
const maxFindLimit = 1000

type findPatientOptions struct {
	nf     netFlags
	q      importer.PatientQuery
	limit  int
	asJSON bool
}

func newFindPatientCommand(e *env) *cobra.Command {
	var o findPatientOptions
	cmd := &cobra.Command{
		Use:   "find-patient --pacs AET@HOST:PORT [--name N] [--id ID] [--birth-date D] [--sex S]",
		Short: "Look a patient up in a PACS (C-FIND), to choose the local identity",
		Long: `find-patient asks the PACS which patients match (C-FIND, Patient Root
Query/Retrieve Information Model, PATIENT level, DICOM PS3.4 Annex C) and
lists them: Patient ID, Issuer of Patient ID, name, birth date, sex and the
number of studies the PACS holds for each.

It is the first step of IHE Import Reconciliation Workflow (IRWF): find the
local identity of the patient of a disc from elsewhere. The list is for you
to choose from; nothing is ever matched automatically. Then send the disc
under the identity you chose:

  securemedia send DISC --pacs AET@HOST:PORT --patient-id ID --issuer ISSUER --patient-name NAME

At least one of --name, --id, --birth-date and --sex is needed: an empty
query would list the whole PACS. --name and --id may use the DICOM wildcards
* (any run of characters) and ? (one character), as in "DOE^J*"; how names
compare (case, accents) is up to the PACS (Orthanc ignores case). Values
are printable ASCII without backslash: for other letters use ? or *.
--birth-date is YYYYMMDD, YYYY-MM-DD or a range YYYYMMDD-YYYYMMDD (either
end may be left open); --sex is M, F or O.

At most --max patients are listed (default 50, at most 1000). When the PACS
has more, the query is cancelled, the first ones are listed and stderr says
"more than N matches: narrow the search".

The table goes to stdout, the number of matches to stderr; --json prints a
JSON array of {id, issuer, name, birth_date, sex, studies} objects instead
(birth_date as DICOM has it, YYYYMMDD). Names and IDs appear on stdout only.

The PACS must allow C-FIND from our AE title (--calling-aet; Orthanc:
"DicomAlwaysAllowFind" or an entry in "DicomModalities").

Exit codes: 0 when the PACS answered, with matches or without (stderr says
"no patient matches"); 2 for a bad query; 12 when the PACS cannot be
reached, rejects the association or the query, or answers with a failure
status.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runFindPatient(cmd, e, &o) },
	}
	o.nf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&o.q.Name, "name", "", "Patient's Name, DICOM PN (FAMILY^GIVEN), wildcards * and ? allowed")
	f.StringVar(&o.q.ID, "id", "", "Patient ID, wildcards * and ? allowed")
	f.StringVar(&o.q.BirthDate, "birth-date", "", "birth date YYYYMMDD or YYYY-MM-DD, or a range YYYYMMDD-YYYYMMDD")
	f.StringVar(&o.q.Sex, "sex", "", "M, F or O")
	f.IntVar(&o.limit, "max", 50, fmt.Sprintf("list at most this many patients (1 to %d)", maxFindLimit))
	f.BoolVar(&o.asJSON, "json", false, "print a JSON array instead of a table")
	return cmd
}

func runFindPatient(cmd *cobra.Command, e *env, o *findPatientOptions) error {
	cfg, p, err := o.nf.config()
	if err != nil {
		return err
	}
	if err := o.q.Check(); err != nil {
		return withCode(exitUsage, err)
	}
	if o.limit < 1 || o.limit > maxFindLimit {
		return withCode(exitUsage, fmt.Errorf("--max must be from 1 to %d", maxFindLimit))
	}
	matches, cut, err := importer.FindPatients(cmd.Context(), cfg, o.q, o.limit)
	var abort *dimse.Abort
	if errors.As(err, &abort) {
		// What Orthanc does to a C-FIND from an AE title it does not know.
		err = fmt.Errorf("%w (does the PACS allow C-FIND from AE title %s?)", err, cfg.CallingAE)
	}
	if err != nil {
		return withCode(exitNetwork, fmt.Errorf("%s: %w", p, explainTLS(err, false)))
	}
	if o.asJSON {
		if matches == nil {
			matches = []importer.PatientMatch{} // [] rather than null
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(matches); err != nil {
			return err
		}
	} else if err := patientTable(e.stdout, matches); err != nil {
		return err
	}
	fmt.Fprintf(e.info(), "find-patient %s: %s\n", p, findSummary(len(matches), cut, o.limit))
	return nil
}

// patientTable numbers the matches so that the user can tell which one
// they chose; nothing is printed when there are none.
func patientTable(w io.Writer, matches []importer.PatientMatch) error {
	if len(matches) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPATIENT ID\tISSUER\tNAME\tBIRTH DATE\tSEX\tSTUDIES")
	for i, m := range matches {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, orDash(m.ID), orDash(m.Issuer), orDash(m.Name),
			formatDate(m.BirthDate), orDash(m.Sex), orDash(m.Studies))
	}
	return tw.Flush()
}

// findSummary counts without naming anyone: it goes to stderr, which may
// be logged.
func findSummary(n int, cut bool, limit int) string {
	switch {
	case cut:
		return fmt.Sprintf("more than %d %s: narrow the search", limit, plural(limit, "match", "matches"))
	case n == 0:
		return "no patient matches"
	}
	return fmt.Sprintf("%d %s", n, plural(n, "match", "matches"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
