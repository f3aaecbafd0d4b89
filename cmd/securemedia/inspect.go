package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/cms"
)

func newInspectCommand(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Describe Secure DICOM Files: recipients and algorithms (no key needed)",
		Long: `inspect reads the envelope of each Secure DICOM File and prints who can open
it (password recipients with their key-derivation parameters, certificate
recipients with issuer and serial number or key identifier), the content
cipher, the encrypted content type and the encoding. It needs no password
or key and prints no secret; it does not decrypt, so it cannot say whether
the content is intact (unseal checks that).

--json prints one JSON object per file, for scripts.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var firstErr error
			for _, path := range args {
				info, err := inspectFile(path)
				if err != nil {
					fmt.Fprintf(e.stderr, "%s: %v\n", path, err)
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				if asJSON {
					json.NewEncoder(e.stdout).Encode(struct {
						File string `json:"file"`
						*cms.Info
					}{path, info})
					continue
				}
				printInfo(e, path, info)
			}
			if firstErr != nil {
				return &quietError{codedError{code: exitCode(firstErr), err: firstErr}}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func inspectFile(path string) (*cms.Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return cms.Inspect(bufio.NewReader(f))
}

func printInfo(e *env, path string, info *cms.Info) {
	fmt.Fprintf(e.stdout, "%s: Secure DICOM File (CMS EnvelopedData version %d, %s)\n", path, info.Version, info.Encoding)
	fmt.Fprintf(e.stdout, "  content:   %s, encrypted with %s\n", info.ContentType, info.ContentCipher)
	for _, r := range info.Recipients {
		fmt.Fprintf(e.stdout, "  recipient: %s\n", r)
	}
	if info.ContentType == "id-data" {
		fmt.Fprintf(e.stdout, "  note:      plain id-data content has no digest: damage is detected only by the padding\n")
	}
}
