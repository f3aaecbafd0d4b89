package viewer

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

// Limits on what the viewer decodes, so that a hostile or unusual file
// cannot exhaust memory: one frame at a time, of bounded size.
const (
	MaxSide       = 8192      // rows and columns
	MaxFrameBytes = 512 << 20 // stored bytes of one frame
	maxAttrValue  = 1 << 20   // longer values before the pixel data are skipped
)

// ErrNotDisplayable wraps every reason an image cannot be shown (yet);
// its message is meant for the user.
var ErrNotDisplayable = errors.New("this image cannot be displayed")

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

// imageInfo is what the viewer knows about an instance from its header.
type imageInfo struct {
	TransferSyntax string
	Compressed     string // name of the compression, "" for native pixel data
	Codec          string // decoder of the frames (codecNative, codecRLE, ...)
	Unsupported    string // why it cannot be displayed, for the user; "" if it can

	Rows, Cols, Frames  int
	SamplesPerPixel     int
	Photometric         string
	BitsAllocated       int
	BitsStored          int
	HighBit             int
	PixelRepresentation int
	Planar              int
	Slope, Intercept    float64
	WindowCenter        float64 // first Window Center/Width of the file,
	WindowWidth         float64 // or 0 when it has none
	WindowCenters       []float64
	WindowWidths        []float64

	Modality, SeriesDescription, StudyDate, SeriesDate, ContentDate string
	InstanceNumber, PatientName, PatientID, BodyPart, SOPClass      string
	SOPInstance                                                     string

	charset    *dicom.Element
	syntax     dicom.Syntax
	hasData    bool
	extOffsets []uint64 // Extended Offset Table (7FE0,0001), if any
}

// frameBytes is the size of one native (or RLE-decoded) frame.
func (in *imageInfo) frameBytes() int64 {
	n := int64(in.Rows) * int64(in.Cols) * int64(in.SamplesPerPixel) * int64(in.BitsAllocated/8)
	if in.Photometric == "YBR_FULL_422" && in.Codec == codecNative {
		n = n * 2 / 3 // two luminance samples share one Cb and one Cr (PS3.3 C.7.6.3.1.2)
	}
	return n
}

// readInfo reads the header of a DICOM file up to its pixel data and
// returns a reader positioned at the Pixel Data element (when there is one).
func readInfo(r io.Reader) (*imageInfo, *bufio.Reader, error) {
	// dicom.ReadHeader and dicom.NewReader reuse a *bufio.Reader of at least
	// 16 KiB instead of wrapping it, so br stays in step with them.
	br := bufio.NewReaderSize(r, 64<<10)
	in, err := readInfoFrom(br)
	return in, br, err
}

func readInfoFrom(br *bufio.Reader) (*imageInfo, error) {
	h, rd, err := dicom.ReadHeader(br)
	if err != nil {
		return nil, err
	}
	in := &imageInfo{TransferSyntax: h.TransferSyntaxUID, syntax: h.Syntax}
	if h.Deflated {
		in.Unsupported = "this image is stored deflated; display comes in a later version — you can still save a copy or send it"
		return in, nil
	}
	rd.MaxValue = maxAttrValue
	elems, err := rd.ReadUntil(dicom.PixelData)
	if err != nil {
		return nil, err
	}
	in.charset = dicom.Find(elems, dicom.SpecificCharacterSet)
	order := binary.ByteOrder(binary.LittleEndian)
	if h.Syntax.BigEndian {
		order = binary.BigEndian
	}
	str := func(t dicom.Tag) string {
		if e := dicom.Find(elems, t); e != nil {
			return strings.TrimSpace(e.String())
		}
		return ""
	}
	us := func(t dicom.Tag, def int) int {
		e := dicom.Find(elems, t)
		if e == nil {
			return def
		}
		if v, ok := e.Uint(order); ok {
			return int(v)
		}
		// Implicit VR: the codec's small dictionary does not know every
		// image tag (Bits Stored, Pixel Representation...), so they come
		// back as UN; they are all US.
		if len(e.Value) == 2 {
			return int(order.Uint16(e.Value))
		}
		return def
	}
	num := func(t dicom.Tag) (float64, bool) {
		s := str(t)
		if i := strings.IndexByte(s, '\\'); i >= 0 {
			s = s[:i]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	in.Rows, in.Cols = us(dicom.Rows, 0), us(dicom.Columns, 0)
	in.SamplesPerPixel = us(dicom.SamplesPerPixel, 1)
	in.Photometric = strings.ToUpper(str(dicom.PhotometricInterpretation))
	if in.Photometric == "" && in.SamplesPerPixel == 1 {
		in.Photometric = "MONOCHROME2" // old files omit it; grey is the only reading
	}
	in.BitsAllocated = us(dicom.BitsAllocated, 0)
	in.BitsStored = us(dicom.BitsStored, in.BitsAllocated)
	in.HighBit = us(dicom.HighBit, in.BitsStored-1)
	in.PixelRepresentation = us(dicom.PixelRepresentation, 0)
	in.Planar = us(dicom.PlanarConfiguration, 0)
	in.Frames = 1
	if n, err := strconv.Atoi(str(dicom.NumberOfFrames)); err == nil && n > 1 {
		in.Frames = n
	}
	in.Slope, in.Intercept = 1, 0
	if v, ok := num(dicom.RescaleSlope); ok && v != 0 {
		in.Slope = v
	}
	if v, ok := num(dicom.RescaleIntercept); ok {
		in.Intercept = v
	}
	// Window Center/Width may hold several windows (PS3.3 C.11.2.1.2);
	// the first is the default, the others are offered as presets.
	nums := func(t dicom.Tag) []float64 {
		var out []float64
		for _, p := range strings.Split(str(t), `\`) {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return out
			}
			out = append(out, v)
		}
		return out
	}
	cs, ws := nums(dicom.WindowCenter), nums(dicom.WindowWidth)
	for k := range min(len(cs), len(ws)) {
		if ws[k] >= 1 {
			in.WindowCenters = append(in.WindowCenters, cs[k])
			in.WindowWidths = append(in.WindowWidths, ws[k])
		}
	}
	if len(in.WindowCenters) > 0 {
		in.WindowCenter, in.WindowWidth = in.WindowCenters[0], in.WindowWidths[0]
	}
	if e := dicom.Find(elems, dicom.ExtendedOffsetTable); e != nil && len(e.Value)%8 == 0 {
		for k := 0; k < len(e.Value); k += 8 {
			in.extOffsets = append(in.extOffsets, binary.LittleEndian.Uint64(e.Value[k:]))
		}
	}
	in.Modality = str(dicom.Modality)
	in.SeriesDescription = str(dicom.SeriesDescription)
	in.StudyDate, in.SeriesDate, in.ContentDate = str(dicom.StudyDate), str(dicom.SeriesDate), str(dicom.ContentDate)
	in.InstanceNumber = str(dicom.InstanceNumber)
	in.BodyPart = str(dicom.BodyPartExamined)
	in.SOPClass = str(dicom.SOPClassUID)
	in.SOPInstance = str(dicom.SOPInstanceUID)
	if e := dicom.Find(elems, dicom.PatientName); e != nil {
		in.PatientName = dicom.DecodeText(in.charset, e)
	}
	in.PatientID = str(dicom.PatientID)

	t, err := rd.PeekTag()
	in.hasData = err == nil && t == dicom.PixelData
	in.Codec = codecs[h.TransferSyntaxUID]
	in.Compressed = compressedNames[h.TransferSyntaxUID]
	if h.TransferSyntaxUID == dicom.ImplicitVRLittleEndianUID || h.TransferSyntaxUID == dicom.ExplicitVRLittleEndianUID || h.Syntax.BigEndian {
		in.Codec = codecNative
	}
	switch {
	case in.Codec == "" && in.Compressed != "":
		in.Unsupported = "this image is compressed (" + in.Compressed + "), which the viewer does not display yet; you can still save a copy or send it"
	case in.Codec == "":
		in.Unsupported = "this image uses an encoding the viewer does not know yet (" + h.TransferSyntaxUID + "); you can still save a copy or send it"
	case !in.hasData:
		in.Unsupported = "this instance has no image (it may be a report or other document); you can still save a copy or send it"
	case in.Rows <= 0 || in.Cols <= 0:
		in.Unsupported = "this image does not say its size"
	case in.Rows > MaxSide || in.Cols > MaxSide:
		in.Unsupported = fmt.Sprintf("this image is %d×%d pixels, larger than the viewer shows (%d×%d); you can still save a copy or send it", in.Cols, in.Rows, MaxSide, MaxSide)
	case in.BitsAllocated != 8 && in.BitsAllocated != 16:
		in.Unsupported = fmt.Sprintf("images with %d bits per sample cannot be displayed yet; you can still save a copy or send it", in.BitsAllocated)
	case in.BitsStored < 1 || in.BitsStored > in.BitsAllocated || in.HighBit != in.BitsStored-1:
		in.Unsupported = "this image's Bits Stored or High Bit is not valid"
	case in.frameBytes() > MaxFrameBytes:
		in.Unsupported = fmt.Sprintf("one frame of this image is %d MB, more than the viewer decodes (%d MB); you can still save a copy or send it", in.frameBytes()>>20, MaxFrameBytes>>20)
	default:
		switch {
		case in.SamplesPerPixel == 1 && (in.Photometric == "MONOCHROME1" || in.Photometric == "MONOCHROME2"):
		case in.SamplesPerPixel == 3 && (in.Photometric == "RGB" || in.Photometric == "YBR_FULL" || in.Photometric == "YBR_FULL_422"):
		case in.SamplesPerPixel == 3 && in.Codec == codecJ2K && (in.Photometric == "YBR_RCT" || in.Photometric == "YBR_ICT"):
			// The JPEG 2000 decoder undoes the component transform: RGB.
		default:
			in.Unsupported = fmt.Sprintf("images with photometric interpretation %q (%d samples per pixel) cannot be displayed yet; you can still save a copy or send it", in.Photometric, in.SamplesPerPixel)
		}
	}
	return in, nil
}

// readFrame reads frame n (0-based); br must be positioned at the Pixel
// Data element (as readInfo leaves it). Native pixel data comes back little
// endian, RLE decoded (colour by plane), and the other codecs' frames as
// their compressed bitstream for the browser to decode.
func readFrame(br *bufio.Reader, in *imageInfo, n int) ([]byte, error) {
	if n < 0 || n >= in.Frames {
		return nil, fmt.Errorf("%w: there is no frame %d", ErrNotDisplayable, n+1)
	}
	switch in.Codec {
	case codecNative:
		return readNativeFrame(br, in, n)
	case codecRLE:
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
func readNativeFrame(br *bufio.Reader, in *imageInfo, n int) ([]byte, error) {
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
