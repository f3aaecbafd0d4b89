package dicomdir

import (
	"fmt"

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

// Check reports whether in, read from the file r references, is the
// instance r says: the same SOP Instance UID, SOP Class UID and Transfer
// Syntax UID.
func (r *Record) Check(in *Instance) error {
	for _, c := range []struct{ what, want, got string }{
		{"SOP Instance UID", r.Value(dicom.ReferencedSOPInstanceUIDInFile), in.SOPInstanceUID},
		{"SOP Class UID", r.Value(dicom.ReferencedSOPClassUIDInFile), in.SOPClassUID},
		{"Transfer Syntax UID", r.Value(dicom.ReferencedTransferSyntaxUIDInFile), in.TransferSyntaxUID},
	} {
		if c.want != c.got {
			return fmt.Errorf("the file has %s %s, the record says %s", c.what, c.got, c.want)
		}
	}
	return nil
}
