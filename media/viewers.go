package media

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ViewerProgram is one build of the disc viewer (cmd/discviewer) and where
// it goes on the medium: ISO 9660 Level 1 names, so that every system reads
// them the same.
type ViewerProgram struct {
	GOOS, GOARCH string
	Path         string // on the medium, below VIEWER/
	System       string // for README.TXT
}

// ViewerPrograms are the viewers a medium can carry, one per system. A
// folder of viewers ("make viewers", burn --viewer-dir) has the same
// layout without the leading VIEWER/: WIN/VIEWER.EXE, MAC_ARM/VIEWER, ...
var ViewerPrograms = []ViewerProgram{
	{"windows", "amd64", "VIEWER/WIN/VIEWER.EXE", "Windows"},
	{"darwin", "arm64", "VIEWER/MAC_ARM/VIEWER", "Mac with Apple silicon (M1 or later)"},
	{"darwin", "amd64", "VIEWER/MAC_X64/VIEWER", "Mac with an Intel processor"},
	{"linux", "amd64", "VIEWER/LINUX/VIEWER", "Linux (64-bit PC)"},
}

// FolderPath is where the program sits in a folder of viewers: its
// medium path without the leading VIEWER/ (WIN/VIEWER.EXE, ...).
func (v ViewerProgram) FolderPath() string { return strings.TrimPrefix(v.Path, "VIEWER/") }

// ViewerFile is a viewer program found on this computer.
type ViewerFile struct {
	ViewerProgram
	Source string // the file to copy onto the medium
}

// FindViewers looks in dir for the viewer programs (see ViewerPrograms) and
// returns the ones present and the ones missing.
func FindViewers(dir string) (found []ViewerFile, missing []ViewerProgram) {
	for _, v := range ViewerPrograms {
		src := filepath.Join(dir, filepath.FromSlash(v.FolderPath()))
		if st, err := os.Stat(src); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			found = append(found, ViewerFile{v, src})
		} else {
			missing = append(missing, v)
		}
	}
	return found, missing
}

// autorunName is the Windows AutoPlay file of a disc with the Windows viewer.
const autorunName = "AUTORUN.INF"

// plainOnMedium tells the files a medium holds unsealed: README.TXT, the
// viewer programs and AUTORUN.INF. None carries patient data.
func plainOnMedium(p string) bool {
	p = strings.ToUpper(p)
	return p == "README.TXT" || p == autorunName || strings.HasPrefix(p, "VIEWER/")
}

// addViewers adds the viewer programs, plain and executable.
func (p *Plan) addViewers() error {
	for _, v := range p.opts.Viewers {
		st, err := os.Stat(v.Source)
		if err != nil {
			return fmt.Errorf("viewer program: %w", err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("viewer program %s is not a file", v.Source)
		}
		p.Entries = append(p.Entries, Entry{Path: v.Path, Size: st.Size(), PlainSize: st.Size(), Mode: 0o555, source: v.Source})
	}
	return nil
}

// addAutorun lets Windows AutoPlay offer the viewer when the disc is
// inserted. Optical discs only: Windows ignores it on USB sticks, and
// security software distrusts it there.
func (p *Plan) addAutorun() {
	if p.Medium == USB {
		return
	}
	for _, v := range p.opts.Viewers {
		if v.GOOS == "windows" {
			text := []byte("[autorun]\r\nopen=" + dosPath(v.Path) + "\r\nlabel=Encrypted medical images\r\n")
			p.Entries = append(p.Entries, Entry{Path: autorunName, Size: int64(len(text)), PlainSize: int64(len(text)), Mode: 0o444, data: text})
			return
		}
	}
}

// viewerOn returns the viewer for a system on this medium, or nil.
func (p *Plan) viewerOn(goos, goarch string) *ViewerProgram {
	for _, v := range p.opts.Viewers {
		if v.GOOS == goos && v.GOARCH == goarch {
			return &v.ViewerProgram
		}
	}
	return nil
}

// dosPath writes a medium path the way Windows users see it.
func dosPath(p string) string { return strings.ReplaceAll(p, "/", `\`) }
