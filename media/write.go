package media

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"github.com/securemedia/securemedia/cms"
)

// source is one file of the medium being written: its entry and a reader
// of its bytes as recorded (sealed when the entry is).
type source struct {
	Entry
	open func() (io.ReadCloser, error)
}

// sources returns the files in writing order, and a stop function to call
// when writing ends. Each reader checks that it yields exactly Entry.Size
// bytes and records its SHA-256 for the manifest, which comes last and is
// built from those records. Small DICOM files are sealed ahead in parallel
// (see prefetch.go).
func (p *Plan) sources(progress func(int64)) ([]source, func()) {
	if progress == nil {
		progress = func(int64) {}
	}
	pf := p.startPrefetch()
	hashes := make([]*fileDigest, len(p.Entries))
	p.written = hashes
	out := make([]source, len(p.Entries))
	for i, e := range p.Entries {
		out[i] = source{Entry: e, open: func() (io.ReadCloser, error) {
			if ch := pf.results[i]; ch != nil {
				res := <-ch
				if res.err != nil {
					pf.release(e.Size) // the buffer is garbage
					return nil, fmt.Errorf("%s: %w", e.source, res.err)
				}
				if int64(len(res.data)) != e.Size {
					pf.release(e.Size)
					return nil, fmt.Errorf("%s: %d bytes instead of the %d planned", e.Path, len(res.data), e.Size)
				}
				hashes[i] = &res.sum
				return &prefetchedReader{r: bytes.NewReader(res.data), buf: res.data, size: e.Size, pf: pf, progress: progress}, nil
			}
			sum := new(fileDigest)
			var r io.ReadCloser
			var err error
			switch {
			case e.Path == manifestName:
				r, err = p.manifestReader(hashes[:i], sum)
			case e.source != "":
				r, err = p.sealFile(e, sum)
			case e.plainFile != "":
				r, err = openPlainFile(e.plainFile, sum)
			case e.Sealed:
				r, err = p.sealBytes(e.data, sum)
			default:
				r = io.NopCloser(bytes.NewReader(e.data))
				sum.sha256 = sha256.Sum256(e.data)
			}
			if err != nil {
				return nil, err
			}
			hashes[i] = sum
			return &checkedReader{r: r, path: e.Path, want: e.Size, crc: crc32.New(castagnoli), sum: sum, progress: progress}, nil
		}}
	}
	return out, pf.stop
}

// fileDigest is what is known of a file as written: the SHA-256 of its
// content (the DICOM File inside a sealed file, which the DigestedData has
// computed already; the bytes of a plain one) for the manifest, and a
// CRC-32C of the bytes as recorded (hardware-assisted, about ten times
// cheaper than SHA-256) for the read-back check, which looks for medium
// errors, not for an adversary.
type fileDigest struct {
	sha256 [32]byte
	crc    uint32
}

// seal encrypts size bytes of src into dst, reading through chunk, and
// records the SHA-256 of the plaintext in sum: the one the DigestedData
// computed when it uses SHA-256, else one computed on the way.
func (p *Plan) seal(dst io.Writer, src io.Reader, size int64, sum *fileDigest, chunk []byte) error {
	var own hash.Hash
	if !p.sealsWithSHA256() {
		own = sha256.New()
		src = io.TeeReader(src, own)
	}
	w, err := cms.Encrypt(dst, size, p.opts.Seal, p.opts.Recipients...)
	if err != nil {
		return err
	}
	// Hide an *os.File's WriteTo, which would copy through a fresh 32 KiB
	// buffer of its own for every file.
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{src}, chunk); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%w (did the input change while it was read?)", err)
	}
	if own != nil {
		own.Sum(sum.sha256[:0])
	} else {
		_, d := w.Digest()
		copy(sum.sha256[:], d)
	}
	return nil
}

// sealsWithSHA256 tells whether the sealed content carries a SHA-256 digest.
func (p *Plan) sealsWithSHA256() bool {
	o := p.opts.Seal
	return o == nil || !o.PlainData && (o.Digest == 0 || o.Digest == crypto.SHA256)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (p *Plan) manifestReader(hashes []*fileDigest, sum *fileDigest) (io.ReadCloser, error) {
	entries := make([]manifestEntry, len(hashes))
	for j, h := range hashes {
		if h == nil {
			return nil, fmt.Errorf("media: the manifest must be written after %s", p.Entries[j].Path)
		}
		entries[j] = manifestEntry{path: p.Entries[j].Path, size: p.Entries[j].Size, sha256: h.sha256}
	}
	return p.sealBytes(encodeManifest(entries), sum)
}

func (p *Plan) sealBytes(data []byte, sum *fileDigest) (io.ReadCloser, error) {
	return p.newSealingReader(io.NopCloser(bytes.NewReader(data)), int64(len(data)), sum)
}

func (p *Plan) sealFile(e Entry, sum *fileDigest) (io.ReadCloser, error) {
	f, err := os.Open(e.source)
	if err != nil {
		return nil, err
	}
	return p.newSealingReader(f, e.PlainSize, sum)
}

// sealingReader turns a plaintext reader into a reader of the sealed
// bytes, pulling plaintext as the consumer reads: no goroutine, and memory
// bounded by one chunk. At the end it records the content digest in sum.
type sealingReader struct {
	src   io.ReadCloser
	own   hash.Hash // SHA-256 of the plaintext when the envelope has none
	w     *cms.Writer
	sum   *fileDigest
	out   bytes.Buffer
	chunk []byte
	done  bool
}

const sealChunk = 256 << 10

func (p *Plan) newSealingReader(src io.ReadCloser, size int64, sum *fileDigest) (*sealingReader, error) {
	s := &sealingReader{src: src, sum: sum, chunk: make([]byte, sealChunk)}
	if !p.sealsWithSHA256() {
		s.own = sha256.New()
	}
	w, err := cms.Encrypt(&s.out, size, p.opts.Seal, p.opts.Recipients...)
	if err != nil {
		src.Close()
		return nil, err
	}
	s.w = w
	return s, nil
}

func (s *sealingReader) Read(p []byte) (int, error) {
	for s.out.Len() == 0 {
		if s.done {
			return 0, io.EOF
		}
		n, err := s.src.Read(s.chunk)
		if n > 0 {
			if s.own != nil {
				s.own.Write(s.chunk[:n])
			}
			if _, werr := s.w.Write(s.chunk[:n]); werr != nil {
				return 0, werr
			}
		}
		if errors.Is(err, io.EOF) {
			if err := s.finish(); err != nil {
				return 0, err
			}
		} else if err != nil {
			return 0, err
		}
	}
	return s.out.Read(p)
}

func (s *sealingReader) finish() error {
	s.done = true
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("%w (did the input change while it was read?)", err)
	}
	if s.own != nil {
		s.own.Sum(s.sum.sha256[:0])
	} else {
		_, d := s.w.Digest()
		copy(s.sum.sha256[:], d)
	}
	return nil
}

func (s *sealingReader) Close() error { return s.src.Close() }

// checkedReader checks the byte count, computes the CRC of the recorded
// bytes, and reports progress.
type checkedReader struct {
	r        io.ReadCloser
	path     string
	want, n  int64
	crc      hash.Hash32
	sum      *fileDigest
	progress func(int64)
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.crc.Write(p[:n])
	c.progress(int64(n))
	if c.n > c.want {
		return n, fmt.Errorf("%s: more than the %d bytes planned", c.path, c.want)
	}
	if errors.Is(err, io.EOF) {
		if c.n != c.want {
			return n, fmt.Errorf("%s: %d bytes instead of the %d planned", c.path, c.n, c.want)
		}
		c.sum.crc = c.crc.Sum32()
	} else if err != nil {
		err = fmt.Errorf("%s: %w", c.path, err)
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.r.Close() }
