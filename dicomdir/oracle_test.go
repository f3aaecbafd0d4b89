package dicomdir

import (
	"strings"
	"testing"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// oracleName reads Patient's Name with suyashkumar/dicom, an independent
// reader, to check what our records decode to.
func oracleName(t *testing.T, path string) string {
	t.Helper()
	ds, err := sdicom.ParseFile(path, nil, sdicom.SkipPixelData())
	if err != nil {
		t.Fatalf("suyashkumar/dicom: %s: %v", path, err)
	}
	e, err := ds.FindElementByTag(tag.PatientName)
	if err != nil {
		return ""
	}
	v, _ := e.Value.GetValue().([]string)
	return strings.Join(v, `\`)
}
