package cms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Cipher is a content (or key-encryption) cipher: a block cipher in CBC mode.
type Cipher int

// The ciphers PS3.15 D.1.1 names. AES-256-CBC is the default for writing;
// Triple-DES is for reading old media and for writing only on request.
const (
	AES256CBC Cipher = iota
	AES128CBC
	AES192CBC
	DES3CBC
)

type cipherInfo struct {
	name      string
	oid       asn1.ObjectIdentifier
	keyLen    int
	blockSize int
	new       func(key []byte) (cipher.Block, error)
}

var ciphers = map[Cipher]cipherInfo{
	AES128CBC: {"AES-128-CBC", oidAES128CBC, 16, aes.BlockSize, aes.NewCipher},
	AES192CBC: {"AES-192-CBC", oidAES192CBC, 24, aes.BlockSize, aes.NewCipher},
	AES256CBC: {"AES-256-CBC", oidAES256CBC, 32, aes.BlockSize, aes.NewCipher},
	DES3CBC:   {"DES-EDE3-CBC", oidDESEDE3, 24, des.BlockSize, des.NewTripleDESCipher},
}

func (c Cipher) info() (cipherInfo, error) {
	ci, ok := ciphers[c]
	if !ok {
		return cipherInfo{}, fmt.Errorf("%w: cipher %d", ErrUnsupported, int(c))
	}
	return ci, nil
}

// String names the cipher as OpenSSL does.
func (c Cipher) String() string {
	if ci, ok := ciphers[c]; ok {
		return ci.name
	}
	return fmt.Sprintf("Cipher(%d)", int(c))
}

// KeySize is the key length in bytes.
func (c Cipher) KeySize() int { return ciphers[c].keyLen }

// ParseCipher accepts the names the CLI offers: aes128, aes192, aes256, des3
// (and the OpenSSL spellings such as aes-256-cbc).
func ParseCipher(s string) (Cipher, error) {
	switch s {
	case "aes128", "aes-128-cbc", "AES-128-CBC":
		return AES128CBC, nil
	case "aes192", "aes-192-cbc", "AES-192-CBC":
		return AES192CBC, nil
	case "aes256", "aes-256-cbc", "AES-256-CBC", "":
		return AES256CBC, nil
	case "des3", "des-ede3-cbc", "DES-EDE3-CBC":
		return DES3CBC, nil
	}
	return 0, fmt.Errorf("%w: cipher %q (use aes128, aes192, aes256 or des3)", ErrUnsupported, s)
}

func cipherByOID(oid asn1.ObjectIdentifier) (Cipher, bool) {
	for c, ci := range ciphers {
		if ci.oid.Equal(oid) {
			return c, true
		}
	}
	return 0, false
}

// paddedSize is the CBC ciphertext size for n plaintext bytes: RFC 5652 §6.3
// padding always adds 1..blockSize bytes.
func paddedSize(n int64, blockSize int) int64 {
	return (n/int64(blockSize) + 1) * int64(blockSize)
}

// cbcWriter encrypts what is written to it and writes the ciphertext to w.
// Close adds the RFC 5652 §6.3 padding.
type cbcWriter struct {
	w      io.Writer
	mode   cipher.BlockMode
	buf    []byte // pending plaintext, less than one chunk
	pooled *[]byte
}

const cbcChunk = 64 << 10

func newCBCWriter(w io.Writer, mode cipher.BlockMode) *cbcWriter {
	bp := cbcChunks.Get().(*[]byte)
	return &cbcWriter{w: w, mode: mode, buf: (*bp)[:0], pooled: bp}
}

// cbcChunks recycles cbcWriter buffers: sealing a disc makes a writer per
// file, and fresh buffers were two fifths of what burn allocated.
var cbcChunks = sync.Pool{New: func() any {
	b := make([]byte, 0, cbcChunk)
	return &b
}}

// release returns the buffer to the pool; the writer must not be used
// after it.
func (c *cbcWriter) release() {
	if c.pooled != nil {
		*c.pooled = c.buf[:0]
		cbcChunks.Put(c.pooled)
		c.pooled, c.buf = nil, nil
	}
}

// newCBCEncrypter and newCBCDecrypter are CBC with the content cipher: an
// AES-NI loop for AES-256 where there is one (cbc_amd64.go), else the
// standard library's.
func newCBCEncrypter(ci cipherInfo, key, iv []byte) (cipher.BlockMode, error) {
	return newCBC(ci, key, iv, fastCBCEncrypter, cipher.NewCBCEncrypter)
}

func newCBCDecrypter(ci cipherInfo, key, iv []byte) (cipher.BlockMode, error) {
	return newCBC(ci, key, iv, fastCBCDecrypter, cipher.NewCBCDecrypter)
}

func newCBC(ci cipherInfo, key, iv []byte,
	fast func(cipherInfo, []byte, []byte) cipher.BlockMode,
	std func(cipher.Block, []byte) cipher.BlockMode) (cipher.BlockMode, error) {
	if m := fast(ci, key, iv); m != nil {
		return m, nil
	}
	block, err := ci.new(key)
	if err != nil {
		return nil, err
	}
	return std(block, iv), nil
}

func (c *cbcWriter) Write(p []byte) (int, error) {
	n := len(p)
	bs := c.mode.BlockSize()
	for len(p) > 0 {
		if len(c.buf) == 0 && len(p) >= bs {
			// Whole blocks go from p through the cipher straight into the
			// output: one pass over the bytes instead of a copy and then a
			// pass.
			k := min(len(p), cap(c.buf)) / bs * bs
			out := c.output(k)
			c.mode.CryptBlocks(out, p[:k])
			if _, err := c.w.Write(out); err != nil {
				return 0, err
			}
			p = p[k:]
			continue
		}
		k := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf = c.buf[:len(c.buf)+k]
		p = p[k:]
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(len(c.buf)); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// lender is a destination that lends its spare capacity, as bytes.Buffer
// and bufio.Writer do: ciphertext written there is then handed to its Write
// in place. Sealing into memory otherwise copies every byte once more,
// from buf to the destination.
type lender interface{ AvailableBuffer() []byte }

// output returns where the next k bytes of ciphertext should go: the
// destination's spare capacity when it lends enough, else buf.
func (c *cbcWriter) output(k int) []byte {
	if l, ok := c.w.(lender); ok {
		if a := l.AvailableBuffer(); cap(a) >= k {
			return a[:k]
		}
	}
	return c.buf[:k]
}

// flush encrypts and writes the first n bytes of buf (a block multiple).
func (c *cbcWriter) flush(n int) error {
	c.mode.CryptBlocks(c.buf[:n], c.buf[:n])
	if _, err := c.w.Write(c.buf[:n]); err != nil {
		return err
	}
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
	return nil
}

// Close pads and flushes the last blocks; it does not close w.
func (c *cbcWriter) Close() error {
	bs := c.mode.BlockSize()
	pad := bs - len(c.buf)%bs
	for i := 0; i < pad; i++ {
		c.buf = append(c.buf, byte(pad))
	}
	return c.flush(len(c.buf))
}

// cbcReader decrypts ciphertext from r. It holds back the last block until r
// reports EOF, then checks and strips the padding.
type cbcReader struct {
	r    io.Reader
	mode cipher.BlockMode
	bs   int
	buf  []byte // ciphertext read ahead, not yet decrypted
	dec  []byte // backing store for out, allocated once
	out  []byte // decrypted plaintext not yet returned
	err  error
}

// newCBCReaderBuffers returns a cbcReader that works in the caller's
// buffers, each at least cbcChunk plus one block long, dec at least as long
// as buf.
func newCBCReaderBuffers(r io.Reader, mode cipher.BlockMode, buf, dec []byte) *cbcReader {
	bs := mode.BlockSize()
	return &cbcReader{r: r, mode: mode, bs: bs, buf: buf[:0], dec: dec}
}

var errPadding = fmt.Errorf("%w: bad padding", ErrDamaged)

func (c *cbcReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.fill()
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// fill reads more ciphertext and decrypts all but the last block, or at EOF
// everything, removing the padding.
func (c *cbcReader) fill() {
	// Keep the bytes not yet decrypted (less than two blocks) at the front.
	n, err := io.ReadAtLeast(c.r, c.buf[len(c.buf):cap(c.buf)], 1)
	c.buf = c.buf[:len(c.buf)+n]
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
		return
	}
	if errors.Is(err, io.EOF) {
		c.finish()
		return
	}
	// Decrypt whole blocks, keeping at least one block back for the padding check.
	k := (len(c.buf) - 1) / c.bs * c.bs
	if k == 0 {
		return
	}
	c.mode.CryptBlocks(c.buf[:k], c.buf[:k])
	c.out = c.dec[:copy(c.dec, c.buf[:k])]
	c.buf = c.buf[:copy(c.buf, c.buf[k:])]
}

func (c *cbcReader) finish() {
	if len(c.buf) == 0 || len(c.buf)%c.bs != 0 {
		c.err = fmt.Errorf("%w: ciphertext is not a whole number of blocks", ErrDamaged)
		return
	}
	c.mode.CryptBlocks(c.buf, c.buf)
	pad := int(c.buf[len(c.buf)-1])
	if pad == 0 || pad > c.bs {
		c.err = errPadding
		return
	}
	for _, v := range c.buf[len(c.buf)-pad:] {
		if int(v) != pad {
			c.err = errPadding
			return
		}
	}
	c.out = c.dec[:copy(c.dec, c.buf[:len(c.buf)-pad])]
	c.buf = c.buf[:0]
	c.err = io.EOF
}

// MarshalText names the cipher (for JSON output).
func (c Cipher) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
