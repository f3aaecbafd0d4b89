package importer

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
)

// FolderInstances prepares every DICOM Part 10 file under root for Send,
// each read from its file when its turn comes. Files that are not Part 10
// files, and DICOMDIRs, are returned as skipped items; unreadable ones as
// failed items. Labels are paths relative to root.
func FolderInstances(root string) ([]*dimse.Instance, []Item, error) {
	var insts []*dimse.Instance
	var skipped []Item
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		in, err := dimse.FileInstance(p)
		switch {
		case errors.Is(err, dicom.ErrNotPart10):
			skipped = append(skipped, Item{Label: rel, Result: "skipped", Detail: "not a DICOM Part 10 file"})
		case errors.Is(err, dimse.ErrNoSOPInstance):
			skipped = append(skipped, Item{Label: rel, Result: "skipped", Detail: err.Error()})
		case err != nil:
			skipped = append(skipped, Item{Label: rel, Result: "failed", Detail: "unreadable: " + err.Error(), Failed: true})
		case in.SOPClassUID == dicomdir.MediaStorageDirectoryStorage: // not something to store in a PACS
			skipped = append(skipped, Item{Label: rel, UID: in.SOPInstanceUID, Result: "skipped", Detail: "DICOMDIR"})
		default:
			in.Label = rel
			insts = append(insts, in)
		}
		return nil
	})
	return insts, skipped, err
}
