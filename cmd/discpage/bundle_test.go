//go:build !(js && wasm)

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/media"
)

// "make install" installs the page's files that media.PageFiles names.
func TestMakefilePageFiles(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range media.PageFiles {
		want = append(want, f.Folder)
	}
	if line := "PAGE_FILES := " + strings.Join(want, " ") + "\n"; !strings.Contains(string(mk), line) {
		t.Errorf("the Makefile lacks the line\n%s", line)
	}
}

// bundle refuses what is not WebAssembly.
func TestBundleNeedsWebAssembly(t *testing.T) {
	if err := bundle(t.TempDir(), []byte("\x7fELF"), nil); err == nil {
		t.Error("an ELF program was taken as the page's WebAssembly")
	}
}
