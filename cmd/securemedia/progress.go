package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows how far a long operation has got, on stderr, only when
// stderr is a terminal (scripts and logs get the final summary only). It
// shows counts and sizes, never file names, which can carry patient names.
type progress struct {
	w          io.Writer
	verb       string
	files      int
	totalBytes int64
	doneFiles  int
	doneBytes  int64
	last       time.Time
	enabled    bool
}

func newProgress(w io.Writer, verb string, files int, totalBytes int64) *progress {
	p := &progress{w: w, verb: verb, files: files, totalBytes: totalBytes}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.enabled = true
	}
	return p
}

// add records n bytes processed.
func (p *progress) add(n int64) {
	p.doneBytes += n
	p.show(false)
}

func (p *progress) fileDone() {
	p.doneFiles++
	p.show(p.doneFiles == p.files)
}

func (p *progress) show(force bool) {
	if !p.enabled || (!force && time.Since(p.last) < 200*time.Millisecond) {
		return
	}
	p.last = time.Now()
	pct := 100.0
	if p.totalBytes > 0 {
		pct = 100 * float64(p.doneBytes) / float64(p.totalBytes)
	}
	fmt.Fprintf(p.w, "\r%s: %d/%d files, %s of %s (%.0f%%)  ", p.verb, p.doneFiles, p.files,
		humanBytes(p.doneBytes), humanBytes(p.totalBytes), pct)
	if force {
		fmt.Fprintln(p.w)
	}
}

// countingReader reports the input bytes consumed to a progress: the
// totals are input sizes, for sealing and unsealing alike.
type countingReader struct {
	r io.Reader
	p *progress
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(int64(n))
	return n, err
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
