package media

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// readmeWidth is the widest line of README.TXT's viewer section: it reads
// in a plain 80-column window (Notepad, a terminal) without wrapping.
const readmeWidth = 76

// viewerLines are the lines viewerText writes for p.
func viewerLines(p *Plan) []string {
	var lines []string
	viewerText(p, func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })
	return lines
}

// README.TXT names the oldest system each viewer program starts on, next
// to that program, and only for the programs on the medium; the viewer
// section stays within readmeWidth, whatever the medium.
func TestReadmeSystemRequirements(t *testing.T) {
	found, _ := FindViewers(fakeViewers(t))
	for _, m := range []Medium{CD, DVD, BD, USB} {
		text := readmeText(viewerPlan(t, m, found))
		for _, want := range []string{
			"VIEWER\\WIN\\VIEWER.EXE\r\n    It needs 64-bit Windows 10 or later (or Windows Server 2016 or later).",
			"It needs macOS 12 Monterey or later.",
			"VIEWER/LINUX/VIEWER\r\n    It needs a 64-bit PC (x86-64) with Linux kernel 3.2 or later.",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: README.TXT lacks %q:\n%s", mediumWord(m), want, text)
			}
		}
		for _, line := range viewerLines(viewerPlan(t, m, found)) {
			if len(line) > readmeWidth {
				t.Errorf("%s: line of %d characters, more than %d: %q", mediumWord(m), len(line), readmeWidth, line)
			}
		}
	}
	only, _ := FindViewers(fakeViewers(t, "darwin/arm64", "darwin/amd64", "linux/amd64"))
	text := readmeText(viewerPlan(t, USB, only))
	if !strings.Contains(text, "Windows 10") || strings.Contains(text, "macOS 12") || strings.Contains(text, "kernel 3.2") {
		t.Errorf("README.TXT with the Windows viewer only:\n%s", text)
	}
}

// The minimum systems above are those of the Go release that builds the
// viewers: a newer one may drop a system (Go 1.27 drops macOS 12), so a
// toolchain change must come with a look at its release notes' "Ports".
func TestReadmeMatchesGoRelease(t *testing.T) {
	v := runtime.Version()
	if v != viewerGoRelease && !strings.HasPrefix(v, viewerGoRelease+".") {
		t.Errorf("built with %s, but README.TXT states the minimum systems of %s: check https://go.dev/doc/devel/release "+
			"and update needsWindows, needsMac, needsLinux and viewerGoRelease (media/readme.go)", v, viewerGoRelease)
	}
}

// README.TXT tells of INDEX.HTM when the medium has it, and only then.
func TestReadmeTellsOfThePage(t *testing.T) {
	p := &Plan{Medium: BD, opts: Options{Page: []PageFile{{Folder: "INDEX.HTM", Path: "INDEX.HTM"}}}}
	for _, viewers := range [][]ViewerFile{nil, {{ViewerProgram: ViewerPrograms[0]}}} {
		p.opts.Viewers = viewers
		var lines []string
		pageText(p, func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })
		text := strings.Join(lines, " ")
		if !strings.Contains(text, "INDEX.HTM") || !strings.Contains(text, "password") {
			t.Errorf("README.TXT does not tell of INDEX.HTM: %s", text)
		}
		for _, l := range lines {
			if len(l) > readmeWidth {
				t.Errorf("README.TXT line wider than %d: %q", readmeWidth, l)
			}
		}
		if !strings.Contains(readmeText(p), lines[0]) {
			t.Error("README.TXT lacks the page's lines")
		}
	}
	p.opts.Page = nil
	if text := readmeText(p); strings.Contains(text, "INDEX.HTM") {
		t.Errorf("README.TXT tells of an INDEX.HTM the medium lacks")
	}
}
