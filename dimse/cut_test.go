package dimse

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// cuttingProxy forwards PDUs from a client to addr whole, and after
// keep P-DATA-TF PDUs closes both connections cleanly, at a PDU
// boundary: what the server sees when a sender is killed, or closes its
// socket on Ctrl-C, between two PDUs of a data set.
func cuttingProxy(t *testing.T, addr string, keep int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer s.Close()
		go io.Copy(c, s) // the server's answers
		for pdata := 0; ; {
			var h [6]byte
			if _, err := io.ReadFull(c, h[:]); err != nil {
				return
			}
			body := make([]byte, binary.BigEndian.Uint32(h[2:]))
			if _, err := io.ReadFull(c, body); err != nil {
				return
			}
			if h[0] == typePData {
				if pdata == keep {
					return // cut: both closed, between two PDUs
				}
				pdata++
			}
			if _, err := s.Write(append(h[:], body...)); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

// A connection that ends between two PDUs in the middle of a data set is
// a data set cut short, never a complete one: the handler's read fails
// and nothing is stored. (It used to read as a clean end of the data.)
func TestConnectionCutMidDataSetIsNotStored(t *testing.T) {
	m := &memStore{got: map[string][]byte{}, ts: map[string]string{}}
	addr := startSCP(t, &Server{AETitle: "TESTSCP", Store: m.handle, MaxPDU: 4096})
	// The command is one P-DATA-TF, then 3 of the data set's ~25 go through.
	proxy := cuttingProxy(t, addr, 4)
	cfg := Config{CallingAE: "TESTSCU", CalledAE: "TESTSCP", Address: proxy, Timeout: 5 * time.Second, MaxPDU: 4096}
	in := &Instance{SOPClassUID: "1.2.840.10008.5.1.4.1.1.7", SOPInstanceUID: "1.2.3.4", TransferSyntaxUID: ExplicitVRLittleEndian,
		Open: func() (*DataSet, error) { return &DataSet{ReadCloser: io.NopCloser(syntheticDataSet(100_000))}, nil }}
	Send(context.Background(), cfg, []*Instance{in}, SendOptions{}, func(Result) {})
	time.Sleep(200 * time.Millisecond) // the server has handled the cut
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.got["1.2.3.4"]; ok {
		t.Fatalf("a data set cut after %d bytes was stored as complete", len(b))
	}
}
