package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

--json prints one JSON object per line, one per file, for scripts (keys:
see README.md).`,
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
					if asJSON { // one object per file, each line a file
						writeJSON(e.stdout, inspectJSON{File: path, Recipients: []recipientJSON{}, Error: err.Error()})
					}
					continue
				}
				if asJSON {
					if err := writeJSON(e.stdout, newInspectJSON(path, info)); err != nil {
						return err
					}
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
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// inspectFile reads one file's envelope. What is not a Secure DICOM File
// gets a hint to the command that reads it.
func inspectFile(path string) (*cms.Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, withCode(exitUsage, fmt.Errorf("a folder: inspect reads files (\"securemedia open %s\" opens a medium, \"securemedia ls %s\" lists a plain File-set)", path, path))
	}
	info, err := cms.Inspect(bufio.NewReader(f))
	if errors.Is(err, cms.ErrNotEnvelopedData) && isDICOMDIRFile(path) {
		err = fmt.Errorf("%w (\"securemedia seal\" encrypts it; \"securemedia ls\" lists a plain DICOMDIR or File-set)", err)
	}
	return info, err
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

func newInspectJSON(path string, info *cms.Info) inspectJSON {
	j := inspectJSON{File: path, Version: info.Version, Encoding: info.Encoding, ContentType: info.ContentType,
		ContentCipher: info.ContentCipher.String(), Recipients: []recipientJSON{}}
	for _, r := range info.Recipients {
		j.Recipients = append(j.Recipients, recipientJSON{Kind: r.Kind, KDF: r.KDF, PRF: r.PRF, Iterations: r.Iterations,
			SaltSize: r.SaltSize, KEKCipher: r.KEKCipher, Issuer: r.Issuer, SerialNumber: r.SerialNumber,
			SubjectKeyID: r.SubjectKeyID, KeyEncryption: r.KeyEncryption})
	}
	return j
}

// isSecureDICOMFile tells whether path starts as a Secure DICOM File (a
// CMS EnvelopedData) does.
func isSecureDICOMFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = cms.Inspect(bufio.NewReader(io.LimitReader(f, 1<<20)))
	return err == nil
}
