package viewer

import (
	"container/list"
	"sync"

	"github.com/securemedia/securemedia/pixeldata"
)

// frameCache keeps the last frames served, so that a slice's frame asked
// for right after its attributes (/info reads it anyway), or again, does not
// decrypt the whole file once more. It holds decrypted pixels
// in memory only, bounded in bytes.
type frameCache struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	order *list.List // of *cachedFrame, most recent first
	byKey map[frameKey]*list.Element
}

type frameKey struct {
	series string
	index  int
	frame  int
}

type cachedFrame struct {
	key  frameKey
	info *pixeldata.Info
	pix  []byte
}

// frameCacheBytes bounds the cache: a few hundred CT slices, or a handful
// of large radiographs.
const frameCacheBytes = 64 << 20

func newFrameCache(max int64) *frameCache {
	return &frameCache{max: max, order: list.New(), byKey: map[frameKey]*list.Element{}}
}

func (c *frameCache) get(k frameKey) (*pixeldata.Info, []byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[k]
	if !ok {
		return nil, nil, false
	}
	c.order.MoveToFront(e)
	f := e.Value.(*cachedFrame)
	return f.info, f.pix, true
}

func (c *frameCache) put(k frameKey, in *pixeldata.Info, pix []byte) {
	if int64(len(pix)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = c.order.PushFront(&cachedFrame{key: k, info: in, pix: pix})
	c.bytes += int64(len(pix))
	for c.bytes > c.max {
		old := c.order.Remove(c.order.Back()).(*cachedFrame)
		delete(c.byKey, old.key)
		c.bytes -= int64(len(old.pix))
	}
}
