package dimse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
)

const (
	fsStudy = "1.2.826.0.1.3680043.2.1143.9"
	fsSOP   = "1.2.826.0.1.3680043.2.1143.9.1"
)

// fsDataSet is a small explicit VR little endian data set of instance
// fsSOP in study fsStudy; desc (Series Description) tells copies apart.
func fsDataSet(t *testing.T, desc string) []byte {
	t.Helper()
	var b []byte
	for _, e := range []*dicom.Element{
		dicom.StringElement(dicom.SOPInstanceUID, "UI", fsSOP),
		dicom.StringElement(dicom.SeriesDescription, "LO", desc),
		dicom.StringElement(dicom.StudyInstanceUID, "UI", fsStudy),
	} {
		dicom.PadValue(e)
		var err error
		if b, err = dicom.AppendElementSyntax(b, e, dicom.ExplicitVRLittleEndian); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func fsRequest(callingAE string) StoreRequest {
	return StoreRequest{CallingAE: callingAE, CalledAE: "SMRX", SOPClassUID: "1.2.840.10008.5.1.4.1.1.7",
		SOPInstanceUID: fsSOP, TransferSyntaxUID: "1.2.840.10008.1.2.1"}
}

// resultLog collects what a FolderStore reports.
type resultLog struct {
	mu  sync.Mutex
	res []StoreResult
}

func (l *resultLog) stored(_ StoreRequest, res StoreResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res = append(l.res, res)
}

// storeOnce hands one data set to s and returns what it reported.
func storeOnce(t *testing.T, s *FolderStore, l *resultLog, ae string, ds []byte) StoreResult {
	t.Helper()
	n := len(l.res)
	if st := s.Handle(context.Background(), fsRequest(ae), bytes.NewReader(ds)); st.Code != 0 {
		t.Fatalf("status %v", st)
	}
	if len(l.res) != n+1 {
		t.Fatalf("%d reports for one instance", len(l.res)-n)
	}
	return l.res[n]
}

// storedFiles maps every file under dir (relative path) to its data set;
// a file left in .incoming fails the test.
func storedFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if filepath.Dir(rel) == ".incoming" {
			t.Errorf("left in .incoming: %s", rel)
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h, _, err := dicom.ReadHeader(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		out[rel] = b[h.DataSetOffset:]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func conflictName(ds []byte) string {
	hash := fmt.Sprintf("%x", sha256.Sum256(ds))
	return filepath.Join("conflicts", fsSOP+"."+hash[:12]+".dcm")
}

// TestFolderStoreNeverOverwrites: the same data set again (from another
// AE, so with another File Meta) is discarded; another data set is kept
// apart and the first file stays byte for byte; that conflicting copy
// again adds nothing.
func TestFolderStoreNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	l := &resultLog{}
	s := &FolderStore{Dir: dir, Stored: l.stored}
	first := filepath.Join(fsStudy, fsSOP+".dcm")
	a, b := fsDataSet(t, "FIRST"), fsDataSet(t, "SECOND")

	if r := storeOnce(t, s, l, "MODALITY", a); r.Copy != NewCopy || r.Path != first || r.Err != nil {
		t.Fatalf("first arrival: %+v", r)
	}
	firstFile, err := os.ReadFile(filepath.Join(dir, first))
	if err != nil {
		t.Fatal(err)
	}
	if r := storeOnce(t, s, l, "OTHERPACS", a); r.Copy != IdenticalCopy || r.Path != first || r.First != first {
		t.Errorf("identical arrival: %+v", r)
	}
	if got := storedFiles(t, dir); len(got) != 1 || !bytes.Equal(got[first], a) {
		t.Errorf("after an identical duplicate: %d files", len(got))
	}

	apart := conflictName(b)
	if r := storeOnce(t, s, l, "OTHERPACS", b); r.Copy != ConflictingCopy || r.Path != apart || r.First != first {
		t.Errorf("conflicting arrival: %+v, want path %s", r, apart)
	}
	if r := storeOnce(t, s, l, "MODALITY", b); r.Copy != IdenticalCopy || r.Path != apart || r.First != first {
		t.Errorf("conflicting copy again: %+v", r)
	}
	got := storedFiles(t, dir)
	if len(got) != 2 || !bytes.Equal(got[apart], b) {
		t.Errorf("want the first and %s, got %d files", apart, len(got))
	}
	if now, _ := os.ReadFile(filepath.Join(dir, first)); !bytes.Equal(now, firstFile) {
		t.Error("the first copy changed")
	}
}

// TestFolderStoreUnreadableFirstCopy: a file under the final name that is
// not DICOM (nothing to compare with) stays, the arrival is kept apart.
func TestFolderStoreUnreadableFirstCopy(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, fsStudy, fsSOP+".dcm")
	if err := os.MkdirAll(filepath.Dir(first), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(first, []byte("not DICOM"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := &resultLog{}
	s := &FolderStore{Dir: dir, Stored: l.stored}
	a := fsDataSet(t, "FIRST")
	if r := storeOnce(t, s, l, "MODALITY", a); r.Copy != ConflictingCopy || r.Path != conflictName(a) {
		t.Errorf("arrival over an unreadable file: %+v", r)
	}
	if b, _ := os.ReadFile(first); string(b) != "not DICOM" {
		t.Error("the unreadable first file changed")
	}
}

// TestFolderStoreConcurrentArrivals: several associations store one UID
// at once, with different and with equal contents; every distinct data
// set is kept exactly once and none is refused. Each transfer waits at
// its end until all have been received, so that their placements race.
// It runs with hard links and with the rename fallback.
func TestFolderStoreConcurrentArrivals(t *testing.T) {
	for _, links := range []bool{true, false} {
		t.Run(fmt.Sprintf("links=%v", links), func(t *testing.T) {
			if !links {
				link = func(string, string) error { return &os.LinkError{Op: "link", Err: errors.ErrUnsupported} }
				t.Cleanup(func() { link = os.Link })
			}
			concurrentArrivals(t)
		})
	}
}

func concurrentArrivals(t *testing.T) {
	const distinct, each = 6, 2
	dir := t.TempDir()
	l := &resultLog{}
	s := &FolderStore{Dir: dir, Stored: l.stored}
	var started, wg sync.WaitGroup
	started.Add(distinct * each)
	sent := map[string]bool{}
	for i := range distinct * each {
		ds := fsDataSet(t, fmt.Sprintf("COPY %d", i%distinct))
		sent[string(ds)] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &gatedReader{r: bytes.NewReader(ds), gate: &started}
			if st := s.Handle(context.Background(), fsRequest(fmt.Sprint("AE", i)), r); st.Code != 0 {
				t.Errorf("status %v", st)
			}
		}()
	}
	wg.Wait()
	count := map[Copy]int{}
	for _, r := range l.res {
		if r.Err != nil {
			t.Errorf("refused: %v", r.Err)
		}
		count[r.Copy]++
	}
	if count[NewCopy] != 1 || count[ConflictingCopy] != distinct-1 || count[IdenticalCopy] != distinct*(each-1) {
		t.Errorf("reported %v, want 1 new, %d conflicting, %d identical", count, distinct-1, distinct*(each-1))
	}
	got := storedFiles(t, dir)
	var names []string
	for name, ds := range got {
		names = append(names, name)
		if !sent[string(ds)] {
			t.Errorf("%s: a data set nobody sent", name)
		}
		delete(sent, string(ds))
	}
	sort.Strings(names)
	if len(sent) != 0 || len(got) != distinct {
		t.Errorf("%d data sets lost; files: %v", len(sent), names)
	}
}

// gatedReader returns its data, then holds back EOF until every reader of
// its gate has read its data.
type gatedReader struct {
	r    io.Reader
	gate *sync.WaitGroup
	done bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err == io.EOF && !g.done {
		g.done = true
		g.gate.Done()
		g.gate.Wait()
	}
	return n, err
}
