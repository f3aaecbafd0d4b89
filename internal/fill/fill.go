// Package fill reads a buffer full, telling a source's end from a source
// cut short. io.ReadFull cannot: it answers io.ErrUnexpectedEOF both when
// the source ended mid-buffer (its normal last chunk) and when the source
// itself reported io.ErrUnexpectedEOF (a file found truncated, an
// association cut), so a caller that takes the first for an end takes
// the second for one too, and a truncated instance goes on as complete.
package fill

import "io"

// maxEmptyReads bounds reads that return nothing and no error (io.Reader
// allows them, discourages them): a source stuck like that is an error.
const maxEmptyReads = 100

// Read fills b from r. A short n with a nil error means r ended (io.EOF);
// any other error of r is returned as it is, io.ErrUnexpectedEOF included.
func Read(r io.Reader, b []byte) (n int, err error) {
	empty := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, nil
		case err != nil:
			return n, err
		case m > 0:
			empty = 0
		default:
			if empty++; empty > maxEmptyReads {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}
