package importer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/media/mediatest"
)

// sealedDisc burns the sample study to a sealed USB-style folder.
func sealedDisc(t *testing.T) string {
	return mediatest.SealedFolder(t, media.Options{}, "../testdata/sample-study")
}

func unlocked(t *testing.T, dir string) *media.Disc {
	t.Helper()
	d, err := media.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	id, err := media.Password([]byte(mediatest.Password))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(id); err != nil {
		t.Fatal(err)
	}
	return d
}

// pacs is an in-process C-STORE SCP on 127.0.0.1 keeping what it gets.
type pacs struct {
	mu  sync.Mutex
	got map[string][]byte // data set by SOP Instance UID
}

func startPACS(t *testing.T) (*pacs, dimse.Config) {
	t.Helper()
	p := &pacs{got: map[string][]byte{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dimse.Server{Store: func(_ context.Context, req dimse.StoreRequest, data io.Reader) dimse.Status {
		b, err := io.ReadAll(data)
		if err != nil {
			return dimse.Status{Code: 0x0110}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.got[req.SOPInstanceUID] = b
		return dimse.Status{}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p, dimse.Config{CallingAE: "TEST", CalledAE: "PACS", Address: ln.Addr().String(), Timeout: 10 * time.Second}
}

func sendDisc(t *testing.T, d *media.Disc, cfg dimse.Config) map[string]Item {
	t.Helper()
	insts, bad, err := DiscInstances(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]Item{}
	for _, it := range bad {
		items[it.Label] = it
	}
	if err := Send(context.Background(), cfg, insts, 1, func(it Item) { items[it.Label] = it }); err != nil {
		t.Fatal(err)
	}
	return items
}

// Every instance of a sealed disc arrives, its data set the original's.
func TestSendDiscDeliversEveryInstance(t *testing.T) {
	d := unlocked(t, sealedDisc(t))
	p, cfg := startPACS(t)
	items := sendDisc(t, d, cfg)
	if len(items) != len(d.Instances()) || len(p.got) != len(items) {
		t.Fatalf("%d items, %d stored, for %d instances", len(items), len(p.got), len(d.Instances()))
	}
	for _, in := range d.Instances() {
		it := items[in.Path()]
		if it.Failed {
			t.Fatalf("%s: %s", in.Path(), it.Detail)
		}
		want := plainDataSet(t, d, in)
		if !bytes.Equal(p.got[in.SOPInstanceUID], want) {
			t.Errorf("%s: stored data set differs from the disc's", in.Path())
		}
	}
}

// A valid sealed file of the same disc copied over another (a mix-up, or
// an attack: it decrypts, its digest checks out) is not the instance its
// record names: it is reported and never sent, so the PACS cannot file it
// where the directory says a different image goes. A damaged file is
// reported the same way; the others arrive.
func TestSendDiscRefusesAFileThatIsNotItsRecord(t *testing.T) {
	dir := sealedDisc(t)
	d := unlocked(t, dir)
	insts := d.Instances()
	swapped, source, damaged := insts[0], insts[1], insts[2]
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(source.Path())))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, filepath.FromSlash(swapped.Path())), b, 0o644)
	victim := filepath.Join(dir, filepath.FromSlash(damaged.Path()))
	b, _ = os.ReadFile(victim)
	b[len(b)/2] ^= 1
	os.WriteFile(victim, b, 0o644)

	p, cfg := startPACS(t)
	items := sendDisc(t, d, cfg)
	if it := items[swapped.Path()]; !it.Damaged || !errors.Is(it.Err, media.ErrMismatch) {
		t.Errorf("swapped file: %+v", it)
	}
	if it := items[damaged.Path()]; !it.Damaged || !strings.Contains(it.Detail, "integrity") {
		t.Errorf("damaged file: %+v", it)
	}
	if _, ok := p.got[swapped.SOPInstanceUID]; ok {
		t.Error("the PACS got something under the swapped record's SOP Instance UID")
	}
	if _, ok := p.got[damaged.SOPInstanceUID]; ok {
		t.Error("the PACS got the damaged instance")
	}
	if len(p.got) != len(insts)-2 {
		t.Errorf("%d stored, want %d", len(p.got), len(insts)-2)
	}
}

// An instance larger than what is held in memory is checked in a first
// pass and streamed in a second: it arrives the same.
func TestSendDiscStreamsWhatIsNotHeld(t *testing.T) {
	d := unlocked(t, sealedDisc(t))
	held.Add(maxHeldTotal) // as if every association held its fill
	defer held.Add(-maxHeldTotal)
	p, cfg := startPACS(t)
	items := sendDisc(t, d, cfg)
	for _, in := range d.Instances() {
		if it := items[in.Path()]; it.Failed || !bytes.Equal(p.got[in.SOPInstanceUID], plainDataSet(t, d, in)) {
			t.Fatalf("%s: %s", in.Path(), it.Detail)
		}
	}
}

// plainDataSet decrypts an instance and returns its data set.
func plainDataSet(t *testing.T, d *media.Disc, in *media.Instance) []byte {
	t.Helper()
	r, err := d.OpenInstance(in)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	h, err := dimse.ReadHeader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return b[h.DataSetOffset:]
}
