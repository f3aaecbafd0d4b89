package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/fill"
	"github.com/securemedia/securemedia/media"
)

// Sending from a medium reads each file once: when its turn comes (and
// while the one before it is being sent: dimse opens one ahead), the file is
// decrypted into memory to its end, which checks its digest or signature,
// with its header compared with the DICOMDIR record that named it (both by
// media's OpenInstance, which also parses a plain file to its end); only
// then is it offered to the peer, from memory. A damaged instance, or one
// that is not the instance its record names, is therefore never offered.
// Nothing decrypted is written to disk.
//
// An instance larger than maxHeld, or one that would take the held bytes
// of all associations past maxHeldTotal, is read twice instead: a checking
// pass first, then a streaming pass whose own integrity check, at its end,
// comes before the last fragment goes out, so the peer aborts rather than
// stores a copy that changed in between.
const (
	maxHeld      = 64 << 20
	maxHeldTotal = 256 << 20
)

// held counts the decrypted bytes in memory across all sends.
var held atomic.Int64

// DiscInstances prepares instances of the unlocked medium d (all of them
// when insts is nil) for Send, from what their DICOMDIR records say: no
// file is decrypted yet. A record that does not say which SOP Class,
// instance and transfer syntax its file holds costs a read of that file's
// header; one whose header cannot be read is returned as a damaged item,
// never as an instance. The medium must stay open until they are sent.
func DiscInstances(d *media.Disc, insts []*media.Instance) ([]*dimse.Instance, []Item, error) {
	if insts == nil {
		insts = d.Instances()
	}
	var out []*dimse.Instance
	var bad []Item
	for _, in := range insts {
		di, err := discInstance(d, in)
		if err != nil {
			bad = append(bad, Item{Label: in.Path(), UID: in.SOPInstanceUID, Result: "failed", Detail: "not sent: " + err.Error(),
				Failed: true, Damaged: true, Err: err})
			continue
		}
		out = append(out, di)
	}
	if len(out)+len(bad) == 0 {
		return nil, nil, ErrNoInstances
	}
	return out, bad, nil
}

func discInstance(d *media.Disc, in *media.Instance) (*dimse.Instance, error) {
	size, err := d.FileSize(in)
	if err != nil {
		return nil, err
	}
	di := &dimse.Instance{SOPClassUID: in.SOPClassUID, SOPInstanceUID: in.SOPInstanceUID,
		TransferSyntaxUID: in.TransferSyntaxUID, Size: size, Label: in.Path()}
	if di.SOPClassUID == "" || di.SOPInstanceUID == "" || di.TransferSyntaxUID == "" {
		h, err := peekHeader(d, in)
		if err != nil {
			return nil, err
		}
		di.SOPClassUID, di.SOPInstanceUID, di.TransferSyntaxUID = h.SOPClassUID, h.SOPInstanceUID, h.TransferSyntaxUID
	}
	di.Open = func() (*dimse.DataSet, error) {
		ds, err := openChecked(d, in, di, size)
		if err != nil {
			return nil, &openError{err}
		}
		return ds, nil
	}
	return di, nil
}

// peekHeader reads the start of an instance's file, for a record that
// does not say what the file holds.
func peekHeader(d *media.Disc, in *media.Instance) (*dimse.Header, error) {
	r, err := d.OpenInstance(in)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return dimse.ReadHeader(r)
}

// openChecked gives the data set of an instance whose file has sealed (or
// plain) size size, once the whole file has checked out.
func openChecked(d *media.Disc, in *media.Instance, want *dimse.Instance, size int64) (*dimse.DataSet, error) {
	if size <= maxHeld {
		if held.Add(size) <= maxHeldTotal {
			return openHeld(d, in, want, size)
		}
		held.Add(-size)
	}
	return openTwice(d, in, want)
}

// openHeld decrypts the file into memory (its plaintext is never larger
// than the file) and serves the data set from there.
func openHeld(d *media.Disc, in *media.Instance, want *dimse.Instance, size int64) (*dimse.DataSet, error) {
	buf := getBuffer(size)
	release := func() {
		putBuffer(buf)
		held.Add(-size)
	}
	n, err := readAll(d, in, buf)
	if err != nil {
		release()
		return nil, err
	}
	h, err := dimse.ReadHeader(bytes.NewReader(buf[:n]))
	if err != nil {
		release()
		return nil, err
	}
	return &dimse.DataSet{ReadCloser: &heldReader{r: bytes.NewReader(buf[h.DataSetOffset:n]), release: release},
		TransferSyntaxUID: relabelled(h, want), Size: int64(n) - h.DataSetOffset}, nil
}

// readAll reads an instance's plaintext to its end into buf.
func readAll(d *media.Disc, in *media.Instance, buf []byte) (int, error) {
	r, err := d.OpenInstance(in)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	// Not io.ReadFull: its io.ErrUnexpectedEOF would hide a reader that
	// found the file cut short (package fill).
	n, err := fill.Read(r, buf)
	switch {
	case err != nil:
		return 0, err
	case n < len(buf):
		return n, nil // the end was reached, and checked
	}
	// The buffer is full: the plaintext can be no longer than the file,
	// but the read must still reach the end, where the check is.
	var one [1]byte
	if k, err := r.Read(one[:]); k > 0 || !errors.Is(err, io.EOF) {
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		return 0, fmt.Errorf("decrypts to more bytes than the file holds")
	}
	return n, nil
}

// openTwice checks the whole file in a first pass, then streams it.
func openTwice(d *media.Disc, in *media.Instance, want *dimse.Instance) (*dimse.DataSet, error) {
	r, err := d.OpenInstance(in)
	if err != nil {
		return nil, err
	}
	counted := &dicom.CountingReader{R: r}
	h, err := dimse.ReadHeader(counted)
	if err == nil {
		_, err = io.Copy(io.Discard, counted)
	}
	r.Close()
	if err != nil {
		return nil, err
	}
	if r, err = d.OpenInstance(in); err != nil {
		return nil, err
	}
	n, err := io.CopyN(io.Discard, r, h.DataSetOffset)
	if err != nil || n != h.DataSetOffset {
		r.Close()
		return nil, fmt.Errorf("changed between two reads: %w", err)
	}
	return &dimse.DataSet{ReadCloser: r, TransferSyntaxUID: relabelled(h, want), Size: counted.N - h.DataSetOffset}, nil
}

// relabelled is the data set's real transfer syntax when it differs from
// the planned one, for dimse.DataSet.
func relabelled(h *dimse.Header, want *dimse.Instance) string {
	if h.TransferSyntaxUID == want.TransferSyntaxUID {
		return ""
	}
	return h.TransferSyntaxUID
}

// heldReader reads a data set held in memory and gives the memory back
// when closed.
type heldReader struct {
	r       *bytes.Reader
	release func()
	once    sync.Once
}

func (h *heldReader) Read(p []byte) (int, error) { return h.r.Read(p) }

// WriteTo hands the data set over without a copy through a buffer.
func (h *heldReader) WriteTo(w io.Writer) (int64, error) { return h.r.WriteTo(w) }

func (h *heldReader) Close() error {
	h.once.Do(h.release)
	return nil
}

// buffers recycles decryption buffers: instances of one series have about
// one size, and fresh memory costs a page fault per 4 KiB.
var buffers sync.Pool

func getBuffer(size int64) []byte {
	if b, ok := buffers.Get().(*[]byte); ok && int64(cap(*b)) >= size {
		return (*b)[:size]
	}
	return make([]byte, size)
}

func putBuffer(b []byte) { buffers.Put(&b) }
