package importer

import (
	"errors"
	"strings"
	"testing"
)

// TestStudySelectorCheck: exactly one exact selector; wildcards, lists and
// malformed UIDs are refused, and no message repeats the value.
func TestStudySelectorCheck(t *testing.T) {
	for _, c := range []struct {
		s    StudySelector
		want string // "" for accepted
	}{
		{StudySelector{AccessionNumber: "A123"}, ""},
		{StudySelector{PatientID: "PID-7"}, ""},
		{StudySelector{StudyUID: "1.2.840.113619.2.55"}, ""},
		{StudySelector{}, "name the studies"},
		{StudySelector{AccessionNumber: "A1", PatientID: "P1"}, "not several"},
		{StudySelector{AccessionNumber: "A1*"}, "wildcards"},
		{StudySelector{PatientID: "SECRET?"}, "wildcards"},
		{StudySelector{PatientID: "A\\B"}, "backslash"},
		{StudySelector{PatientID: "   "}, "empty"},
		{StudySelector{AccessionNumber: "12345678901234567"}, "16 characters"},
		{StudySelector{StudyUID: "1.2.x"}, "not a UID"},
	} {
		err := c.s.Check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v refused: %v", c.s, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want %q", c.s, err, c.want)
		case err != nil && strings.Contains(err.Error(), "SECRET"):
			t.Errorf("the message repeats the value: %v", err)
		}
	}
}

// TestOnePatient: studies of one Patient ID and issuer pass; a second ID,
// or the same ID with another issuer, is refused without naming either.
func TestOnePatient(t *testing.T) {
	a := StudyMatch{StudyUID: "1.1", PatientID: "P1", Issuer: "H"}
	if err := OnePatient([]StudyMatch{a, {StudyUID: "1.2", PatientID: "P1", Issuer: "H"}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []StudyMatch{{StudyUID: "1.2", PatientID: "P2", Issuer: "H"}, {StudyUID: "1.2", PatientID: "P1", Issuer: "OTHER"}} {
		err := OnePatient([]StudyMatch{a, b})
		if !errors.Is(err, ErrTwoPatients) || strings.Contains(err.Error(), "P1") {
			t.Errorf("%+v: %v", b, err)
		}
	}
}

// TestDedupStudies: a study answered twice for one patient is fetched
// once; under two patients it stays twice, for OnePatient to refuse.
func TestDedupStudies(t *testing.T) {
	a := StudyMatch{StudyUID: "1.1", PatientID: "P1", Instances: "3"}
	again := StudyMatch{StudyUID: "1.1", PatientID: "P1", Instances: "4"}
	other := StudyMatch{StudyUID: "1.1", PatientID: "P2"}
	got := dedupStudies([]StudyMatch{a, again, other})
	if len(got) != 2 || got[0] != a || got[1] != other {
		t.Fatalf("%+v", got)
	}
	if OnePatient(got) == nil {
		t.Fatal("one UID under two patients accepted")
	}
}
