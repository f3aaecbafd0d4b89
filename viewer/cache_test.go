package viewer

import (
	"testing"

	"github.com/securemedia/securemedia/pixeldata"
)

func TestFrameCacheStaysWithinItsBudget(t *testing.T) {
	c := newFrameCache(1000)
	in := &pixeldata.Info{}
	for i := range 5 {
		c.put(frameKey{"s", i, 0}, in, make([]byte, 300))
	}
	if c.bytes > 1000 {
		t.Fatalf("cache holds %d bytes, budget 1000", c.bytes)
	}
	if _, _, ok := c.get(frameKey{"s", 0, 0}); ok {
		t.Error("the oldest frame should have been evicted")
	}
	if _, pix, ok := c.get(frameKey{"s", 4, 0}); !ok || len(pix) != 300 {
		t.Error("the newest frame is missing")
	}
	// Recently used frames survive; a frame over the whole budget is not kept.
	c.get(frameKey{"s", 2, 0})
	c.put(frameKey{"s", 5, 0}, in, make([]byte, 300))
	if _, _, ok := c.get(frameKey{"s", 2, 0}); !ok {
		t.Error("a frame just used was evicted before older ones")
	}
	c.put(frameKey{"s", 9, 0}, in, make([]byte, 2000))
	if _, _, ok := c.get(frameKey{"s", 9, 0}); ok || c.bytes > 1000 {
		t.Error("an oversized frame was cached")
	}
}
