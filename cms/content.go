package cms

import (
	"hash"
	"io"
)

// contentReader streams the octets of an OCTET STRING-like element: a
// primitive one, or a constructed one (BER) made of OCTET STRING segments,
// nested and of indefinite length if need be. Every octet is also written
// to hashes. When the element ends, after runs once (it checks what follows
// the content); its error, or io.EOF, is what Read then returns.
type contentReader struct {
	b      *berReader
	seg    int64 // bytes left in the current primitive segment
	depth  int   // constructed frames this reader opened and has not left
	hashes []hash.Hash
	after  func() error
	err    error
}

func newContentReader(b *berReader, h berHeader, hashes []hash.Hash, after func() error) (*contentReader, error) {
	c := &contentReader{b: b, hashes: hashes, after: after}
	if !h.constructed {
		c.seg = h.length
		return c, nil
	}
	if err := b.enter(h); err != nil {
		return nil, err
	}
	c.depth = 1
	return c, nil
}

func (c *contentReader) Read(p []byte) (int, error) {
	for c.seg == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.advance()
	}
	if int64(len(p)) > c.seg {
		p = p[:c.seg]
	}
	n, err := c.b.r.Read(p)
	c.b.pos += int64(n)
	c.seg -= int64(n)
	for _, h := range c.hashes {
		h.Write(p[:n])
	}
	if err != nil && n == 0 {
		c.err = c.b.eof(err)
		if err == io.EOF {
			c.err = c.b.eof(io.ErrUnexpectedEOF)
		}
		return 0, c.err
	}
	return n, nil
}

// advance moves to the next segment, or ends the content.
func (c *contentReader) advance() {
	if c.depth == 0 {
		c.err = io.EOF
		if c.after != nil {
			if err := c.after(); err != nil {
				c.err = err
			}
		}
		return
	}
	more, err := c.b.more()
	if err != nil {
		c.err = err
		return
	}
	if !more {
		if c.err = c.b.leave(); c.err == nil {
			c.depth--
		}
		return
	}
	h, err := c.b.next()
	if err != nil {
		c.err = err
		return
	}
	switch h.tag {
	case tagOctetString:
		c.seg = h.length
	case tagOctetCons:
		if c.err = c.b.enter(h); c.err == nil {
			c.depth++
		}
	default:
		c.err = c.b.fail("segment of a constructed OCTET STRING has tag 0x%02x", h.tag)
	}
}
