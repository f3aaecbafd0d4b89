package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
)

func newEchoCommand(e *env) *cobra.Command {
	var nf netFlags
	cmd := &cobra.Command{
		Use:   "echo --pacs AET@HOST:PORT [--calling-aet NAME]",
		Short: "Check that a PACS answers DICOM C-ECHO",
		Long: `echo opens an association with the PACS, sends a C-ECHO (Verification,
DICOM PS3.7 §9.1.5) and releases the association. It exits 0 when the PACS
answers with success, 12 when it cannot be reached, rejects the association
(for example because of the called or calling AE title) or answers otherwise,
or when TLS fails (the reason in plain words, crypto/tls's own in brackets).

` + tlsClientHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, p, err := nf.config()
			if err != nil {
				return err
			}
			start := time.Now()
			st, peer, err := dimse.Echo(cmd.Context(), cfg)
			if err != nil {
				return withCode(exitNetwork, fmt.Errorf("%s: %w", p, explainTLS(err, false)))
			}
			if st.Kind() != dimse.Success {
				return withCode(exitNetwork, fmt.Errorf("%s: C-ECHO answered %v", p, st))
			}
			fmt.Fprintf(e.stdout, "%s: C-ECHO success in %v (peer implementation %s %s)\n", p,
				time.Since(start).Round(time.Millisecond), peer.ImplClassUID, peer.ImplVersion)
			return nil
		},
	}
	nf.register(cmd, true)
	return cmd
}
