package pixeldata

import (
	"fmt"
	"math"
	"strconv"

	"github.com/securemedia/securemedia/internal/dicom"
)

// An enhanced multi-frame image (Enhanced CT, MR, XA…) keeps what other
// images hold at the top level in functional groups (PS3.3 C.7.6.16): the
// Shared Functional Groups Sequence for what all frames have in common,
// the Per-frame Functional Groups Sequence for each frame's own, each
// macro in a sequence of one item (Plane Position, Pixel Measures, Frame
// VOI LUT, …). A macro in a frame's item wins over the shared one.

// maxFrameGeometry bounds the frames whose own geometry is kept.
const maxFrameGeometry = 10000

// FrameGeometry is one frame's own geometry, where the functional groups
// give it.
type FrameGeometry struct {
	Position       []float64 `json:",omitempty"` // Image Position (Patient)
	Orientation    []float64 `json:",omitempty"` // Image Orientation (Patient)
	PixelSpacing   []float64 `json:",omitempty"`
	SliceThickness string    `json:",omitempty"`
	// SliceLocation: the position along the slice normal, in mm, as
	// Slice Location would be (enhanced images have none).
	SliceLocation string `json:",omitempty"`
}

type functionalGroups struct {
	shared   attributes
	perFrame []attributes
}

func readFunctionalGroups(a attributes) *functionalGroups {
	sh, pf := dicom.Find(a.elems, dicom.SharedFunctionalGroupsSequence), dicom.Find(a.elems, dicom.PerFrameFunctionalGroupsSequence)
	if sh == nil && pf == nil {
		return nil
	}
	fg := &functionalGroups{shared: attributes{order: a.order}}
	if sh != nil && len(sh.Items) > 0 {
		fg.shared.elems = sh.Items[0].Elements
	}
	if pf != nil {
		for _, it := range pf.Items[:min(len(pf.Items), maxFrameGeometry)] {
			fg.perFrame = append(fg.perFrame, attributes{elems: it.Elements, order: a.order})
		}
	}
	return fg
}

// macro is the item of the functional group seq that applies to frame f
// (the frame's own, else the shared one); empty when neither has it.
func (fg *functionalGroups) macro(f int, seq dicom.Tag) attributes {
	if f < len(fg.perFrame) {
		if m, ok := fg.perFrame[f].item(seq); ok {
			return m
		}
	}
	m, _ := fg.shared.item(seq)
	return m
}

// number is a binary floating point value (FD, FL) as text, "" when absent.
func (a attributes) number(t dicom.Tag) string {
	e := dicom.Find(a.elems, t)
	if e == nil {
		return ""
	}
	switch {
	case e.VR == "FD" && len(e.Value) >= 8:
		return strconv.FormatFloat(math.Float64frombits(a.order.Uint64(e.Value)), 'g', -1, 64)
	case e.VR == "FL" && len(e.Value) >= 4:
		return strconv.FormatFloat(float64(math.Float32frombits(a.order.Uint32(e.Value))), 'g', -1, 32)
	}
	return a.str(t) // a DS where the standard says FD: as written
}

// item is the first item of sequence seq among a's elements.
func (a attributes) item(seq dicom.Tag) (attributes, bool) {
	e := dicom.Find(a.elems, seq)
	if e == nil || len(e.Items) == 0 {
		return attributes{order: a.order}, false
	}
	return attributes{elems: e.Items[0].Elements, order: a.order}, true
}

// frameGeometry is frame f's geometry from the functional groups.
func (fg *functionalGroups) frameGeometry(f int) FrameGeometry {
	var g FrameGeometry
	if v := fg.macro(f, dicom.PlanePositionSequence).nums(dicom.ImagePositionPatient); len(v) == 3 {
		g.Position = v
	}
	if v := fg.macro(f, dicom.PlaneOrientationSequence).nums(dicom.ImageOrientationPatient); len(v) == 6 {
		g.Orientation = v
	}
	pm := fg.macro(f, dicom.PixelMeasuresSequence)
	g.PixelSpacing = positive(pm.nums(dicom.PixelSpacing), 2)
	g.SliceThickness = pm.str(dicom.SliceThickness)
	if g.Position != nil && g.Orientation != nil {
		r, c := g.Orientation[:3], g.Orientation[3:]
		n := []float64{r[1]*c[2] - r[2]*c[1], r[2]*c[0] - r[0]*c[2], r[0]*c[1] - r[1]*c[0]}
		// Along the axis the normal mostly follows, the way it points (an
		// axial frame's location is its z, whichever way its rows run).
		if k := dominant(n); n[k] < 0 {
			n[0], n[1], n[2] = -n[0], -n[1], -n[2]
		}
		g.SliceLocation = fmt.Sprintf("%.2f", g.Position[0]*n[0]+g.Position[1]*n[1]+g.Position[2]*n[2])
	}
	return g
}

func dominant(v []float64) int {
	k := 0
	for i := range v {
		if math.Abs(v[i]) > math.Abs(v[k]) {
			k = i
		}
	}
	return k
}

// readEnhanced fills, from the functional groups, what the top level of
// an enhanced image lacks: each frame's geometry, frame 1's as the
// image's, and frame 1's rescale, windows and technique.
func (in *Info) readEnhanced(a attributes) {
	fg := readFunctionalGroups(a)
	if fg == nil {
		return
	}
	g := &in.Geometry
	for f := range min(max(in.Frames, 1), maxFrameGeometry) {
		g.Frames = append(g.Frames, fg.frameGeometry(f))
	}
	first := g.Frames[0]
	if g.Position == nil {
		g.Position = first.Position
	}
	if g.Orientation == nil {
		g.Orientation = first.Orientation
	}
	if g.PixelSpacing == nil {
		g.PixelSpacing = first.PixelSpacing
	}
	if g.SliceThickness == "" {
		g.SliceThickness = first.SliceThickness
	}
	if g.SliceLocation == "" {
		g.SliceLocation = first.SliceLocation
	}
	if dicom.Find(a.elems, dicom.RescaleSlope) == nil && dicom.Find(a.elems, dicom.RescaleIntercept) == nil {
		in.readRescale(fg.macro(0, dicom.PixelValueTransformationSequence))
	}
	if len(in.WindowCenters) == 0 {
		in.readWindows(fg.macro(0, dicom.FrameVOILUTSequence))
	}
	te := &in.Technique
	if te.KVP == "" {
		te.KVP = fg.macro(0, dicom.CTXRayDetailsSequence).str(dicom.KVP)
	}
	if te.Exposure == "" {
		te.Exposure = fg.macro(0, dicom.CTExposureSequence).number(dicom.ExposureInmAs)
	}
	if te.RepetitionTime == "" {
		te.RepetitionTime = fg.macro(0, dicom.MRTimingAndRelatedParametersSequence).str(dicom.RepetitionTime)
	}
	if te.EchoTime == "" {
		te.EchoTime = fg.macro(0, dicom.MREchoSequence).number(dicom.EffectiveEchoTime)
	}
}
