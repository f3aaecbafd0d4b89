//go:build js && wasm

package cms

import (
	"crypto"
	"syscall/js"
)

// In a browser (INDEX.HTM, cmd/discpage) PBKDF2 is WebCrypto's: Go's
// own, compiled to WebAssembly without SHA-256 instructions, takes about
// 0.8 s for the default 600 000 iterations in headless Chromium on the
// machine we measure on, WebCrypto's (native code) a fraction of that.
// Web Cryptography API, §27 "PBKDF2"
// (https://w3c.github.io/webcrypto/#pbkdf2): importKey("raw", password,
// "PBKDF2") then deriveBits({name, hash, salt, iterations}, key, bits). It
// needs a secure context, which file:// pages are; where there is none,
// or it fails, the Go code runs.
func init() { platformPBKDF2 = webCryptoPBKDF2 }

var webCryptoHashes = map[crypto.Hash]string{crypto.SHA1: "SHA-1", crypto.SHA256: "SHA-256", crypto.SHA384: "SHA-384", crypto.SHA512: "SHA-512"}

func webCryptoPBKDF2(prf crypto.Hash, password string, salt []byte, iter, keyLen int) ([]byte, bool) {
	hash, ok := webCryptoHashes[prf]
	subtle := js.Global().Get("crypto")
	if subtle.Truthy() {
		subtle = subtle.Get("subtle")
	}
	if !ok || !subtle.Truthy() || iter < 1 || keyLen < 1 {
		return nil, false
	}
	u8 := func(b []byte) js.Value {
		v := js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(v, b)
		return v
	}
	pw := u8([]byte(password))
	defer pw.Call("fill", 0) // wipe our copy
	key, ok := awaitJS(subtle.Call("importKey", "raw", pw, "PBKDF2", false, []any{"deriveBits"}))
	if !ok {
		return nil, false
	}
	params := map[string]any{"name": "PBKDF2", "hash": hash, "salt": u8(salt), "iterations": iter}
	bits, ok := awaitJS(subtle.Call("deriveBits", params, key, keyLen*8))
	if !ok {
		return nil, false
	}
	out := js.Global().Get("Uint8Array").New(bits)
	k := make([]byte, out.Length())
	js.CopyBytesToGo(k, out)
	return k, len(k) == keyLen
}

// awaitJS waits for a promise; false if it was rejected. Only from a
// goroutine that is not a js.FuncOf callback (they all are not, here: the
// page calls Go in goroutines).
func awaitJS(p js.Value) (js.Value, bool) {
	type result struct {
		v  js.Value
		ok bool
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- result{a[0], true}; return nil })
	catch := js.FuncOf(func(js.Value, []js.Value) any { ch <- result{js.Undefined(), false}; return nil })
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.ok
}
