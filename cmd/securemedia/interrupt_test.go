package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
)

// How long a command may take to stop once interrupted (issue 16), and how
// long the test waits before calling it hung.
const (
	stopWithin = time.Second
	hung       = 20 * time.Second
)

// TestInterruptBurnExtractSend sends a real SIGINT (and SIGTERM) to the
// built program in the middle of burn, extract and send of a 512 MiB
// instance: each exits 130 within a second, leaves no output and no
// temporary file, and an earlier output is untouched.
func TestInterruptBurnExtractSend(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 512 MiB instance")
	}
	sm := buildCLI(t)
	dir := t.TempDir()
	pw := passwordFile(t, dir)
	in := filepath.Join(dir, "in")
	// 16384² 16-bit pixels: 512 MiB, a hole in the file until sealed.
	if err := dicomtest.WriteSparse(filepath.Join(in, "BIG"), dicomtest.Spec{PatientID: "INT1", PatientName: "Interrupt^Test",
		StudyUID: "2.25.16.1", SeriesUID: "2.25.16.1.1", SOPUID: "2.25.16.1.1.1", Modality: "CT", Pixels: 16384}); err != nil {
		t.Fatal(err)
	}

	t.Run("burn", func(t *testing.T) {
		out := filepath.Join(dir, "burn")
		os.Mkdir(out, 0o755)
		iso := filepath.Join(out, "disc.iso")
		earlier := writeFile(t, out, "disc.iso", "an earlier disc image")
		before := listing(t, out)
		r := interrupt(t, syscall.SIGINT, out, sm, "burn", in, "-o", iso, "--force", "--media", "dvd", "--no-viewer", "--password-file", pw)
		r.expect(t, exitInterrupted, "interrupted (SIGINT)")
		sameListing(t, out, before)
		if b, _ := os.ReadFile(earlier); string(b) != "an earlier disc image" {
			t.Errorf("the earlier disc.iso was changed: %q", b)
		}
	})

	// A medium to extract and send: the USB folder of the same instance.
	usb := filepath.Join(dir, "usb")
	if code, msg := runSM(t, sm, nil, "burn", in, "-o", usb, "--media", "usb", "--no-viewer", "--password-file", pw); code != 0 {
		t.Fatalf("burn: exit %d\n%s", code, msg)
	}

	t.Run("extract", func(t *testing.T) {
		out := filepath.Join(dir, "extract")
		empty := filepath.Join(out, "empty")
		os.MkdirAll(empty, 0o755)
		before := listing(t, out)
		r := interrupt(t, syscall.SIGTERM, out, sm, "extract", usb, "-o", empty, "--password-file", pw)
		r.expect(t, exitInterrupted, "interrupted (SIGTERM)")
		sameListing(t, out, before)
	})

	t.Run("send", func(t *testing.T) {
		pacs := filepath.Join(dir, "pacs")
		port, _ := startReceive(t, "PACS", pacs)
		state := filepath.Join(dir, "send")
		os.Mkdir(state, 0o755)
		r := interrupt(t, syscall.SIGINT, pacs, sm, "send", usb, "--pacs", fmt.Sprintf("PACS@127.0.0.1:%d", port),
			"--password-file", pw, "--state", filepath.Join(state, "state.tsv"))
		r.expect(t, exitInterrupted, "interrupted (SIGINT)")
		if !strings.Contains(r.stdout, "cancelled") {
			t.Errorf("the table does not say the instance was cancelled:\n%s", r.stdout)
		}
		// Nothing is recorded as stored, and the receiver discards the
		// instance it was receiving (within its own bounded wait).
		if b, _ := os.ReadFile(filepath.Join(state, "state.tsv")); bytes.Contains(b, []byte("2.25.16.1.1.1")) {
			t.Errorf("the state file records the interrupted instance as stored:\n%s", b)
		}
		deadline := time.Now().Add(hung)
		for {
			left := written(t, pacs)
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the receiver kept %d bytes of the interrupted instance: %v", left, listing(t, pacs))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// interrupt runs sm with args, waits until more than 32 MiB have been
// written under watch (so the command is well under way), sends sig, and
// returns what the command did; it fails the test if the command did not
// stop within stopWithin.
func interrupt(t *testing.T, sig syscall.Signal, watch, sm string, args ...string) result {
	t.Helper()
	cmd := exec.Command(sm, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(hung)
	for written(t, watch) < 32<<20 {
		select {
		case err := <-exited:
			t.Fatalf("%s ended before it could be interrupted (%v):\n%s", args[0], err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%s wrote nothing under %s in %v", args[0], watch, hung)
		}
	}
	sent := time.Now()
	cmd.Process.Signal(sig)
	var err error
	select {
	case err = <-exited:
	case <-time.After(hung):
		cmd.Process.Kill()
		t.Fatalf("%s did not stop within %v of %v", args[0], hung, sig)
	}
	took := time.Since(sent)
	t.Logf("%s stopped %v after %v", args[0], took.Round(time.Millisecond), sig)
	if took > stopWithin {
		t.Errorf("%s took %v to stop after %v, want at most %v", args[0], took, sig, stopWithin)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// written is the disk space the files under root take (what was written
// into them, not their sizes: an image is made at its full size at once).
func written(t *testing.T, root string) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
		return nil
	})
	return n
}

// listing is every path under root, hidden ones included.
func listing(t *testing.T, root string) []string {
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != root {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, rel)
		}
		return nil
	})
	sort.Strings(paths)
	return paths
}

func sameListing(t *testing.T, root string, before []string) {
	t.Helper()
	if after := listing(t, root); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("%s after the interrupt holds %v, before it %v", root, after, before)
	}
}

// receive runs until stopped: stopped by a signal it exits 130 too (its
// summary printed first), while a stop of its own (a test's cancel) is 0.
func TestInterruptedReceiveExits130(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"receive", "--aet", "PACS", "--port", fmt.Sprint(port), "-o", t.TempDir()}, strings.NewReader(""), io.Discard, &stderr)
	}()
	deadline := time.Now().Add(hung)
	for !strings.Contains(stderr.String(), "listening") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel(&interrupted{sig: syscall.SIGTERM})
	select {
	case code := <-done:
		if code != exitInterrupted || !strings.Contains(stderr.String(), "receive: stopped;") || !strings.Contains(stderr.String(), "interrupted (SIGTERM)") {
			t.Fatalf("receive stopped by SIGTERM: exit %d\n%s", code, stderr.String())
		}
	case <-time.After(hung):
		t.Fatal("receive did not stop")
	}
}
