package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/media"
)

func init() { discInstances = mediaInstances }

// maxVerifiedInMemory bounds the instances that are decrypted and verified
// whole before their first byte goes to the PACS; larger ones are streamed,
// and an integrity failure at their end aborts their transfer (the PACS
// does not store an incomplete message).
const maxVerifiedInMemory = 256 << 20

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

// mediaInstances unlocks an encrypted medium and describes its instances.
// Every instance is decrypted once here, which checks its integrity and
// gives its exact size, so a damaged one is reported before anything is
// sent; Open decrypts it again when its turn comes. The medium stays open
// while they are sent.
func mediaInstances(_ context.Context, e *env, src string, o *sendOptions) ([]*dimse.Instance, []sendItem, error) {
	d, err := openDisc(e, src, &o.keys)
	if err != nil {
		return nil, nil, err
	}
	var out []*dimse.Instance
	var bad []sendItem
	for _, id := range d.Instances() {
		label := strings.Join(id, "/")
		size, err := plainSize(d, id)
		if err != nil {
			bad = append(bad, sendItem{label: label, result: "failed", detail: "not sent: " + err.Error(), failed: true})
			continue
		}
		in, err := dimse.StreamInstance(func() (io.ReadCloser, error) { return d.OpenFile(id) }, size, label)
		if err != nil {
			bad = append(bad, sendItem{label: label, result: "failed", detail: "not sent: " + err.Error(), failed: true})
			continue
		}
		if size <= maxVerifiedInMemory {
			in.Open = func() (io.ReadCloser, error) { return verifiedDataSet(d, id) }
		}
		out = append(out, in)
	}
	if len(out)+len(bad) == 0 {
		return nil, nil, errors.New("the medium's DICOMDIR references no instances")
	}
	return out, bad, nil
}

// plainSize decrypts an instance to its end (checking its integrity) and
// returns its size.
func plainSize(d *media.Disc, id []string) (int64, error) {
	r, err := d.OpenFile(id)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(io.Discard, r)
}

// verifiedDataSet decrypts an instance completely, so its digest or
// signature is checked before anything is sent, and returns its data set.
func verifiedDataSet(d *media.Disc, id []string) (io.ReadCloser, error) {
	r, err := d.OpenFile(id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxVerifiedInMemory+1))
	if err != nil {
		return nil, err
	}
	h, _, err := dicom.ReadHeader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data[h.DataSetOffset:])), nil
}
