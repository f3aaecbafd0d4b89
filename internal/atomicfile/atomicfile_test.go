package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCommitPublishesAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")

	f, err := Create(out, 0o644, false)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("final name visible before Commit: %v", err)
	}
	f.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("Abort left %d entries behind", len(entries))
	}

	f, err = Create(out, 0o644, false)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("whole")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // must not remove the committed file
	got, err := os.ReadFile(out)
	if err != nil || string(got) != "whole" {
		t.Fatalf("got %q, %v", got, err)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	if _, err := Create(out, 0o644, false); !errors.Is(err, ErrExists) {
		t.Fatalf("Create over existing file without overwrite: %v, want ErrExists", err)
	}
}
