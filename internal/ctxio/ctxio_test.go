package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

func TestReaderStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader(ctx, bytes.NewReader(make([]byte, 10)))
	buf := make([]byte, 4)
	if n, err := r.Read(buf); n != 4 || err != nil {
		t.Fatalf("before cancel: %d, %v", n, err)
	}
	cancel()
	if n, err := r.Read(buf); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %d, %v; want 0, context.Canceled", n, err)
	}
}

func TestReaderWithoutCancellationIsTheReader(t *testing.T) {
	src := bytes.NewReader(nil)
	if r := Reader(context.Background(), src); r != io.Reader(src) {
		t.Fatal("a context that cannot end should not wrap the reader")
	}
}
