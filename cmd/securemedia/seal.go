package main

import (
	"bufio"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/ctxio"
)

type sealOptions struct {
	out        string
	password   passwordSource
	recipients []string
	oaep       bool
	keyID      bool
	signCert   string
	signKey    string
	cipher     string
	digest     string
	iterations int
	plainData  bool
	anyFile    bool
	force      bool
	generated  []byte // a generated password (burn --generate-password)
}

func newSealCommand(e *env) *cobra.Command {
	var o sealOptions
	cmd := &cobra.Command{
		Use:   "seal [flags] INPUT... -o OUTPUT",
		Short: "Encrypt DICOM files into Secure DICOM Files (password and/or certificate)",
		Long: `seal wraps each DICOM File in CMS EnvelopedData, making a Secure DICOM File
(DICOM PS3.10 §7.4) under the Basic DICOM Media Security Profile (PS3.15 D.1).

INPUT is a DICOM file or a folder (walked recursively). With one file INPUT,
OUTPUT is the sealed file. Otherwise OUTPUT is a folder that must not exist
yet: every file is sealed under the same relative name. Outputs appear
complete or not at all; inputs are never modified.

WHO CAN OPEN IT
  A password (--password-file, --password-env, or a prompt without echo,
  which is the default when no --recipient is given), any number of
  certificates (--recipient), or both: any one of them opens the file.
  Passwords must be printable US-ASCII (PS3.15 D.1.1) and, for new media, at
  least 12 characters without leading or trailing spaces; "securemedia
  password" generates a strong one. Send the password separately from the
  media. There is no master key: keep an escrow certificate of your own as a
  --recipient if you need recovery.

  All files of one run share one PBKDF2 salt, so a reader derives the key
  once for the whole set; each file still has its own random content key.

WHAT IS WRITTEN (defaults follow PS3.15 D.1.1)
  Content: DigestedData (SHA-256) around the DICOM File, encrypted with
  AES-256-CBC; with --sign, SignedData (RSA) instead. Passwords: PBKDF2 with
  HMAC-SHA256, 600 000 iterations, 16-byte random salt, RFC 3211 key wrap
  with AES-256. Certificates: RSA PKCS #1 v1.5 (--oaep for RSAES-OAEP with
  SHA-256), identified by issuer and serial number (--keyid for the Subject
  Key Identifier). The output opens with "openssl cms -decrypt".

  --plain-data puts the DICOM File directly into the envelope, as GDCM and
  "openssl cms -encrypt" do. It has no integrity check and is not PS3.15
  conformant; use it only for readers that need it.

EXAMPLES
  securemedia password > pw.txt
  securemedia seal --password-file pw.txt CT001.dcm -o CT001.sdcm
  securemedia seal --password-file pw.txt --recipient escrow.pem study/ -o sealed/
  securemedia seal --recipient hospital.pem --sign site.pem --sign-key site.key IMG -o IMG.sdcm

Exit codes: see "securemedia help exit-codes".`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSeal(cmd.Context(), e, args, &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "output `FILE` (one input file) or FOLDER (required)")
	o.addFlags(cmd, "sealing")
	f.BoolVar(&o.plainData, "plain-data", false, "compatibility: no DigestedData (no integrity check; not PS3.15 conformant)")
	f.BoolVar(&o.anyFile, "allow-non-dicom", false, "seal inputs that are not DICOM Part 10 files")
	f.BoolVarP(&o.force, "force", "f", false, "replace OUTPUT if it exists")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// addFlags declares who may open the output and how it is sealed; seal and
// burn share them.
func (o *sealOptions) addFlags(cmd *cobra.Command, what string) {
	f := cmd.Flags()
	o.password.addFlags(cmd, what)
	f.StringArrayVar(&o.recipients, "recipient", nil, "seal also for the RSA certificate(s) in PEM/DER `FILE` (repeatable)")
	f.BoolVar(&o.oaep, "oaep", false, "use RSAES-OAEP (SHA-256) instead of PKCS #1 v1.5 for certificate recipients")
	f.BoolVar(&o.keyID, "keyid", false, "identify certificate recipients by Subject Key Identifier")
	f.StringVar(&o.signCert, "sign", "", "sign the content with the RSA certificate in `FILE` (needs --sign-key)")
	f.StringVar(&o.signKey, "sign-key", "", "private key (PEM or DER, unencrypted) for --sign")
	f.StringVar(&o.cipher, "cipher", "aes256", "content cipher: aes256, aes192, aes128 (des3 only for legacy readers)")
	f.StringVar(&o.digest, "digest", "sha256", "digest: sha256, sha384, sha512 (sha1 only for legacy readers)")
	f.IntVar(&o.iterations, "iterations", cms.DefaultIterations, fmt.Sprintf("PBKDF2 iterations (%d to %d)", cms.MinIterations, cms.MaxIterations))
	cmd.MarkFlagsRequiredTogether("sign", "sign-key")
}

func runSeal(ctx context.Context, e *env, inputs []string, o *sealOptions) error {
	jobs, err := planJobs(inputs)
	if err != nil {
		return err
	}
	if !o.anyFile {
		if jobs, err = onlyDICOM(e, jobs); err != nil {
			return err
		}
	}
	opts, recipients, err := o.build(e)
	if err != nil {
		return err
	}
	p := newProgress(e.info(), "sealing", len(jobs), totalSize(jobs))
	if singleOutput(inputs) {
		err = sealFile(ctx, jobs[0].in, o.out, o.force, true, opts, recipients, p)
	} else {
		err = forEachIntoDir(o.out, o.force, jobs, func(j job, dst string) error {
			return sealFile(ctx, j.in, dst, false, false, opts, recipients, p)
		})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.info(), "sealed %s, %s, for: %s\n", count(len(jobs), "file"), humanBytes(totalSize(jobs)),
		strings.Join(describeRecipients(recipients), "; "))
	return nil
}

// checkDICOM refuses inputs that are not DICOM Part 10 files: a Secure
// DICOM File encapsulates a DICOM File (PS3.10 §7.4).
func checkDICOM(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var head [132]byte // the preamble and "DICM" (PS3.10 §7.1)
	if _, err := io.ReadFull(f, head[:]); err != nil || string(head[128:]) != "DICM" {
		return withCode(exitPolicy, fmt.Errorf("%s is not a DICOM Part 10 file (no \"DICM\" at byte 128); seal only wraps DICOM Files (--allow-non-dicom to seal it anyway)", path))
	}
	return nil
}

// onlyDICOM drops the non-DICOM files found in folders (reporting them) and
// refuses non-DICOM files named on the command line.
func onlyDICOM(e *env, jobs []job) ([]job, error) {
	var keep []job
	for _, j := range jobs {
		err := checkDICOM(j.in)
		switch {
		case err == nil:
			keep = append(keep, j)
		case j.fromDir:
			fmt.Fprintf(e.info(), "skipped %s: not a DICOM Part 10 file\n", j.in)
		default:
			return nil, err
		}
	}
	if len(keep) == 0 {
		return nil, withCode(exitPolicy, errors.New("no DICOM files to seal"))
	}
	return keep, nil
}

// build turns the flags into cms options and recipients.
// keys is build, for media.Options.Keys: burn seals its files with the
// options the seal command has.
func (o *sealOptions) keys(e *env) func() (*cms.Options, []cms.Recipient, error) {
	return func() (*cms.Options, []cms.Recipient, error) { return o.build(e) }
}

func (o *sealOptions) build(e *env) (*cms.Options, []cms.Recipient, error) {
	c, err := cms.ParseCipher(o.cipher)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	h, err := parseDigest(o.digest)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	opts := &cms.Options{Cipher: c, Digest: h, PlainData: o.plainData}
	if o.signCert != "" {
		if opts.Signer, err = loadSigner(o.signCert, o.signKey); err != nil {
			return nil, nil, err
		}
		if o.plainData {
			return nil, nil, withCode(exitUsage, errors.New("--sign and --plain-data exclude each other"))
		}
	}
	var recipients []cms.Recipient
	if o.generated != nil || o.password.given() || len(o.recipients) == 0 {
		pw := o.generated
		if pw == nil {
			if pw, err = o.password.read(e, cms.ValidatePassword); err != nil {
				return nil, nil, err
			}
		}
		if err := cms.CheckSealingPassword(pw); err != nil {
			return nil, nil, err
		}
		r, err := cms.NewPasswordRecipient(pw, &cms.PasswordParams{Iterations: o.iterations})
		if err != nil {
			return nil, nil, err
		}
		recipients = append(recipients, r)
	}
	for _, path := range o.recipients {
		certs, err := keyfile.Certificates(path)
		if err != nil {
			return nil, nil, err
		}
		for _, cert := range certs {
			r, err := cms.NewCertificateRecipient(cert, &cms.CertificateOptions{OAEP: o.oaep, SubjectKeyID: o.keyID})
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			recipients = append(recipients, r)
		}
	}
	return opts, recipients, nil
}

func parseDigest(s string) (crypto.Hash, error) {
	switch strings.ToLower(s) {
	case "sha256", "sha-256":
		return crypto.SHA256, nil
	case "sha384", "sha-384":
		return crypto.SHA384, nil
	case "sha512", "sha-512":
		return crypto.SHA512, nil
	case "sha1", "sha-1":
		return crypto.SHA1, nil
	}
	return 0, fmt.Errorf("digest %q: use sha256, sha384, sha512 or sha1", s)
}

func loadSigner(certPath, keyPath string) (*cms.Signer, error) {
	certs, err := keyfile.Certificates(certPath)
	if err != nil {
		return nil, err
	}
	key, err := keyfile.PrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	signer, err := keyfile.Signer(key, keyPath)
	if err != nil {
		return nil, err
	}
	s, err := cms.NewSigner(certs[0], signer)
	if err != nil {
		return nil, err
	}
	s.Chain = certs[1:]
	return s, nil
}

func describeRecipients(rs []cms.Recipient) []string {
	var out []string
	for _, r := range rs {
		switch r := r.(type) {
		case *cms.PasswordRecipient:
			p := r.Params()
			out = append(out, fmt.Sprintf("password (PBKDF2, %d iterations)", p.Iterations))
		case *cms.CertificateRecipient:
			out = append(out, "certificate "+r.Certificate().Subject.String())
		}
	}
	return out
}

// sealFile seals one file to dst, atomically; durable flushes it to
// stable storage (files in a folder are flushed together at the end).
func sealFile(ctx context.Context, in, dst string, force, durable bool, opts *cms.Options, rs []cms.Recipient, p *progress) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	out, err := atomicfile.Create(dst, 0o644, force)
	if err != nil {
		return err
	}
	defer out.Abort()
	out.NoSync = !durable
	bw := bufio.NewWriterSize(out, 256<<10)
	w, err := cms.Encrypt(bw, st.Size(), opts, rs...)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bufio.NewReaderSize(countingReader{ctxio.Reader(ctx, src), p}, 256<<10)); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w (did the file change while it was read?)", in, err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	p.fileDone()
	return nil
}

// forEachIntoDir runs fn for every job with its destination inside a
// temporary folder that replaces outDir only when every job succeeded.
func forEachIntoDir(outDir string, force bool, jobs []job, fn func(job, string) error) error {
	d, err := atomicfile.CreateDir(outDir, force)
	if err != nil {
		return err
	}
	defer d.Abort()
	for _, j := range jobs {
		dst := filepath.Join(d.Path, j.rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := fn(j, dst); err != nil {
			return err
		}
	}
	return d.Commit()
}
