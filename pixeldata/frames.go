package pixeldata

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Codec names, as Info.Codec gives them: the viewer's browser decode worker
// dispatches on them.
const (
	CodecNative       = "native"        // uncompressed; served little endian
	CodecRLE          = "rle"           // decoded here (PS3.5 Annex G), served native
	CodecJPEG         = "jpeg"          // DCT, 8-bit baseline or 12-bit extended
	CodecJPEGLossless = "jpeg-lossless" // ITU T.81 process 14
	CodecJPEGLS       = "jpeg-ls"       // ITU T.87
	CodecJ2K          = "j2k"           // ISO 15444-1
)

// codecs maps the encapsulated transfer syntaxes the viewer displays to
// the decoder of their frames (PS3.5 §8.2 and Annex A.4).
var codecs = map[string]string{
	"1.2.840.10008.1.2.5":    CodecRLE,
	"1.2.840.10008.1.2.4.50": CodecJPEG,
	"1.2.840.10008.1.2.4.51": CodecJPEG,
	"1.2.840.10008.1.2.4.57": CodecJPEGLossless,
	"1.2.840.10008.1.2.4.70": CodecJPEGLossless,
	"1.2.840.10008.1.2.4.80": CodecJPEGLS,
	"1.2.840.10008.1.2.4.81": CodecJPEGLS,
	"1.2.840.10008.1.2.4.90": CodecJ2K,
	"1.2.840.10008.1.2.4.91": CodecJ2K,
}

// readEncapsulatedFrame returns the bytes of frame n (0-based) of
// encapsulated pixel data (PS3.5 A.4): br is positioned at the Pixel Data
// element. The frame is found, in this order of preference, by the Extended
// Offset Table (7FE0,0001/0002, read with the header), by the Basic Offset
// Table (the first item), as all fragments when there is one frame, and
// otherwise by where fragments end: each JPEG, JPEG-LS and JPEG 2000
// codestream ends with the marker FFD9 (EOI; EOC in JPEG 2000), which
// cannot occur inside entropy-coded data, and RLE has exactly one fragment
// per frame (PS3.5 A.4.2). The bytes returned are bounded by MaxFrameBytes.
func readEncapsulatedFrame(br *bufio.Reader, in *Info, n int) ([]byte, error) {
	fr := fragmentReader{br: br}
	bot, err := fr.offsetTable()
	if err != nil {
		return nil, err
	}
	span, err := frameSpan(in, bot, n)
	if err != nil {
		return nil, err
	}
	return fr.collect(in, span, n)
}

func shortPixelData() error { return fmt.Errorf("pixel data: %w", io.ErrUnexpectedEOF) }

// fragmentReader reads the items of encapsulated pixel data.
type fragmentReader struct {
	br *bufio.Reader
}

// item reads an item header: its tag and length.
func (f fragmentReader) item() (tag dicom.Tag, length uint32, err error) {
	var b [8]byte
	if _, err := io.ReadFull(f.br, b[:]); err != nil {
		return 0, 0, shortPixelData()
	}
	tag = dicom.NewTag(binary.LittleEndian.Uint16(b[0:]), binary.LittleEndian.Uint16(b[2:]))
	return tag, binary.LittleEndian.Uint32(b[4:]), nil
}

// offsetTable reads the Pixel Data element's header (tag, "OB", 2
// reserved bytes, undefined length) and its first item, the Basic Offset
// Table, which may be empty.
func (f fragmentReader) offsetTable() ([]byte, error) {
	hdr := make([]byte, 12)
	if _, err := io.ReadFull(f.br, hdr); err != nil {
		return nil, shortPixelData()
	}
	if binary.LittleEndian.Uint32(hdr[8:]) != dicom.UndefinedLength {
		return nil, fmt.Errorf("%w: the pixel data of this compressed image is not encapsulated", ErrNotDisplayable)
	}
	tag, length, err := f.item()
	if err != nil {
		return nil, err
	}
	if tag != dicom.ItemTag || length%4 != 0 || length > maxAttrValue {
		return nil, fmt.Errorf("%w: the pixel data has no valid offset table", ErrNotDisplayable)
	}
	bot := make([]byte, length)
	if _, err := io.ReadFull(f.br, bot); err != nil {
		return nil, shortPixelData()
	}
	return bot, nil
}

// span is where a frame's fragments are, in bytes from the first
// fragment's item tag: [start, end), end < 0 meaning up to the last
// fragment; start < 0 when no table says, and end markers must.
type span struct{ start, end int64 }

func (s span) known() bool { return s.start >= 0 }

func (s span) holds(pos int64) bool { return pos >= s.start && (s.end < 0 || pos < s.end) }

// frameSpan finds frame n from the Extended or the Basic Offset Table.
func frameSpan(in *Info, bot []byte, n int) (span, error) {
	sp := span{-1, -1}
	switch {
	case len(in.extOffsets) > 0:
		if len(in.extOffsets) != in.Frames {
			return sp, fmt.Errorf("%w: the extended offset table has %d entries for %d frames", ErrNotDisplayable, len(in.extOffsets), in.Frames)
		}
		sp.start = int64(in.extOffsets[n])
		if n+1 < in.Frames {
			sp.end = int64(in.extOffsets[n+1])
		}
	case len(bot) > 0:
		if len(bot)/4 != in.Frames {
			return sp, fmt.Errorf("%w: the offset table has %d entries for %d frames", ErrNotDisplayable, len(bot)/4, in.Frames)
		}
		sp.start = int64(binary.LittleEndian.Uint32(bot[4*n:]))
		if n+1 < in.Frames {
			sp.end = int64(binary.LittleEndian.Uint32(bot[4*n+4:]))
		}
	case in.Frames == 1:
		sp.start = 0
	}
	return sp, nil
}

// collect reads the fragments up to the sequence delimiter, keeping those
// of frame n: by the span when it is known, else by counting frames at
// their end markers.
func (f fragmentReader) collect(in *Info, sp span, n int) ([]byte, error) {
	var out []byte
	var pos int64 // of the next item tag, from the first fragment's
	frame := 0    // frame the next fragment belongs to (end-marker mode)
	for {
		tag, length, err := f.item()
		if err != nil {
			return nil, err
		}
		if tag == dicom.SequenceDelimitationTag {
			break
		}
		if tag != dicom.ItemTag || length == dicom.UndefinedLength {
			return nil, fmt.Errorf("%w: the pixel data has a malformed fragment", ErrNotDisplayable)
		}
		mine := frame == n
		if sp.known() {
			mine = sp.holds(pos)
		}
		pos += 8 + int64(length)
		var ends bool
		if mine {
			if int64(len(out))+int64(length) > MaxFrameBytes {
				return nil, fmt.Errorf("%w: one frame of this image is more than %d MiB", ErrNotDisplayable, MaxFrameBytes>>20)
			}
			frag, err := readN(f.br, int64(length))
			if err != nil {
				return nil, shortPixelData()
			}
			out = append(out, frag...)
			ends = endsFrame(in.Codec, frag)
		} else if ends, err = f.skip(in.Codec, length); err != nil {
			return nil, err
		}
		if !sp.known() && ends {
			frame++
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: frame %d is missing from the pixel data", ErrNotDisplayable, n+1)
	}
	return out, nil
}

// skip passes over a fragment, keeping its last bytes: counting frames by
// their end marker needs them. It says whether the fragment ends a frame.
func (f fragmentReader) skip(codec string, length uint32) (bool, error) {
	var tail [3]byte
	k := min(int64(length), 3)
	if _, err := io.CopyN(io.Discard, f.br, int64(length)-k); err != nil {
		return false, shortPixelData()
	}
	if _, err := io.ReadFull(f.br, tail[:k]); err != nil {
		return false, shortPixelData()
	}
	return endsFrame(codec, tail[:k]), nil
}

// endsFrame reports whether a fragment is the last of its frame when there
// is no offset table: RLE frames are one fragment each; the others end
// with FFD9, possibly followed by one padding byte (fragments have even
// lengths).
func endsFrame(codec string, frag []byte) bool {
	if codec == CodecRLE {
		return true
	}
	for range 2 {
		if k := len(frag); k >= 2 && frag[k-2] == 0xFF && frag[k-1] == 0xD9 {
			return true
		}
		if k := len(frag); k == 0 || frag[k-1] != 0 {
			return false
		}
		frag = frag[:len(frag)-1]
	}
	return false
}

// errRLE reports RLE data that does not decode to the frame's size.
var errRLE = errors.New("the RLE data is damaged")

// decodeRLE decodes one RLE Lossless frame (PS3.5 Annex G) into native
// little endian pixel data, colour by plane (Planar Configuration 1) when
// there are several samples. The output size is fixed by the image's
// attributes (rows × columns × samples × bytes), so a hostile stream
// cannot make it larger.
func decodeRLE(in *Info, frag []byte) ([]byte, error) {
	bps := in.BitsAllocated / 8
	pixels := in.Rows * in.Cols
	nseg := in.SamplesPerPixel * bps
	if len(frag) < 64 {
		return nil, fmt.Errorf("%w: %w (no header)", ErrNotDisplayable, errRLE)
	}
	// G.5: the header is 16 little endian UL: the number of segments, then
	// the offset of each (from the start of the header), 0 when unused.
	if got := int(binary.LittleEndian.Uint32(frag)); got != nseg {
		return nil, fmt.Errorf("%w: %w (%d segments, expected %d)", ErrNotDisplayable, errRLE, got, nseg)
	}
	out := make([]byte, pixels*nseg)
	for s := range nseg {
		off := int(binary.LittleEndian.Uint32(frag[4+4*s:]))
		stop := len(frag)
		if s+1 < nseg {
			stop = int(binary.LittleEndian.Uint32(frag[8+4*s:]))
		}
		if off < 64 || off > stop || stop > len(frag) {
			return nil, fmt.Errorf("%w: %w (bad segment offset)", ErrNotDisplayable, errRLE)
		}
		// G.2: segment s holds byte s%bps (most significant first) of
		// sample s/bps of every pixel; little endian puts the most
		// significant byte last.
		sample, byteIdx := s/bps, bps-1-s%bps
		dst := out[sample*pixels*bps:]
		if err := unpackBits(frag[off:stop], dst, pixels, bps, byteIdx); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotDisplayable, err)
		}
	}
	return out, nil
}

// unpackBits decodes one RLE segment (PS3.5 G.3.2, PackBits) into
// dst[i*stride+at] for i < n. A segment that ends early is an error; bytes
// after the n-th are ignored (encoders pad segments to even lengths).
func unpackBits(seg, dst []byte, n, stride, at int) error {
	i := 0
	for p := 0; i < n && p < len(seg); {
		h := int(int8(seg[p]))
		p++
		switch {
		case h >= 0: // copy the next h+1 bytes literally
			k := h + 1
			if p+k > len(seg) || i+k > n {
				return errRLE
			}
			for _, b := range seg[p : p+k] {
				dst[i*stride+at] = b
				i++
			}
			p += k
		case h != -128: // repeat the next byte 1-h times
			k := 1 - h
			if p >= len(seg) || i+k > n {
				return errRLE
			}
			for range k {
				dst[i*stride+at] = seg[p]
				i++
			}
			p++
		}
	}
	if i < n {
		return errRLE
	}
	return nil
}
