package atomicfile

import (
	"sync"
	"sync/atomic"
)

// How much newly written data triggers a background flush, measured on
// scripts/bench-burn.sh's 263 MB study (medians of 6-8 interleaved runs):
// an image (fsync) did best at 64 MiB (16 MiB: +0.03 s); a folder of 500
// files (syncfs) at 16 MiB (64 MiB: +0.03 s), because a syncfs also delays
// the creation of the next files while it runs, and a smaller one ends
// sooner.
const (
	flushAhead     = 64 << 20
	treeFlushAhead = 16 << 20
)

// flusher runs a flush (fsync of a file, syncfs of a tree) in the
// background while output is still being produced, at most one at a time.
//
// Why: starting writeback (sync_file_range) moves the data to the device,
// but the final fsync must still empty the device's volatile cache, and
// that costs in proportion to what the cache holds: about 0.11 s for a
// 263 MB image on the virtual disk we measure on, against 0.03 s when
// earlier flushes have run along the way (scripts/bench-burn.sh). The
// background flushes are only a head start: durability still comes from
// the flush in Commit, so their errors are ignored here (the final flush
// reports any that persist).
type flusher struct {
	flush func()
	once  sync.Once
	kick  chan struct{}
	done  chan struct{}
	runs  atomic.Int32 // flushes run, for the tests
}

func newFlusher(flush func()) *flusher { return &flusher{flush: flush} }

// poke asks for a flush without waiting; one already pending absorbs it.
// A nil flusher does nothing.
func (f *flusher) poke() {
	if f == nil {
		return
	}
	f.once.Do(func() {
		f.kick = make(chan struct{}, 1)
		f.done = make(chan struct{})
		go func() {
			defer close(f.done)
			for range f.kick {
				f.flush()
				f.runs.Add(1)
			}
		}()
	})
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// stop waits for the background flushes asked for so far to end. It must
// be called before the file is closed; poke must not be called after it.
func (f *flusher) stop() {
	if f == nil {
		return
	}
	f.once.Do(func() {}) // never started: nothing to stop
	if f.kick == nil {
		return
	}
	close(f.kick)
	<-f.done
}
