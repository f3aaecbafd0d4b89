package media

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
)

// An image read through any io.ReaderAt (here, memory) opens and unlocks
// as the same image in a file does; an image that is not one is refused
// with an error that names it.
func TestOpenImageFromReaderAt(t *testing.T) {
	p, err := NewPlan(context.Background(), []string{study}, Options{Medium: CD, Recipients: []cms.Recipient{recipient(t)}})
	if err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(t.TempDir(), "disc.iso")
	if err := p.WriteImage(context.Background(), iso, false, nil); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	d, err := OpenImage(bytes.NewReader(img), int64(len(img)), "the test's image")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(identity(t, testPassword)); err != nil {
		t.Fatal(err)
	}
	if got := len(d.Instances()); got != p.Counts.Instances {
		t.Errorf("%d instances, want %d", got, p.Counts.Instances)
	}
	if errs := d.CheckRecords(); len(errs) > 0 {
		t.Errorf("records: %v", errs)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	_, err = OpenImage(bytes.NewReader(make([]byte, 64<<10)), 64<<10, "/dev/sr0")
	if err == nil || !strings.HasPrefix(err.Error(), "/dev/sr0: ") {
		t.Errorf("not an image: %v, want an error naming /dev/sr0", err)
	}
}
