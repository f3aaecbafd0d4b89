package media

import (
	"fmt"
	"io/fs"
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
// viewer programs, INDEX.HTM and its assets (under VIEWER/) and
// AUTORUN.INF. None carries patient data.
func plainOnMedium(p string) bool {
	p = strings.ToUpper(p)
	return p == "README.TXT" || p == autorunName || p == "INDEX.HTM" || strings.HasPrefix(p, "VIEWER/")
}

// addViewers adds the viewer programs, plain and executable, and
// INDEX.HTM with its assets, plain and read-only.
func (p *Plan) addViewers() error {
	for _, f := range p.opts.Page {
		if err := p.addPlainFile("INDEX.HTM", f.Path, f.Source, 0o444); err != nil {
			return err
		}
	}
	for _, v := range p.opts.Viewers {
		if err := p.addPlainFile("viewer program", v.Path, v.Source, 0o555); err != nil {
			return err
		}
	}
	return nil
}

// addPlainFile adds a file of this computer, copied unsealed.
func (p *Plan) addPlainFile(what, onMedium, source string, mode fs.FileMode) error {
	st, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a file", what, source)
	}
	p.Entries = append(p.Entries, Entry{Path: onMedium, Size: st.Size(), PlainSize: st.Size(), Mode: mode, source: source})
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

// PageFile is one file of INDEX.HTM, the page that opens the medium in a
// browser alone (cmd/discpage): its path in a folder of viewers and on
// the medium. INDEX.HTM goes to the medium's root (the name IHE PDI
// gives it), its assets under VIEWER/PAGE.
type PageFile struct {
	Folder, Path string
	Source       string // the file to copy, once found (FindPage)
}

// PageFiles are INDEX.HTM and its assets, as "make viewers" writes them.
var PageFiles = []PageFile{
	{Folder: "INDEX.HTM", Path: "INDEX.HTM"},
	{Folder: "PAGE/PAGE.JS", Path: "VIEWER/PAGE/PAGE.JS"},
	{Folder: "PAGE/WASM.JS", Path: "VIEWER/PAGE/WASM.JS"},
	{Folder: "PAGE/PAGE.CSS", Path: "VIEWER/PAGE/PAGE.CSS"},
}

// FindPage looks in dir (a folder of viewers) for INDEX.HTM and its
// assets: all of them, or none (nil) when any is missing.
func FindPage(dir string) []PageFile {
	var found []PageFile
	for _, f := range PageFiles {
		src := filepath.Join(dir, filepath.FromSlash(f.Folder))
		st, err := os.Stat(src)
		if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
			return nil
		}
		f.Source = src
		found = append(found, f)
	}
	return found
}
