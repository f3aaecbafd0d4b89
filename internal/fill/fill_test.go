package fill

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

type cut struct{ r io.Reader }

func (c cut) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

// The end of a source is a short count; a source's own
// io.ErrUnexpectedEOF, or one stuck returning nothing, is an error.
func TestRead(t *testing.T) {
	b := make([]byte, 8)
	if n, err := Read(iotest.OneByteReader(bytes.NewReader([]byte("abc"))), b); n != 3 || err != nil {
		t.Errorf("short source: %d, %v; want 3, nil", n, err)
	}
	if n, err := Read(bytes.NewReader([]byte("abcdefghij")), b); n != 8 || err != nil {
		t.Errorf("long source: %d, %v; want 8, nil", n, err)
	}
	if n, err := Read(cut{bytes.NewReader([]byte("abc"))}, b); n != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("source cut short: %d, %v; want 3, io.ErrUnexpectedEOF", n, err)
	}
	if _, err := Read(stuck{}, b); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("stuck source: %v, want io.ErrNoProgress", err)
	}
	if n, err := Read(iotest.DataErrReader(bytes.NewReader([]byte("abc"))), b); n != 3 || err != nil {
		t.Errorf("data with EOF: %d, %v; want 3, nil", n, err)
	}
}
