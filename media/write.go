package media

import (
	"bytes"
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
			var r io.ReadCloser
			var err error
			switch {
			case e.Path == manifestName:
				r, err = p.manifestReader(hashes[:i])
			case e.source != "":
				r, err = p.sealFile(e)
			case e.Sealed:
				r, err = p.sealBytes(e.data)
			default:
				r = io.NopCloser(bytes.NewReader(e.data))
			}
			if err != nil {
				return nil, err
			}
			hashes[i] = new(fileDigest)
			return &checkedReader{r: r, path: e.Path, want: e.Size, h: sha256.New(), crc: crc32.New(castagnoli), sum: hashes[i], progress: progress}, nil
		}}
	}
	return out, pf.stop
}

// fileDigest is what is known of a file as written: the SHA-256 that goes
// into the manifest, and a CRC-32C (hardware-assisted, about ten times
// cheaper) for the read-back check, which looks for medium errors, not for
// an adversary.
type fileDigest struct {
	sha256 [32]byte
	crc    uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (p *Plan) manifestReader(hashes []*fileDigest) (io.ReadCloser, error) {
	entries := make([]manifestEntry, len(hashes))
	for j, h := range hashes {
		if h == nil {
			return nil, fmt.Errorf("media: the manifest must be written after %s", p.Entries[j].Path)
		}
		entries[j] = manifestEntry{path: p.Entries[j].Path, size: p.Entries[j].Size, sha256: h.sha256}
	}
	return p.sealBytes(encodeManifest(entries))
}

func (p *Plan) sealBytes(data []byte) (io.ReadCloser, error) {
	return newSealingReader(io.NopCloser(bytes.NewReader(data)), int64(len(data)), p.opts.Seal, p.opts.Recipients)
}

func (p *Plan) sealFile(e Entry) (io.ReadCloser, error) {
	f, err := os.Open(e.source)
	if err != nil {
		return nil, err
	}
	return newSealingReader(f, e.PlainSize, p.opts.Seal, p.opts.Recipients)
}

// sealingReader turns a plaintext reader into a reader of the sealed
// bytes, pulling plaintext as the consumer reads: no goroutine, and memory
// bounded by one chunk.
type sealingReader struct {
	src   io.ReadCloser
	w     io.WriteCloser
	out   bytes.Buffer
	chunk []byte
	done  bool
}

const sealChunk = 256 << 10

func newSealingReader(src io.ReadCloser, size int64, opts *cms.Options, rs []cms.Recipient) (*sealingReader, error) {
	s := &sealingReader{src: src, chunk: make([]byte, sealChunk)}
	w, err := cms.Encrypt(&s.out, size, opts, rs...)
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
			if _, werr := s.w.Write(s.chunk[:n]); werr != nil {
				return 0, werr
			}
		}
		if errors.Is(err, io.EOF) {
			s.done = true
			if err := s.w.Close(); err != nil {
				return 0, fmt.Errorf("%w (did the input change while it was read?)", err)
			}
		} else if err != nil {
			return 0, err
		}
	}
	return s.out.Read(p)
}

func (s *sealingReader) Close() error { return s.src.Close() }

// checkedReader checks the byte count, hashes, and reports progress.
type checkedReader struct {
	r        io.ReadCloser
	path     string
	want, n  int64
	h        hash.Hash
	crc      hash.Hash32
	sum      *fileDigest
	progress func(int64)
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	c.crc.Write(p[:n])
	c.progress(int64(n))
	if c.n > c.want {
		return n, fmt.Errorf("%s: more than the %d bytes planned", c.path, c.want)
	}
	if errors.Is(err, io.EOF) {
		if c.n != c.want {
			return n, fmt.Errorf("%s: %d bytes instead of the %d planned", c.path, c.n, c.want)
		}
		c.h.Sum(c.sum.sha256[:0])
		c.sum.crc = c.crc.Sum32()
	} else if err != nil {
		err = fmt.Errorf("%s: %w", c.path, err)
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.r.Close() }
