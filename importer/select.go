package importer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/media"
)

// Selection names part of a medium as "securemedia open" lists it: a
// patient by its Patient ID or its number ("#2": the second patient
// listed, for a disc whose patients have no ID or share one), a study by
// its Study Instance UID or number, a series by its Series Instance UID or
// number. Studies and series are numbered across the whole medium, in the
// order listed, so a number names one whatever else is selected. Empty
// fields select everything; the fields given must all hold.
type Selection struct {
	Patient, Study, Series string
}

// Empty reports whether s selects the whole medium.
func (s Selection) Empty() bool { return s.Patient == "" && s.Study == "" && s.Series == "" }

// ErrSelection is returned when a selection names nothing on the medium,
// or names it ambiguously: the message lists what there is.
var ErrSelection = errors.New("the selection names no part of the medium")

// selectionError is an ErrSelection with its own message.
type selectionError struct{ msg string }

func selectionErrorf(format string, args ...any) error {
	return &selectionError{fmt.Sprintf(format, args...)}
}

func (e *selectionError) Error() string { return e.msg }
func (e *selectionError) Unwrap() error { return ErrSelection }

// Pick is one selected patient with its selected instances.
type Pick struct {
	Number    int // as listed: #1, #2, ...
	Patient   *media.Patient
	Instances []*media.Instance
}

// Label names the patient for messages on the user's terminal: number,
// name and ID (or "no ID on the disc").
func (p *Pick) Label() string { return PatientLabel(p.Number, p.Patient) }

// PatientLabel is how a patient is named when one must be chosen: "#2
// DOE^JANE [ID 1234]", or "[no ID on the disc]" for a patient without one.
func PatientLabel(n int, p *media.Patient) string {
	name := p.Name
	if strings.TrimSpace(name) == "" {
		name = "(no name)"
	}
	return fmt.Sprintf("#%d %s %s", n, name, IDLabel(p))
}

// IDLabel is "[ID 1234]" or, for a patient the disc gives no ID,
// "[no ID on the disc]": a stand-in ID is never shown as the patient's.
func IDLabel(p *media.Patient) string {
	if p.ID == "" {
		return "[no ID on the disc]"
	}
	return "[ID " + p.ID + "]"
}

// Select returns the patients s selects on the unlocked medium d, each
// with its selected instances, in the medium's order. With an empty
// selection every patient is picked, and the instances outside any
// patient (e.g. a palette at the root) are returned as rest; with a
// selection, rest is nil. A selection that names nothing, or a Patient ID
// that two patients share, is ErrSelection, with the patients listed.
func Select(d *media.Disc, s Selection) (picks []*Pick, rest []*media.Instance, err error) {
	patients := d.Patients()
	want, err := s.patients(patients)
	if err != nil {
		return nil, nil, err
	}
	num := Number(d)
	var studyFound, seriesFound bool
	for i, p := range patients {
		pick := &Pick{Number: i + 1, Patient: p}
		for _, st := range p.Studies {
			stOK := matches(s.Study, num.Study[st], st.UID)
			studyFound = studyFound || stOK
			for _, se := range st.Series {
				seOK := matches(s.Series, num.Series[se], se.UID)
				seriesFound = seriesFound || seOK
				if want[i] && stOK && seOK {
					pick.Instances = append(pick.Instances, se.Instances...)
				}
			}
		}
		if len(pick.Instances) > 0 {
			picks = append(picks, pick)
		}
	}
	switch {
	case s.Study != "" && !studyFound:
		return nil, nil, selectionErrorf("no study %s on this medium (\"securemedia open\" lists and numbers them)", s.Study)
	case s.Series != "" && !seriesFound:
		return nil, nil, selectionErrorf("no series %s on this medium (\"securemedia open\" lists and numbers them)", s.Series)
	case len(picks) == 0 && !s.Empty():
		return nil, nil, selectionErrorf("the patient, study and series given have no instance in common")
	}
	if s.Empty() {
		rest = rootInstances(d)
	}
	return picks, rest, nil
}

// Numbers are the numbers "securemedia open" gives a medium's studies and
// series, which a Selection's "#N" names: in the order listed, across the
// whole medium. (A patient's number is its position in Disc.Patients.)
type Numbers struct {
	Study  map[*media.Study]int
	Series map[*media.Series]int
}

// Number numbers the studies and series of the unlocked medium d.
func Number(d *media.Disc) Numbers {
	n := Numbers{Study: map[*media.Study]int{}, Series: map[*media.Series]int{}}
	for _, p := range d.Patients() {
		for _, st := range p.Studies {
			n.Study[st] = len(n.Study) + 1
			for _, se := range st.Series {
				n.Series[se] = len(n.Series) + 1
			}
		}
	}
	return n
}

// patients marks the patients s.Patient selects.
func (s Selection) patients(patients []*media.Patient) ([]bool, error) {
	want := make([]bool, len(patients))
	if s.Patient == "" {
		for i := range want {
			want[i] = true
		}
		return want, nil
	}
	if n, ok := number(s.Patient); ok {
		if n > len(patients) {
			return nil, selectionErrorf("no patient %s: this medium holds %d\n%s", s.Patient, len(patients), ListPatients(patients))
		}
		want[n-1] = true
		return want, nil
	}
	var found []int
	for i, p := range patients {
		if p.ID == s.Patient {
			want[i] = true
			found = append(found, i+1)
		}
	}
	switch {
	case len(found) == 0:
		return nil, selectionErrorf("no patient with ID %q on this medium\n%s", s.Patient, ListPatients(patients))
	case len(found) > 1:
		return nil, selectionErrorf("%d patients on this medium have ID %q: select one by its number\n%s", len(found), s.Patient, ListPatients(patients))
	}
	return want, nil
}

// ListPatients lists patients one per line with their numbers, for an
// error message that asks the user to choose.
func ListPatients(patients []*media.Patient) string {
	var b strings.Builder
	for i, p := range patients {
		fmt.Fprintf(&b, "  %s\n", PatientLabel(i+1, p))
	}
	b.WriteString("name one by its number (#N) or, when it is listed once, by its Patient ID")
	return b.String()
}

// matches reports whether the n-th study or series, of UID uid, is the
// one sel names ("" names all).
func matches(sel string, n int, uid string) bool {
	if sel == "" {
		return true
	}
	if k, ok := number(sel); ok {
		return k == n
	}
	return sel == uid
}

// number parses "#N" (N ≥ 1).
func number(sel string) (int, bool) {
	rest, ok := strings.CutPrefix(sel, "#")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 1
}

// rootInstances are the instances no patient holds.
func rootInstances(d *media.Disc) []*media.Instance {
	var out []*media.Instance
	for _, in := range d.Instances() {
		if in.Series == nil {
			out = append(out, in)
		}
	}
	return out
}

// Instances flattens picks (and rest) into one list.
func Instances(picks []*Pick, rest []*media.Instance) []*media.Instance {
	var out []*media.Instance
	for _, p := range picks {
		out = append(out, p.Instances...)
	}
	return append(out, rest...)
}
