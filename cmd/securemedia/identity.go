package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/media"
)

// keyFlags are the ways to open sealed data, shared by unseal, open,
// verify, extract (and later send): a password and/or a private key.
type keyFlags struct {
	password   passwordSource
	key        string
	cert       string
	p12        string
	p12Pass    passwordSource
	maxKDFWork int64
}

func (o *keyFlags) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	o.password.addFlags(cmd, "opening")
	f.StringVar(&o.key, "key", "", "RSA private key `FILE` (PEM or DER, unencrypted); needs --cert")
	f.StringVar(&o.cert, "cert", "", "certificate `FILE` that goes with --key")
	f.StringVar(&o.p12, "p12", "", "PKCS #12 `FILE` holding the certificate and key")
	f.StringVar(&o.p12Pass.file, "p12-password-file", "", "read the PKCS #12 file's password from `FILE`")
	f.StringVar(&o.p12Pass.env, "p12-password-env", "", "read the PKCS #12 file's password from environment variable `NAME`")
	f.Int64Var(&o.maxKDFWork, "max-kdf-work", media.DefaultMaxKDFWork,
		"refuse a medium whose sealed files ask for more than `N` PBKDF2 iterations in all (a hostile disc's salt per file at 10 million iterations each would take minutes)")
	cmd.MarkFlagsRequiredTogether("key", "cert")
	cmd.MarkFlagsMutuallyExclusive("key", "p12")
}

func (o *keyFlags) identities(e *env) ([]media.Identity, error) {
	var ids []media.Identity
	haveKey := o.key != "" || o.p12 != ""
	if o.password.given() || !haveKey {
		pw, err := o.password.read(e, nil)
		if err != nil {
			return nil, err
		}
		id, err := media.Password(pw)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	switch {
	case o.key != "":
		id, err := keyfile.Pair(o.cert, o.key)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	case o.p12 != "":
		var pw []byte
		if o.p12Pass.file != "" || o.p12Pass.env != "" {
			var err error
			if pw, err = o.p12Pass.read(e, nil); err != nil {
				return nil, err
			}
		} else if p, err := prompt(e, nil); err == nil {
			pw = p
		} else if !errors.Is(err, errNoTerminal) {
			return nil, err
		}
		key, cert, err := keyfile.PKCS12(o.p12, pw)
		if err != nil {
			return nil, err
		}
		id, err := keyfile.Identity(cert, key, o.p12)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}
