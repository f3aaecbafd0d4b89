// Package viewer will be the on-disc reader: a local web UI that decrypts in
// memory, displays, exports and forwards studies. Not implemented yet.
package viewer
