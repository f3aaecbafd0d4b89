package main

import (
	"fmt"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/spf13/cobra"
)

func init() { commandFactories = append(commandFactories, newEchoCommand) }

func newEchoCommand(e *env) *cobra.Command {
	var nf netFlags
	cmd := &cobra.Command{
		Use:   "echo --pacs AET@HOST:PORT [--calling-aet NAME]",
		Short: "Check that a PACS answers DICOM C-ECHO",
		Long: `echo opens an association with the PACS, sends a C-ECHO (Verification,
DICOM PS3.7 §9.1.5) and releases the association. It exits 0 when the PACS
answers with success, 12 when it cannot be reached, rejects the association
(for example because of the called or calling AE title) or answers otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, p, err := nf.config()
			if err != nil {
				return err
			}
			start := time.Now()
			a, err := dimse.Dial(cmd.Context(), cfg, []dimse.PresentationContext{{
				AbstractSyntax: dimse.VerificationSOPClass, TransferSyntaxes: []string{dimse.ImplicitVRLittleEndian}}})
			if err != nil {
				return withCode(exitNetwork, fmt.Errorf("%s: %w", p, err))
			}
			st, err := a.Echo()
			if err != nil {
				a.Abort()
				return withCode(exitNetwork, fmt.Errorf("%s: %w", p, err))
			}
			_ = a.Release()
			if st.Kind() != dimse.Success {
				return withCode(exitNetwork, fmt.Errorf("%s: C-ECHO answered %v", p, st))
			}
			fmt.Fprintf(e.stdout, "%s: C-ECHO success in %v (peer implementation %s %s)\n", p,
				time.Since(start).Round(time.Millisecond), a.Peer.ImplClassUID, a.Peer.ImplVersion)
			return nil
		},
	}
	nf.register(cmd, true)
	return cmd
}
