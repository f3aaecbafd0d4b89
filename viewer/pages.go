package viewer

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/pixeldata"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticRoot embed.FS

var staticFS fs.FS = staticRoot

var pages = template.Must(template.New("").Funcs(template.FuncMap{"date": formatDate}).ParseFS(templateFS, "templates/*.html"))

// tree is the study list, built once when the disc is unlocked.
type tree struct {
	FileSetID string
	Patients  []*patientView
	series    map[string]*seriesView
	report    *discReport // what unlocking found wrong (problems.go)
}

type patientView struct {
	Name, ID  string // ID "": the disc gives none
	BirthDate string // DA, as recorded
	Sex       string
	Studies   []*studyView
	Scanned   bool // found by scanning: not in the DICOMDIR
	Index     int  // position in the study list: ?patient=Index
	Count     int  // instances
	disc      *media.Patient
}
type studyView struct {
	Date, Description, ID, Accession string
	Series                           []*seriesView
}
type seriesView struct {
	Key                           string
	Number, Modality, Description string
	Count                         int
	Lost                          int // files missing or unreadable, known at unlock
	Kinds                         string
	Patient                       *patientView
	Study                         *studyView
	files                         []*media.Instance
}

// Middle is the index of the series' middle image (its preview): of
// those whose file is there, when some are missing.
func (v *seriesView) Middle() int {
	if v.Lost == 0 || v.Lost == v.Count {
		return v.Count / 2
	}
	var there []int
	for i, in := range v.files {
		if in.Lost() == nil {
			there = append(there, i)
		}
	}
	return there[len(there)/2]
}

// buildTree makes the study list of an unlocked disc: its series keyed
// "patient-study-series" by position, each series' files in Instance
// Number order.
func buildTree(d *media.Disc) *tree {
	t := &tree{FileSetID: d.FileSetID(), series: map[string]*seriesView{}, report: newDiscReport(d)}
	for pi, p := range d.Patients() {
		pv := &patientView{Name: personName(p.Name), ID: p.ID, BirthDate: p.BirthDate, Sex: p.Sex, Scanned: p.Scanned, Index: pi, disc: p}
		t.Patients = append(t.Patients, pv)
		for si, st := range p.Studies {
			sv := &studyView{Date: st.Date, Description: st.Description, ID: st.ID, Accession: st.AccessionNumber}
			pv.Studies = append(pv.Studies, sv)
			for ei, se := range st.Series {
				v := &seriesView{Key: fmt.Sprintf("%d-%d-%d", pi, si, ei), Number: se.Number,
					Modality: se.Modality, Description: se.Description, Patient: pv, Study: sv}
				v.files = byInstanceNumber(se.Instances)
				v.Count = len(v.files)
				pv.Count += v.Count
				for _, in := range v.files {
					if in.Lost() != nil {
						v.Lost++
					}
				}
				v.Kinds = kinds(se)
				sv.Series = append(sv.Series, v)
				t.series[v.Key] = v
			}
		}
	}
	return t
}

// LostNote says, on the series page, how many of its files are known to
// be missing or unreadable; "" when none.
func (v *seriesView) LostNote() string {
	switch {
	case v.Lost == 0:
		return ""
	case v.Lost == 1:
		return fmt.Sprintf("1 of the %d images of this series is not on the disc or cannot be read; it is marked as lost.", v.Count)
	}
	return fmt.Sprintf("%d of the %d images of this series are not on the disc or cannot be read; they are marked as lost.", v.Lost, v.Count)
}

// byInstanceNumber orders a series' instances for display; those without
// a number go last, in their DICOMDIR order.
func byInstanceNumber(insts []*media.Instance) []*media.Instance {
	out := slices.Clone(insts)
	num := func(in *media.Instance) int {
		n, err := strconv.Atoi(in.Number)
		if err != nil {
			return math.MaxInt
		}
		return n
	}
	sort.SliceStable(out, func(a, b int) bool { return num(out[a]) < num(out[b]) })
	return out
}

// kinds counts a series' instances by record type: "12 images, 1 presentation".
func kinds(se *media.Series) string {
	var parts []string
	for _, k := range se.RecordTypes() {
		word := strings.ToLower(k.Type)
		if k.Count != 1 {
			word += "s"
		}
		part := fmt.Sprintf("%d %s", k.Count, word)
		if k.Frames > 0 {
			part += fmt.Sprintf(", %d frames", k.Frames)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// personName shows a DICOM person name (Family^Given^Middle^Prefix^Suffix,
// up to three "=" groups) as "Family, Given Middle".
func personName(pn string) string {
	var groups []string
	for _, g := range strings.Split(strings.TrimSpace(pn), "=") {
		c := strings.Split(g, "^")
		for len(c) < 5 {
			c = append(c, "")
		}
		given := strings.TrimSpace(strings.Join([]string{c[3], c[1], c[2]}, " "))
		name := strings.TrimSpace(c[0])
		if given != "" {
			if name != "" {
				name += ", "
			}
			name += strings.Join(strings.Fields(given), " ")
		}
		if c[4] != "" {
			name += " " + c[4]
		}
		if name != "" {
			groups = append(groups, name)
		}
	}
	return strings.Join(groups, " = ")
}

// formatDate shows a DA value as YYYY-MM-DD when it has that shape.
func formatDate(da string) string {
	if d := media.DisplayDate(da); d != "" {
		return d
	}
	return "unknown date"
}

// instance finds the series and instance index of a request.
func (s *Server) instance(r *http.Request, idx string) (*seriesView, int, bool) {
	se := s.tree.series[r.PathValue("key")]
	if se == nil {
		return nil, 0, false
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= len(se.files) {
		return se, 0, false
	}
	return se, i, true
}

// openInstance reads an instance's header; the caller must close rc.
func (s *Server) openInstance(in *media.Instance) (*pixeldata.Reader, io.ReadCloser, error) {
	rc, err := s.disc.OpenInstance(in)
	if err != nil {
		return nil, nil, err
	}
	pr, err := pixeldata.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return pr, rc, nil
}

// readFailed says why instance i of se is not shown, and remembers a
// lost file for the studies page.
func (s *Server) readFailed(se *seriesView, i int, err error) (msg string, lost bool) {
	in := se.files[i]
	msg, lost = lostMessage(err, in.Path())
	if lost {
		s.failed.add(in, err)
	}
	return msg, lost
}

type infoView struct {
	Index, Count  int
	Frames        int
	Width, Height int
	Message       string
	Monochrome    bool
	Modality      string
	Description   string
	Date          string // study date
	ImageDate     string // content or series date, when it differs
	BodyPart      string
	Instance      string
	SeriesNumber  string
	StudyDesc     string
	// Geometry and Technique: for measuring, the orientation markers, the
	// scale bar, cine and the annotation on the image.
	Geometry  pixeldata.Geometry
	Technique pixeldata.Technique
	Patient   string `json:"-"` // only on the page
	PatientID string `json:"-"`
	FrameURL  string // of frame 0; ?n= picks another
	Pixel     *pixelView
	// Lost: the instance's file is missing, damaged, or holds another
	// instance than its record names; Message says which. Nothing of it is
	// shown, and /info and /frame answer 422 for it.
	Lost bool
}

// pixelView is what the browser needs to decode and render a frame: the
// Image Pixel module (PS3.3 C.7.6.3), Modality LUT (C.11.1, rescale only)
// and VOI LUT (C.11.2, windows only) attributes, and the codec of the
// bytes /frame returns.
type pixelView struct {
	Codec                     string // native, rle (served decoded), jpeg, jpeg-lossless, jpeg-ls, j2k
	TransferSyntaxUID         string
	Rows, Columns             int
	SamplesPerPixel           int
	BitsAllocated, BitsStored int
	HighBit                   int
	PixelRepresentation       int
	PhotometricInterpretation string
	PlanarConfiguration       int // of the bytes /frame returns: RLE is served colour by plane
	NumberOfFrames            int
	RescaleSlope              float64
	RescaleIntercept          float64
	WindowCenter, WindowWidth []float64 // every window of the file, possibly none
}

// info is what the page shows of instance i of se: from the frame cache
// when its first frame was read already (a preview, a prefetch), else by
// reading the file. On a CD-ROM each read of a file costs a seek and the
// whole file (a quarter of a second for a CT slice), so none is read twice.
func (s *Server) info(se *seriesView, i int) *infoView {
	v := &infoView{Index: i, Count: len(se.files), Modality: se.Modality, Description: se.Description,
		Patient: se.Patient.Name, PatientID: se.Patient.ID, Date: formatDate(se.Study.Date)}
	in, _, ok := s.frames.get(frameKey{se.Key, i, 0})
	if !ok {
		var err error
		if in, err = s.readInfo(se, i); err != nil {
			v.Message, v.Lost = s.readFailed(se, i, err)
			return v
		}
	}
	fillInfo(v, se, i, in)
	return v
}

// readInfo reads instance i's header, and its first frame into the cache
// for the picture that follows: the whole file is read anyway, as the
// header counts only once the file checked out to its end.
func (s *Server) readInfo(se *seriesView, i int) (*pixeldata.Info, error) {
	pr, rc, err := s.openInstance(se.files[i])
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	in := pr.Info()
	var pix []byte
	if in.Unsupported == "" {
		pix, _ = pr.Frame(0) // an error here is the image's to report
	}
	if err := pr.Finish(); err != nil {
		return nil, err
	}
	if pix != nil {
		s.frames.put(frameKey{se.Key, i, 0}, in, pix)
	}
	return in, nil
}

// fillInfo fills v from the instance's header.
func fillInfo(v *infoView, se *seriesView, i int, in *pixeldata.Info) {
	v.Frames, v.Width, v.Height = in.Frames, in.Cols, in.Rows
	v.Message = in.Unsupported
	v.Monochrome = in.SamplesPerPixel == 1
	if in.Modality != "" {
		v.Modality = in.Modality
	}
	if in.SeriesDescription != "" {
		v.Description = in.SeriesDescription
	}
	if in.StudyDate != "" {
		v.Date = formatDate(in.StudyDate)
	}
	for _, d := range []string{in.ContentDate, in.SeriesDate} {
		if d != "" {
			if d != in.StudyDate {
				v.ImageDate = formatDate(d)
			}
			break
		}
	}
	v.BodyPart = in.BodyPart
	v.Instance = in.InstanceNumber
	v.SeriesNumber, v.StudyDesc = in.SeriesNumber, in.StudyDescription
	v.Geometry, v.Technique = in.Geometry, in.Technique
	if in.PatientName != "" {
		v.Patient = personName(in.PatientName)
	}
	if v.Message == "" {
		v.FrameURL = fmt.Sprintf("/frame/%s/%d", se.Key, i)
		v.Pixel = &pixelView{Codec: in.Codec, TransferSyntaxUID: in.TransferSyntax, Rows: in.Rows, Columns: in.Cols,
			SamplesPerPixel: in.SamplesPerPixel, BitsAllocated: in.BitsAllocated, BitsStored: in.BitsStored, HighBit: in.HighBit,
			PixelRepresentation: in.PixelRepresentation, PhotometricInterpretation: in.Photometric, PlanarConfiguration: in.FramePlanar(),
			NumberOfFrames: in.Frames, RescaleSlope: in.Slope, RescaleIntercept: in.Intercept,
			WindowCenter: in.WindowCenters, WindowWidth: in.WindowWidths}
	}
}

func (s *Server) seriesPage(w http.ResponseWriter, r *http.Request) {
	se := s.tree.series[r.PathValue("key")]
	if se == nil {
		s.fail(w, http.StatusNotFound, "There is no such series on this disc.")
		return
	}
	if len(se.files) == 0 {
		s.fail(w, http.StatusNotFound, "This series has no files on the disc.")
		return
	}
	idx := r.URL.Query().Get("i")
	if idx == "" {
		idx = "0"
	}
	_, i, ok := s.instance(r, idx)
	if !ok {
		i = 0
	}
	v := s.info(se, i)
	embed := r.URL.Query().Get("embed") == "1"
	if embed {
		embeddable(w)
	}
	s.render(w, http.StatusOK, "series", map[string]any{"Title": "Series " + se.Number + " " + se.Modality, "S": se, "V": v, "Reading": true,
		"Embed": embed, "Prev": i - 1, "Next": i + 1, "HasPrev": i > 0, "HasNext": i+1 < len(se.files), "Human": i + 1})
}

func (s *Server) infoJSON(w http.ResponseWriter, r *http.Request) {
	se, i, ok := s.instance(r, r.PathValue("i"))
	if !ok {
		http.Error(w, "no such image", http.StatusNotFound)
		return
	}
	v := s.info(se, i)
	if v.Lost {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(v)
		return
	}
	writeJSON(w, v)
}

// frameData answers one frame of an instance (?n=, 0-based) as bytes:
// native pixel data little endian, RLE decoded (colour by plane), the other
// codecs' compressed bitstreams as stored. The browser decodes and renders
// them (static/decode-worker.js, static/render.js); /info says how.
func (s *Server) frameData(w http.ResponseWriter, r *http.Request) {
	se, i, ok := s.instance(r, r.PathValue("i"))
	if !ok {
		http.Error(w, "no such image", http.StatusNotFound)
		return
	}
	frame := 0
	if f := r.URL.Query().Get("n"); f != "" {
		n, err := strconv.Atoi(f)
		if err != nil {
			http.Error(w, "bad frame number", http.StatusBadRequest)
			return
		}
		frame = n
	}
	select {
	case s.decode <- struct{}{}:
		defer func() { <-s.decode }()
	case <-r.Context().Done():
		return
	}
	in, pix, err := s.frame(se, i, frame)
	if errors.Is(err, errUnsupported) {
		http.Error(w, in.Unsupported, http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		msg, _ := s.readFailed(se, i, err)
		http.Error(w, msg, http.StatusUnprocessableEntity)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(pix)))
	_, _ = w.Write(pix)
}

var errUnsupported = errors.New("not displayable")

// frame returns one decoded frame of instance i, from the cache or by
// decrypting the file (to its end, so its integrity check has run).
func (s *Server) frame(se *seriesView, i, n int) (*pixeldata.Info, []byte, error) {
	key := frameKey{se.Key, i, n}
	if in, pix, ok := s.frames.get(key); ok {
		return in, pix, nil
	}
	pr, rc, err := s.openInstance(se.files[i])
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	in := pr.Info()
	if in.Unsupported != "" {
		if err := pr.Finish(); err != nil { // a damaged file is lost, not merely undisplayable
			return nil, nil, err
		}
		return in, nil, errUnsupported
	}
	pix, err := pr.Frame(n)
	// To the end even when the frame failed: a file cut short inside its
	// pixel data is damaged, which only its end tells.
	if ferr := pr.Finish(); ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, nil, err
	}
	s.frames.put(key, in, pix)
	return in, pix, nil
}

func (s *Server) exportPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "export", map[string]any{"Title": "Save a copy", "Tree": s.tree})
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	folder := strings.TrimSpace(r.PostFormValue("folder"))
	data := map[string]any{"Title": "Save a copy", "Tree": s.tree, "Folder": folder}
	if folder == "" {
		data["Error"] = "Type the folder to save the copy in."
		s.render(w, http.StatusOK, "export", data)
		return
	}
	if strings.HasPrefix(folder, "~") {
		if home, err := os.UserHomeDir(); err == nil {
			folder = filepath.Join(home, folder[1:])
		}
	}
	if !filepath.IsAbs(folder) {
		data["Error"] = "Give the full path of the folder, for example " + examplePath() + "."
		s.render(w, http.StatusOK, "export", data)
		return
	}
	if !s.exportMu.TryLock() {
		data["Error"] = "A copy is already being saved; wait until it has finished."
		s.render(w, http.StatusOK, "export", data)
		return
	}
	defer s.exportMu.Unlock()
	only, ok := s.exportScope(r.PostFormValue("patient"))
	if !ok {
		s.fail(w, http.StatusNotFound, "That patient is not on this disc.")
		return
	}
	data["Patient"] = r.PostFormValue("patient")
	res, err := s.extract(r.Context(), folder, only)
	if err != nil {
		data["Error"] = "The copy was not saved: " + err.Error() + ". Nothing was left behind in that folder."
		s.render(w, http.StatusOK, "export", data)
		return
	}
	data["Done"] = fmt.Sprintf("Saved %d images in %s as a standard DICOM folder (with a DICOMDIR) that any DICOM viewer or PACS can import. These copies are NOT encrypted: keep them safe.", res.Instances, folder)
	s.render(w, http.StatusOK, "export", data)
}

// exportScope is the instances of the patient "Save a copy" names by its
// position (nil: the whole disc).
func (s *Server) exportScope(patient string) ([]*media.Instance, bool) {
	if patient == "" {
		return nil, true
	}
	pi, err := strconv.Atoi(patient)
	if err != nil || pi < 0 || pi >= len(s.tree.Patients) {
		return nil, false
	}
	var ids []*media.Instance
	for _, st := range s.tree.Patients[pi].Studies {
		for _, se := range st.Series {
			ids = append(ids, se.files...)
		}
	}
	return ids, true
}

// extract saves only (nil: every instance) into folder; a browser that
// goes away (or the viewer stopping) ends ctx, and nothing is left.
func (s *Server) extract(ctx context.Context, folder string, only []*media.Instance) (*media.ExtractResult, error) {
	x, err := s.disc.StartExtract(folder)
	if err != nil {
		return nil, err
	}
	defer x.Abort()
	x.Only = only
	return x.Run(ctx, nil)
}

func examplePath() string {
	if filepath.Separator == '\\' {
		return `C:\Users\you\Documents\Images`
	}
	return "/home/you/Images"
}
