package importer

import (
	"errors"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
)

// TestPatientQueryCheck: what a query may hold, and that no message
// repeats the value (it may be patient data).
func TestPatientQueryCheck(t *testing.T) {
	for _, tc := range []struct {
		q    PatientQuery
		ok   bool
		date string
	}{
		{q: PatientQuery{Name: "DOE^JANE"}, ok: true},
		{q: PatientQuery{Name: "DOE*", Sex: "f"}, ok: true},
		{q: PatientQuery{BirthDate: "19800101"}, ok: true, date: "19800101"},
		{q: PatientQuery{BirthDate: "1980-01-01"}, ok: true, date: "19800101"},
		{q: PatientQuery{BirthDate: "19800101-19891231"}, ok: true, date: "19800101-19891231"},
		{q: PatientQuery{BirthDate: "-19891231"}, ok: true, date: "-19891231"},
		{q: PatientQuery{BirthDate: "19800101-"}, ok: true, date: "19800101-"},
		{q: PatientQuery{}},
		{q: PatientQuery{Name: "*", ID: "**"}},
		{q: PatientQuery{BirthDate: "-"}},
		{q: PatientQuery{BirthDate: "19801301"}},
		{q: PatientQuery{BirthDate: "1980"}},
		{q: PatientQuery{BirthDate: "1980-01-01-1990-01-01"}},
		{q: PatientQuery{Sex: "X"}},
		{q: PatientQuery{Name: `DOE\SMITH`}},
		{q: PatientQuery{Name: "MÜLLER"}},
		{q: PatientQuery{ID: "A\x1b[2J"}},
		{q: PatientQuery{ID: strings.Repeat("9", 65)}},
	} {
		n, err := tc.q.normalized()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: err %v", tc.q, err)
			continue
		}
		if err != nil && tc.q.Name != "" && strings.Contains(err.Error(), tc.q.Name) {
			t.Errorf("%+v: the message repeats the value: %v", tc.q, err)
		}
		if tc.ok && n.BirthDate != tc.date {
			t.Errorf("%+v: birth date key %q, want %q", tc.q, n.BirthDate, tc.date)
		}
	}
	if err := (PatientQuery{}).Check(); !errors.Is(err, ErrEmptyQuery) {
		t.Errorf("empty query: %v", err)
	}
}

// TestPatientMatchDecodes: text is decoded with the response's Specific
// Character Set, and control characters a hostile PACS sends do not reach
// the terminal.
func TestPatientMatchDecodes(t *testing.T) {
	m := patientMatch([]*dicom.Element{
		dicom.StringElement(dicom.SpecificCharacterSet, "CS", "ISO_IR 100"),
		dicom.StringElement(dicom.PatientName, "PN", "M\xdcLLER^J\xdcRGEN"),
		dicom.StringElement(dicom.PatientID, "LO", "ID\x1b[2J"),
		dicom.StringElement(dicom.PatientBirthDate, "DA", "19800101"),
		dicom.StringElement(dicom.NumberOfPatientRelatedStudies, "IS", " 2 "),
	})
	want := PatientMatch{Name: "MÜLLER^JÜRGEN", ID: "ID\uFFFD[2J", BirthDate: "19800101", Studies: "2"}
	if m != want {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	if q := (PatientQuery{Name: "DOE*"}).identifier(); dicom.Find(q, dicom.QueryRetrieveLevel).String() != "PATIENT" ||
		dicom.Find(q, dicom.PatientName).String() != "DOE*" || dicom.Find(q, dicom.NumberOfPatientRelatedStudies) == nil {
		t.Errorf("identifier %v", q)
	}
}
