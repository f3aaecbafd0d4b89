package viewer

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/pixeldata"
)

// What is wrong with the disc, for the studies page: what unlocking found
// (media.Disc.Problems, Missing, DICOMDIRError, Scanned, Others, Warnings)
// and the files found damaged while the pages read them. Each line names
// its file and says in plain words what is wrong; none carries patient
// data (a file's path, the medium's own words about it).

// report is the warning panel and the quieter lists below it.
type report struct {
	Heading string
	Intro   string
	Lines   []reportLine // the panel: each names a file
	Scanned string       // how many images were found by scanning, and why
	Others  []reportLine // files that are not images
	Notes   []string     // the DICOMDIR's tolerated deviations, technical
}

type reportLine struct{ Path, Text string }

// Shown tells whether the panel is shown at all.
func (r *report) Shown() bool { return len(r.Lines) > 0 || r.Scanned != "" }

// Short is the panel's first lines; More the rest, shown on request.
func (r *report) Short() []reportLine { return r.Lines[:min(len(r.Lines), panelLines)] }
func (r *report) More() []reportLine  { return r.Lines[min(len(r.Lines), panelLines):] }

// panelLines is how many lines the panel shows before "… more".
const panelLines = 10

// OthersOpen tells whether the list of other files starts open.
func (r *report) OthersOpen() bool { return len(r.Others) <= 5 }

// discReport is what unlocking found wrong with the disc, without the
// files found damaged later.
type discReport struct {
	problems []reportLine // the medium changed: manifest, unexpected files
	lost     []reportLine // missing or unreadable files, the DICOMDIR
	scanned  string
	others   []reportLine
	notes    []string
}

func newDiscReport(d *media.Disc) *discReport {
	r := &discReport{}
	inPanel := map[string]bool{}
	for _, p := range d.Problems() {
		r.problems = append(r.problems, reportLine{p.Path, problemText(p.Err)})
		inPanel[p.Path] = true
	}
	dirErr := d.DICOMDIRError()
	if dirErr != nil {
		r.lost = append(r.lost, reportLine{"DICOMDIR", dirErrorText(dirErr)})
	}
	for _, in := range d.Missing() {
		r.lost = append(r.lost, reportLine{in.Path(), missingText(in.Lost())})
	}
	for _, o := range d.Others() {
		switch {
		case inPanel[o.Path]:
			// a problem already: named in the panel
		case o.Err != nil:
			r.lost = append(r.lost, reportLine{o.Path, unreadableText(o.Err)})
		default:
			r.others = append(r.others, reportLine{o.Path, o.What})
		}
	}
	if n := d.Scanned(); n > 0 {
		images := plural(n, "image", "images")
		switch {
		case dirErr != nil:
			r.scanned = fmt.Sprintf("%s found by scanning every file of the disc, because its DICOMDIR (the list of its images) could not be read.", capital(images))
		case !d.Listed():
			r.scanned = fmt.Sprintf("This disc has no DICOMDIR (the list of its images): %s found by scanning every file of the disc.", images)
		default:
			r.scanned = fmt.Sprintf("%s found by scanning the disc, because its DICOMDIR (the list of its images) does not list them. They are shown under patients marked “not in the DICOMDIR”.", capital(images))
		}
	}
	if dirErr != nil {
		r.notes = append(r.notes, "DICOMDIR: "+strings.TrimPrefix(dirErr.Error(), "DICOMDIR: "))
	}
	for _, w := range d.Warnings() {
		if dirErr != nil && strings.HasPrefix(w, "the DICOMDIR cannot be read") {
			continue // said above
		}
		r.notes = append(r.notes, w)
	}
	return r
}

// plural is "1 image was" or "3 images were".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one + " was"
	}
	return fmt.Sprintf("%d %s were", n, many)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// problemText says what a media.Problem means.
func problemText(err error) string {
	switch {
	case errors.Is(err, media.ErrUnexpected):
		return "unexpected file: not in this medium's manifest, so it was added after the disc was made"
	}
	return err.Error() // the medium's words: "missing, yet the DICOMDIR says this medium has one: …"
}

// dirErrorText says what an unreadable DICOMDIR means; why is among the
// technical notes.
func dirErrorText(err error) string {
	if errors.Is(err, media.ErrDamaged) {
		return "the list of the disc's images is damaged and could not be read; every file was scanned instead"
	}
	return "the list of the disc's images could not be read; every file was scanned instead"
}

func missingText(err error) string {
	if err == nil || errors.Is(err, media.ErrMissing) {
		return "missing: the DICOMDIR lists this image, but the file is not on the disc"
	}
	return unreadableText(err)
}

func unreadableText(err error) string {
	if errors.Is(err, media.ErrDamaged) {
		return "damaged: this file cannot be opened"
	}
	return "this file could not be read from the disc"
}

// lostMessage says, in plain words, why an instance is not shown, and
// whether that is because of its file (lost: missing, damaged, another
// instance than its record names) rather than an image the viewer cannot
// display yet. It never repeats what the file holds.
func lostMessage(err error, file string) (msg string, lost bool) {
	if errors.Is(err, pixeldata.ErrNotDisplayable) {
		return err.Error(), false
	}
	return "Lost: this file " + lostWhy(err) + " — not shown (" + file + ").", true
}

// lostWhy says what is wrong with a lost instance's file, as the end of
// "this file …".
func lostWhy(err error) string {
	switch {
	case errors.Is(err, media.ErrMissing):
		return "is missing from the disc"
	case errors.Is(err, media.ErrMismatch):
		return "holds another image than the one the disc lists here (it may be another patient's)"
	case errors.Is(err, media.ErrAltered):
		return "was altered after the disc was made"
	case errors.Is(err, media.ErrDamaged):
		return "is damaged"
	case errors.Is(err, pixeldata.ErrNotDICOM):
		return "is not a readable DICOM image"
	}
	return "could not be read from the disc"
}

// failures remembers the files found lost while the pages read them (a
// file that holds another instance, one cut short), for the studies page.
type failures struct {
	mu    sync.Mutex
	seen  map[*media.Instance]bool
	lines []reportLine
}

func (f *failures) add(in *media.Instance, err error) {
	if in.Lost() != nil {
		return // missing: in the panel already
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[in] {
		return
	}
	if f.seen == nil {
		f.seen = map[*media.Instance]bool{}
	}
	f.seen[in] = true
	f.lines = append(f.lines, reportLine{in.Path(), failureText(err)})
}

func (f *failures) list() []reportLine {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]reportLine(nil), f.lines...)
}

// failureText is lostWhy for the panel, where the file's path comes first.
func failureText(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(lostWhy(err), "is "), "was ") + ": not shown"
}

// report is the studies page's panel: what unlocking found, and the files
// found lost since.
func (s *Server) report() *report {
	d := s.tree.report
	r := &report{Others: d.others, Notes: d.notes, Scanned: d.scanned}
	r.Lines = append(r.Lines, d.problems...)
	r.Lines = append(r.Lines, d.lost...)
	r.Lines = append(r.Lines, s.failed.list()...)
	switch {
	case len(d.problems) > 0:
		r.Heading = "This disc has problems"
		r.Intro = "It was changed after it was made: the files named here were added, removed or replaced. Do not open or run them. Every image is still checked when it is shown, and one that fails is marked as lost."
	case len(r.Lines) > 0:
		r.Heading = "Not everything on this disc could be read"
		r.Intro = "The files named here are missing or damaged. Everything else on the disc is shown as usual."
	case r.Scanned != "":
		r.Heading = "Some images are not in this disc's DICOMDIR"
	}
	return r
}
