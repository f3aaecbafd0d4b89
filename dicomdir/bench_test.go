package dicomdir

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
)

// Scanning reads headers only: memory must not grow with pixel data.
func TestScanMemoryIndependentOfPixelData(t *testing.T) {
	dir := t.TempDir()
	s := dicomtest.Spec{PatientID: "P", PatientName: "A^B", StudyUID: "2.25.1", SeriesUID: "2.25.2",
		SOPUID: "2.25.3", Pixels: 4096} // 32 MiB of pixel data
	must(t, dicomtest.Write(filepath.Join(dir, "big"), s))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
	runtime.ReadMemStats(&after)
	if err != nil || len(res.Instances) != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 2<<20 {
		t.Fatalf("scanning a 32 MiB image allocated %d bytes", n)
	}
}

// BenchmarkScanBuildEncode indexes 1000 generated instances (headers,
// tree, DICOMDIR bytes; no copying).
func BenchmarkScanBuildEncode(b *testing.B) {
	dir := b.TempDir()
	if _, err := dicomtest.Set(dir, 10, 2, 5, 10); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := Build(res.Instances, BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Marshal(r.Directory); err != nil {
			b.Fatal(err)
		}
	}
}
