package dicom

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// The bounds CheckFile puts on its Reader.
const (
	// checkMaxValue is the longest value CheckFile holds: it looks only
	// at the few values that describe the pixel data (US, an IS of at
	// most 12 bytes, a CS of at most 16), and reads past every longer
	// value without keeping it.
	checkMaxValue = 16
	// checkMaxElements bounds the elements, items and fragments of one
	// file. The Reader holds a top-level element with all its items until
	// it returns it, so this bounds what one hostile sequence can make it
	// hold: some 150 bytes each, 150 MB in all. Real files stay well
	// below it (a large RT Structure Set has a few hundred thousand).
	checkMaxElements = 1 << 20
)

// CheckFile reads a DICOM Part 10 file from r to its end and reports whether it is structurally whole.
//
// A plain (unencrypted) file on a disc carries no seal or checksum, so
// before it is extracted, shown or sent to a PACS its own structure is the
// only evidence that it was not cut short or damaged in copying: each
// element, sequence, item and pixel data fragment must be complete, every
// undefined length closed by its delimiter, the top-level elements in
// ascending tag order with nothing after the last one, and native Pixel
// Data at least as long as Rows × Columns × Samples per Pixel × Bits
// Allocated × Number of Frames implies. Failures wrap ErrMalformed (a file
// with no "DICM" prefix is ErrNotPart10) and name what is wrong and its
// offset; offsets in a deflated data set count inflated bytes.
//
// Only structure is checked, not whether values suit their attributes.
// DICOM has no end marker: a data set cut exactly between two top-level
// elements reads as a whole, shorter one, even when what is lost is all
// of its Pixel Data (whole files with image attributes and no pixel data
// exist, pydicom's charset examples among them); only a cut that leaves
// no data set at all is caught.
//
// CheckFile streams: values are read past, not held, and the number of
// elements is bounded, so a hostile file costs reading, not unbounded
// memory. It returns the Header (callers want TransferSyntaxUID) when the
// file is whole.
func CheckFile(r io.Reader) (*Header, error) {
	src := &CountingReader{R: r}
	br := bufio.NewReaderSize(src, 64<<10)
	if head, err := br.Peek(PreambleLen + 4); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w at offset %d: truncated: the file ends inside the %d-byte preamble and DICM prefix (%w)",
				ErrMalformed, len(head), PreambleLen+4, ErrNotPart10)
		}
		return nil, fmt.Errorf("%w at offset %d: reading the preamble: %w", ErrMalformed, len(head), err)
	}
	h, dr, err := ReadHeader(br)
	if err != nil {
		if _, e := br.Peek(1); e == io.EOF && errors.Is(err, ErrMalformed) && !strings.Contains(err.Error(), "truncated") {
			// The meta information stopped between two elements
			// because the file did; say so rather than only what
			// is missing.
			return nil, fmt.Errorf("%w at offset %d: truncated: the file ends inside the file meta information (%s)",
				ErrMalformed, src.N, strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": "))
		}
		return nil, err
	}
	dr.MaxValue = checkMaxValue
	dr.MaxElements = checkMaxElements
	inflated := crc32.NewIEEE()
	if h.Deflated {
		// Every inflated byte the Reader consumes passes through the
		// CRC, for a gzip trailer to be checked against. Nothing is
		// consumed yet (ReadHeader only peeked), and the Reader's old
		// buffer keeps what it peeked.
		dr.br = bufio.NewReaderSize(io.TeeReader(dr.br, inflated), 64<<10)
	}
	img := map[Tag]*Element{}
	var last *Element
	for {
		e, err := dr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if last != nil && e.Tag <= last.Tag {
			return nil, dr.errorAt(e.Offset, "element %v follows element %v: not in ascending tag order, or data that is not part of the data set",
				e.Tag, last.Tag)
		}
		last = e
		switch e.Tag {
		case Rows, Columns, SamplesPerPixel, BitsAllocated, NumberOfFrames, PhotometricInterpretation:
			img[e.Tag] = e
		case PixelData:
			// Float and Double Float Pixel Data are only read
			// through, like any other value.
			if err := checkPixelData(dr, e, img); err != nil {
				return nil, err
			}
		}
	}
	if last == nil {
		return nil, dr.errorAt(h.DataSetOffset, "truncated: the file ends after the file meta information, with no data set")
	}
	if h.Deflated {
		if err := checkDeflateEnd(br, src, inflated, dr.Pos()-h.DataSetOffset); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// checkDeflateEnd checks what follows the deflated data set in the file
// (br, read from src): the inflater stops at the final block, and the file
// must end there too, but for one NUL that pads it to an even length or
// the 8-byte gzip trailer that some writers leave (CRC-32 and length of
// the n inflated bytes; dclunie's image_dfl has one), which must then be
// right.
func checkDeflateEnd(br *bufio.Reader, src *CountingReader, inflated hash.Hash32, n int64) error {
	off := src.N - int64(br.Buffered())
	tail, err := io.ReadAll(io.LimitReader(br, 9))
	if err != nil {
		return fmt.Errorf("%w at offset %d: reading after the deflated data set: %w", ErrMalformed, off, err)
	}
	rest := int64(len(tail))
	if rest == 9 {
		more, err := io.Copy(io.Discard, br)
		if err != nil {
			return fmt.Errorf("%w at offset %d: reading after the deflated data set: %w", ErrMalformed, off, err)
		}
		rest += more
	}
	le := binary.LittleEndian
	switch {
	case rest == 0, rest == 1 && tail[0] == 0:
		return nil
	case rest == 8 && le.Uint32(tail) == inflated.Sum32() && le.Uint32(tail[4:]) == uint32(n):
		return nil
	case rest == 8:
		return fmt.Errorf("%w at offset %d: the gzip trailer after the deflated data set does not match it (CRC-32 %08X and length %d, the data set has %08X and %d)",
			ErrMalformed, off, le.Uint32(tail), le.Uint32(tail[4:]), inflated.Sum32(), uint32(n))
	}
	if rest < 8 {
		return fmt.Errorf("%w at offset %d: %d bytes follow the end of the deflated data set: a truncated gzip trailer, or junk", ErrMalformed, off, rest)
	}
	return fmt.Errorf("%w at offset %d: %d bytes follow the end of the deflated data set", ErrMalformed, off, rest)
}

// CountingReader counts the bytes read from R in N.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}

// checkPixelData checks the top-level Pixel Data e against the image
// attributes read before it (img).
func checkPixelData(r *Reader, e *Element, img map[Tag]*Element) error {
	switch {
	case e.IsSequence():
		return r.errorAt(e.Offset, "pixel data %v is encoded as a sequence", e.Tag)
	case e.Length == UndefinedLength:
		// Encapsulated (PS3.5 §A.4): the reader has checked the items
		// up to the sequence delimiter; the first is the Basic Offset
		// Table (maybe empty), at least one fragment follows it.
		if len(e.Items) < 2 {
			return r.errorAt(e.Offset, "encapsulated pixel data %v holds %d items, not a basic offset table and at least one fragment",
				e.Tag, len(e.Items))
		}
		if n := e.Items[0].Elements[0].Length; n%4 != 0 {
			return r.errorAt(e.Items[0].Offset, "the basic offset table of pixel data %v is %d bytes long, not a multiple of 4", e.Tag, n)
		}
		return nil
	}
	want, desc, ok := impliedPixelBytes(img, r.syntax.order())
	// A value one byte longer pads an odd length to even (PS3.5 §7.1.1);
	// longer still is accepted too: some writers pad Pixel Data further
	// (to a block size, or with a stale tail), which harms no reader.
	// Only too few bytes mean that part of the image is missing.
	if ok && uint64(e.Length) < want {
		return r.errorAt(e.Offset, "pixel data %v holds %d bytes, its header implies %d (%s)", e.Tag, e.Length, want, desc)
	}
	return nil
}

// impliedPixelBytes returns the length of native pixel data that the image
// attributes in img describe, and a description of the product; ok is
// false when an attribute it needs is missing or unreadable.
func impliedPixelBytes(img map[Tag]*Element, order binary.ByteOrder) (n uint64, desc string, ok bool) {
	us := func(t Tag, def uint64) (uint64, bool) {
		e := img[t]
		if e == nil {
			return def, def != 0
		}
		if v, ok := e.Uint(order); ok {
			return uint64(v), true
		}
		if len(e.Value) == 2 { // US read as UN
			return uint64(order.Uint16(e.Value)), true
		}
		return 0, false
	}
	rows, ok1 := us(Rows, 0)
	cols, ok2 := us(Columns, 0)
	bitsAlloc, ok3 := us(BitsAllocated, 0)
	spp, ok4 := us(SamplesPerPixel, 1)
	frames := uint64(1)
	if e := img[NumberOfFrames]; e != nil {
		if e.Skipped {
			return 0, "", false
		}
		if s := strings.TrimSpace(e.String()); s != "" {
			f, err := strconv.ParseInt(s, 10, 64) // IS: "+3" is 3
			if err != nil || f < 0 {
				return 0, "", false
			}
			frames = uint64(f)
		}
	}
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, "", false
	}
	// Native YBR_FULL_422 (and YBR_PARTIAL_422) store two samples per
	// pixel: Cb and Cr are shared by each horizontal pair (PS3.3
	// C.7.6.3.1.2). 4:2:0 shares them by 2×2 blocks: 1.5 samples.
	num, den := spp, uint64(1)
	if pi := img[PhotometricInterpretation]; spp == 3 && pi != nil {
		if pi.Skipped {
			return 0, "", false
		}
		switch strings.TrimSpace(pi.String()) {
		case "YBR_FULL_422", "YBR_PARTIAL_422":
			num = 2
		case "YBR_PARTIAL_420":
			num, den = 3, 2
		}
	}
	b := mulSat(mulSat(mulSat(mulSat(rows, cols), frames), bitsAlloc), num) / den
	n = b / 8
	if b%8 != 0 { // Bits Allocated 1: the last byte is partly used
		n++
	}
	desc = fmt.Sprintf("%d rows × %d columns × %d frames × %d samples × %d bits", rows, cols, frames, spp, bitsAlloc)
	if num != spp || den != 1 {
		desc += " subsampled to " + strconv.FormatFloat(float64(num)/float64(den), 'g', -1, 64) + " samples"
	}
	return n, desc, true
}

// mulSat multiplies, saturating at the largest uint64.
func mulSat(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}
