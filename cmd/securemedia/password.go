package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/internal/passphrase"
)

// Upper bounds for --words and --count; they only guard against typos such
// as --words 1000000000 (which would exhaust memory).
const (
	maxPasswordWords = 100
	maxPasswordCount = 10000
)

func newPasswordCommand(e *env) *cobra.Command {
	minWords := passphrase.MinWords(passphrase.MinBits)
	var words, count int
	cmd := &cobra.Command{
		Use:   "password",
		Short: "Print a random passphrase for sealing patient media",
		Long: fmt.Sprintf(`Print a randomly generated passphrase for a password-protected Secure DICOM
File. For example (never use a passphrase printed anywhere, this one included):

    %[1]s

The passphrase is %[2]d words (by default) chosen uniformly and independently
with the operating system's cryptographic random number generator from a
list of %[3]d English words, joined with "-". Its strength comes from the
randomness alone, not from the words: each word adds %.2[4]f bits, and the
default %[2]d words give %.1[5]f bits of entropy. A --words value below %[6]d,
which would give less than %[7]d bits, is refused.

The word list is the BIP-39 English list with every look-alike word removed:
no two words differ by a single letter or by two swapped letters, and none
can be misread as another when rn/m, vv/w, cl/d or i/l are confused. Every
word's first four letters identify it. The passphrase contains only
lowercase letters a-z and "-", within the printable US-ASCII that DICOM
(PS3.15 D.1.1) allows in passwords, and is easy to read aloud or type.

OUTPUT
  The passphrase alone is written to standard output, followed by one
  newline, so it can be redirected to a file and used with --password-file
  (which ignores the trailing newline). With --count K, K independent
  passphrases are written one per line. A note with the entropy goes to
  standard error, never into the file.

HANDLING THE PASSPHRASE
  Send the passphrase to the patient SEPARATELY from the disc or download
  link: for example, hand it over in person, give it on the printed
  discharge letter while the disc is posted, or send it by SMS while the
  disc travels with the patient. A passphrase that travels with the media
  (a sticker on the case, a note in the envelope, the same e-mail) protects
  nothing. Use a new passphrase for every patient and every disc.

  Keep the file private and delete it once the media is sealed and the
  passphrase delivered:

    (umask 077; securemedia password > pw.txt)
    securemedia seal --password-file pw.txt IN.dcm -o IN.p7m

EXIT STATUS
  0 on success; 2 for a bad command line, including a --words value below
  %[6]d or above %[8]d; 1 if the random number generator fails.`,
			helpExample, passphrase.DefaultWords, passphrase.ListSize(),
			passphrase.EntropyBits(1), passphrase.EntropyBits(passphrase.DefaultWords),
			minWords, passphrase.MinBits, maxPasswordWords),
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if words < minWords {
				return withCode(exitUsage, fmt.Errorf(
					"--words %d gives only %.1f bits of entropy; at least %d words (%d bits) are required",
					words, passphrase.EntropyBits(words), minWords, passphrase.MinBits))
			}
			if words > maxPasswordWords {
				return withCode(exitUsage, fmt.Errorf("--words %d: at most %d words", words, maxPasswordWords))
			}
			if count < 1 || count > maxPasswordCount {
				return withCode(exitUsage, fmt.Errorf("--count %d: must be between 1 and %d", count, maxPasswordCount))
			}
			for range count {
				p, err := passphrase.Generate(words)
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintln(e.stdout, p); err != nil {
					return err
				}
			}
			each := ""
			if count > 1 {
				each = " each"
			}
			fmt.Fprintf(e.stderr, "securemedia: %d words from a %d-word list: %.1f bits of entropy%s\n",
				words, passphrase.ListSize(), passphrase.EntropyBits(words), each)
			return nil
		},
	}
	cmd.Flags().IntVar(&words, "words", passphrase.DefaultWords,
		fmt.Sprintf("number of words, %d to %d (each adds %.1f bits of entropy)", minWords, maxPasswordWords, passphrase.EntropyBits(1)))
	cmd.Flags().IntVar(&count, "count", 1, "number of passphrases to print, one per line")
	return cmd
}

// helpExample is the sample passphrase shown in the help text; it is fixed
// so that no random numbers are drawn just to build the command tree.
// TestPasswordHelp checks that its words are in the list.
const helpExample = "tuna-tribe-upper-middle-artefact-card-garden-admit"
