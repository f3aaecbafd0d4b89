package main

import (
	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/importer"
)

const selectionHelp = `SELECTION
  --patient ID|#N   one patient: its Patient ID as "securemedia open" lists it,
                    or its number there (#2: the second patient listed), which
                    also names a patient without an ID or one whose ID another
                    patient shares
  --study UID|#N    one study: its Study Instance UID, or its number (studies
                    are numbered across the whole medium)
  --series UID|#N   one series: its Series Instance UID, or its number
  Given together, all must hold. Quote #N in a shell: '#2'.`

// addSelectionFlags registers --patient, --study and --series.
func addSelectionFlags(cmd *cobra.Command, s *importer.Selection) {
	f := cmd.Flags()
	f.StringVar(&s.Patient, "patient", "", "only this patient: its Patient ID as \"open\" lists it, or #N")
	f.StringVar(&s.Study, "study", "", "only this study: its Study Instance UID, or #N as \"open\" numbers it")
	f.StringVar(&s.Series, "series", "", "only this series: its Series Instance UID, or #N as \"open\" numbers it")
}
