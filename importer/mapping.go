package importer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/securemedia/securemedia/media"
)

// Mapping is one line of a reconciliation file: a patient of the medium
// (its Patient ID as listed, or "#N") and the local identity its
// instances are to be stored under.
type Mapping struct {
	Line   int
	Disc   string
	Change Change
}

// Bounds on a reconciliation file: it lists the patients of one medium.
const (
	maxMappingBytes = 1 << 20
	maxMappings     = 10_000
)

// ParseMappings reads a reconciliation file: one patient per line, tab-
// separated: the medium's Patient ID (or #N), the local Patient ID, and
// optionally the local Issuer of Patient ID and Patient's Name (empty:
// left as on the medium). Blank lines, and lines beginning with "#" but
// not "#<digit>", are comments.
func ParseMappings(r io.Reader) ([]Mapping, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxMappingBytes+1))
	var out []Mapping
	seen := map[string]int{}
	read := 0
	for line := 1; sc.Scan(); line++ {
		read += len(sc.Bytes()) + 1
		text := strings.TrimRight(sc.Text(), "\r")
		if isComment(text) {
			continue
		}
		m, err := parseMapping(line, text)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[m.Disc]; dup {
			return nil, fmt.Errorf("line %d: %s is already mapped on line %d", line, m.Disc, first)
		}
		seen[m.Disc] = line
		if out = append(out, m); len(out) > maxMappings {
			return nil, fmt.Errorf("more than %d lines", maxMappings)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if read > maxMappingBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxMappingBytes)
	}
	if len(out) == 0 {
		return nil, errors.New("maps no patient (want lines of: disc Patient ID or #N, tab, local Patient ID[, tab, issuer[, tab, name]])")
	}
	return out, nil
}

func isComment(line string) bool {
	t := strings.TrimSpace(line)
	if t == "" {
		return true
	}
	if rest, ok := strings.CutPrefix(t, "#"); ok {
		return rest == "" || rest[0] < '0' || rest[0] > '9'
	}
	return false
}

func parseMapping(line int, text string) (Mapping, error) {
	f := strings.Split(text, "\t")
	if len(f) < 2 || len(f) > 4 {
		return Mapping{}, fmt.Errorf("line %d: want 2 to 4 tab-separated fields (disc patient, local Patient ID, issuer, name), got %d", line, len(f))
	}
	for len(f) < 4 {
		f = append(f, "")
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	m := Mapping{Line: line, Disc: f[0], Change: Change{PatientID: f[1], Issuer: f[2], PatientName: f[3]}}
	switch {
	case m.Disc == "":
		return Mapping{}, fmt.Errorf("line %d: no disc patient (its Patient ID, or #N as \"securemedia open\" numbers it)", line)
	case m.Change.PatientID == "":
		return Mapping{}, fmt.Errorf("line %d: no local Patient ID", line)
	}
	if err := m.Change.Check(); err != nil {
		return Mapping{}, fmt.Errorf("line %d: %w", line, err)
	}
	return m, nil
}

// Assign gives each picked patient its local identity from maps. Every
// mapping must name one patient of the medium (all being its patients):
// one naming none, naming a Patient ID that two patients share, or a
// patient another mapping names too, is ErrSelection, since a typo must
// not send a patient under a wrong identity. Picked patients no mapping
// names are returned as unmapped: they are not to be sent.
func Assign(picks []*Pick, all []*media.Patient, maps []Mapping) (changes map[*Pick]Change, unmapped []*Pick, err error) {
	byNumber := map[int]Mapping{}
	for _, m := range maps {
		n, err := mappedPatient(m, all)
		if err != nil {
			return nil, nil, err
		}
		if other, dup := byNumber[n]; dup {
			return nil, nil, selectionErrorf("reconciliation lines %d and %d both name patient #%d", other.Line, m.Line, n)
		}
		byNumber[n] = m
	}
	changes = map[*Pick]Change{}
	for _, p := range picks {
		if m, ok := byNumber[p.Number]; ok {
			changes[p] = m.Change
		} else {
			unmapped = append(unmapped, p)
		}
	}
	return changes, unmapped, nil
}

// mappedPatient is the number of the patient a mapping names.
func mappedPatient(m Mapping, all []*media.Patient) (int, error) {
	sel := Selection{Patient: m.Disc}
	want, err := sel.patients(all)
	if err != nil {
		return 0, fmt.Errorf("reconciliation line %d: %w", m.Line, err)
	}
	for i, w := range want {
		if w {
			return i + 1, nil
		}
	}
	return 0, selectionErrorf("reconciliation line %d names no patient", m.Line)
}
