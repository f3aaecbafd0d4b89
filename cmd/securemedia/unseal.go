package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/ctxio"
)

type unsealOptions struct {
	keyFlags
	out              string
	force            bool
	trust            string
	requireSignature bool
}

func newUnsealCommand(e *env) *cobra.Command {
	var o unsealOptions
	cmd := &cobra.Command{
		Use:   "unseal [flags] INPUT... -o OUTPUT",
		Short: "Decrypt Secure DICOM Files back to plain DICOM files",
		Long: `unseal decrypts Secure DICOM Files (CMS EnvelopedData, DICOM PS3.10 §7.4)
and writes the DICOM Files inside them.

INPUT is a sealed file or a folder of them (walked recursively). With one
file INPUT, OUTPUT is the decrypted file; otherwise OUTPUT is a folder that
must not exist yet, and every file keeps its relative name.

An output is written only after everything has been checked: the padding,
the structure, and the digest (DigestedData) or signature (SignedData) of
the content. On any failure nothing is left behind.

SIGNATURES
  Signed files (SignedData) have their signature verified and their signer
  printed on stderr. A valid signature proves who signed only if the signer's
  certificate is trusted: --trust FILE (PEM certificates of the authorities
  you trust) requires every signer to chain to one of them, and
  --require-signature refuses unsigned files. Both fail with exit code 6.

OPENING
  Password: --password-file, --password-env, or a prompt without echo (the
  default when no key is given). Certificate: --key with --cert (PEM or DER),
  or --p12 with a PKCS #12 file (its password from --p12-password-file or
  --p12-password-env, else a prompt, else empty). A password and a key may
  be given together; whichever fits is used. Many files sealed in one run
  share their key derivation, which is done once.

  Accepted: AES-128/192/256-CBC and Triple-DES content; PBKDF2 with
  HMAC-SHA1/224/256/384/512; RSA PKCS #1 v1.5 and OAEP; issuer-and-serial
  and subject-key-identifier recipients; DER and BER (e.g. "openssl cms
  -stream"); DigestedData, SignedData or plain id-data inside.

EXAMPLES
  securemedia unseal --password-file pw.txt CT001.sdcm -o CT001.dcm
  securemedia unseal --key site.key --cert site.pem sealed/ -o opened/

Exit codes: 3 wrong password, 4 no matching key, 5 damaged ciphertext,
6 digest or signature mismatch, 7 truncated or malformed, 8 not a Secure
DICOM File; see "securemedia help exit-codes".`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnseal(cmd.Context(), e, args, &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "output `FILE` (one input file) or FOLDER (required)")
	o.keyFlags.addFlags(cmd)
	f.BoolVarP(&o.force, "force", "f", false, "replace OUTPUT if it exists")
	f.StringVar(&o.trust, "trust", "", "require signers to chain to a CA certificate in PEM `FILE`")
	f.BoolVar(&o.requireSignature, "require-signature", false, "refuse files that are not signed")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runUnseal(ctx context.Context, e *env, inputs []string, o *unsealOptions) error {
	jobs, err := planJobs(inputs)
	if err != nil {
		return err
	}
	ids, err := o.identities(e)
	if err != nil {
		return err
	}
	check, err := o.signaturePolicy()
	if err != nil {
		return err
	}
	p := newProgress(e.info(), "unsealing", len(jobs), totalSize(jobs))
	signers := map[string]int{}
	open := func(in, dst string, force, durable bool) error {
		info, err := unsealFile(ctx, in, dst, force, durable, ids, check, p)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		for _, s := range info.Signers {
			signers[describeSigner(s)]++
		}
		return nil
	}
	if singleOutput(inputs) {
		err = open(jobs[0].in, o.out, o.force, true)
	} else {
		err = forEachIntoDir(o.out, o.force, jobs, func(j job, dst string) error { return open(j.in, dst, false, false) })
	}
	if err != nil {
		return err
	}
	trustNote := "certificate not checked against a trust store (see --trust)"
	if o.trust != "" {
		trustNote = "certificate trusted via " + o.trust
	}
	for s, n := range signers {
		fmt.Fprintf(e.info(), "%s signed by %s (signature valid; %s)\n", count(n, "file"), s, trustNote)
	}
	fmt.Fprintf(e.info(), "unsealed %s, integrity checked%s\n", count(len(jobs), "file"), derivationNote(ids))
	return nil
}

// derivationNote tells how often the password's key was derived: files
// sealed in one run share a salt, so this is normally once per run.
func derivationNote(ids []cms.Identity) string {
	for _, id := range ids {
		if p, ok := id.(*cms.PasswordIdentity); ok && p.Derivations() > 0 {
			return fmt.Sprintf("; password key derived %s (PBKDF2)", times(p.Derivations()))
		}
	}
	return ""
}

func describeSigner(s cms.SignerResult) string {
	d := s.Certificate.Subject.String()
	if !s.SigningTime.IsZero() {
		d += " at " + s.SigningTime.UTC().Format("2006-01-02 15:04:05 MST")
	}
	return d
}

// signaturePolicy returns the check --trust and --require-signature ask for.
func (o *unsealOptions) signaturePolicy() (func(*cms.Info) error, error) {
	var roots *x509.CertPool
	if o.trust != "" {
		certs, err := keyfile.Certificates(o.trust)
		if err != nil {
			return nil, err
		}
		roots = x509.NewCertPool()
		for _, c := range certs {
			roots.AddCert(c)
		}
	}
	return func(info *cms.Info) error {
		if (o.requireSignature || roots != nil) && len(info.Signers) == 0 {
			return withCode(exitIntegrity, errors.New("the file is not signed, and a signature is required"))
		}
		if roots == nil {
			return nil
		}
		for _, s := range info.Signers {
			inter := x509.NewCertPool()
			for _, c := range s.Others {
				inter.AddCert(c)
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
			if !s.SigningTime.IsZero() {
				opts.CurrentTime = s.SigningTime // valid when it was signed
			}
			if _, err := s.Certificate.Verify(opts); err != nil {
				return withCode(exitIntegrity, fmt.Errorf("signer %s is not trusted: %w", s.Certificate.Subject, err))
			}
		}
		return nil
	}, nil
}

// unsealFile decrypts one file to dst; dst appears only if every check
// passed, check included.
func unsealFile(ctx context.Context, in, dst string, force, durable bool, ids []cms.Identity, check func(*cms.Info) error, p *progress) (*cms.Info, error) {
	src, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	r, err := cms.Decrypt(bufio.NewReaderSize(countingReader{ctxio.Reader(ctx, src), p}, 256<<10), ids...)
	if err != nil {
		return nil, err
	}
	out, err := atomicfile.Create(dst, 0o600, force)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	out.NoSync = !durable
	bw := bufio.NewWriterSize(out, 256<<10)
	if _, err := io.Copy(bw, r); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := check(r.Info()); err != nil {
		return nil, err
	}
	if err := out.Commit(); err != nil {
		return nil, err
	}
	p.fileDone()
	return r.Info(), nil
}
