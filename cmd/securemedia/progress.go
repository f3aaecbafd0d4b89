package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/securemedia/securemedia/internal/units"
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
	p.line(force, func() string { return p.verb + ": " + p.status() })
}

// line rewrites the progress line with text(), at most five times a
// second unless final, when it ends the line.
func (p *progress) line(final bool, text func() string) {
	if !p.enabled || (!final && time.Since(p.last) < 200*time.Millisecond) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s  ", text())
	if final {
		fmt.Fprintln(p.w)
	}
}

// status is the progress line's text. Only what is known is shown: a
// command that cannot know its total in advance (verify, extract: sizes
// after decryption) shows how much it has done, not "of 0 B".
func (p *progress) status() string {
	var parts []string
	if p.doneFiles > 0 && p.files > 0 {
		parts = append(parts, fmt.Sprintf("%d/%s", p.doneFiles, count(p.files, "file")))
	}
	if p.totalBytes > 0 {
		parts = append(parts, fmt.Sprintf("%s of %s (%.0f%%)", humanBytes(p.doneBytes), humanBytes(p.totalBytes),
			100*float64(p.doneBytes)/float64(p.totalBytes)))
	} else {
		parts = append(parts, humanBytes(p.doneBytes))
	}
	return strings.Join(parts, ", ")
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

func humanBytes(n int64) string { return units.Bytes(n) }
