package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/viewer"
)

func newViewCommand(e *env) *cobra.Command {
	var k keyFlags
	var noBrowser bool
	var port int
	var addr string
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "view DISC [flags]",
		Short: "Look at the images of an encrypted DICOM medium in your web browser",
		Long: `view starts a private viewer for the medium in your web browser: it asks
for the password (unless one of the key flags below is given), lists the
patients, studies and series, shows the images with brightness and contrast
(window/level) controls, can save a plain copy of the disc, and can send the
disc or one study to a PACS.

The viewer runs on this computer only (127.0.0.1), on a random port, and
answers only the browser that opened the address printed at start (it holds
a random one-time token); other programs and web sites get "forbidden".
Images are decrypted in memory; nothing is written to disk except a copy you
save yourself. It runs until you press "Close viewer" or Ctrl-C.

Uncompressed images and the usual compressed ones are displayed: RLE,
JPEG (baseline, 12-bit extended, lossless), JPEG-LS and JPEG 2000, grey
(8 to 16 bits, with their rescale and windows) or colour, single or
multi-frame. The browser decodes and draws them itself, so brightness,
contrast, zoom and cine work without waiting for the viewer. Other
encodings (HTJ2K, MPEG video, deflated) are not displayed yet; they can
still be saved or sent.

Send to PACS (the link at the top for the whole disc, "Send this study to
a PACS" in the study list, "Send this series to a PACS" above an image)
stores the images in a hospital archive with C-STORE, as
"securemedia send" does: give the PACS's AE title, host and port, and our
AE title (default SECUREMEDIA); "Test connection" sends a C-ECHO first. An
optional new Patient ID and Issuer of Patient ID store the study under the
hospital's own ID (the original ID is kept in Other Patient IDs Sequence,
every UID and every other element stays as it is). Every image is decrypted
and checked before sending; a damaged one is listed and not sent.
Compressed images are never decompressed or recompressed, so one whose
encoding the PACS does not accept is listed as not stored. The page shows
each image's result in plain words and can cancel. One send runs at a time;
nothing is logged but the audit trail (below). With --tls (and --tls-ca, --tls-cert, --tls-key, as for
"securemedia send") Send to PACS, its test and its search use DICOM TLS.

` + discArg + `

` + auditHelp + `
  view records DICOM Instances Accessed (one per patient) when the disc's
  studies are shown, and for Send to PACS what "securemedia send" records.

EXAMPLES
  securemedia view disc.iso
  securemedia view /media/cdrom --password-file pw.txt --no-browser`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if port < 0 || port > 65535 {
				return withCode(exitUsage, fmt.Errorf("--port %d: a port is 0 to 65535", port))
			}
			tc, err := tf.clientConfig()
			if err != nil {
				return err
			}
			if err := e.startAudit(cmd.Context(), "securemedia view"); err != nil {
				return err
			}
			d, err := media.Open(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			if k.password.given() || k.key != "" || k.p12 != "" {
				if err := unlockDisc(e, d, &k); err != nil {
					return err
				}
			}
			if addr != "" {
				if port, err = viewer.LoopbackPort(addr); err != nil {
					return withCode(exitUsage, err)
				}
			}
			vo := viewer.Options{Port: port, LoadKey: keyfile.Pair, Version: versionString(), TLS: tc}
			if e.audit.logger != nil {
				vo.Audit = viewAuditor{ctx: cmd.Context(), e: e, src: args[0]}
			}
			s, err := viewer.New(d, vo)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "viewing %s at\n\n    %s\n\n(this address works only on this computer; press Ctrl-C or \"Close viewer\" to stop)\n", args[0], s.URL())
			if !noBrowser {
				if err := openBrowser(s.URL()); err != nil {
					fmt.Fprintf(e.stderr, "could not start a browser (%v): open the address above yourself\n", err)
				}
			}
			err = s.Serve(cmd.Context())
			fmt.Fprintln(e.stderr, "viewer stopped")
			return untilInterrupted(cmd.Context(), err)
		},
	}
	k.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&noBrowser, "no-browser", false, "only print the address, do not start a browser")
	f.IntVar(&port, "port", 0, "listen on this port of 127.0.0.1 (default: a free one)")
	f.StringVar(&addr, "addr", "", "listen on `127.0.0.1:PORT` (the same as --port; only 127.0.0.1 is allowed)")
	cmd.MarkFlagsMutuallyExclusive("port", "addr")
	tf.register(cmd, false)
	addAuditFlags(cmd, e)
	return cmd
}

// openBrowser starts the system's web browser; tests replace it.
var openBrowser = viewer.OpenBrowser
