// Finding the local patient (IHE IRWF): before a disc from elsewhere is
// sent under the local identity, the user looks that identity up in the
// local PACS by name, birth date, sex or ID (C-FIND, Patient Root, PATIENT
// level) and picks one of the matches. Nothing here chooses: a wrong
// automatic match would file images under another patient.

package importer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
)

// PatientQuery holds the matching keys of a patient search; empty ones
// match anything. Name and ID may hold the DICOM wildcards * and ?
// (PS3.4 §C.2.2.2.4); how names compare (case, accents) is the PACS's
// choice (Orthanc ignores case). BirthDate is YYYYMMDD, YYYY-MM-DD or a
// range YYYYMMDD-YYYYMMDD with either end open; Sex is M, F or O.
type PatientQuery struct {
	Name, ID, BirthDate, Sex string
}

// PatientMatch is one patient the PACS returned, its text decoded to
// UTF-8. BirthDate is as DICOM has it (YYYYMMDD); Studies is Number of
// Patient Related Studies, when the PACS gives it.
type PatientMatch struct {
	ID        string `json:"id"`
	Issuer    string `json:"issuer"`
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
	Sex       string `json:"sex"`
	Studies   string `json:"studies"`
}

// ErrEmptyQuery refuses a query without a key: it would list the whole
// PACS.
var ErrEmptyQuery = errors.New("give at least a name, a patient ID, a birth date or a sex to search for")

var (
	oneDate   = regexp.MustCompile(`^[0-9]{8}$`)
	dashDate  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	dateRange = regexp.MustCompile(`^([0-9]{8})?-([0-9]{8})?$`)
)

// Check validates q; its messages never repeat the values (they may be
// patient data).
func (q PatientQuery) Check() error {
	_, err := q.normalized()
	return err
}

// normalized checks q and returns it as DICOM matching keys.
func (q PatientQuery) normalized() (PatientQuery, error) {
	for _, f := range []struct{ flag, v string }{{"name", q.Name}, {"patient ID", q.ID}} {
		if err := checkKey(f.flag, f.v); err != nil {
			return q, err
		}
	}
	date, err := normalDate(q.BirthDate)
	if err != nil {
		return q, err
	}
	q.BirthDate = date
	q.Sex = strings.ToUpper(q.Sex)
	if q.Sex != "" && q.Sex != "M" && q.Sex != "F" && q.Sex != "O" {
		return q, errors.New("sex must be M, F or O")
	}
	if universal(q.Name) && universal(q.ID) && q.BirthDate == "" && q.Sex == "" {
		return q, ErrEmptyQuery
	}
	return q, nil
}

// checkKey allows printable ASCII without backslash (which would make
// the key a list), 64 characters at most (one PN component group, LO).
func checkKey(what, v string) error {
	for _, c := range v {
		if c < 0x20 || c > 0x7E || c == '\\' {
			return fmt.Errorf("%s: printable ASCII without backslash only (use ? or * for other letters)", what)
		}
	}
	if len(v) > 64 {
		return fmt.Errorf("%s: at most 64 characters", what)
	}
	return nil
}

// universal reports a key that matches everyone: empty, or only *.
func universal(v string) bool { return strings.Trim(v, "*") == "" }

// normalDate turns a birth date key into DICOM DA matching form.
func normalDate(v string) (string, error) {
	if dashDate.MatchString(v) {
		v = strings.ReplaceAll(v, "-", "")
	}
	var dates []string
	switch {
	case v == "":
		return "", nil
	case oneDate.MatchString(v):
		dates = []string{v}
	case dateRange.MatchString(v) && v != "-":
		dates = strings.Split(v, "-")
	default:
		return "", errors.New("birth date: want YYYYMMDD, YYYY-MM-DD or a range YYYYMMDD-YYYYMMDD")
	}
	for _, d := range dates {
		if _, err := time.Parse("20060102", d); d != "" && err != nil {
			return "", errors.New("birth date: not a calendar date")
		}
	}
	return v, nil
}

// identifier is the C-FIND identifier of q: its matching keys, and every
// attribute of PatientMatch as a return key.
func (q PatientQuery) identifier() []*dicom.Element {
	return []*dicom.Element{
		dicom.StringElement(dicom.QueryRetrieveLevel, "CS", "PATIENT"),
		dicom.StringElement(dicom.PatientName, "PN", q.Name),
		dicom.StringElement(dicom.PatientID, "LO", q.ID),
		dicom.StringElement(dicom.IssuerOfPatientID, "LO", ""),
		dicom.StringElement(dicom.PatientBirthDate, "DA", q.BirthDate),
		dicom.StringElement(dicom.PatientSex, "CS", q.Sex),
		dicom.StringElement(dicom.NumberOfPatientRelatedStudies, "IS", ""),
	}
}

// ErrFindRefused means the PACS answered the query with a failure status.
var ErrFindRefused = errors.New("the PACS did not search")

// FindPatients asks the PACS for the patients matching q, at most limit of
// them (Patient Root C-FIND at PATIENT level), sorted by name, birth date
// and ID. cut reports that the PACS had more: the query was cancelled and
// the user should narrow it. A failure status from the PACS is an error.
func FindPatients(ctx context.Context, cfg dimse.Config, q PatientQuery, limit int) (matches []PatientMatch, cut bool, err error) {
	if q, err = q.normalized(); err != nil {
		return nil, false, err
	}
	st, err := dimse.Find(ctx, cfg, dimse.PatientRootFind, q.identifier(), limit, func(elems []*dicom.Element) error {
		matches = append(matches, patientMatch(elems))
		return nil
	})
	if errors.Is(err, dimse.ErrTooManyMatches) {
		cut, err = true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !cut && st.Kind() != dimse.Success {
		return nil, false, fmt.Errorf("%w: C-FIND answered %v", ErrFindRefused, st)
	}
	sort.SliceStable(matches, func(i, j int) bool {
		a, b := matches[i], matches[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.BirthDate != b.BirthDate {
			return a.BirthDate < b.BirthDate
		}
		return a.ID < b.ID
	})
	return matches, cut, nil
}

// patientMatch decodes one response identifier. Its text is in the
// response's own Specific Character Set, which may differ per response.
func patientMatch(elems []*dicom.Element) PatientMatch {
	cs := dicom.Find(elems, dicom.SpecificCharacterSet)
	text := func(t dicom.Tag) string { return printable(dicom.DecodeText(cs, dicom.Find(elems, t))) }
	return PatientMatch{
		ID:        text(dicom.PatientID),
		Issuer:    text(dicom.IssuerOfPatientID),
		Name:      text(dicom.PatientName),
		BirthDate: text(dicom.PatientBirthDate),
		Sex:       text(dicom.PatientSex),
		Studies:   strings.TrimSpace(text(dicom.NumberOfPatientRelatedStudies)),
	}
}

// printable replaces what a terminal would act on (control characters,
// escape sequences a hostile PACS might send) with U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r != ' ' && !unicode.IsPrint(r) {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}
