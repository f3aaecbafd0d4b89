package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

func TestDirCases(t *testing.T) {
	root := t.TempDir()
	write := func(d *Dir, name string) {
		if err := os.WriteFile(filepath.Join(d.Path, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := func(dir string) string {
		ents, _ := os.ReadDir(dir)
		var s []string
		for _, e := range ents {
			s = append(s, e.Name())
		}
		return strings.Join(s, " ")
	}

	// A new folder appears only on Commit; Abort leaves nothing.
	fresh := filepath.Join(root, "fresh")
	d, err := CreateDir(fresh, false)
	if err != nil {
		t.Fatal(err)
	}
	write(d, "a")
	d.Abort()
	if names(root) != "" {
		t.Fatalf("Abort left %q", names(root))
	}
	d, _ = CreateDir(fresh, false)
	write(d, "a")
	if err := d.Commit(); err != nil || names(fresh) != "a" {
		t.Fatalf("commit new folder: %v, holds %q", err, names(fresh))
	}

	// An existing folder with content is refused, or replaced on request.
	if _, err := CreateDir(fresh, false); !errors.Is(err, ErrExists) {
		t.Fatalf("non-empty folder: %v, want ErrExists", err)
	}
	d, _ = CreateDir(fresh, true)
	write(d, "b")
	if err := d.Commit(); err != nil || names(fresh) != "b" {
		t.Fatalf("replace: %v, holds %q", err, names(fresh))
	}

	// An existing empty folder (a mount point) keeps its identity; hidden
	// entries do not count as content and stay.
	mount := filepath.Join(root, "mount")
	os.MkdirAll(filepath.Join(mount, ".Trashes"), 0o755)
	before, _ := os.Stat(mount)
	d, err = CreateDir(mount, false)
	if err != nil {
		t.Fatal(err)
	}
	write(d, "c")
	if names(mount) == ".Trashes c" {
		t.Fatal("content visible before Commit")
	}
	if err := d.Commit(); err != nil || names(mount) != ".Trashes c" {
		t.Fatalf("empty folder: %v, holds %q", err, names(mount))
	}
	after, _ := os.Stat(mount)
	if !os.SameFile(before, after) {
		t.Fatal("the existing folder was replaced, not filled")
	}
}

// TestCommitCheckedPublishesOnlyWhatPassed checks that the last check sees
// the complete data under the temporary name, and that a failed check
// publishes nothing and leaves what was there before untouched, for files
// and folders.
func TestCommitCheckedPublishesOnlyWhatPassed(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "disc.iso")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("reads back different")
	for _, fail := range []bool{true, false} {
		f, err := Create(out, 0o644, true)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("new image")
		err = f.CommitChecked(func(tmp string) error {
			if got, err := os.ReadFile(tmp); err != nil || string(got) != "new image" {
				t.Errorf("check saw %q, %v", got, err)
			}
			if fail {
				return bad
			}
			return nil
		})
		want := map[bool]string{true: "old", false: "new image"}[fail]
		if fail != errors.Is(err, bad) {
			t.Errorf("check failing=%v: Commit = %v", fail, err)
		}
		if got, _ := os.ReadFile(out); string(got) != want {
			t.Errorf("check failing=%v: %s holds %q, want %q", fail, out, got, want)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("check failing=%v: %d entries left, want 1", fail, len(ents))
		}
	}

	usb := filepath.Join(dir, "usb")
	if err := os.MkdirAll(usb, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(usb, "OLD"), nil, 0o644)
	d, err := CreateDir(usb, true)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.Path, "DICOMDIR"), []byte("x"), 0o644)
	if err := d.CommitChecked(func(string) error { return bad }); !errors.Is(err, bad) {
		t.Fatalf("Dir.CommitChecked = %v", err)
	}
	if _, err := os.Stat(filepath.Join(usb, "OLD")); err != nil {
		t.Errorf("failed check: the old folder's content is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(usb, "DICOMDIR")); err == nil {
		t.Errorf("failed check: the new folder was published")
	}
}

// Parts written at once with WriteAt, out of order, make the whole file,
// and the background flushes they start end before Commit returns.
func TestWriteAtConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "image")
	f, err := Create(path, 0o644, false)
	if err != nil {
		t.Fatal(err)
	}
	const part = flushAhead/2 + 12345 // several flushes ahead, at odd places
	const parts = 6
	done := make(chan error, parts)
	for i := parts - 1; i >= 0; i-- {
		go func() {
			b := make([]byte, part)
			for j := range b {
				b[j] = byte(i)
			}
			_, err := f.WriteAt(b, int64(i)*part)
			done <- err
		}()
	}
	for range parts {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if runs := f.ahead.runs.Load(); runs == 0 {
		t.Error("no background flush ran")
	}
	got, err := os.ReadFile(path)
	if err != nil || len(got) != part*parts {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	for i := range parts {
		if got[i*part] != byte(i) || got[(i+1)*part-1] != byte(i) {
			t.Fatalf("part %d is not where it was written", i)
		}
	}
}
