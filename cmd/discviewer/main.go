// Command discviewer is the viewer program put on every disc (as
// VIEWER/WIN/VIEWER.EXE, VIEWER/MAC_ARM/VIEWER, VIEWER/MAC_X64/VIEWER and
// VIEWER/LINUX/VIEWER): started by a double-click, with no installation,
// no administrator rights and no runtime to download, it finds the disc it
// was started from and shows it in the web browser (package viewer).
//
//	VIEWER [--no-browser] [--addr 127.0.0.1:PORT] [DISC]
//
// DISC is a disc, folder or ISO image to show instead of the one the
// program was started from. When it finds no disc, the page asks for one.
//
// It is a console program on every system, Windows included: its window
// says where the viewer runs and closing it stops the viewer, so nothing
// keeps running unseen after the browser tab is closed; it also shows the
// address to type when no browser opens by itself (and with --no-browser).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/viewer"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "(devel)"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if code != 0 && len(os.Args) == 1 && isTerminal(os.Stdin) {
		// Started by a double-click: keep the message readable before the
		// window closes.
		fmt.Fprintln(os.Stderr, "\nPress Enter to close this window.")
		_, _ = fmt.Fscanln(os.Stdin)
	}
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// run is the program; it returns the exit code: 0, 1 (failure) or 2
// (usage).
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("VIEWER", flag.ContinueOnError)
	fl.SetOutput(stderr)
	noBrowser := fl.Bool("no-browser", false, "only print the address, do not start a browser")
	addr := fl.String("addr", "127.0.0.1:0", "listen on `127.0.0.1:PORT` (PORT 0: a free one; only 127.0.0.1 is allowed)")
	showVersion := fl.Bool("version", false, "print the version and stop")
	fl.Usage = func() {
		fmt.Fprintf(stderr, `SecureMedia disc viewer: shows the encrypted DICOM disc it was started from
in your web browser, on this computer only.

Usage: VIEWER [--no-browser] [--addr 127.0.0.1:PORT] [DISC]

DISC is a disc drive, a folder or an ISO image to show instead; without it,
and away from any disc, the page asks which disc to open.

`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stderr, "SecureMedia disc viewer %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	if fl.NArg() > 1 {
		fmt.Fprintln(stderr, "give at most one disc, folder or ISO image")
		return 2
	}
	port, err := viewer.LoopbackPort(*addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	where := fl.Arg(0)
	if where == "" {
		where = discOfProgram()
	}
	var d *media.Disc
	if where != "" {
		if d, err = media.Open(where); err != nil {
			fmt.Fprintf(stderr, "cannot open the disc: %v\n", err)
			return 1
		}
		defer d.Close()
	}
	s, err := viewer.New(d, viewer.Options{Port: port, LoadKey: keyfile.Pair, Version: version})
	if err != nil {
		if errors.Is(err, media.ErrNoDICOMDIR) {
			err = fmt.Errorf("%s has no DICOMDIR: it is not a DICOM disc, folder or disc image", where)
		}
		fmt.Fprintf(stderr, "cannot start the viewer: %v\n", err)
		return 1
	}
	if d != nil {
		fmt.Fprintf(stderr, "SecureMedia viewer: showing the disc in %s\n", where)
	} else {
		fmt.Fprintln(stderr, "SecureMedia viewer: no disc found next to this program; the page asks which disc to open.")
	}
	fmt.Fprintf(stderr, "\nThe viewer is running at this address (it works only on this computer):\n\n    %s\n\n", s.URL())
	if !*noBrowser {
		if err := viewer.OpenBrowser(s.URL()); err != nil {
			fmt.Fprintf(stderr, "Could not start a web browser (%v): open the address above in one yourself.\n\n", err)
		}
	}
	fmt.Fprintln(stderr, `To stop it, press "Close viewer" on the page, or close this window (Ctrl-C).`)
	err = s.Serve(ctx)
	fmt.Fprintln(stderr, "viewer stopped")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// discOfProgram is the disc this program was started from: the nearest
// folder holding a DICOMDIR, from the program's own folder (symbolic links
// resolved) up to the root. "" when there is none.
func discOfProgram() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return findDisc(filepath.Dir(exe))
}

// findDisc walks up from dir to the first folder with a DICOMDIR file.
func findDisc(dir string) string {
	for {
		if hasDICOMDIR(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// hasDICOMDIR looks for a DICOMDIR file in dir, named as media.SameName
// allows.
func hasDICOMDIR(dir string) bool {
	_, err := media.DICOMDIRIn(dir)
	return err == nil
}
