package pixeldata

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Limits on what is decoded, so that a hostile or unusual file cannot
// exhaust memory: one frame at a time, of bounded size.
const (
	MaxSide       = 8192      // rows and columns
	MaxFrameBytes = 512 << 20 // stored bytes of one frame
	maxAttrValue  = 1 << 20   // longer values before the pixel data are skipped
)

var (
	// ErrNotDisplayable wraps every reason an image cannot be shown (yet);
	// its message is meant for the user.
	ErrNotDisplayable = errors.New("this image cannot be displayed")
	// ErrNotDICOM marks a file that is not a readable DICOM file.
	ErrNotDICOM = errors.New("not a readable DICOM file")
)

// compressedNames names the encapsulated transfer syntaxes users meet.
var compressedNames = map[string]string{
	"1.2.840.10008.1.2.5":     "RLE Lossless",
	"1.2.840.10008.1.2.4.50":  "JPEG Baseline",
	"1.2.840.10008.1.2.4.51":  "JPEG Extended",
	"1.2.840.10008.1.2.4.57":  "JPEG Lossless",
	"1.2.840.10008.1.2.4.70":  "JPEG Lossless SV1",
	"1.2.840.10008.1.2.4.80":  "JPEG-LS Lossless",
	"1.2.840.10008.1.2.4.81":  "JPEG-LS Near-lossless",
	"1.2.840.10008.1.2.4.90":  "JPEG 2000 Lossless",
	"1.2.840.10008.1.2.4.91":  "JPEG 2000",
	"1.2.840.10008.1.2.4.201": "HTJ2K Lossless",
	"1.2.840.10008.1.2.4.202": "HTJ2K Lossless RPCL",
	"1.2.840.10008.1.2.4.203": "HTJ2K",
	"1.2.840.10008.1.2.4.100": "MPEG-2 video",
	"1.2.840.10008.1.2.4.102": "MPEG-4 video",
	"1.2.840.10008.1.2.4.110": "MPEG-4 video",
}

// Info is what an instance's header says about its image.
type Info struct {
	TransferSyntax string
	Compressed     string // name of the compression, "" for native pixel data
	Codec          string // decoder of the frames (CodecNative, CodecRLE, ...)
	Unsupported    string // why it cannot be displayed, for the user; "" if it can

	Rows, Cols, Frames  int
	SamplesPerPixel     int
	Photometric         string
	BitsAllocated       int
	BitsStored          int
	HighBit             int
	PixelRepresentation int
	Planar              int // Planar Configuration as recorded
	Slope, Intercept    float64
	WindowCenters       []float64 // every window of the file, possibly none
	WindowWidths        []float64

	Modality, SeriesDescription, StudyDate, SeriesDate, ContentDate string
	InstanceNumber, PatientName, PatientID, BodyPart, SOPClass      string
	SOPInstance                                                     string
	SeriesNumber, StudyDescription                                  string
	PatientBirthDate, PatientSex, PatientAge                        string

	Geometry  Geometry
	Technique Technique

	syntax     dicom.Syntax
	hasData    bool
	extOffsets []uint64 // Extended Offset Table (7FE0,0001), if any
}

// FramePlanar is the Planar Configuration of the bytes Frame returns: RLE
// frames come decoded colour by plane (PS3.5 G.2), the others as stored.
func (in *Info) FramePlanar() int {
	if in.Codec == CodecRLE {
		return 1
	}
	return in.Planar
}

// frameBytes is the size of one native (or RLE-decoded) frame.
func (in *Info) frameBytes() int64 {
	n := int64(in.Rows) * int64(in.Cols) * int64(in.SamplesPerPixel) * int64(in.BitsAllocated/8)
	if in.Photometric == "YBR_FULL_422" && in.Codec == CodecNative {
		n = n * 2 / 3 // two luminance samples share one Cb and one Cr (PS3.3 C.7.6.3.1.2)
	}
	return n
}

// Reader reads one instance: its header when made, then frames in order,
// then the rest (Finish).
type Reader struct {
	info *Info
	br   *bufio.Reader
}

// NewReader reads the header of the DICOM file r streams, up to its pixel
// data. A file that cannot be shown still gives an Info, whose Unsupported
// says why; a file that is not DICOM fails with ErrNotDICOM.
func NewReader(r io.Reader) (*Reader, error) {
	in, br, err := readInfo(r)
	if err != nil {
		return nil, err
	}
	return &Reader{info: in, br: br}, nil
}

// Info describes the image.
func (r *Reader) Info() *Info { return r.info }

// Frame reads frame n (0-based): native pixel data little endian, RLE
// decoded (colour by plane), the other codecs' frames as their compressed
// bitstream. It may be called once, before Finish.
func (r *Reader) Frame(n int) ([]byte, error) {
	if r.info.Unsupported != "" {
		return nil, fmt.Errorf("%w: %s", ErrNotDisplayable, r.info.Unsupported)
	}
	return readFrame(r.br, r.info, n)
}

// Finish reads the rest of the stream, so that a decrypting stream's
// integrity check (done at its end) has run before anything read from it
// is shown.
func (r *Reader) Finish() error {
	_, err := io.Copy(io.Discard, r.br)
	return err
}

// readInfo reads the header of a DICOM file up to its pixel data and
// returns a reader positioned at the Pixel Data element (when there is one).
func readInfo(r io.Reader) (*Info, *bufio.Reader, error) {
	// dicom.ReadHeader and dicom.NewReader reuse a *bufio.Reader of at least
	// 16 KiB instead of wrapping it, so br stays in step with them.
	br := bufio.NewReaderSize(r, 64<<10)
	in, err := readInfoFrom(br)
	return in, br, err
}

func readInfoFrom(br *bufio.Reader) (*Info, error) {
	h, rd, err := dicom.ReadHeader(br)
	if err != nil {
		return nil, notDICOM(err)
	}
	in := &Info{TransferSyntax: h.TransferSyntaxUID, syntax: h.Syntax}
	if h.Deflated {
		in.Unsupported = "this image is stored deflated; display comes in a later version — you can still save a copy or send it"
		return in, nil
	}
	rd.MaxValue = maxAttrValue
	elems, err := rd.ReadUntil(dicom.PixelData)
	if err != nil {
		return nil, notDICOM(err)
	}
	a := attributes{elems: elems, order: binary.LittleEndian}
	if h.Syntax.BigEndian {
		a.order = binary.BigEndian
	}
	in.readPixelModule(a)
	in.readModalityAndVOI(a)
	in.readDescription(a)
	in.readGeometry(a)
	in.readEnhanced(a)
	in.readOffsetTable(a)
	t, err := rd.PeekTag()
	in.hasData = err == nil && t == dicom.PixelData
	in.chooseCodec(h)
	in.Unsupported = in.whyNotDisplayable()
	return in, nil
}

// notDICOM marks the codec's errors of a file that is not DICOM, or not
// readable as such, with ErrNotDICOM; others (a read error, a damaged
// medium's) pass as they are.
func notDICOM(err error) error {
	if errors.Is(err, dicom.ErrMalformed) || errors.Is(err, dicom.ErrNotPart10) {
		return &notDICOMError{err}
	}
	return err
}

type notDICOMError struct{ err error }

func (e *notDICOMError) Error() string   { return e.err.Error() }
func (e *notDICOMError) Unwrap() []error { return []error{ErrNotDICOM, e.err} }

// attributes reads values from the elements before the pixel data.
type attributes struct {
	elems []*dicom.Element
	order binary.ByteOrder
}

func (a attributes) str(t dicom.Tag) string {
	if e := dicom.Find(a.elems, t); e != nil {
		return strings.TrimSpace(e.String())
	}
	return ""
}

// us reads a US value, def when it is absent.
func (a attributes) us(t dicom.Tag, def int) int {
	e := dicom.Find(a.elems, t)
	if e == nil {
		return def
	}
	if v, ok := e.Uint(a.order); ok {
		return int(v)
	}
	// Implicit VR: the codec's small dictionary does not know every
	// image tag, so some come back as UN; they are all US.
	if len(e.Value) == 2 {
		return int(a.order.Uint16(e.Value))
	}
	return def
}

// nums reads the values of a multi-valued DS, up to the first that is not
// a finite number.
func (a attributes) nums(t dicom.Tag) []float64 {
	var out []float64
	for _, p := range strings.Split(a.str(t), `\`) {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return out
		}
		out = append(out, v)
	}
	return out
}

// readPixelModule reads the Image Pixel module (PS3.3 C.7.6.3).
func (in *Info) readPixelModule(a attributes) {
	in.Rows, in.Cols = a.us(dicom.Rows, 0), a.us(dicom.Columns, 0)
	in.SamplesPerPixel = a.us(dicom.SamplesPerPixel, 1)
	in.Photometric = strings.ToUpper(a.str(dicom.PhotometricInterpretation))
	if in.Photometric == "" && in.SamplesPerPixel == 1 {
		in.Photometric = "MONOCHROME2" // old files omit it; grey is the only reading
	}
	in.BitsAllocated = a.us(dicom.BitsAllocated, 0)
	in.BitsStored = a.us(dicom.BitsStored, in.BitsAllocated)
	in.HighBit = a.us(dicom.HighBit, in.BitsStored-1)
	in.PixelRepresentation = a.us(dicom.PixelRepresentation, 0)
	in.Planar = a.us(dicom.PlanarConfiguration, 0)
	in.Frames = 1
	if n, err := strconv.Atoi(a.str(dicom.NumberOfFrames)); err == nil && n > 1 {
		in.Frames = n
	}
}

// readModalityAndVOI reads the rescale (Modality LUT, PS3.3 C.11.1) and
// every window (VOI LUT, C.11.2.1.2): the first is the default, the others
// are offered as presets.
func (in *Info) readModalityAndVOI(a attributes) {
	in.readRescale(a)
	in.readWindows(a)
}

// readRescale reads the Modality LUT's rescale (slope 1, intercept 0 when
// absent).
func (in *Info) readRescale(a attributes) {
	in.Slope, in.Intercept = 1, 0
	if v := a.nums(dicom.RescaleSlope); len(v) > 0 && v[0] != 0 {
		in.Slope = v[0]
	}
	if v := a.nums(dicom.RescaleIntercept); len(v) > 0 {
		in.Intercept = v[0]
	}
}

// readWindows reads the VOI LUT's windows, those of width 1 or more.
func (in *Info) readWindows(a attributes) {
	cs, ws := a.nums(dicom.WindowCenter), a.nums(dicom.WindowWidth)
	for k := range min(len(cs), len(ws)) {
		if ws[k] >= 1 {
			in.WindowCenters = append(in.WindowCenters, cs[k])
			in.WindowWidths = append(in.WindowWidths, ws[k])
		}
	}
}

// Geometry is what measuring, orientation markers, linked scrolling and
// cine need: the image's top-level attributes, or those of an enhanced
// multi-frame image's functional groups for frame 1, with each frame's own
// in Frames (groups.go).
type Geometry struct {
	PixelSpacing       []float64 // row spacing, column spacing in mm, in the patient (Pixel Spacing)
	ImagerPixelSpacing []float64 // the same at the detector (projection radiography)
	Orientation        []float64 // Image Orientation (Patient): the row, then the column direction cosines
	Position           []float64 // Image Position (Patient) of the first pixel, mm
	PatientOrientation string    // e.g. A\F, for images without Image Orientation (Patient)
	Laterality         string    // Image Laterality, else Laterality
	FrameOfReference   string
	SliceLocation      string
	SliceThickness     string
	FrameTime          float64 // ms between frames (Frame Time)
	FrameRate          float64 // Recommended Display Frame Rate, frames per second
	// Frames: each frame's geometry from the functional groups of an
	// enhanced multi-frame image; nil for other images.
	Frames []FrameGeometry `json:",omitempty"`
}

// Technique is how the image was acquired, as far as it says.
type Technique struct {
	KVP, Exposure, RepetitionTime, EchoTime string // kVp, mAs, TR and TE in ms
}

// readGeometry reads Geometry and Technique.
func (in *Info) readGeometry(a attributes) {
	g := &in.Geometry
	g.PixelSpacing = positive(a.nums(dicom.PixelSpacing), 2)
	g.ImagerPixelSpacing = positive(a.nums(dicom.ImagerPixelSpacing), 2)
	if v := a.nums(dicom.ImageOrientationPatient); len(v) == 6 {
		g.Orientation = v
	}
	if v := a.nums(dicom.ImagePositionPatient); len(v) == 3 {
		g.Position = v
	}
	g.PatientOrientation = a.str(dicom.PatientOrientation)
	g.Laterality = a.str(dicom.ImageLaterality)
	if g.Laterality == "" {
		g.Laterality = a.str(dicom.Laterality)
	}
	g.FrameOfReference = a.str(dicom.FrameOfReferenceUID)
	g.SliceLocation, g.SliceThickness = a.str(dicom.SliceLocation), a.str(dicom.SliceThickness)
	if v := positive(a.nums(dicom.FrameTime), 1); v != nil {
		g.FrameTime = v[0]
	}
	if v := positive(a.nums(dicom.RecommendedDisplayFrameRate), 1); v != nil {
		g.FrameRate = v[0]
	}
	in.Technique = Technique{KVP: a.str(dicom.KVP), Exposure: a.str(dicom.ExposureInMAs),
		RepetitionTime: a.str(dicom.RepetitionTime), EchoTime: a.str(dicom.EchoTime)}
}

// positive is v when it holds n positive values, else nil: a spacing or
// a rate of zero is no spacing or rate.
func positive(v []float64, n int) []float64 {
	if len(v) != n {
		return nil
	}
	for _, x := range v {
		if x <= 0 {
			return nil
		}
	}
	return v
}

// readDescription reads what the viewer shows beside the image.
func (in *Info) readDescription(a attributes) {
	in.Modality = a.str(dicom.Modality)
	in.SeriesDescription = a.str(dicom.SeriesDescription)
	in.StudyDate, in.SeriesDate, in.ContentDate = a.str(dicom.StudyDate), a.str(dicom.SeriesDate), a.str(dicom.ContentDate)
	in.InstanceNumber = a.str(dicom.InstanceNumber)
	in.BodyPart = a.str(dicom.BodyPartExamined)
	in.SOPClass = a.str(dicom.SOPClassUID)
	in.SOPInstance = a.str(dicom.SOPInstanceUID)
	if e := dicom.Find(a.elems, dicom.PatientName); e != nil {
		in.PatientName = dicom.DecodeText(dicom.Find(a.elems, dicom.SpecificCharacterSet), e)
	}
	in.PatientID = a.str(dicom.PatientID)
	in.SeriesNumber = a.str(dicom.SeriesNumber)
	if e := dicom.Find(a.elems, dicom.StudyDescription); e != nil {
		in.StudyDescription = dicom.DecodeText(dicom.Find(a.elems, dicom.SpecificCharacterSet), e)
	}
	in.PatientBirthDate, in.PatientSex, in.PatientAge = a.str(dicom.PatientBirthDate), a.str(dicom.PatientSex), a.str(dicom.PatientAge)
}

// readOffsetTable reads the Extended Offset Table (7FE0,0001), if any.
func (in *Info) readOffsetTable(a attributes) {
	if e := dicom.Find(a.elems, dicom.ExtendedOffsetTable); e != nil && len(e.Value)%8 == 0 {
		for k := 0; k < len(e.Value); k += 8 {
			in.extOffsets = append(in.extOffsets, binary.LittleEndian.Uint64(e.Value[k:]))
		}
	}
}

// chooseCodec names the decoder of the frames.
func (in *Info) chooseCodec(h *dicom.Header) {
	in.Codec = codecs[h.TransferSyntaxUID]
	in.Compressed = compressedNames[h.TransferSyntaxUID]
	if h.TransferSyntaxUID == dicom.ImplicitVRLittleEndianUID || h.TransferSyntaxUID == dicom.ExplicitVRLittleEndianUID || h.Syntax.BigEndian {
		in.Codec = CodecNative
	}
}

// whyNotDisplayable says, for the user, why the image cannot be shown,
// or "".
func (in *Info) whyNotDisplayable() string {
	const still = "; you can still save a copy or send it"
	switch {
	case in.Codec == "" && in.Compressed != "":
		return "this image is compressed (" + in.Compressed + "), which the viewer does not display yet" + still
	case in.Codec == "":
		return "this image uses an encoding the viewer does not know yet (" + in.TransferSyntax + ")" + still
	case !in.hasData:
		return "this instance has no image (it may be a report or other document)" + still
	case in.Rows <= 0 || in.Cols <= 0:
		return "this image does not say its size"
	case in.Rows > MaxSide || in.Cols > MaxSide:
		return fmt.Sprintf("this image is %d×%d pixels, larger than the viewer shows (%d×%d)", in.Cols, in.Rows, MaxSide, MaxSide) + still
	case in.BitsAllocated != 8 && in.BitsAllocated != 16:
		return fmt.Sprintf("images with %d bits per sample cannot be displayed yet", in.BitsAllocated) + still
	case in.BitsStored < 1 || in.BitsStored > in.BitsAllocated || in.HighBit != in.BitsStored-1:
		return "this image's Bits Stored or High Bit is not valid"
	case in.frameBytes() > MaxFrameBytes:
		return fmt.Sprintf("one frame of this image is %d MiB, more than the viewer decodes (%d MiB)", in.frameBytes()>>20, MaxFrameBytes>>20) + still
	}
	return in.whyNotColour()
}

// whyNotColour checks the photometric interpretation against the samples.
func (in *Info) whyNotColour() string {
	switch {
	case in.SamplesPerPixel == 1 && (in.Photometric == "MONOCHROME1" || in.Photometric == "MONOCHROME2"):
	case in.SamplesPerPixel == 3 && (in.Photometric == "RGB" || in.Photometric == "YBR_FULL" || in.Photometric == "YBR_FULL_422"):
	case in.SamplesPerPixel == 3 && in.Codec == CodecJ2K && (in.Photometric == "YBR_RCT" || in.Photometric == "YBR_ICT"):
		// The JPEG 2000 decoder undoes the component transform: RGB.
	default:
		return fmt.Sprintf("images with photometric interpretation %q (%d samples per pixel) cannot be displayed yet; you can still save a copy or send it", in.Photometric, in.SamplesPerPixel)
	}
	return ""
}

// readFrame reads frame n (0-based); br must be positioned at the Pixel
// Data element (as readInfo leaves it). Native pixel data comes back little
// endian, RLE decoded (colour by plane), and the other codecs' frames as
// their compressed bitstream for the browser to decode.
func readFrame(br *bufio.Reader, in *Info, n int) ([]byte, error) {
	if n < 0 || n >= in.Frames {
		return nil, fmt.Errorf("%w: there is no frame %d", ErrNotDisplayable, n+1)
	}
	switch in.Codec {
	case CodecNative:
		return readNativeFrame(br, in, n)
	case CodecRLE:
		frag, err := readEncapsulatedFrame(br, in, n)
		if err != nil {
			return nil, err
		}
		return decodeRLE(in, frag)
	}
	return readEncapsulatedFrame(br, in, n)
}

// readN reads exactly n bytes. The lengths it is given come from the file
// (within MaxFrameBytes), so memory grows with the bytes actually there, in
// steps, rather than being taken at once on a length's word: a small file
// that claims a 500 MB frame costs a few megabytes, not 500.
func readN(r io.Reader, n int64) ([]byte, error) {
	const step = 4 << 20
	b := make([]byte, 0, min(n, step))
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(n-int64(len(b)), max(int64(len(b)), step))))
		}
		k, err := io.ReadFull(r, b[len(b):min(int64(cap(b)), n)])
		b = b[:len(b)+k]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// readNativeFrame reads frame n of uncompressed pixel data, swapping big
// endian 16-bit words to little endian.
func readNativeFrame(br *bufio.Reader, in *Info, n int) ([]byte, error) {
	hdr := 8
	if !in.syntax.Implicit {
		b, err := br.Peek(6)
		if err != nil {
			return nil, fmt.Errorf("pixel data: %w", io.ErrUnexpectedEOF)
		}
		switch string(b[4:6]) {
		case "OB", "OW", "OF", "OD", "OL", "OV", "UN", "UT", "SQ", "UC", "UR":
			hdr = 12
		}
	}
	b := make([]byte, hdr)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, fmt.Errorf("pixel data: %w", io.ErrUnexpectedEOF)
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if in.syntax.BigEndian {
		order = binary.BigEndian
	}
	length := int64(order.Uint32(b[hdr-4:]))
	if hdr == 8 && !in.syntax.Implicit {
		length = int64(order.Uint16(b[6:]))
	}
	if length == int64(dicom.UndefinedLength) {
		return nil, fmt.Errorf("%w: the pixel data is encapsulated although the encoding is not compressed", ErrNotDisplayable)
	}
	size := in.frameBytes()
	off := size * int64(n)
	if off+size > length {
		return nil, fmt.Errorf("%w: the pixel data is shorter than the image size says (%d bytes for %d frame(s) of %d×%d)", ErrNotDisplayable, length, in.Frames, in.Cols, in.Rows)
	}
	if _, err := io.CopyN(io.Discard, br, off); err != nil {
		return nil, fmt.Errorf("pixel data: %w", io.ErrUnexpectedEOF)
	}
	frame, err := readN(br, size)
	if err != nil {
		return nil, fmt.Errorf("pixel data: %w", io.ErrUnexpectedEOF)
	}
	if in.syntax.BigEndian && in.BitsAllocated == 16 {
		// OW is swapped word by word; 8-bit data is OB and stays as is
		// (PS3.5 §7.3 and A.3).
		for k := 0; k+1 < len(frame); k += 2 {
			frame[k], frame[k+1] = frame[k+1], frame[k]
		}
	}
	return frame, nil
}
