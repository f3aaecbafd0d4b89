package media

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"sync"
)

// Sealing is CPU-bound (SHA-256 for the DigestedData, AES-CBC, SHA-256 for
// the manifest) and the files of a disc are independent, so workers seal
// upcoming files into memory while the sink writes the current one. The
// sink still receives the files strictly in order. Memory stays bounded:
// only files up to prefetchMax are prefetched, and the bytes in flight never
// exceed prefetchBudget; larger files are sealed as a stream when their turn
// comes.
const (
	prefetchMax    = 16 << 20
	prefetchBudget = 16 << 20
	budgetUnit     = 1 << 20
)

type sealed struct {
	data []byte
	sum  fileDigest
	err  error
}

type prefetcher struct {
	results []chan sealed // one per entry; nil when the entry is not prefetched
	tokens  chan struct{} // budgetUnit each
	cancel  context.CancelFunc
}

func prefetchable(e Entry) bool { return e.source != "" && e.Size <= prefetchMax }

func units(size int64) int { return int((size + budgetUnit - 1) / budgetUnit) }

// startPrefetch launches the workers; stop must be called when writing ends.
func (p *Plan) startPrefetch() *prefetcher {
	ctx, cancel := context.WithCancel(context.Background())
	pf := &prefetcher{results: make([]chan sealed, len(p.Entries)), tokens: make(chan struct{}, prefetchBudget/budgetUnit), cancel: cancel}
	for range cap(pf.tokens) {
		pf.tokens <- struct{}{}
	}
	jobs := make(chan int)
	for i, e := range p.Entries {
		if prefetchable(e) {
			pf.results[i] = make(chan sealed, 1)
		}
	}
	go func() { // dispatch in order, within the budget
		defer close(jobs)
		for i, e := range p.Entries {
			if pf.results[i] == nil {
				continue
			}
			for range units(e.Size) {
				select {
				case <-pf.tokens:
				case <-ctx.Done():
					return
				}
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	// One worker more than cores: the sink's goroutine spends much of its
	// time blocked in write(2), when a core would otherwise idle.
	for range runtime.GOMAXPROCS(0) + 1 {
		go func() {
			chunk := make([]byte, sealChunk) // one plaintext buffer per worker
			for i := range jobs {
				pf.results[i] <- p.sealToMemory(p.Entries[i], chunk)
			}
		}()
	}
	return pf
}

func (pf *prefetcher) stop() { pf.cancel() }

// release returns an entry's budget once the sink has consumed it.
func (pf *prefetcher) release(size int64) {
	for range units(size) {
		pf.tokens <- struct{}{}
	}
}

// bufferPools recycle prefetch buffers by size class (budget units): fresh
// memory costs a page fault per 4 KiB and keeps the heap growing, reused
// memory costs nothing.
var bufferPools [prefetchMax/budgetUnit + 1]sync.Pool

func getBuffer(size int64) []byte {
	class := units(size)
	if b, ok := bufferPools[class].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, class*budgetUnit)
}

func putBuffer(b []byte) {
	b = b[:0]
	bufferPools[units(int64(cap(b)))].Put(&b)
}

func (p *Plan) sealToMemory(e Entry, chunk []byte) sealed {
	f, err := os.Open(e.source)
	if err != nil {
		return sealed{err: err}
	}
	defer f.Close()
	buf := bytes.NewBuffer(getBuffer(e.Size))
	var s sealed
	if err := p.seal(buf, f, e.PlainSize, &s.sum, chunk); err != nil {
		return sealed{err: err}
	}
	s.data = buf.Bytes()
	s.sum.crc = crc32.Checksum(s.data, castagnoli)
	return s
}

// prefetchedReader hands a prefetched file to the sink and returns its
// budget when done.
type prefetchedReader struct {
	r        *bytes.Reader
	buf      []byte
	size     int64
	pf       *prefetcher
	progress func(int64)
	released bool
}

func (r *prefetchedReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.progress(int64(n))
	if err == io.EOF {
		r.Close()
	}
	return n, err
}

// WriteTo hands the whole file to the sink in one write.
func (r *prefetchedReader) WriteTo(w io.Writer) (int64, error) {
	n, err := r.r.WriteTo(w)
	r.progress(n)
	r.Close()
	return n, err
}

func (r *prefetchedReader) Close() error {
	if !r.released {
		r.released = true
		putBuffer(r.buf)
		r.pf.release(r.size)
	}
	return nil
}
