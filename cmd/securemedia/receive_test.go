package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/testtool"
)

// TestStorescuConflictingDuplicateToReceive: dcmtk's storescu sends one
// SOP Instance UID with two different data sets (the second made by
// dcmodify), each twice, to our receive. The first copy stays as it was,
// byte for byte; the second is kept apart in conflicts/ once; both
// repeats are reported as identical; the conflict is reported on stderr
// and counted in the summary, which names no patient.
func TestStorescuConflictingDuplicateToReceive(t *testing.T) {
	requireSharedCorpus(t)
	for _, tool := range []string{"storescu", "dcmodify"} {
		testtool.Require(t, tool)
	}
	src := t.TempDir()
	a, b := filepath.Join(src, "a.dcm"), filepath.Join(src, "b.dcm")
	// Both copies are written by dcmodify, so that storescu sends their
	// data sets as they are (it would drop the original's trailing
	// padding) and the stored ones can be compared byte for byte.
	for dst, desc := range map[string]string{a: "FIRST COPY", b: "SECOND COPY"} {
		copyTestFile(t, filepath.Join(sharedCorpus, "pydicom/test_files/CT_small.dcm"), dst)
		if out, err := exec.Command("dcmodify", "-nb", "-i", "(0008,103E)="+desc, dst).CombinedOutput(); err != nil {
			t.Fatalf("dcmodify: %v %s", err, out)
		}
	}
	sop, name, id := identity(t, a)
	if sopB, _, _ := identity(t, b); sopB != sop || dataSetHash(t, a) == dataSetHash(t, b) {
		t.Fatalf("dcmodify should change the data set and keep the SOP Instance UID %s (got %s)", sop, sopB)
	}

	dir := t.TempDir()
	port, stop := startStoppableReceive(t, "SMRX", dir)
	for _, f := range []string{a, a, b, b} {
		args := []string{"-to", "10", "-aec", "SMRX", "127.0.0.1", fmt.Sprint(port), f}
		if out, err := exec.Command("storescu", args...).CombinedOutput(); err != nil {
			t.Fatalf("storescu %s: %v %s", filepath.Base(f), err, out)
		}
	}
	code, log := stop()

	first := receivedPath(t, dir, a)
	relFirst, _ := filepath.Rel(dir, first)
	relApart := filepath.Join("conflicts", sop+"."+dataSetHash(t, b)[:12]+".dcm")
	_, firstDS := readPart10(t, first)
	_, sentA := readPart10(t, a)
	if !bytes.Equal(firstDS, sentA) {
		t.Error("the first copy is not the first data set sent, byte for byte")
	}
	_, apartDS := readPart10(t, filepath.Join(dir, relApart))
	_, sentB := readPart10(t, b)
	if !bytes.Equal(apartDS, sentB) {
		t.Errorf("%s is not the second data set sent, byte for byte", relApart)
	}
	if n := countFiles(t, dir); n != 2 {
		t.Errorf("%d files stored, want the first copy and one kept apart", n)
	}
	for _, want := range []string{
		fmt.Sprintf("receive: %s already stored (identical): %s\n", sop, relFirst),
		fmt.Sprintf("receive: %s arrived again with other content: kept apart as %s; the first copy %s is unchanged\n", sop, relApart, relFirst),
		fmt.Sprintf("receive: %s already stored (identical): %s\n", sop, relApart),
		fmt.Sprintf("receive: stopped; 1 instance stored, 2 already stored (identical), 0 refused, 1 conflicting duplicate kept apart in %s: check it before importing\n",
			filepath.Join(dir, "conflicts")),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if strings.Contains(log, name) || strings.Contains(log, id) {
		t.Error("stderr names the patient")
	}
	if code != 0 {
		t.Errorf("receive exited %d", code)
	}
	if t.Failed() {
		t.Logf("receive's stderr:\n%s", log)
	}
}

// identity reads a file's SOP Instance UID, Patient's Name and Patient ID.
func identity(t *testing.T, path string) (sop, name, id string) {
	t.Helper()
	h, elems := headerElements(t, path, dicom.PatientID+1)
	name, id = dicom.Find(elems, dicom.PatientName).String(), dicom.Find(elems, dicom.PatientID).String()
	if name == "" || id == "" {
		t.Fatalf("%s: no patient name or ID to look for", path)
	}
	return h.MetaString(dicom.MediaStorageSOPInstanceUID), name, id
}

// countFiles counts the regular files under dir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startStoppableReceive runs "securemedia receive" in-process on a free
// port of 127.0.0.1; stop interrupts it as Ctrl-C would and returns its
// exit code and stderr, so that the summary can be checked. A receive
// that does not stop fails the test.
func startStoppableReceive(t *testing.T, aet, dir string) (port int, stop func() (int, string)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	log := &syncBuffer{}
	var code int
	done := make(chan struct{})
	go func() {
		code = run(ctx, []string{"receive", "--aet", aet, "--port", fmt.Sprint(port), "-o", dir, "--timeout", "10s"},
			strings.NewReader(""), &bytes.Buffer{}, log)
		close(done)
	}()
	stopped := func() bool {
		cancel()
		select {
		case <-done:
			return true
		case <-time.After(15 * time.Second):
			return false
		}
	}
	stop = func() (int, string) {
		if !stopped() {
			t.Fatalf("receive did not stop on interrupt: %s", log.String())
		}
		return code, log.String()
	}
	t.Cleanup(func() {
		if !stopped() {
			t.Error("receive did not stop on interrupt")
		}
	})
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return port, stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("receive did not start: %s", log.String())
	return 0, nil
}
