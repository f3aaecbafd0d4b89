package media

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseManifest: a manifest comes off a medium; bad ones get an error,
// good ones survive a round trip.
func FuzzParseManifest(f *testing.F) {
	f.Add(encodeManifest([]manifestEntry{{path: "DICOMDIR", size: 1234}, {path: "DICOM/P0000001/IM000001", size: 99}}))
	f.Add([]byte(manifestHeader + "zz 12 x\n"))
	f.Add([]byte(manifestHeader + strings.Repeat("0", 64) + " 12 a\rb\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseManifest(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if bytes.ContainsAny([]byte(e.path), "\n\r\x00") || e.path == "" {
				t.Fatalf("accepted the path %q", e.path)
			}
		}
		again, err := parseManifest(encodeManifest(entries))
		if err != nil || len(again) != len(entries) {
			t.Fatalf("round trip: %v, %d vs %d entries", err, len(again), len(entries))
		}
		for i := range entries {
			if again[i] != entries[i] {
				t.Fatalf("entry %d changed: %+v -> %+v", i, entries[i], again[i])
			}
		}
	})
}
