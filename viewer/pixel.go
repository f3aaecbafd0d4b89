package viewer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/dicomdir"
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
	Unsupported    string // why it cannot be displayed, for the user; "" if it can

	Rows, Cols, Frames  int
	SamplesPerPixel     int
	Photometric         string
	BitsAllocated       int
	BitsStored          int
	PixelRepresentation int
	Planar              int
	Slope, Intercept    float64
	WindowCenter        float64 // first Window Center/Width of the file,
	WindowWidth         float64 // or 0 when it has none

	Modality, SeriesDescription, StudyDate, SeriesDate, ContentDate string
	InstanceNumber, PatientName, PatientID, BodyPart, SOPClass      string

	charset *dicom.Element
	syntax  dicom.Syntax
	hasData bool
}

// frameBytes is the stored size of one frame.
func (in *imageInfo) frameBytes() int64 {
	return int64(in.Rows) * int64(in.Cols) * int64(in.SamplesPerPixel) * int64(in.BitsAllocated/8)
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
	elems, err := rd.ReadUntil(dicom.PixelDataTag)
	if err != nil {
		return nil, err
	}
	in.charset = dicom.Find(elems, dicom.SpecificCharacterSetTag)
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
	in.Rows, in.Cols = us(0x00280010, 0), us(0x00280011, 0)
	in.SamplesPerPixel = us(0x00280002, 1)
	in.Photometric = strings.ToUpper(str(0x00280004))
	if in.Photometric == "" && in.SamplesPerPixel == 1 {
		in.Photometric = "MONOCHROME2" // old files omit it; grey is the only reading
	}
	in.BitsAllocated = us(0x00280100, 0)
	in.BitsStored = us(0x00280101, in.BitsAllocated)
	in.PixelRepresentation = us(0x00280103, 0)
	in.Planar = us(0x00280006, 0)
	in.Frames = 1
	if n, err := strconv.Atoi(str(0x00280008)); err == nil && n > 1 {
		in.Frames = n
	}
	in.Slope, in.Intercept = 1, 0
	if v, ok := num(0x00281053); ok && v != 0 {
		in.Slope = v
	}
	if v, ok := num(0x00281052); ok {
		in.Intercept = v
	}
	if c, ok := num(0x00281050); ok {
		if w, ok := num(0x00281051); ok && w >= 1 {
			in.WindowCenter, in.WindowWidth = c, w
		}
	}
	in.Modality = str(0x00080060)
	in.SeriesDescription = str(0x0008103E)
	in.StudyDate, in.SeriesDate, in.ContentDate = str(0x00080020), str(0x00080021), str(0x00080023)
	in.InstanceNumber = str(0x00200013)
	in.BodyPart = str(0x00180015)
	in.SOPClass = str(0x00080016)
	if e := dicom.Find(elems, 0x00100010); e != nil {
		in.PatientName = dicomdir.DecodeText(in.charset, e)
	}
	in.PatientID = str(0x00100020)

	t, err := rd.PeekTag()
	in.hasData = err == nil && t == dicom.PixelDataTag
	if name, ok := compressedNames[h.TransferSyntaxUID]; ok {
		in.Compressed = name
		in.Unsupported = "this image is compressed (" + name + "); display comes in a later version — you can still save a copy or send it"
		return in, nil
	}
	switch {
	case h.Syntax.BigEndian:
		in.Unsupported = "this image uses the retired big endian encoding; display comes in a later version — you can still save a copy or send it"
	case h.TransferSyntaxUID != dicom.ImplicitVRLittleEndianUID && h.TransferSyntaxUID != dicom.ExplicitVRLittleEndianUID:
		in.Unsupported = "this image uses an encoding the viewer does not know yet (" + h.TransferSyntaxUID + "); you can still save a copy or send it"
	case !in.hasData:
		in.Unsupported = "this instance has no image (it may be a report or other document); you can still save a copy or send it"
	case in.Rows <= 0 || in.Cols <= 0:
		in.Unsupported = "this image does not say its size"
	case in.Rows > MaxSide || in.Cols > MaxSide:
		in.Unsupported = fmt.Sprintf("this image is %d×%d pixels, larger than the viewer shows (%d×%d); you can still save a copy or send it", in.Cols, in.Rows, MaxSide, MaxSide)
	case in.BitsAllocated != 8 && in.BitsAllocated != 16:
		in.Unsupported = fmt.Sprintf("images with %d bits per sample cannot be displayed yet; you can still save a copy or send it", in.BitsAllocated)
	case in.BitsStored < 1 || in.BitsStored > in.BitsAllocated:
		in.Unsupported = "this image's Bits Stored is not valid"
	case in.frameBytes() > MaxFrameBytes:
		in.Unsupported = fmt.Sprintf("one frame of this image is %d MB, more than the viewer decodes (%d MB); you can still save a copy or send it", in.frameBytes()>>20, MaxFrameBytes>>20)
	default:
		switch {
		case in.SamplesPerPixel == 1 && (in.Photometric == "MONOCHROME1" || in.Photometric == "MONOCHROME2"):
		case in.SamplesPerPixel == 3 && (in.Photometric == "RGB" || in.Photometric == "YBR_FULL"):
		default:
			in.Unsupported = fmt.Sprintf("images with photometric interpretation %q (%d samples per pixel) cannot be displayed yet; you can still save a copy or send it", in.Photometric, in.SamplesPerPixel)
		}
	}
	return in, nil
}

// readFrame reads frame n (0-based) of native pixel data; br must be
// positioned at the Pixel Data element (as readInfo leaves it).
func readFrame(br *bufio.Reader, in *imageInfo, n int) ([]byte, error) {
	if n < 0 || n >= in.Frames {
		return nil, fmt.Errorf("%w: there is no frame %d", ErrNotDisplayable, n+1)
	}
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
	length := int64(binary.LittleEndian.Uint32(b[hdr-4:]))
	if hdr == 8 && !in.syntax.Implicit {
		length = int64(binary.LittleEndian.Uint16(b[6:]))
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
	frame := make([]byte, size)
	if _, err := io.ReadFull(br, frame); err != nil {
		return nil, fmt.Errorf("pixel data: %w", io.ErrUnexpectedEOF)
	}
	return frame, nil
}

// raw returns stored value i of a monochrome frame, masked to Bits Stored
// (the index into a lookup table).
func raw(in *imageInfo, frame []byte, i int) uint32 {
	var v uint32
	if in.BitsAllocated == 16 {
		v = uint32(binary.LittleEndian.Uint16(frame[2*i:]))
	} else {
		v = uint32(frame[i])
	}
	return v & (uint32(1)<<uint(in.BitsStored) - 1)
}

// modality converts a masked stored value to its modality value: sign
// extended when Pixel Representation is 1, then rescaled.
func modality(in *imageInfo, v uint32) float64 {
	x := float64(v)
	if in.PixelRepresentation == 1 && v&(uint32(1)<<uint(in.BitsStored-1)) != 0 {
		x -= float64(uint64(1) << uint(in.BitsStored))
	}
	return x*in.Slope + in.Intercept
}

// modalityValues converts a monochrome frame into modality values (tests).
func modalityValues(in *imageInfo, frame []byte) []float64 {
	out := make([]float64, in.Rows*in.Cols)
	for i := range out {
		out[i] = modality(in, raw(in, frame, i))
	}
	return out
}

// fullRange is the window that spans every modality value of the frame.
func fullRange(in *imageInfo, frame []byte) (c, w float64) {
	n := in.Rows * in.Cols
	if n == 0 {
		return 0, 1
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var seen [1 << 16]bool // stored values are at most 16 bits
	for i := range n {
		v := raw(in, frame, i)
		if seen[v] {
			continue
		}
		seen[v] = true
		x := modality(in, v)
		lo, hi = min(lo, x), max(hi, x)
	}
	return (lo + hi + 1) / 2, max(hi-lo+1, 1)
}

// window applies the linear VOI function of PS3.3 C.11.2.1.2.1 and maps
// to 0..255 the way dcmtk does (truncating), so that our renderings equal
// dcm2pnm's.
func window(x, c, w float64) uint8 { return uint8(windowF(x, c, w)) }

func windowF(x, c, w float64) float64 {
	if w < 1 {
		w = 1
	}
	lo := c - 0.5 - (w-1)/2
	hi := c - 0.5 + (w-1)/2
	switch {
	case x <= lo:
		return 0
	case x > hi:
		return 255
	}
	y := ((x-(c-0.5))/(w-1) + 0.5) * 255
	return max(0, min(255, y))
}

// render turns one stored frame into an image. For monochrome images wc/ww
// choose the window (NaN: the file's, else the full range; full: the full
// range); colour images are shown as stored.
func render(in *imageInfo, frame []byte, wc, ww float64, full bool) (image.Image, float64, float64) {
	if in.SamplesPerPixel == 3 {
		return renderColor(in, frame), 0, 0
	}
	switch {
	case full || ((math.IsNaN(wc) || math.IsNaN(ww)) && in.WindowWidth < 1):
		wc, ww = fullRange(in, frame)
	case math.IsNaN(wc) || math.IsNaN(ww):
		wc, ww = in.WindowCenter, in.WindowWidth
	}
	// One grey level per possible stored value: memory is the frame plus
	// one byte per pixel, whatever the bit depth.
	lut := make([]uint8, 1<<uint(in.BitsStored))
	invert := in.Photometric == "MONOCHROME1"
	for v := range lut {
		y := windowF(modality(in, uint32(v)), wc, ww)
		if invert {
			y = 255 - y
		}
		lut[v] = uint8(y)
	}
	img := image.NewGray(image.Rect(0, 0, in.Cols, in.Rows))
	for i := range img.Pix {
		img.Pix[i] = lut[raw(in, frame, i)]
	}
	return img, wc, ww
}

func renderColor(in *imageInfo, frame []byte) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, in.Cols, in.Rows))
	n := in.Rows * in.Cols
	bps := in.BitsAllocated / 8
	sample := func(pixel, s int) uint8 {
		var idx int
		if in.Planar == 1 {
			idx = s*n + pixel
		} else {
			idx = pixel*3 + s
		}
		if bps == 2 {
			v := binary.LittleEndian.Uint16(frame[2*idx:])
			if in.BitsStored > 8 {
				v >>= uint(in.BitsStored - 8)
			}
			return uint8(v)
		}
		return frame[idx]
	}
	for i := range n {
		r, g, b := sample(i, 0), sample(i, 1), sample(i, 2)
		if in.Photometric == "YBR_FULL" {
			r, g, b = color.YCbCrToRGB(r, g, b)
		}
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = r, g, b, 255
	}
	return img
}

// shrink scales img down (box filter) so that neither side exceeds side.
func shrink(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	tw, th := side, side
	if w > h {
		th = max(1, h*side/w)
	} else {
		tw = max(1, w*side/h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	for y := range th {
		y0, y1 := b.Min.Y+y*h/th, b.Min.Y+(y+1)*h/th
		for x := range tw {
			x0, x1 := b.Min.X+x*w/tw, b.Min.X+(x+1)*w/tw
			var r, g, bl, n uint64
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					cr, cg, cb, _ := img.At(sx, sy).RGBA()
					r, g, bl, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), n+1
				}
			}
			o := dst.PixOffset(x, y)
			dst.Pix[o], dst.Pix[o+1], dst.Pix[o+2], dst.Pix[o+3] = uint8(r/n>>8), uint8(g/n>>8), uint8(bl/n>>8), 255
		}
	}
	return dst
}
