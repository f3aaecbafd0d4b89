package main

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/internal/dicom"
)

func init() { discInstances = mediaInstances }

// isMedium tells a medium (an image file, or a folder whose DICOMDIR is
// sealed) from a folder of plain DICOM files.
func isMedium(src string) bool {
	fi, err := os.Stat(src)
	if err != nil || !fi.IsDir() {
		return err == nil
	}
	f, err := os.Open(filepath.Join(src, "DICOMDIR"))
	if err != nil {
		return false
	}
	defer f.Close()
	var head [dicom.PreambleLen + 4]byte
	n, _ := io.ReadFull(f, head[:])
	return n > 0 && !dicom.IsPart10(head[:n])
}

// mediaInstances unlocks an encrypted medium and prepares its instances
// with importer.Check: each is decrypted once (integrity, exact size), so a
// damaged one is reported before anything is sent. The medium stays open
// while they are sent.
func mediaInstances(ctx context.Context, e *env, src string, o *sendOptions) ([]*dimse.Instance, []sendItem, error) {
	d, err := openDisc(e, src, &o.keys)
	if err != nil {
		return nil, nil, err
	}
	return importer.Check(ctx, d, nil, nil)
}
