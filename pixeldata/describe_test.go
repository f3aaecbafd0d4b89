package pixeldata

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDescribe: whatever a file holds, Describe answers elements or an
// error, never a panic, and stays within its bounds.
func FuzzDescribe(f *testing.F) {
	for _, name := range []string{"CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "nested_priv_SQ.dcm"} {
		if b, err := os.ReadFile(filepath.Join(sharedCorpus, "pydicom/test_files", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		nodes, err := Describe(bytes.NewReader(b))
		if err != nil {
			return
		}
		if n := countNodes(nodes); n > describeMaxNodes {
			t.Fatalf("%d nodes", n)
		}
	})
}

func countNodes(ns []*Node) int {
	n := len(ns)
	for _, e := range ns {
		for _, it := range e.Items {
			n += countNodes(it)
		}
	}
	return n
}
