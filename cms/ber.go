package cms

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// A streaming BER reader. CMS allows BER for EnvelopedData (RFC 5652 §1.1):
// OpenSSL's -stream output and vendor discs built with .NET toolkits use
// indefinite lengths and constructed OCTET STRINGs. Go's encoding/asn1 and
// cryptobyte are DER-only and need the whole input in memory, so the parts
// of a Secure DICOM File that can be large (the content) are read here as a
// stream; the small parts are read whole (with a cap), normalised to DER by
// berToDER and then parsed with cryptobyte.

// Limits against hostile input.
const (
	maxDepth        = 24      // nesting of constructed elements
	maxSmallElement = 1 << 20 // bytes of any element read whole into memory
	maxLengthOctets = 8       // a length field beyond 2^63 is nonsense
)

type berHeader struct {
	tag         byte  // the identifier octet (low tag numbers only, as CMS uses)
	constructed bool  // bit 6 of the identifier
	length      int64 // content length, or -1 for indefinite
	hdrLen      int64 // bytes of identifier + length octets
}

func (h berHeader) indefinite() bool { return h.length < 0 }

// frame is an open constructed element: its end offset, or -1 if indefinite.
type frame struct{ end int64 }

type berReader struct {
	r     *bufio.Reader
	pos   int64 // bytes consumed so far
	stack []frame
	// errEOF is the error an unexpected end of input maps to, errBad the
	// error for malformed input. Outside the encryption they are
	// ErrTruncated and ErrMalformed; inside it, where only a wrong key or
	// altered ciphertext can produce bad structure, both are ErrDamaged.
	errEOF, errBad error
}

func newBERReader(r io.Reader, errEOF, errBad error) *berReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &berReader{r: br, errEOF: errEOF, errBad: errBad}
}

func (b *berReader) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s (at byte %d)", b.errBad, fmt.Sprintf(format, args...), b.pos)
}

func (b *berReader) eof(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: input ends at byte %d", b.errEOF, b.pos)
	}
	return err
}

func (b *berReader) readByte() (byte, error) {
	c, err := b.r.ReadByte()
	if err != nil {
		return 0, b.eof(err)
	}
	b.pos++
	return c, nil
}

// readFull reads exactly len(p) bytes.
func (b *berReader) readFull(p []byte) error {
	n, err := io.ReadFull(b.r, p)
	b.pos += int64(n)
	if err != nil {
		return b.eof(err)
	}
	return nil
}

// limit is the end offset of the innermost definite frame, or -1.
func (b *berReader) limit() int64 {
	for i := len(b.stack) - 1; i >= 0; i-- {
		if b.stack[i].end >= 0 {
			return b.stack[i].end
		}
	}
	return -1
}

// next reads the next element header and checks that the element fits
// inside the enclosing definite-length elements.
func (b *berReader) next() (berHeader, error) {
	start := b.pos
	if lim := b.limit(); lim >= 0 && start >= lim {
		return berHeader{}, b.fail("element extends past its container")
	}
	id, err := b.readByte()
	if err != nil {
		return berHeader{}, err
	}
	if id&0x1f == 0x1f {
		return berHeader{}, b.fail("high tag numbers are not used in CMS")
	}
	h := berHeader{tag: id, constructed: id&0x20 != 0}
	l, err := b.readByte()
	if err != nil {
		return berHeader{}, err
	}
	switch {
	case l < 0x80:
		h.length = int64(l)
	case l == 0x80:
		if !h.constructed {
			return berHeader{}, b.fail("indefinite length on a primitive element")
		}
		h.length = -1
	default:
		n := int(l & 0x7f)
		if n > maxLengthOctets || n == 0x7f {
			return berHeader{}, b.fail("length field of %d octets", n)
		}
		var v int64
		for i := 0; i < n; i++ {
			c, err := b.readByte()
			if err != nil {
				return berHeader{}, err
			}
			if v > (1<<55)-1 {
				return berHeader{}, b.fail("length overflows")
			}
			v = v<<8 | int64(c)
		}
		h.length = v
	}
	h.hdrLen = b.pos - start
	if lim := b.limit(); lim >= 0 && h.length >= 0 && b.pos+h.length > lim {
		return berHeader{}, b.fail("element of %d bytes extends past its container", h.length)
	}
	return h, nil
}

// expect reads the next header and checks its tag.
func (b *berReader) expect(tag byte, what string) (berHeader, error) {
	h, err := b.next()
	if err != nil {
		return h, err
	}
	if h.tag != tag {
		return h, b.fail("%s: expected tag 0x%02x, found 0x%02x", what, tag, h.tag)
	}
	return h, nil
}

// open reads the next header, checks its tag and enters the element.
func (b *berReader) open(tag byte, what string) (berHeader, error) {
	h, err := b.expect(tag, what)
	if err == nil {
		err = b.enter(h)
	}
	return h, err
}

// enter opens a constructed element whose header was just read.
func (b *berReader) enter(h berHeader) error {
	if !h.constructed {
		return b.fail("expected a constructed element")
	}
	if len(b.stack) >= maxDepth {
		return b.fail("nesting deeper than %d", maxDepth)
	}
	end := int64(-1)
	if !h.indefinite() {
		end = b.pos + h.length
	}
	b.stack = append(b.stack, frame{end: end})
	return nil
}

// more reports whether the innermost open element has another child.
func (b *berReader) more() (bool, error) {
	top := b.stack[len(b.stack)-1]
	if top.end >= 0 {
		return b.pos < top.end, nil
	}
	p, err := b.r.Peek(2)
	if err != nil {
		return false, b.eof(err)
	}
	return !(p[0] == 0 && p[1] == 0), nil
}

// leave closes the innermost open element, which must have no children
// left: its end offset is reached, or its end-of-contents octets follow.
func (b *berReader) leave() error {
	top := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	if top.end >= 0 {
		if b.pos != top.end {
			return b.fail("unexpected data before the end of an element")
		}
		return nil
	}
	var eoc [2]byte
	if err := b.readFull(eoc[:]); err != nil {
		return err
	}
	if eoc != [2]byte{} {
		return b.fail("unexpected data before end-of-contents")
	}
	return nil
}

// readWhole reads the element whose header h was just read and returns its
// complete encoding (header included), as DER. Elements over max bytes are
// refused before anything is allocated for them.
func (b *berReader) readWhole(h berHeader, max int64) ([]byte, error) {
	raw, err := b.readRaw(h, max, 0)
	if err != nil {
		return nil, err
	}
	return berToDER(raw)
}

// readRaw returns the BER encoding of the element with header h, re-creating
// the header octets. Indefinite elements are scanned child by child.
func (b *berReader) readRaw(h berHeader, max int64, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, b.fail("nesting deeper than %d", maxDepth)
	}
	if !h.indefinite() {
		if h.length > max {
			return nil, b.fail("element of %d bytes exceeds the limit of %d", h.length, max)
		}
		// Grow with the bytes actually read, not the declared length: a
		// hostile header must not buy a large allocation.
		var out bytes.Buffer
		out.Write(appendHeader(nil, h.tag, h.length))
		n, err := io.CopyN(&out, b.r, h.length)
		b.pos += n
		if err != nil {
			return nil, b.eof(err)
		}
		return out.Bytes(), nil
	}
	out := []byte{h.tag, 0x80}
	if err := b.enter(h); err != nil {
		return nil, err
	}
	for {
		more, err := b.more()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		ch, err := b.next()
		if err != nil {
			return nil, err
		}
		child, err := b.readRaw(ch, max-int64(len(out)), depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, child...)
		if int64(len(out)) > max {
			return nil, b.fail("element exceeds the limit of %d bytes", max)
		}
	}
	if err := b.leave(); err != nil {
		return nil, err
	}
	return append(out, 0, 0), nil
}

// skip discards the element with header h (bounded like readWhole).
func (b *berReader) skip(h berHeader, max int64) error {
	if !h.indefinite() {
		if h.length > max {
			return b.fail("element of %d bytes exceeds the limit of %d", h.length, max)
		}
		n, err := b.r.Discard(int(h.length))
		b.pos += int64(n)
		if err != nil {
			return b.eof(err)
		}
		return nil
	}
	_, err := b.readRaw(h, max, 0)
	return err
}

// expectEnd checks that the input has no bytes left.
func (b *berReader) expectEnd() error {
	if _, err := b.r.Peek(1); err == io.EOF {
		return nil
	} else if err != nil {
		return err
	}
	return b.fail("trailing data after the CMS structure")
}
