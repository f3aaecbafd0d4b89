package media

import (
	"bytes"
	"testing"
)

// FuzzParseManifest: a manifest comes off a medium; bad ones get an error,
// good ones survive a round trip.
func FuzzParseManifest(f *testing.F) {
	f.Add(encodeManifest([]manifestEntry{{path: "DICOMDIR", size: 1234}, {path: "DICOM/P0000001/IM000001", size: 99}}))
	f.Add([]byte(manifestHeader + "zz 12 x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseManifest(data)
		if err != nil {
			return
		}
		again, err := parseManifest(encodeManifest(entries))
		if err != nil || len(again) != len(entries) {
			t.Fatalf("round trip: %v, %d vs %d entries", err, len(again), len(entries))
		}
		for i := range entries {
			if again[i] != entries[i] && !bytes.ContainsAny([]byte(entries[i].path), "\n\r") {
				t.Fatalf("entry %d changed: %+v -> %+v", i, entries[i], again[i])
			}
		}
	})
}
