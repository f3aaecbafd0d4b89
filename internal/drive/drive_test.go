package drive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// An image written to xorriso's stdio: pseudo-drive reads back equal; a
// drive that changed afterwards does not; a drive that cannot be had is a
// clear error naming it.
func TestWriteAndCompareOnAStdioDrive(t *testing.T) {
	testtool.Require(t, "xorriso")
	ctx := context.Background()
	dir := t.TempDir()
	image := filepath.Join(dir, "disc.iso")
	// Not an ISO 9660 image, but xorriso's cdrecord writes any track.
	content := bytes.Repeat([]byte("SecureMedia test track "), 20000)
	content = content[:len(content)/2048*2048]
	if err := os.WriteFile(image, content, 0o644); err != nil {
		t.Fatal(err)
	}
	dev := "stdio:" + filepath.Join(dir, "drive.img")
	m, err := Inspect(ctx, dev)
	if err != nil || !m.Writable() || m.Free < int64(len(content)) {
		t.Fatalf("blank stdio drive: %+v, %v", m, err)
	}
	if err := Write(ctx, dev, image, ""); err != nil {
		t.Fatal(err)
	}
	if err := Compare(ctx, dev, image); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "drive.img"))
	b[len(content)/2] ^= 1
	os.WriteFile(filepath.Join(dir, "drive.img"), b, 0o644)
	if err := Compare(ctx, dev, image); err == nil || !strings.Contains(err.Error(), "reads back different") {
		t.Fatalf("an altered disc compared: %v", err)
	}
	bad := "stdio:" + filepath.Join(dir, "no", "such", "drive.img")
	if err := Write(ctx, bad, image, ""); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "Cannot acquire drive") {
		t.Fatalf("a drive that cannot be had: %v", err)
	}
}
