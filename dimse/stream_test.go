package dimse

import (
	"context"
	"encoding/binary"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// syntheticDataSet is an explicit VR little endian data set with SOP
// Class/Instance UIDs and an OW Pixel Data of n bytes, generated on the
// fly so that no test data of that size exists anywhere.
func syntheticDataSet(n uint32) io.Reader {
	var h []byte
	el := func(g, e uint16, vr, v string) {
		h = binary.LittleEndian.AppendUint16(h, g)
		h = binary.LittleEndian.AppendUint16(h, e)
		h = append(h, vr...)
		h = binary.LittleEndian.AppendUint16(h, uint16(len(v)))
		h = append(h, v...)
	}
	el(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7\x00")
	el(0x0008, 0x0018, "UI", "1.2.3.4.5.6")
	h = append(h, 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0)
	h = binary.LittleEndian.AppendUint32(h, n)
	return io.MultiReader(bytesReader(h), io.LimitReader(zeros{}, int64(n)))
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

func bytesReader(b []byte) io.Reader { return &byteReader{b: b} }

// TestLargeInstanceStreams sends a 2 GiB instance (and a 256 MiB one
// rewritten to implicit VR) through SCU and SCP in-process and checks
// that the heap never grows anywhere near the instance size.
func TestLargeInstanceStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("large transfer")
	}
	for _, tc := range []struct {
		size     uint32
		syntaxes []string
	}{{2<<30 - 2, nil}, {256 << 20, []string{ImplicitVRLittleEndian}}} {
		var got atomic.Int64
		srv := &Server{Syntaxes: tc.syntaxes, Store: func(_ context.Context, _ StoreRequest, data io.Reader) Status {
			n, err := io.Copy(io.Discard, data)
			got.Store(n)
			if err != nil {
				return Status{Code: 0x0110}
			}
			return Status{}
		}}
		addr := startSCP(t, srv)
		in := &Instance{SOPClassUID: "1.2.840.10008.5.1.4.1.1.7", SOPInstanceUID: "1.2.3.4.5.6", TransferSyntaxUID: ExplicitVRLittleEndian,
			Open: func() (*DataSet, error) { return &DataSet{ReadCloser: io.NopCloser(syntheticDataSet(tc.size))}, nil }}
		stop := make(chan struct{})
		var peak atomic.Uint64
		go func() {
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
				}
			}
		}()
		var res Result
		err := Send(context.Background(), Config{CallingAE: "A", CalledAE: "B", Address: addr}, []*Instance{in}, SendOptions{}, func(r Result) { res = r })
		close(stop)
		if err != nil || res.Outcome != Sent {
			t.Fatalf("%d bytes: %v %v %s", tc.size, err, res.Outcome, res.Detail())
		}
		if got.Load() < int64(tc.size) {
			t.Errorf("received %d bytes, sent a %d-byte pixel data", got.Load(), tc.size)
		}
		if p := peak.Load(); p > 64<<20 {
			t.Errorf("%d-byte instance: heap in use peaked at %d MiB", tc.size, p>>20)
		}
		t.Logf("%d MiB instance over %s: peak heap %d MiB", tc.size>>20, res.TransferSyntaxUID, peak.Load()>>20)
	}
}
