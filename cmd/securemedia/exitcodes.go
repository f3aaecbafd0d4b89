package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/media"
)

// Exit codes. They are part of the CLI contract: scripts depend on them, and
// README.md lists them. Never renumber; only add.
const (
	exitOK          = 0  // success
	exitFailure     = 1  // any other failure (I/O error, bad key file, ...)
	exitUsage       = 2  // bad command line
	exitBadPassword = 3  // wrong password
	exitNoRecipient = 4  // no recipient matches the given key/certificate
	exitDamaged     = 5  // decryption failed: ciphertext altered or damaged (bad padding or structure)
	exitIntegrity   = 6  // digest or signature does not match the content
	exitMalformed   = 7  // truncated or malformed CMS structure
	exitNotCMS      = 8  // input is not a Secure DICOM File (not CMS EnvelopedData)
	exitPolicy      = 9  // refused by policy: password characters, weak or unsupported parameters
	exitConflict    = 10 // conflicting input (e.g. two different files claim one SOP Instance UID)
	exitNotStored   = 11 // send: at least one instance was not stored by the peer
	exitNetwork     = 12 // the peer could not be reached, rejected the association or failed C-ECHO or C-FIND
	exitSalvaged    = 13 // --salvage: what was intact was extracted or sent, something was lost
	exitNoMatch     = 14 // fetch: the PACS has no study matching the selector
	exitAudit       = 15 // the audit repository could not be reached (nothing done) or did not take a message (work done)
	// exitInterrupted is 128 + SIGINT, what a shell reports for a program
	// Ctrl-C ended: SIGINT and SIGTERM stop every command with it.
	exitInterrupted = 130
)

const exitCodesText = `Exit codes (stable; scripts may rely on them):

   0  success
   1  failure not covered below (I/O error, unreadable key or certificate, ...)
   2  usage error: unknown command or flag, wrong number of arguments; a
      selection naming nothing on the medium; a new patient identity for
      more than one patient
   3  wrong password
   4  no recipient of the file matches the given key or certificate
   5  decryption failed: the ciphertext was altered or damaged
   6  integrity failure: the digest or signature does not match the content
   7  truncated or malformed CMS structure
   8  not a Secure DICOM File (input is not CMS EnvelopedData)
   9  refused by policy: password outside printable US-ASCII, parameters too
      weak, algorithm not supported, key derivation beyond --max-kdf-work
  10  conflicting input (for example two different files with one SOP
      Instance UID; fetch: the studies found belong to more than one
      patient)
  11  send: at least one instance was not stored by the peer, or not sent
      (a patient --reconcile does not map); the result table says which and
      why; a re-run sends only those. fetch: at least one instance was not
      retrieved, or the PACS reported a failure or warning for a study
  12  network: the peer could not be reached, rejected the association, or
      did not answer C-ECHO or C-FIND with success
  13  --salvage: every intact instance was extracted (or sent), and at least
      one file was lost; SALVAGE.TXT (or the result table) says which and why
  14  fetch: the PACS has no study matching --accession, --patient-id or
      --study (nothing was fetched)
  15  audit: the audit repository (--audit, or the site configuration's
      audit) could not be reached before the command started (nothing was
      done), or did not take a message afterwards (the work is done; the
      warnings say which event is not in the audit trail)
 130  interrupted: Ctrl-C (SIGINT) or SIGTERM stopped the command within a
      second; what it had not finished was removed, inputs and earlier
      outputs are untouched (send: the instances already stored stay
      stored, a re-run sends the rest; fetch: the instances already
      retrieved stay, each whole, a re-run fetches the rest; receive and
      view: stopped as asked)

On any non-zero exit, no output file is left behind.`

func newExitCodesHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes of securemedia",
		Long:  exitCodesText,
	}
}

// codedError attaches an exit code to an error.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// quietError marks an error whose message was already printed.
type quietError struct{ codedError }

// exitTable maps library errors to exit codes, most specific first.
type exitTable []struct {
	err  error
	code int
}

// classify gives the code of the first entry err matches.
func (t exitTable) classify(err error) (int, bool) {
	for _, m := range t {
		if errors.Is(err, m.err) {
			return m.code, true
		}
	}
	return 0, false
}

// mediaExits are the exit codes of the media package's errors (an altered
// or malformed file is also a damaged one).
var mediaExits = exitTable{
	{media.ErrWrongPassword, exitBadPassword},
	{media.ErrNoRecipient, exitNoRecipient},
	{media.ErrAltered, exitIntegrity},
	{media.ErrMalformed, exitMalformed},
	{media.ErrDamaged, exitDamaged},
	{media.ErrNotSecure, exitNotCMS},
	{media.ErrKDFLimit, exitPolicy},
	{media.ErrPolicy, exitPolicy},
	{media.ErrTooLarge, exitPolicy},
}

func exitCode(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	var qe *quietError
	if errors.As(err, &qe) {
		return qe.code
	}
	// A medium's errors first: they also wrap the codec's.
	for _, table := range []exitTable{mediaExits, cmsExits} {
		if code, ok := table.classify(err); ok {
			return code
		}
	}
	if isUsageError(err) {
		return exitUsage
	}
	return exitFailure
}

// salvaged reports what a salvage lost; exit 13 when anything was.
func salvaged(e *env, lost []media.Problem, report string) error {
	if len(lost) == 0 {
		return nil
	}
	for _, p := range lost {
		fmt.Fprintf(e.stderr, "lost: %s: %v\n", p.Path, p.Err)
	}
	where := ""
	if report != "" {
		where = "; " + report + " lists them"
	}
	return withCode(exitSalvaged, fmt.Errorf("%s lost%s", count(len(lost), "file"), where))
}
