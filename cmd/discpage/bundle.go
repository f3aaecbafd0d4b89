//go:build !(js && wasm)

// Command discpage is INDEX.HTM, the page that opens a disc in a browser
// with no program: built for GOOS=js GOARCH=wasm it is the page's
// WebAssembly (main_js.go: the disc read through the browser's File
// objects, the viewer's pages answered in the page). Run on the build
// machine, it writes the page from that build, as burn takes it:
//
//	discpage -wasm discpage.wasm -wasm-exec $(go env GOROOT)/lib/wasm/wasm_exec.js -o bin/VIEWER
//
// writes bin/VIEWER/INDEX.HTM and bin/VIEWER/PAGE/{PAGE.JS,WASM.JS,PAGE.CSS}
// (media.PageFiles), which burn puts at the medium's root and under
// VIEWER/PAGE.
package main

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/securemedia/securemedia/media"
)

//go:embed page
var pageFS embed.FS

func main() {
	wasm := flag.String("wasm", "", "the page's WebAssembly (GOOS=js GOARCH=wasm go build ./cmd/discpage)")
	exec := flag.String("wasm-exec", "", "wasm_exec.js of the Go that built it ($(go env GOROOT)/lib/wasm/wasm_exec.js)")
	out := flag.String("o", "", "the folder of viewers to write INDEX.HTM and PAGE/ into")
	flag.Parse()
	if *wasm == "" || *exec == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := bundleFiles(*out, *wasm, *exec); err != nil {
		fmt.Fprintln(os.Stderr, "discpage:", err)
		os.Exit(1)
	}
}

func bundleFiles(out, wasmFile, execFile string) error {
	wasm, err := os.ReadFile(wasmFile)
	if err != nil {
		return err
	}
	goExec, err := os.ReadFile(execFile)
	if err != nil {
		return err
	}
	return bundle(out, wasm, goExec)
}

// bundle writes the page's files (media.PageFiles) into dir.
func bundle(dir string, wasm, goExec []byte) error {
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return fmt.Errorf("not WebAssembly: build it with GOOS=js GOARCH=wasm")
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(wasm)
	if err := zw.Close(); err != nil {
		return err
	}
	script, err := pageFS.ReadFile("page/page.js")
	if err != nil {
		return err
	}
	contents := map[string][]byte{
		"PAGE/WASM.JS": []byte("var SM_WASM = \"" + base64.StdEncoding.EncodeToString(gz.Bytes()) + "\";\n"),
		// Go's own loader (wasm_exec.js: the Go class) first, then ours.
		"PAGE/PAGE.JS": append(append(goExec, '\n'), script...),
	}
	for name, src := range map[string]string{"INDEX.HTM": "page/INDEX.HTM", "PAGE/PAGE.CSS": "page/PAGE.CSS"} {
		if contents[name], err = pageFS.ReadFile(src); err != nil {
			return err
		}
	}
	for _, f := range media.PageFiles {
		b, ok := contents[f.Folder]
		if !ok {
			return fmt.Errorf("no content for %s", f.Folder)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Folder))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
