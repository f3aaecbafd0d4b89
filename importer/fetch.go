// Fetching studies from a PACS: find them (C-FIND, Study Root, STUDY
// level) by accession number, patient ID or Study Instance UID, check
// that they are one patient's, then retrieve each (C-GET, or C-MOVE to
// our own storage SCP). Exact values only: a wildcard would fetch more
// than was asked for, perhaps another patient's studies.

package importer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
)

// StudySelector names the studies to fetch: exactly one of its fields.
type StudySelector struct {
	AccessionNumber, PatientID, StudyUID string
}

// StudyMatch is one study the PACS found, its text decoded to UTF-8.
// Instances is Number of Study Related Instances, when the PACS gives it.
type StudyMatch struct {
	StudyUID        string `json:"study_uid"`
	PatientID       string `json:"patient_id"`
	Issuer          string `json:"issuer"`
	AccessionNumber string `json:"accession_number"`
	StudyDate       string `json:"study_date"`
	Modalities      string `json:"modalities"`
	Instances       string `json:"instances"`
}

// ErrNoSelector refuses a fetch that names no study.
var ErrNoSelector = errors.New("name the studies to fetch: --accession, --patient-id or --study")

// ErrTwoPatients refuses studies of more than one patient found for one
// selector: an accession number shared by two patients is a mistake in the
// PACS, and fetching both would put two patients' images in one place under
// one request.
var ErrTwoPatients = errors.New("the studies found belong to more than one patient")

// ErrTooManyStudies means the PACS found more studies than the limit.
var ErrTooManyStudies = errors.New("more studies than the limit")

var uidPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// validUID accepts a UID as PS3.5 §9.1 writes it: digits in dot-separated
// parts, at most 64 characters.
func validUID(s string) bool { return len(s) <= 64 && uidPattern.MatchString(s) }

// Check validates s; its messages never repeat the values.
func (s StudySelector) Check() error {
	n := 0
	for _, v := range []string{s.AccessionNumber, s.PatientID, s.StudyUID} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return ErrNoSelector
	case n > 1:
		return errors.New("give one of --accession, --patient-id and --study, not several")
	case s.StudyUID != "" && !validUID(s.StudyUID):
		return errors.New("--study: not a UID (digits and dots, at most 64 characters)")
	}
	for _, f := range []struct{ what, v string }{{"--accession", s.AccessionNumber}, {"--patient-id", s.PatientID}} {
		if err := checkKey(f.what, f.v); err != nil {
			return err
		}
		if strings.ContainsAny(f.v, "*?") {
			return fmt.Errorf("%s: an exact value, without the wildcards * and ?", f.what)
		}
		if f.v != "" && strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s: empty", f.what)
		}
	}
	if len(s.AccessionNumber) > 16 {
		return errors.New("--accession: at most 16 characters (DICOM SH)")
	}
	return nil
}

// identifier is the C-FIND identifier of s at STUDY level: its matching
// key, and every attribute of StudyMatch as a return key.
func (s StudySelector) identifier() []*dicom.Element {
	return []*dicom.Element{
		dicom.StringElement(dicom.QueryRetrieveLevel, "CS", "STUDY"),
		dicom.StringElement(dicom.StudyDate, "DA", ""),
		dicom.StringElement(dicom.AccessionNumber, "SH", s.AccessionNumber),
		dicom.StringElement(modalitiesInStudy, "CS", ""),
		dicom.StringElement(dicom.PatientID, "LO", s.PatientID),
		dicom.StringElement(dicom.IssuerOfPatientID, "LO", ""),
		dicom.StringElement(dicom.StudyInstanceUID, "UI", s.StudyUID),
		dicom.StringElement(numberOfStudyRelatedInstances, "IS", ""),
	}
}

// Return keys of a STUDY level query (PS3.4 C.6.2.1.2, Table C.6-5) that
// the dicom package does not name.
const (
	modalitiesInStudy             dicom.Tag = 0x00080061
	numberOfStudyRelatedInstances dicom.Tag = 0x00201208
)

// FindStudies asks the PACS for the studies s selects (Study Root C-FIND
// at STUDY level), at most limit, sorted by study date and UID. A PACS
// with more answers ErrTooManyStudies; a failure status is ErrFindRefused.
// A response without a valid Study Instance UID is an error: it could not
// be retrieved, and a study left out silently would be a study missing.
func FindStudies(ctx context.Context, cfg dimse.Config, s StudySelector, limit int) ([]StudyMatch, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	var matches []StudyMatch
	st, err := dimse.Find(ctx, cfg, dimse.StudyRootFind, s.identifier(), limit, func(elems []*dicom.Element) error {
		m := studyMatch(elems)
		if !validUID(m.StudyUID) {
			return errors.New("the PACS answered a study without a valid Study Instance UID")
		}
		matches = append(matches, m)
		return nil
	})
	if errors.Is(err, dimse.ErrTooManyMatches) {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyStudies, limit)
	}
	if err != nil {
		return nil, err
	}
	if st.Kind() != dimse.Success {
		return nil, fmt.Errorf("%w: C-FIND answered %v", ErrFindRefused, st)
	}
	sort.SliceStable(matches, func(i, j int) bool {
		if matches[i].StudyDate != matches[j].StudyDate {
			return matches[i].StudyDate < matches[j].StudyDate
		}
		return matches[i].StudyUID < matches[j].StudyUID
	})
	return dedupStudies(matches), nil
}

// dedupStudies keeps the first of the answers for one study of one
// patient (some PACSs answer once per storage location); a UID under two
// patients stays twice, for OnePatient to refuse.
func dedupStudies(ms []StudyMatch) []StudyMatch {
	seen := map[[3]string]bool{}
	var out []StudyMatch
	for _, m := range ms {
		if k := [3]string{m.StudyUID, m.PatientID, m.Issuer}; !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

func studyMatch(elems []*dicom.Element) StudyMatch {
	cs := dicom.Find(elems, dicom.SpecificCharacterSet)
	text := func(t dicom.Tag) string {
		return strings.TrimSpace(printable(dicom.DecodeText(cs, dicom.Find(elems, t))))
	}
	return StudyMatch{
		StudyUID:        strings.TrimRight(dicom.Find(elems, dicom.StudyInstanceUID).String(), "\x00 "),
		PatientID:       text(dicom.PatientID),
		Issuer:          text(dicom.IssuerOfPatientID),
		AccessionNumber: text(dicom.AccessionNumber),
		StudyDate:       text(dicom.StudyDate),
		Modalities:      text(modalitiesInStudy),
		Instances:       text(numberOfStudyRelatedInstances),
	}
}

// OnePatient refuses matches of more than one patient (Patient ID and
// Issuer of Patient ID); the error says how many, never who.
func OnePatient(ms []StudyMatch) error {
	patients := map[[2]string]bool{}
	for _, m := range ms {
		patients[[2]string{m.PatientID, m.Issuer}] = true
	}
	if len(patients) > 1 {
		return fmt.Errorf("%w: %d Patient IDs among %d studies; fetch by --study UID, one study at a time, after checking them in the PACS",
			ErrTwoPatients, len(patients), len(ms))
	}
	return nil
}

// Retrieval says how to retrieve a study: with C-GET (Store receives each
// instance), or with C-MOVE to the AE title MoveDestination (our own
// storage SCP, which the PACS must know).
type Retrieval struct {
	Move            bool
	MoveDestination string
	Store           dimse.StoreHandler // C-GET only
	Progress        func(dimse.SubOperations)
}

// RetrieveStudy retrieves one study, by its Study Instance UID, with the
// Study Root model at STUDY level.
func RetrieveStudy(ctx context.Context, cfg dimse.Config, studyUID string, r Retrieval) (dimse.RetrieveResult, error) {
	if !validUID(studyUID) {
		return dimse.RetrieveResult{}, errors.New("not a Study Instance UID")
	}
	id := []*dicom.Element{
		dicom.StringElement(dicom.QueryRetrieveLevel, "CS", "STUDY"),
		dicom.StringElement(dicom.StudyInstanceUID, "UI", studyUID),
	}
	if r.Move {
		return dimse.Move(ctx, cfg, dimse.StudyRootMove, id, r.MoveDestination, r.Progress)
	}
	return dimse.Get(ctx, cfg, dimse.StudyRootGet, id, r.Store, r.Progress)
}
