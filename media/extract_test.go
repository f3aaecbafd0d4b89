package media

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
)

// TestHeaderFromKeptHead checks that extract reads the same header from
// the bytes it kept in memory as from the file, whether the kept part holds
// the whole file, only part of the header (the rest comes from the file),
// or nothing.
func TestHeaderFromKeptHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "IM1")
	if err := dicomtest.Write(path, dicomtest.Spec{PatientID: "P1", PatientName: "Test^Head", StudyUID: "1.2.3", SeriesUID: "1.2.3.4",
		SOPUID: "1.2.3.4.5", Modality: "CT", Pixels: 64}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, reason, err := dicomdir.ReadInstance(path)
	if err != nil || want == nil {
		t.Fatalf("ReadInstance: %v %s", err, reason)
	}
	for _, kept := range []int{len(data), 300, 133, 0} {
		got, reason, err := dicomdir.ReadInstanceAt(&headOrFile{head: data[:kept], path: path}, int64(len(data)), path)
		if err != nil || got == nil {
			t.Fatalf("kept %d bytes: %v %s", kept, err, reason)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("kept %d bytes: header differs from the file's", kept)
		}
	}
}
