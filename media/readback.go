package media

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"runtime"
	"sync"
)

// CheckWritten reads the written medium back (a folder, or an ISO image
// through the ISO reader) and compares every file with what was written:
// size and CRC-32C. It needs no key: the checksums are the ones computed
// while writing.
func (p *Plan) CheckWritten(path string) (int, error) {
	if len(p.written) != len(p.Entries) {
		return 0, fmt.Errorf("media: nothing written yet")
	}
	d, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	// Hashing is the cost; the files are independent, so use every core.
	idx := make(chan int)
	errs := make(chan error, len(p.Entries))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				errs <- p.checkOne(d, i)
			}
		}()
	}
	for i := range p.Entries {
		idx <- i
	}
	close(idx)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return len(p.Entries), nil
}

// readBack is CheckWritten for the writers, which run it before they
// publish the medium.
func (p *Plan) readBack(path string) error {
	if _, err := p.CheckWritten(path); err != nil {
		return fmt.Errorf("read-back check failed: %w", err)
	}
	return nil
}

func (p *Plan) checkOne(d *Disc, i int) error {
	e := p.Entries[i]
	if p.written[i] == nil {
		return fmt.Errorf("%s was not written", e.Path)
	}
	f, err := d.Open(e.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: missing on the medium", e.Path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if n != e.Size || h.Sum32() != p.written[i].crc {
		return fmt.Errorf("%s: reads back different from what was written", e.Path)
	}
	return nil
}
