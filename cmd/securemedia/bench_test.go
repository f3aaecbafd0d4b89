package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// TestBenchIndexVsDcmmkdir indexes SECUREMEDIA_BENCH instances (e.g.
// 10000) with "securemedia index" and with dcmtk's dcmmkdir on the same
// files, and logs both times. It runs only when SECUREMEDIA_BENCH is set:
//
//	SECUREMEDIA_BENCH=10000 go test -run TestBenchIndexVsDcmmkdir -v ./cmd/securemedia
//
// index does more than dcmmkdir (it also copies every file), so the
// comparison is conservative.
func TestBenchIndexVsDcmmkdir(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SECUREMEDIA_BENCH"))
	if n <= 0 {
		t.Skip("set SECUREMEDIA_BENCH=10000 to run")
	}
	testtool.Require(t, "dcmmkdir")
	in := t.TempDir()
	perSeries := 100
	series := (n + perSeries - 1) / perSeries
	if _, err := dicomtest.Set(in, series, 1, 1, perSeries); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := filepath.Join(t.TempDir(), "fs")
	if code, _, stderr := runIndexLs(t, "index", in, "-o", out); code != 0 {
		t.Fatalf("index: %s", stderr)
	}
	ours := time.Since(start)

	// dcmmkdir needs File ID names; run it on our copy, which has them.
	start = time.Now()
	cmd := exec.Command("dcmmkdir", "-Pgp", "+r", "+D", filepath.Join(t.TempDir(), "REF"), "DICOM")
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dcmmkdir: %v %s", err, b)
	}
	theirs := time.Since(start)
	t.Logf("%d instances: securemedia index (scan + copy + DICOMDIR) %v, dcmmkdir (DICOMDIR only) %v", series*perSeries, ours, theirs)
	if ours > theirs {
		t.Errorf("index slower than dcmmkdir")
	}
}
