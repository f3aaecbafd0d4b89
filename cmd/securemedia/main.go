// Command securemedia authors and reads encrypted DICOM patient media:
// Secure DICOM Files (PS3.10 §7.4) under the Basic DICOM Media Security
// Profile (PS3.15 Annex D.1), opened by a password or an X.509 certificate.
//
// Run "securemedia help" for the commands; exit codes are listed in README.md
// and in "securemedia help exit-codes".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/internal/siteconf"
)

func main() {
	ctx, stop := interruptible()
	stopProfile := startProfile()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// interrupted is the cause of a context ended by SIGINT (Ctrl-C) or
// SIGTERM: the command stops, removes what it had not finished, and the
// process exits 130, as shells report a command ended by SIGINT.
type interrupted struct{ sig os.Signal }

func (i *interrupted) Error() string { return "interrupted (" + signalName(i.sig) + ")" }

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// untilInterrupted is what a command that runs until stopped (receive,
// view) returns: its own error, else the interruption that stopped it, so
// that the process exits 130 and scripts can tell "stopped as asked" from
// "stopped by itself".
func untilInterrupted(ctx context.Context, err error) error {
	var sig *interrupted
	if err == nil && errors.As(context.Cause(ctx), &sig) {
		return sig
	}
	return err
}

// interruptible is a context that the first SIGINT or SIGTERM ends with
// an *interrupted cause. A second one ends the process at once, for a
// command stuck where it cannot stop (a drive that does not answer).
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(&interrupted{sig: s})
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "securemedia: interrupted again: stopped at once (a temporary file may be left next to the output)")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() { signal.Stop(sigs); close(done); cancel(nil) }
}

// startProfile writes a CPU profile to $SECUREMEDIA_CPUPROFILE, for
// developers measuring the commands ("go tool pprof" reads it).
func startProfile() func() {
	path := os.Getenv("SECUREMEDIA_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "securemedia: profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// run executes the CLI with the given arguments and streams and returns the
// process exit code. Tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCommand(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	err = e.finishAudit(err)
	if err == nil {
		return exitOK
	}
	var sig *interrupted
	if errors.As(context.Cause(ctx), &sig) {
		// Whatever the command was doing failed because it was stopped:
		// say that, not the context.Canceled it ran into.
		fmt.Fprintf(stderr, "securemedia: %v: stopped; nothing was left half-written\n", sig)
		return exitInterrupted
	}
	var quiet *quietError
	if !errors.As(err, &quiet) {
		fmt.Fprintf(stderr, "securemedia: %s\n", plainFlagWords(err.Error()))
	}
	code := exitCode(err)
	switch {
	case code != exitUsage || cmd == nil:
	case !cmd.HasParent():
		fmt.Fprintln(stderr, "usage: securemedia COMMAND [flags]\n(\"securemedia help\" lists the commands)")
	default:
		// What the command takes, at once, where the mistake is read.
		fmt.Fprintf(stderr, "usage: %s\n(\"securemedia help %s\" tells more)\n", cmd.UseLine(), helpName(cmd))
	}
	return code
}

// env carries the process streams to commands so tests can capture them.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	quiet          bool // --quiet: no progress, no notes, no summaries on stderr

	configPath string           // --config
	config     *siteconf.Config // read by siteConfig
	configErr  error

	audit auditState // --audit: see audit.go
}

// info is where notes and summaries go: stderr, or nowhere with --quiet.
// Errors, warnings, prompts and a generated password always go to stderr.
func (e *env) info() io.Writer {
	if e.quiet {
		return io.Discard
	}
	return e.stderr
}

func newRootCommand(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "securemedia",
		Short: "Author and read encrypted DICOM patient media",
		Long: `securemedia writes and reads Secure DICOM Files: DICOM files wrapped in CMS
EnvelopedData as the Basic DICOM Media Security Profile (DICOM PS3.15 Annex D.1,
with CP 895 passwords) requires. A sealed file can be opened with a password
(PBKDF2 + RFC 3211 key wrap) and/or with an X.509 certificate and its private
key (RSA key transport). The files interoperate with "openssl cms".

Passwords are never taken as plain command-line arguments: use a prompt (the
default on a terminal), --password-file FILE, or --password-env NAME. DICOM
allows only printable US-ASCII in passwords (0x20-0x7E).

There is no vendor master key: a file can be opened only by the recipients it
was sealed for.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Flag errors are usage errors (exit 2); cobra's argument-count and
	// unknown-command errors are recognised by isUsageError.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	for _, newCommand := range []func(*env) *cobra.Command{
		// Authoring and reading media.
		newBurnCommand, newOpenCommand, newVerifyCommand, newExtractCommand, newViewCommand,
		// Sending and receiving over DICOM.
		newSendCommand, newReceiveCommand, newPublishCommand, newEchoCommand, newFindPatientCommand, newFetchCommand,
		// Single files and plain File-sets.
		newSealCommand, newUnsealCommand, newInspectCommand, newIndexCommand, newLsCommand,
		// Helpers.
		newPasswordCommand, newVersionCommand,
	} {
		root.AddCommand(newCommand(e))
	}
	root.AddCommand(newExitCodesHelp())
	root.PersistentFlags().BoolVarP(&e.quiet, "quiet", "q", false, "print only results (stdout), warnings and errors: no progress, notes or summaries")
	addVersionFlag(root)
	addConfigFlag(root, e)
	addCompletion(root)
	root.AddCommand(newManPagesCommand())
	for _, c := range root.Commands() {
		plainArgsErrors(c)
	}
	return root
}

// plainArgsErrors words a command's argument-count errors for people
// ("open: the DISC argument is missing") instead of cobra's "accepts 1
// arg(s), received 0"; run adds the usage line.
func plainArgsErrors(c *cobra.Command) {
	check := c.Args
	if check == nil {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		switch {
		case err == nil:
			return nil
		case len(args) > 0 && check(cmd, args[:len(args)-1]) == nil:
			return withCode(exitUsage, fmt.Errorf("%s: one argument too many", cmd.Name()))
		case len(args) == 0 || check(cmd, append(args[:len(args):len(args)], "")) == nil:
			return withCode(exitUsage, fmt.Errorf("%s: an argument is missing", cmd.Name()))
		}
		return withCode(exitUsage, fmt.Errorf("%s: %s, which is not what it takes", cmd.Name(), count(len(args), "argument")))
	}
}

// requiredFlags matches cobra's message for required flags left out.
var requiredFlags = regexp.MustCompile(`^required flag\(s\) (.*) not set$`)

// plainFlagWords rewords cobra's `required flag(s) "output" not set` as
// "--output is required".
func plainFlagWords(msg string) string {
	m := requiredFlags.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	var flags []string
	for _, f := range strings.Split(m[1], ", ") {
		flags = append(flags, "--"+strings.Trim(f, `"`))
	}
	if len(flags) == 1 {
		return flags[0] + " is required"
	}
	return strings.Join(flags, " and ") + " are required"
}

// helpName is the command's name for "securemedia help NAME".
func helpName(c *cobra.Command) string {
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}
