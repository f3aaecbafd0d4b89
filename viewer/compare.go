package viewer

import (
	"net/http"
	"strings"
)

// The comparison page (GET /compare?layout=1x2&s=KEY&s=KEY…): one, two or
// four viewports side by side, each the series page of one series in a
// frame of its own (?embed=1), any series of the patient in any of them.
// static/compare.js keeps them in step: two cross-sectional series in one
// Frame of Reference scroll, zoom and pan together by slice position, and
// each viewport shows where the others' slices cut it (scout lines).
//
// Only one patient's series are offered and accepted: two patients side
// by side is how one is taken for the other.

// layouts are the grids offered: name → viewports.
var layouts = []struct {
	Name, Label string
	Cells       int
}{{"1x1", "1 × 1", 1}, {"1x2", "1 × 2", 2}, {"2x2", "2 × 2", 4}}

type compareCell struct {
	Index, Human int
	Series       *seriesView
}

// layoutLink is one layout button: the same series in another grid.
type layoutLink struct {
	Label, Href string
	Current     bool
}

type comparePage struct {
	Title          string
	Reading, Embed bool
	Layout         string
	Layouts        []layoutLink
	Patient        *patientView
	Cells          []compareCell
	Back           string // the first viewport's series page
}

func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	layout, cells := "1x2", 2
	for _, l := range layouts {
		if l.Name == q.Get("layout") {
			layout, cells = l.Name, l.Cells
		}
	}
	keys := q["s"]
	if len(keys) == 0 || s.tree.series[keys[0]] == nil {
		s.fail(w, http.StatusNotFound, "There is no such series on this disc.")
		return
	}
	patient := s.tree.series[keys[0]].Patient
	options := patientSeries(patient)
	pg := &comparePage{Title: "Compare · " + patient.Name, Reading: true, Layout: layout, Patient: patient}
	var chosen []string
	for i := range cells {
		var se *seriesView
		if i < len(keys) {
			se = s.tree.series[keys[i]]
			if se == nil {
				s.fail(w, http.StatusNotFound, "There is no such series on this disc.")
				return
			}
			if se.Patient != patient {
				s.fail(w, http.StatusBadRequest, "Only the series of one patient can be compared: "+
					"series "+se.Number+" belongs to another patient than series "+s.tree.series[keys[0]].Number+".")
				return
			}
		} else {
			se = nextSeries(options, pg.Cells[i-1].Series)
		}
		pg.Cells = append(pg.Cells, compareCell{Index: i, Human: i + 1, Series: se})
		chosen = append(chosen, "s="+se.Key)
	}
	pg.Back = "/series/" + pg.Cells[0].Series.Key
	for _, l := range layouts {
		pg.Layouts = append(pg.Layouts, layoutLink{l.Label, "/compare?layout=" + l.Name + "&" + strings.Join(chosen, "&"), l.Name == layout})
	}
	// The viewports are frames of this page: allowed here, and only of
	// our own pages (the series page answers ?embed=1 to us alone).
	w.Header().Set("Content-Security-Policy", strings.Replace(pageCSP, "form-action", "frame-src 'self'; form-action", 1))
	s.render(w, http.StatusOK, "compare", pg)
}

// patientSeries lists a patient's series in study list order, those with
// files only.
func patientSeries(p *patientView) []*seriesView {
	var out []*seriesView
	for _, st := range p.Studies {
		for _, se := range st.Series {
			if len(se.files) > 0 {
				out = append(out, se)
			}
		}
	}
	return out
}

// nextSeries is the series after se in options, for a new viewport: the
// next one of the study list, wrapping round.
func nextSeries(options []*seriesView, se *seriesView) *seriesView {
	for i, o := range options {
		if o == se {
			return options[(i+1)%len(options)]
		}
	}
	return se
}

// embeddable lets a series page be a viewport of the comparison page:
// framed by our own pages only.
func embeddable(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(pageCSP, "frame-ancestors 'none'", "frame-ancestors 'self'", 1))
	h.Set("X-Frame-Options", "SAMEORIGIN")
}
