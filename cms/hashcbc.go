package cms

import (
	"crypto"
	"encoding"
	"encoding/binary"
	"hash"
)

// hashCBC feeds the plaintext to the content digest and the cipher in one
// pass where the CPU can (SHA-256 with AES-256-CBC on amd64 with the AES
// and SHA extensions, sha256cbc_amd64.s): sealing spends its time in these
// two, and run interleaved they cost what the cipher costs alone.
//
// The digest stays a crypto/sha256 hash: it takes the bytes before the
// next 64-byte boundary and after the last one, and its chaining value is
// moved in and out of the loop through its binary marshaling. That state
// format is the standard library's; if it is ever not the one expected,
// hashCBC falls back to the two separate passes instead of guessing.
type hashCBC struct {
	hash   hash.Hash
	hashed int64 // bytes written to hash, in either way
	cbc    *cbcWriter
	kernel func(h *[8]uint32, dst, src, hsrc []byte)
	state  [sha256State]byte
}

// sha256State is the size of crypto/sha256's marshaled state: "sha\x03",
// the eight chaining words, one block of pending input and the length,
// big endian.
const sha256State = 4 + 8*4 + 64 + 8

// minOnePass is the least bulk worth moving the digest's state for.
const minOnePass = 1 << 10

// newHashCBC returns nil when the one-pass loop does not apply.
func newHashCBC(h hash.Hash, alg crypto.Hash, c *cbcWriter) *hashCBC {
	if alg != crypto.SHA256 || h == nil {
		return nil
	}
	kernel := sha256CBCKernel(c.mode)
	if kernel == nil {
		return nil
	}
	if _, ok := h.(encoding.BinaryAppender); !ok {
		return nil
	}
	if _, ok := h.(encoding.BinaryUnmarshaler); !ok {
		return nil
	}
	return &hashCBC{hash: h, cbc: c, kernel: kernel}
}

// write hashes and encrypts p. The digest and the cipher consume p from
// different offsets: each first takes what brings it to its own boundary
// (64 bytes of input for SHA-256; an empty buffer for CBC), then both run
// over the same number of bytes in the loop, then each takes its rest.
func (s *hashCBC) write(p []byte) error {
	defer func() { s.hashed += int64(len(p)) }()
	a := min(int(-s.hashed&63), len(p))
	s.hash.Write(p[:a])
	b := min((16-len(s.cbc.buf)%16)%16, len(p))
	if _, err := s.cbc.Write(p[:b]); err != nil {
		return err
	}
	bulk := (len(p) - max(a, b)) &^ 63
	if bulk >= minOnePass {
		if h, ok := s.load(); ok {
			if len(s.cbc.buf) > 0 {
				if err := s.cbc.flush(len(s.cbc.buf)); err != nil {
					return err
				}
			}
			for off := 0; off < bulk; {
				n := min(bulk-off, cap(s.cbc.buf)&^63)
				out := s.cbc.output(n)
				s.kernel(&h, out, p[b+off:b+off+n], p[a+off:a+off+n])
				if _, err := s.cbc.w.Write(out); err != nil {
					return err
				}
				off += n
			}
			s.store(&h, bulk)
			a += bulk
			b += bulk
		}
	}
	s.hash.Write(p[a:])
	_, err := s.cbc.Write(p[b:])
	return err
}

// load reads the digest's chaining value; false if the state is not at a
// block boundary or not in the expected format.
func (s *hashCBC) load() (h [8]uint32, ok bool) {
	st, err := s.hash.(encoding.BinaryAppender).AppendBinary(s.state[:0])
	if err != nil || len(st) != sha256State || string(st[:4]) != "sha\x03" ||
		binary.BigEndian.Uint64(st[sha256State-8:])%64 != 0 {
		return h, false
	}
	for i := range h {
		h[i] = binary.BigEndian.Uint32(st[4+4*i:])
	}
	return h, true
}

// store puts the chaining value back after n more bytes were hashed.
func (s *hashCBC) store(h *[8]uint32, n int) {
	st := s.state[:]
	for i, v := range h {
		binary.BigEndian.PutUint32(st[4+4*i:], v)
	}
	length := binary.BigEndian.Uint64(st[sha256State-8:]) + uint64(n)
	binary.BigEndian.PutUint64(st[sha256State-8:], length)
	if err := s.hash.(encoding.BinaryUnmarshaler).UnmarshalBinary(st); err != nil {
		panic("cms: crypto/sha256 refused its own state: " + err.Error())
	}
}
