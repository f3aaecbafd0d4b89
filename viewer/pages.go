package viewer

import (
	"bufio"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
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
}

type patientView struct {
	Name, ID string
	Studies  []*studyView
}
type studyView struct {
	Date, Description, ID, Accession string
	Series                           []*seriesView
}
type seriesView struct {
	Key                           string
	Number, Modality, Description string
	Count                         int
	Kinds                         string
	Patient                       *patientView
	Study                         *studyView
	files                         [][]string
}

// Middle is the index of the series' middle image (its preview).
func (v *seriesView) Middle() int { return v.Count / 2 }

func buildTree(d *dicomdir.Directory) *tree {
	t := &tree{FileSetID: d.FileSetID, series: map[string]*seriesView{}}
	for pi, p := range d.Records {
		if p.Type != "PATIENT" {
			continue
		}
		pv := &patientView{Name: personName(p.Text(dicom.PatientName)), ID: p.Text(dicom.PatientID)}
		t.Patients = append(t.Patients, pv)
		for si, st := range p.Children {
			if st.Type != "STUDY" {
				continue
			}
			sv := &studyView{Date: st.Value(dicom.StudyDate), Description: st.Text(dicom.StudyDescription), ID: st.Value(dicom.StudyID), Accession: st.Value(dicom.AccessionNumber)}
			pv.Studies = append(pv.Studies, sv)
			for ei, se := range st.Children {
				if se.Type != "SERIES" {
					continue
				}
				v := &seriesView{Key: fmt.Sprintf("%d-%d-%d", pi, si, ei), Number: se.Value(dicom.SeriesNumber),
					Modality: se.Value(dicom.Modality), Description: se.Text(dicom.SeriesDescription), Patient: pv, Study: sv}
				type inst struct {
					n  int
					id []string
				}
				var insts []inst
				kinds := map[string]int{}
				var order []string
				for _, r := range se.Children {
					id := r.FileID()
					if len(id) == 0 {
						continue
					}
					if kinds[r.Type] == 0 {
						order = append(order, r.Type)
					}
					kinds[r.Type]++
					n, err := strconv.Atoi(strings.TrimSpace(r.Value(dicom.InstanceNumber)))
					if err != nil {
						n = math.MaxInt
					}
					insts = append(insts, inst{n, id})
				}
				sort.SliceStable(insts, func(a, b int) bool { return insts[a].n < insts[b].n })
				for _, in := range insts {
					v.files = append(v.files, in.id)
				}
				v.Count = len(v.files)
				var parts []string
				for _, k := range order {
					word := strings.ToLower(k)
					if kinds[k] != 1 {
						word += "s"
					}
					parts = append(parts, fmt.Sprintf("%d %s", kinds[k], word))
				}
				v.Kinds = strings.Join(parts, ", ")
				sv.Series = append(sv.Series, v)
				t.series[v.Key] = v
			}
		}
	}
	return t
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
	da = strings.TrimSpace(da)
	if len(da) == 8 && strings.Trim(da, "0123456789") == "" {
		return da[:4] + "-" + da[4:6] + "-" + da[6:]
	}
	if da == "" {
		return "unknown date"
	}
	return da
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
func (s *Server) openInstance(id []string) (*imageInfo, *bufio.Reader, io.ReadCloser, error) {
	rc, err := s.disc.OpenFile(id)
	if err != nil {
		return nil, nil, nil, err
	}
	in, br, err := readInfo(rc)
	if err != nil {
		rc.Close()
		return nil, nil, nil, err
	}
	return in, br, rc, nil
}

// finish reads the rest of a decrypted stream so that its integrity check
// (done at the end) has run before anything from it is shown.
func finish(br *bufio.Reader) error {
	_, err := io.Copy(io.Discard, br)
	return err
}

func readMessage(err error) string {
	switch {
	case errors.Is(err, cms.ErrIntegrity), errors.Is(err, cms.ErrDamaged), errors.Is(err, cms.ErrTruncated):
		return "This image is damaged or was altered after the disc was made (" + err.Error() + "); it is not shown."
	case errors.Is(err, dicom.ErrMalformed), errors.Is(err, dicom.ErrNotPart10):
		return "This file is not a readable DICOM image (" + err.Error() + ")."
	case errors.Is(err, ErrNotDisplayable):
		return err.Error()
	}
	return "The image could not be read: " + err.Error()
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
	Patient       string `json:"-"` // only on the page
	PatientID     string `json:"-"`
	FrameURL      string // of frame 0; ?n= picks another
	Pixel         *pixelView
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

func (s *Server) info(se *seriesView, i int) *infoView {
	v := &infoView{Index: i, Count: len(se.files), Modality: se.Modality, Description: se.Description,
		Patient: se.Patient.Name, PatientID: se.Patient.ID, Date: formatDate(se.Study.Date)}
	in, br, rc, err := s.openInstance(se.files[i])
	if err != nil {
		v.Message = readMessage(err)
		return v
	}
	defer rc.Close()
	// The whole file is read anyway (the header is shown only once it
	// checked out), so keep the first frame for the picture that follows.
	var pix []byte
	if in.Unsupported == "" {
		pix, _ = readFrame(br, in, 0) // an error here is the image's to report
	}
	if err := finish(br); err != nil {
		v.Message = readMessage(err)
		return v
	}
	if pix != nil {
		s.frames.put(frameKey{se.Key, i, 0}, in, pix)
	}
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
	if in.PatientName != "" {
		v.Patient = personName(in.PatientName)
	}
	if v.Message == "" {
		v.FrameURL = fmt.Sprintf("/frame/%s/%d", se.Key, i)
		planar := in.Planar
		if in.Codec == codecRLE {
			planar = 1 // decodeRLE returns colour by plane (PS3.5 G.2)
		}
		v.Pixel = &pixelView{Codec: in.Codec, TransferSyntaxUID: in.TransferSyntax, Rows: in.Rows, Columns: in.Cols,
			SamplesPerPixel: in.SamplesPerPixel, BitsAllocated: in.BitsAllocated, BitsStored: in.BitsStored, HighBit: in.HighBit,
			PixelRepresentation: in.PixelRepresentation, PhotometricInterpretation: in.Photometric, PlanarConfiguration: planar,
			NumberOfFrames: in.Frames, RescaleSlope: in.Slope, RescaleIntercept: in.Intercept,
			WindowCenter: in.WindowCenters, WindowWidth: in.WindowWidths}
	}
	return v
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
	s.render(w, http.StatusOK, "series", map[string]any{"Title": "Series " + se.Number + " " + se.Modality, "S": se, "V": v,
		"Prev": i - 1, "Next": i + 1, "HasPrev": i > 0, "HasNext": i+1 < len(se.files), "Human": i + 1})
}

func (s *Server) infoJSON(w http.ResponseWriter, r *http.Request) {
	se, i, ok := s.instance(r, r.PathValue("i"))
	if !ok {
		http.Error(w, "no such image", http.StatusNotFound)
		return
	}
	writeJSON(w, s.info(se, i))
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
		http.Error(w, readMessage(err), http.StatusUnprocessableEntity)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(pix)))
	_, _ = w.Write(pix)
}

var errUnsupported = errors.New("not displayable")

// frame returns one decoded frame of instance i, from the cache or by
// decrypting the file (to its end, so its integrity check has run).
func (s *Server) frame(se *seriesView, i, n int) (*imageInfo, []byte, error) {
	key := frameKey{se.Key, i, n}
	if in, pix, ok := s.frames.get(key); ok {
		return in, pix, nil
	}
	in, br, rc, err := s.openInstance(se.files[i])
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	if in.Unsupported != "" {
		return in, nil, errUnsupported
	}
	pix, err := readFrame(br, in, n)
	if err == nil {
		err = finish(br)
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
	res, err := s.disc.Extract(folder, nil)
	if err != nil {
		data["Error"] = "The copy was not saved: " + err.Error() + ". Nothing was left behind in that folder."
		s.render(w, http.StatusOK, "export", data)
		return
	}
	data["Done"] = fmt.Sprintf("Saved %d images in %s as a standard DICOM folder (with a DICOMDIR) that any DICOM viewer or PACS can import. These copies are NOT encrypted: keep them safe.", res.Instances, folder)
	s.render(w, http.StatusOK, "export", data)
}

func examplePath() string {
	if filepath.Separator == '\\' {
		return `C:\Users\you\Documents\Images`
	}
	return "/home/you/Images"
}
