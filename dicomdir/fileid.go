package dicomdir

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/securemedia/securemedia/internal/dicom"
)

// ValidFileID checks a File ID against PS3.10 §8.2 and §8.5: 1 to 8
// components, each 1 to 8 characters from A–Z, 0–9 and underscore. The
// rule also guarantees a File ID cannot climb out of the File-set
// ("..", "/" and "\" are not allowed characters).
func ValidFileID(id []string) error {
	if len(id) == 0 || len(id) > 8 {
		return fmt.Errorf("invalid File ID %q: %d components, want 1 to 8", id, len(id))
	}
	for _, c := range id {
		if len(c) == 0 || len(c) > 8 {
			return fmt.Errorf("invalid File ID %q: component %q is not 1 to 8 characters", id, c)
		}
		for _, b := range []byte(c) {
			if !isFileIDChar(b) {
				return fmt.Errorf("invalid File ID %q: character %q not allowed (A-Z, 0-9, _)", id, b)
			}
		}
	}
	return nil
}

// Verify checks that every Referenced File ID of d is a valid File ID,
// resolves to a file under root, and that the file is the instance the
// record says: same SOP Instance UID, SOP Class UID and Transfer Syntax
// UID. It returns one error per problem.
func (d *Directory) Verify(root string) []error {
	var errs []error
	d.Walk(func(r *Record, _ int) {
		id := r.FileID()
		if id == nil {
			return
		}
		if err := verifyRecord(root, r, id); err != nil {
			errs = append(errs, err)
		}
	})
	return errs
}

func verifyRecord(root string, r *Record, id []string) error {
	if err := ValidFileID(id); err != nil {
		return err
	}
	path := filepath.Join(append([]string{root}, id...)...)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s record: File ID %s: %w", r.Type, r.Path(), err)
	}
	in, reason, err := ReadInstance(path)
	switch {
	case err != nil:
		return err
	case in == nil:
		return fmt.Errorf("%s record: %s is not an indexable instance: %s", r.Type, r.Path(), reason)
	}
	for _, c := range []struct {
		tag  string
		want string
		got  string
	}{
		{"SOP Instance UID", r.Value(dicom.ReferencedSOPInstanceUIDInFile), in.SOPInstanceUID},
		{"SOP Class UID", r.Value(dicom.ReferencedSOPClassUIDInFile), in.SOPClassUID},
		{"Transfer Syntax UID", r.Value(dicom.ReferencedTransferSyntaxUIDInFile), in.TransferSyntaxUID},
	} {
		if c.want != c.got {
			return fmt.Errorf("%s record: %s has %s %s, the record says %s", r.Type, r.Path(), c.tag, c.got, c.want)
		}
	}
	return nil
}
