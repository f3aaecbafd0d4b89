package dimse

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/securemedia/securemedia/internal/dicom"
)

// ExplicitToImplicit streams an explicit VR little endian data set
// re-encoded as implicit VR little endian (PS3.5 §7.1.3): only element
// headers change; every value byte is copied as is, so the content is
// identical. Sequences and items are written with undefined lengths
// (allowed in any transfer syntax, PS3.5 §7.5) so that nothing needs to be
// measured before it is written: memory use is constant whatever the size
// of the data set. The result must be closed to release the converter.
//
// The opposite direction is not provided: implicit VR data carries no VRs,
// and guessing them from a dictionary would change private elements.
func explicitToImplicit(r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		c := &converter{r: bufio.NewReaderSize(r, 64<<10), w: bufio.NewWriterSize(pw, 64<<10)}
		err := c.elements(-1, false, false, 0)
		if err == nil {
			err = c.w.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

type converter struct {
	r   *bufio.Reader
	w   *bufio.Writer
	pos int64
}

const (
	undefLen      = dicom.UndefinedLength
	maxConvDepth  = 32
	convErrPrefix = "converting explicit to implicit VR"
)

func (c *converter) errorf(format string, args ...any) error {
	return fmt.Errorf("%s at byte %d: %s", convErrPrefix, c.pos, fmt.Sprintf(format, args...))
}

func (c *converter) read(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return nil, c.errorf("truncated data set")
	}
	c.pos += int64(n)
	return b, nil
}

func (c *converter) header(tag dicom.Tag, length uint32) {
	var h [8]byte
	binary.LittleEndian.PutUint16(h[:], uint16(tag>>16))
	binary.LittleEndian.PutUint16(h[2:], uint16(tag))
	binary.LittleEndian.PutUint32(h[4:], length)
	c.w.Write(h[:])
}

// elements converts elements until limit bytes are consumed (limit >= 0),
// an item delimiter (inItem), or the end of the stream. implicitIn is set
// inside a UN sequence of undefined length, whose content is already
// implicit VR (CP-246).
func (c *converter) elements(limit int64, inItem, implicitIn bool, depth int) error {
	if depth > maxConvDepth {
		return c.errorf("sequences nested too deep")
	}
	start := c.pos
	for limit < 0 || c.pos-start < limit {
		if limit < 0 && !inItem {
			if _, err := c.r.Peek(1); err == io.EOF {
				return nil
			}
		}
		b, err := c.read(4)
		if err != nil {
			return err
		}
		tag := dicom.NewTag(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]))
		if tag == dicom.ItemDelimitationTag && inItem {
			_, err := c.read(4)
			return err
		}
		if err := c.element(tag, implicitIn, depth); err != nil {
			return err
		}
	}
	if c.pos-start != limit {
		return c.errorf("item overruns its length")
	}
	return nil
}

func (c *converter) element(tag dicom.Tag, implicitIn bool, depth int) error {
	if tag>>16 == 0xFFFE {
		return c.errorf("unexpected delimiter (%04X,%04X)", tag>>16, tag&0xFFFF)
	}
	vr, length, err := c.vrLength(implicitIn)
	if err != nil {
		return err
	}
	switch {
	case vr == "SQ" || (length == undefLen && (vr == "UN" || implicitIn)):
		c.header(tag, undefLen)
		if err := c.sequence(length, implicitIn || vr == "UN", depth); err != nil {
			return err
		}
		c.header(dicom.SequenceDelimitationTag, 0)
		return nil
	case length == undefLen:
		return c.errorf("element (%04X,%04X) of undefined length in a native data set", tag>>16, tag&0xFFFF)
	}
	c.header(tag, length)
	n, err := io.CopyN(c.w, c.r, int64(length))
	c.pos += n
	if err != nil {
		return c.errorf("value truncated")
	}
	return nil
}

// vrLength reads the rest of an element header after its tag.
func (c *converter) vrLength(implicitIn bool) (string, uint32, error) {
	if implicitIn {
		b, err := c.read(4)
		if err != nil {
			return "", 0, err
		}
		return "", binary.LittleEndian.Uint32(b), nil
	}
	b, err := c.read(4)
	if err != nil {
		return "", 0, err
	}
	vr := string(b[:2])
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		l, err := c.read(4)
		if err != nil {
			return "", 0, err
		}
		return vr, binary.LittleEndian.Uint32(l), nil
	}
	if vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z' {
		return "", 0, c.errorf("invalid VR %q", vr)
	}
	return vr, uint32(binary.LittleEndian.Uint16(b[2:])), nil
}

func (c *converter) sequence(length uint32, implicitIn bool, depth int) error {
	start := c.pos
	for length == undefLen || c.pos-start < int64(length) {
		b, err := c.read(8)
		if err != nil {
			return err
		}
		tag := dicom.NewTag(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]))
		il := binary.LittleEndian.Uint32(b[4:])
		if tag == dicom.SequenceDelimitationTag && length == undefLen {
			return nil
		}
		if tag != dicom.ItemTag {
			return c.errorf("expected an item, found (%04X,%04X)", tag>>16, tag&0xFFFF)
		}
		c.header(dicom.ItemTag, undefLen)
		limit := int64(il)
		if il == undefLen {
			limit = -1
		}
		if err := c.elements(limit, true, implicitIn, depth+1); err != nil {
			return err
		}
		c.header(dicom.ItemDelimitationTag, 0)
	}
	if c.pos-start != int64(length) {
		return c.errorf("sequence overruns its length")
	}
	return nil
}
