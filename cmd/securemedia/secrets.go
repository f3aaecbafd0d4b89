package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Passwords come from a file, an environment variable or a prompt without
// echo; never from a plain command-line argument, which other users can
// read in the process list and which lands in shell history.

type passwordSource struct {
	file string // path, or "-" for standard input
	env  string // environment variable name
	ask  bool   // prompt even when other recipients are given
	// canGenerate: the command has --generate-password (burn), which the
	// hint for a missing password names too.
	canGenerate bool
}

func (p *passwordSource) addFlags(cmd *cobra.Command, what string) {
	f := cmd.Flags()
	f.StringVar(&p.file, "password-file", "", "read the "+what+" password from `FILE` (\"-\" for standard input); one trailing newline is ignored")
	f.StringVar(&p.env, "password-env", "", "read the "+what+" password from environment variable `NAME`")
	f.BoolVar(&p.ask, "ask-password", false, "prompt for a password (without echo) even when other keys are given")
	cmd.MarkFlagsMutuallyExclusive("password-file", "password-env", "ask-password")
}

func (p *passwordSource) given() bool { return p.file != "" || p.env != "" || p.ask }

const maxPasswordFile = 4096

// read returns the password bytes. A non-nil newPassword marks a password
// being chosen (for sealing, where a typo would lock the data away): a
// prompt checks it with newPassword, then asks for it twice.
func (p *passwordSource) read(e *env, newPassword func([]byte) error) ([]byte, error) {
	switch {
	case p.file != "":
		return readPasswordFile(e, p.file)
	case p.env != "":
		v, ok := os.LookupEnv(p.env)
		if !ok || v == "" {
			return nil, fmt.Errorf("environment variable %s is unset or empty", p.env)
		}
		return []byte(v), nil
	}
	pw, err := prompt(e, newPassword)
	if errors.Is(err, errNoTerminal) {
		hint := "use --password-file FILE or --password-env NAME"
		if p.canGenerate {
			hint = "use --password-file FILE, --password-env NAME, or --generate-password for a new one"
		}
		return nil, withCode(exitUsage, fmt.Errorf("%w: %s", err, hint))
	}
	return pw, err
}

func readPasswordFile(e *env, path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("password file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPasswordFile+1))
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	if len(b) > maxPasswordFile {
		return nil, fmt.Errorf("password file %s is larger than %d bytes: is it the right file?", path, maxPasswordFile)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r")) // a file saved on Windows
	if len(b) == 0 {
		return nil, fmt.Errorf("password file %s is empty", path)
	}
	return b, nil
}

// errNoTerminal is a missing password where none can be asked for: a
// usage error (exit 2), with the flags that give one.
var errNoTerminal = errors.New("no password given and standard input is not a terminal")

// prompt reads a password from the terminal, without echo; see read for
// newPassword.
func prompt(e *env, newPassword func([]byte) error) ([]byte, error) {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errNoTerminal
	}
	fmt.Fprint(e.stderr, "Password: ")
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if newPassword != nil {
		if err := newPassword(pw); err != nil {
			return nil, err
		}
		fmt.Fprint(e.stderr, "Repeat password: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the passwords do not match")
		}
	}
	return pw, nil
}
