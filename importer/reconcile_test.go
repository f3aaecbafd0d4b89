package importer

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
)

// dataSet returns a file's transfer syntax and data set bytes.
func dataSet(t *testing.T, path string) (string, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v", path, err)
		}
		t.Skipf("%s: %v", path, err)
	}
	h, _, err := dicom.ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return h.TransferSyntaxUID, b[h.DataSetOffset:]
}

func parse(t *testing.T, ts string, b []byte) []*dicom.Element {
	t.Helper()
	syn, _ := dicom.SyntaxOf(ts)
	var out []*dicom.Element
	r := dicom.NewReader(bytes.NewReader(b), 0, syn)
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("rewritten data set does not parse: %v", err)
		}
		out = append(out, e)
	}
}

func TestRewriteKeepsEverythingElse(t *testing.T) {
	for _, path := range []string{
		"../testdata/sample-study/77654033/CR1/6154",                   // explicit VR LE
		"../../shared/corpus/pydicom/test_files/MR_small_implicit.dcm", // implicit VR LE
		"../../shared/corpus/pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm", // JPEG
	} {
		ts, orig := dataSet(t, path)
		c := Change{PatientID: "NEW-123", Issuer: "HOSPITAL", PatientName: "DOE^JANE", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		r, err := Rewrite(bytes.NewReader(orig), ts, c)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		before, after := parse(t, ts, orig), parse(t, ts, got)
		if dicom.Find(after, dicom.PatientID).String() != "NEW-123" || dicom.Find(after, dicom.PatientName).String() != "DOE^JANE" ||
			dicom.Find(after, dicom.IssuerOfPatientID).String() != "HOSPITAL" {
			t.Errorf("%s: patient attributes not changed", path)
		}
		oldID := dicom.Find(before, dicom.PatientID).String()
		other := dicom.Find(after, dicom.OtherPatientIDsSequence)
		if other == nil || dicom.Find(other.Items[len(other.Items)-1].Elements, dicom.PatientID).String() != oldID {
			t.Errorf("%s: original ID not in Other Patient IDs Sequence", path)
		}
		oa := dicom.Find(after, dicom.OriginalAttributesSequence)
		if oa == nil || len(oa.Items) == 0 {
			t.Fatalf("%s: no Original Attributes Sequence", path)
		}
		mod := dicom.Find(oa.Items[len(oa.Items)-1].Elements, dicom.ModifiedAttributesSequence)
		if mod == nil || dicom.Find(mod.Items[0].Elements, dicom.PatientID).String() != oldID {
			t.Errorf("%s: original ID not in Modified Attributes Sequence", path)
		}
		// Every other element, every UID and the pixel data, unchanged;
		// and the bytes after the patient module are the same bytes.
		touched := map[dicom.Tag]bool{dicom.PatientID: true, dicom.PatientName: true, dicom.IssuerOfPatientID: true, dicom.OtherPatientIDsSequence: true, dicom.OriginalAttributesSequence: true}
		var b1, a1 []*dicom.Element
		for _, e := range before {
			if !touched[e.Tag] {
				b1 = append(b1, e)
			}
		}
		for _, e := range after {
			if !touched[e.Tag] {
				a1 = append(a1, e)
			}
		}
		if !dicom.EqualElements(b1, a1) {
			t.Errorf("%s: other elements changed", path)
		}
		tail := func(els []*dicom.Element, b []byte) []byte {
			for _, e := range els {
				if e.Tag > dicom.OriginalAttributesSequence {
					return b[e.Offset:]
				}
			}
			return nil
		}
		if !bytes.Equal(tail(before, orig), tail(after, got)) {
			t.Errorf("%s: bytes after (0400,0561) differ", path)
		}
	}
}

func TestRefusals(t *testing.T) {
	if _, err := Rewrite(bytes.NewReader(nil), "1.2.840.10008.1.2.2", Change{PatientID: "X"}); err != ErrSyntax {
		t.Errorf("big endian: %v", err)
	}
	if _, err := Rewrite(bytes.NewReader(nil), "1.2.840.10008.1.2.1", Change{PatientName: "Zoë"}); err == nil {
		t.Error("non-ASCII name accepted")
	}
	if (Change{}).Key() != "" || (Change{PatientID: "A"}).Key() == (Change{PatientID: "B"}).Key() {
		t.Error("Key")
	}
}
