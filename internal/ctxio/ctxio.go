// Package ctxio stops long copies when their context ends: a reader that
// fails with the context's error once it is done, so that a Ctrl-C stops
// a multi-gigabyte copy within one buffer instead of at its end.
package ctxio

import (
	"context"
	"io"
)

// Reader returns r, whose reads fail with ctx's error once ctx is done.
// A read already under way finishes first: the copy stops within one
// buffer's worth.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r // never cancelled
	}
	return &reader{ctx: ctx, r: r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c *reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
