//go:build js && wasm

package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall/js"

	"github.com/securemedia/securemedia/cms/keyfile"
	"github.com/securemedia/securemedia/media"
	"github.com/securemedia/securemedia/viewer"
)

// In the browser the program answers INDEX.HTM's scripts (page.js):
//
//	smOpen([[relativePath, File], ...]) -> Promise<undefined>
//	smRequest(method, url, contentType, body) -> Promise<{status, headers, body}>
//
// (body: null, a string, or a Uint8Array).
//
// smOpen takes the picked folder as the medium; smRequest is one request to
// the viewer (package viewer, the same pages the viewer program serves over
// HTTP), answered in this process. Every call returns a Promise at once and
// does its work in a goroutine: a js.FuncOf callback that waited for another
// promise would stop the page (syscall/js, FuncOf).
func main() {
	js.Global().Set("smOpen", js.FuncOf(func(_ js.Value, args []js.Value) any {
		return promise(func() (any, error) { return nil, open(args[0]) })
	}))
	js.Global().Set("smRequest", js.FuncOf(func(_ js.Value, args []js.Value) any {
		method, url, ctype := args[0].String(), args[1].String(), ""
		var body []byte
		if len(args) > 2 && args[2].Type() == js.TypeString {
			ctype = args[2].String()
		}
		if len(args) > 3 && args[3].Type() == js.TypeString {
			body = []byte(args[3].String())
		} else if len(args) > 3 && args[3].InstanceOf(js.Global().Get("Uint8Array")) {
			body = make([]byte, args[3].Length()) // a form with files (multipart)
			js.CopyBytesToGo(body, args[3])
		}
		return promise(func() (any, error) { return request(method, url, ctype, body) })
	}))
	if ready := js.Global().Get("smGoReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "(devel)"

var handler http.Handler

func open(entries js.Value) error {
	if handler != nil {
		return errors.New("a disc is open already: reload the page to open another")
	}
	fsys, err := newBrowserFS(entries)
	if err != nil {
		return err
	}
	h, err := viewer.NewInProcess(media.OpenFS(fsys), viewer.Options{Version: version, LoadKeyFiles: loadKeyFiles, LoadPKCS12: loadPKCS12})
	if err != nil {
		return err
	}
	handler = h
	return nil
}

// loadKeyFiles is the identity of a certificate and key the user chose on
// the unlock page.
func loadKeyFiles(certName string, cert []byte, keyName string, key []byte) (media.Identity, error) {
	return keyfile.ParsePair(certName, cert, keyName, key)
}

// loadPKCS12 is the identity in a PKCS #12 file the user chose on the
// unlock page, opened with the password typed beside it.
func loadPKCS12(name string, b, password []byte) (media.Identity, error) {
	key, cert, err := keyfile.ParsePKCS12(b, name, password)
	if err != nil {
		return nil, err
	}
	return keyfile.Identity(cert, key, name)
}

// request runs one request through the viewer's handler. Paths only: the
// page never asks for another host.
func request(method, url, ctype string, body []byte) (any, error) {
	if handler == nil {
		return nil, errors.New("no disc is open")
	}
	if !strings.HasPrefix(url, "/") || strings.HasPrefix(url, "//") {
		return nil, errors.New("not a path of the viewer: " + url)
	}
	r, err := http.NewRequest(method, "http://disc.invalid"+url, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	res := w.Result()
	b := w.Body.Bytes() // not a copy: a zip (Save a copy) is large
	headers := map[string]any{}
	for k := range res.Header {
		headers[strings.ToLower(k)] = res.Header.Get(k)
	}
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	return map[string]any{"status": res.StatusCode, "headers": headers, "body": u8}, nil
}

// promise runs f in a goroutine and settles a new Promise with its result.
func promise(f func() (any, error)) js.Value {
	var exec js.Func
	exec = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer exec.Release()
			v, err := f()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(exec)
}

// await waits for a JavaScript promise. Only from a goroutine that is not
// a js.FuncOf callback.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- result{v: a[0]}; return nil })
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any {
		msg := "failed"
		if len(a) > 0 && a[0].Truthy() {
			msg = a[0].Call("toString").String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}
