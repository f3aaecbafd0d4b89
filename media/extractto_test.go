package media_test

import (
	"archive/zip"
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
)

// TestExtractToZip: ExtractTo into an archive/zip writes the very files,
// names and bytes, that Extract writes into a folder.
func TestExtractToZip(t *testing.T) {
	d := mediatest.Unlocked(t, mediatest.SealedFolder(t, media.Options{}, "../testdata/sample-study"))
	out := filepath.Join(t.TempDir(), "out")
	if _, err := d.Extract(context.Background(), out, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	res, err := d.ExtractTo(context.Background(), zw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	mediatest.CompareZipWithFolder(t, buf.Bytes(), out)
	if res.Instances == 0 {
		t.Fatal("no instances")
	}
}
