package dimse

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/securemedia/securemedia/internal/fill"
)

// Implementation identification sent in every A-ASSOCIATE (PS3.7 §D.3.3.2).
// The root is a UUID-derived UID (PS3.5 §B.2), so it needs no registration.
const (
	ImplClassUID = "2.25.207430987114953381316339563024584013061"
	ImplVersion  = "SECUREMEDIA_1"
)

// Default limits. DefaultMaxPDU is what we announce we can receive: large
// enough for throughput, small enough that one PDU of buffering is cheap.
const (
	DefaultMaxPDU  = 1 << 20
	DefaultTimeout = 60 * time.Second
	DefaultARTIM   = 30 * time.Second
)

// Assoc is an established association, either side. It is not safe for
// concurrent use: DIMSE operations on it run one at a time.
type Assoc struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	// timeout bounds every single PDU read or write, never the whole
	// association (PS3.8 §9.1.5 leaves the timers to the implementation).
	timeout time.Duration
	artim   time.Duration
	// ourMax is the P-DATA size we accept, peerMax what the peer does.
	ourMax, peerMax uint32
	// contexts are the presentation contexts as negotiated, by ID.
	contexts map[byte]presentationContext
	// peer is the peer's A-ASSOCIATE PDU (its AE titles, implementation).
	peer   *associate
	msgID  uint16
	queue  []pdv // PDVs of a received P-DATA-TF not consumed yet
	bufs   [2][]byte
	closed bool
	// cutoff, when not zero, is a time (UnixNano) no read may wait past:
	// set from another goroutine when an operation is cancelled.
	cutoff atomic.Int64
}

func newAssoc(c net.Conn, timeout, artim time.Duration, ourMax uint32) *Assoc {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if artim <= 0 {
		artim = DefaultARTIM
	}
	if ourMax == 0 {
		ourMax = DefaultMaxPDU
	}
	return &Assoc{conn: c, br: bufio.NewReaderSize(c, 64<<10), bw: bufio.NewWriterSize(c, 64<<10),
		timeout: timeout, artim: artim, ourMax: ourMax, contexts: map[byte]presentationContext{}}
}

// read reads one PDU within d.
func (a *Assoc) read(d time.Duration) (byte, []byte, error) {
	if err := a.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, nil, err
	}
	// Checked after setting the deadline: a cutOff racing with us has
	// either set its deadline after ours or stored its time before this.
	if c := a.cutoff.Load(); c != 0 && time.Unix(0, c).Before(time.Now().Add(d)) {
		_ = a.conn.SetReadDeadline(time.Unix(0, c))
	}
	return readPDU(a.br, a.ourMax)
}

// cutOff makes every read, the one under way included, end by t. It is
// safe to call from another goroutine.
func (a *Assoc) cutOff(t time.Time) {
	a.cutoff.Store(t.UnixNano())
	_ = a.conn.SetReadDeadline(t)
}

// write writes the byte slices as one PDU within Timeout and flushes.
func (a *Assoc) write(parts ...[]byte) error {
	if err := a.conn.SetWriteDeadline(time.Now().Add(a.timeout)); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := a.bw.Write(p); err != nil {
			return err
		}
	}
	return a.bw.Flush()
}

// Abort sends A-ABORT (source 0: service user) and closes the connection.
func (a *Assoc) Abort() {
	if a.closed {
		return
	}
	_ = a.write(encodeAbort(0, 0))
	a.close()
}

// abortProvider aborts because the peer broke the protocol (source 2).
func (a *Assoc) abortProvider() {
	_ = a.write(encodeAbort(2, 0))
	a.close()
}

func (a *Assoc) close() {
	a.closed = true
	a.conn.Close()
}

// Release performs an orderly A-RELEASE (PS3.8 §7.2) and closes the
// connection. The reply is awaited for at most ARTIM.
func (a *Assoc) Release() error {
	if a.closed {
		return errors.New("association already closed")
	}
	defer a.close()
	if err := a.write(encodeRelease(typeReleaseRQ)); err != nil {
		return err
	}
	for {
		typ, body, err := a.read(a.artim)
		if err != nil {
			return fmt.Errorf("waiting for A-RELEASE-RP: %w", err)
		}
		switch typ {
		case typeReleaseRP:
			return nil
		case typeAbort:
			return decodeAbort(body)
		case typePData:
			continue // late data from the peer is dropped during release
		default:
			return protoErr("PDU type %#x while releasing", typ)
		}
	}
}

// errReleased is returned by nextPDV when the peer asked to release.
var errReleased = errors.New("association released by the peer")

// nextPDV returns the next PDV, reading P-DATA-TF PDUs as needed. A
// release request from the peer is answered and reported as errReleased.
func (a *Assoc) nextPDV(wait time.Duration) (pdv, error) {
	for len(a.queue) == 0 {
		typ, body, err := a.read(wait)
		if err != nil {
			a.close()
			return pdv{}, err
		}
		switch typ {
		case typePData:
			pdvs, err := decodePData(body)
			if err != nil {
				a.abortProvider()
				return pdv{}, err
			}
			a.queue = pdvs
		case typeReleaseRQ:
			_ = a.write(encodeRelease(typeReleaseRP))
			a.close()
			return pdv{}, errReleased
		case typeAbort:
			a.close()
			return pdv{}, decodeAbort(body)
		default:
			a.abortProvider()
			return pdv{}, protoErr("unexpected PDU type %#x during data transfer", typ)
		}
	}
	p := a.queue[0]
	a.queue = a.queue[1:]
	return p, nil
}

// readCommand assembles the next command set (PS3.8 Annex E: fragments
// of one message arrive in order, the command before its data set).
func (a *Assoc) readCommand(wait time.Duration) (*command, byte, error) {
	var buf []byte
	var ctxID byte
	for first := true; ; first = false {
		p, err := a.nextPDV(wait)
		if err != nil {
			return nil, 0, err
		}
		if !p.command || (!first && p.ContextID != ctxID) {
			a.abortProvider()
			return nil, 0, protoErr("expected a command fragment on context %d", ctxID)
		}
		if _, ok := a.contexts[p.ContextID]; !ok {
			a.abortProvider()
			return nil, 0, protoErr("PDV on unknown presentation context %d", p.ContextID)
		}
		ctxID = p.ContextID
		if len(buf)+len(p.Data) > maxCommandBytes {
			a.abortProvider()
			return nil, 0, protoErr("command set longer than %d bytes", maxCommandBytes)
		}
		buf = append(buf, p.Data...)
		if p.Last {
			break
		}
		wait = a.timeout
	}
	c, err := decodeCommand(buf)
	if err != nil {
		a.abortProvider()
	}
	return c, ctxID, err
}

// dataReader streams the data set fragments that follow a command on
// context ctxID; it returns io.EOF after the last fragment.
type dataReader struct {
	a     *Assoc
	ctxID byte
	cur   []byte
	done  bool
	err   error
}

func (d *dataReader) Read(b []byte) (int, error) {
	for len(d.cur) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		p, err := d.a.nextPDV(d.a.timeout)
		switch {
		case errors.Is(err, io.EOF):
			// The peer closed the connection between two PDUs: the data
			// set is cut short. Never io.EOF, which a reader's consumer
			// (io.Copy) takes for the data set's end: the part received
			// would be stored as if it were the whole instance.
			d.err = fmt.Errorf("the connection closed in the middle of a data set: %w", io.ErrUnexpectedEOF)
		case err != nil:
			d.err = err
		case p.command || p.ContextID != d.ctxID:
			d.a.abortProvider()
			d.err = protoErr("expected a data set fragment on context %d", d.ctxID)
		default:
			d.cur, d.done = p.Data, p.Last
		}
	}
	n := copy(b, d.cur)
	d.cur = d.cur[n:]
	return n, nil
}

// drain consumes what a handler did not read, to stay in step.
func (d *dataReader) drain() error {
	_, err := io.Copy(io.Discard, d)
	return err
}

// sendCommand sends an encoded command set as PDVs on ctxID.
func (a *Assoc) sendCommand(ctxID byte, c *command) error {
	b, err := c.encode()
	if err != nil {
		return err
	}
	size := a.fragmentSize()
	for {
		n := min(size, len(b))
		if err := a.writePDV(pdataHeader(ctxID, true, n == len(b), n), b[:n]); err != nil {
			return err
		}
		if b = b[n:]; len(b) == 0 {
			return nil
		}
	}
}

type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// fragmentSize is the largest PDV data that fits the peer's maximum
// length with one PDV per PDU (PS3.8 §9.3.5: item length 4, context ID 1,
// control header 1).
func (a *Assoc) fragmentSize() int {
	m := a.peerMax
	if m == 0 || m > DefaultMaxPDU*4 {
		m = DefaultMaxPDU * 4 // 0 means unlimited; keep PDUs bounded anyway
	}
	if m < 64 {
		m = 64
	}
	// Even, because some peers (dcmtk) reject odd fragments (PS3.5 §7.1
	// keeps every element even, so even fragments are always possible).
	return (int(m) - 6) &^ 1
}

// sendFragments streams r as PDVs of at most fragmentSize bytes, marking
// the last one. An empty r still sends one (empty) last fragment. It reads
// one fragment ahead (two buffers) to know which fragment is the last,
// without copying the data through another buffer.
func (a *Assoc) sendFragments(ctxID byte, command bool, r io.Reader) error {
	size := a.fragmentSize()
	if len(a.bufs[0]) != size { // reused across messages: one pair per association
		a.bufs = [2][]byte{make([]byte, size), make([]byte, size)}
	}
	cur, next := a.bufs[0], a.bufs[1]
	n, err := readChunk(r, cur)
	if err != nil {
		return err
	}
	for {
		m := 0
		if n == size {
			if m, err = readChunk(r, next); err != nil {
				return err
			}
		}
		last := m == 0
		if werr := a.writePDV(pdataHeader(ctxID, command, last, n), cur[:n]); werr != nil {
			return werr
		}
		if last {
			return nil
		}
		cur, next, n = next, cur, m
	}
}

// readChunk fills b as far as r allows; a short count means r is done.
// A source that reports itself cut short is an error (see package fill).
func readChunk(r io.Reader, b []byte) (int, error) {
	n, err := fill.Read(r, b)
	if err != nil {
		return n, &sourceError{err}
	}
	return n, nil
}

// writePDV writes a P-DATA-TF PDU with one gather write (writev), so the
// data is not copied into the write buffer.
func (a *Assoc) writePDV(hdr, data []byte) error {
	if err := a.conn.SetWriteDeadline(time.Now().Add(a.timeout)); err != nil {
		return err
	}
	if err := a.bw.Flush(); err != nil {
		return err
	}
	bufs := net.Buffers{hdr, data}
	_, err := bufs.WriteTo(a.conn)
	return err
}

// sourceError marks a failure to read the data being sent (as opposed to
// a network failure): the association must then be aborted, since a
// partial data set cannot be taken back.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "reading the data set: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func (a *Assoc) nextMessageID() uint16 {
	a.msgID++
	if a.msgID == 0 {
		a.msgID = 1
	}
	return a.msgID
}
