package media

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestStartExtractBeforeUnlock: the output folder is prepared while the
// disc is still locked; a wrong guess of the number of files (here a stray
// file in the instance folders makes it one too many) changes nothing in
// the result, and an Abort after a failed unlock leaves nothing behind.
func TestStartExtractBeforeUnlock(t *testing.T) {
	p, dir := burnFolder(t)
	stray := filepath.Join(dir, filepath.Dir(filepath.FromSlash(p.Entries[3].Path)), "NOTES")
	if err := os.WriteFile(stray, []byte("not an instance"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n := d.countInstanceFiles(); n != p.Counts.Instances+1 {
		t.Fatalf("guessed %d files, want %d (the instances and the stray one)", n, p.Counts.Instances+1)
	}
	os.Remove(stray) // on a medium of ours, a file its manifest does not list stops extract

	parent := t.TempDir()
	x, err := d.StartExtract(filepath.Join(parent, "failed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(identity(t, "not the password at all")); err == nil {
		t.Fatal("wrong password accepted")
	}
	x.Abort()
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("an aborted extract left %d entries", len(ents))
	}

	out := filepath.Join(parent, "out")
	x, err = d.StartExtract(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(identity(t, testPassword)); err != nil {
		t.Fatal(err)
	}
	res, err := x.Run(context.Background(), nil)
	if err != nil || res.Instances != p.Counts.Instances {
		t.Fatalf("extract: %v %+v", err, res)
	}
	var files []string
	filepath.WalkDir(out, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if len(files) != p.Counts.Instances+1 { // and the DICOMDIR
		t.Fatalf("extracted %d files, want %d: %v", len(files), p.Counts.Instances+1, files)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Fatalf("%d entries next to the output, want none", len(ents)-1)
	}
}
