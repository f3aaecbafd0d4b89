package viewer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/importer"
)

// "Find this patient in the PACS" (IHE IRWF): the send form asks the PACS
// (C-FIND, Patient Root, PATIENT level) for patients with the disc's name
// and birth date and lists them; the user picks one, whose ID, issuer and
// name then fill the form, to be checked and sent. Nothing is ever chosen
// for the user, not even a single match.

// maxCandidates bounds the list: more means the search says too little.
const maxCandidates = 20

// foundView is the answer to a search.
type foundView struct {
	Query      string // what was searched for, in words
	Candidates []candidate
	More       bool   // more than maxCandidates matched
	Problem    string // the search failed: why, in plain words
}

// candidate is one patient the PACS knows.
type candidate struct {
	importer.PatientMatch
	Pick string // the form value that picks it: ID, issuer and name, tab-separated
}

// BirthDateText is the birth date as the pages show dates.
func (c candidate) BirthDateText() string {
	if c.BirthDate == "" {
		return "–"
	}
	return formatDate(c.BirthDate)
}

func (s *Server) sendFind(w http.ResponseWriter, r *http.Request) {
	sc, p, ok := s.sendRequest(w, r)
	if !ok {
		return
	}
	cfg, _, errs := s.peerConfig(p)
	delete(errs, "patient_id")
	if len(errs) > 0 {
		s.renderSendForm(w, http.StatusBadRequest, sc, p, errs, "Fill in the PACS first: the search asks it.")
		return
	}
	q := importer.PatientQuery{Name: searchName(sc.Patient.disc.Name), BirthDate: sc.Patient.BirthDate}
	found := &foundView{Query: describeQuery(orDash(sc.Patient.Name), sc.Patient.BirthDate)}
	if q.Name == "" && q.BirthDate == "" {
		found.Problem = "The disc gives no name or birth date to search by. Type the hospital's Patient ID below."
		s.renderSendPage(w, http.StatusOK, &sendPage{Scope: sc, P: p, Found: found})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	matches, more, err := importer.FindPatients(ctx, cfg, q, maxCandidates)
	if family, ok := familyOnly(q.Name); err == nil && len(matches) == 0 && ok {
		// Names are spelled differently from one register to another
		// (middle names, suffixes): the same family name, same birth
		// date, is the next thing to show.
		q.Name = family + "^*"
		matches, more, err = importer.FindPatients(ctx, cfg, q, maxCandidates)
		found.Query = describeQuery("the family name "+family, q.BirthDate) + " (no patient has the disc's whole name)"
	}
	if err != nil {
		found.Problem = findProblem(err, cfg)
	}
	found.More = more
	for _, m := range matches {
		found.Candidates = append(found.Candidates, candidate{PatientMatch: m, Pick: m.ID + "\t" + m.Issuer + "\t" + m.Name})
	}
	s.renderSendPage(w, http.StatusOK, &sendPage{Scope: sc, P: p, Found: found})
}

// sendPick fills the form with the patient the user picked from a search.
func (s *Server) sendPick(w http.ResponseWriter, r *http.Request) {
	sc, p, ok := s.sendRequest(w, r)
	if !ok {
		return
	}
	f := strings.Split(r.PostFormValue("pick"), "\t")
	if len(f) != 3 || f[0] == "" {
		s.renderSendForm(w, http.StatusBadRequest, sc, p, nil, "No patient was picked.")
		return
	}
	p.PatientID, p.Issuer, p.PatientName = f[0], f[1], f[2]
	_, _, errs := s.peerConfig(p)
	pg := &sendPage{Scope: sc, P: p, Picked: "From the PACS: Patient ID " + p.PatientID + ". Check the fields below, then Send."}
	if errs["patient_id"] != "" {
		pg.Msg, pg.Picked = "The PACS's patient cannot be used as it is: "+errs["patient_id"], ""
		pg.P.PatientID, pg.P.Issuer, pg.P.PatientName = "", "", ""
	}
	s.renderSendPage(w, http.StatusOK, pg)
}

// searchName is the disc's Patient's Name as a C-FIND matching key: its
// first (alphabetic) group, without the empty trailing components that
// would make an exact match fail ("Doe^Peter^^^" is "Doe^Peter").
func searchName(pn string) string {
	g, _, _ := strings.Cut(pn, "=")
	return strings.TrimRight(strings.TrimSpace(g), "^ ")
}

// familyOnly is the family name of a PN that has more than one, for a
// wider search.
func familyOnly(name string) (string, bool) {
	family, rest, ok := strings.Cut(name, "^")
	family = strings.TrimSpace(family)
	return family, ok && family != "" && rest != "" && !strings.ContainsAny(family, "*?")
}

// describeQuery says what a search looks for: a name, and the birth date
// when there is one.
func describeQuery(name, birthDate string) string {
	if birthDate != "" {
		name += ", born " + formatDate(birthDate)
	}
	return name
}

// findProblem explains a failed search; a PACS that does not let us
// search is the common case (Orthanc breaks off a C-FIND from an AE title
// it does not know).
func findProblem(err error, cfg dimse.Config) string {
	var ab *dimse.Abort
	ask := fmt.Sprintf(" Ask its administrator to allow searches (C-FIND) from our AE title %q, or type the hospital's Patient ID below.", cfg.CallingAE)
	switch {
	case errors.Is(err, importer.ErrFindRefused):
		return "The search failed: the PACS did not search (" + strings.TrimPrefix(err.Error(), importer.ErrFindRefused.Error()+": ") + ")." + ask
	case errors.As(err, &ab):
		return fmt.Sprintf("The search failed: the PACS at %s broke off the connection (%v).", cfg.Address, err) + ask
	}
	return "The search failed: " + connectionProblem(err, cfg)
}
