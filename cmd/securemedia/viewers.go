package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/securemedia/securemedia/media"
)

// viewerDirEnv names the folder of viewer programs when --viewer-dir is
// not given.
const viewerDirEnv = "SECUREMEDIA_VIEWER_DIR"

// installedViewers is where "make install" puts the viewer programs,
// relative to the folder of the installed program ($PREFIX/bin): FHS
// $PREFIX/lib/securemedia/VIEWER (they are programs, though not for this
// computer to run, so not under share/).
const installedViewers = "../lib/securemedia/VIEWER"

// defaultViewerDirs are the folders burn looks in, in order, when neither
// --viewer-dir nor $SECUREMEDIA_VIEWER_DIR names one: VIEWER next to the
// program exe (where "make viewers" puts them, bin/VIEWER), then where
// "make install" puts them.
func defaultViewerDirs(exe string) []string {
	dir := filepath.Dir(exe)
	return []string{filepath.Join(dir, "VIEWER"), filepath.Join(dir, filepath.FromSlash(installedViewers))}
}

// findViewers returns the viewer programs burn puts on the medium, and
// INDEX.HTM with its assets (the page that opens it in a browser alone,
// media.FindPage): from --viewer-dir, else $SECUREMEDIA_VIEWER_DIR, else
// the first of defaultViewerDirs that holds any. A folder named explicitly
// must hold at least one program; when the default ones hold none, that is
// a warning. Missing systems and a missing page are warnings too.
func findViewers(e *env, o *burnOptions) ([]media.ViewerFile, []media.PageFile, error) {
	if o.noViewer {
		return nil, nil, nil
	}
	dir, explicit := o.viewerDir, "--viewer-dir"
	if dir == "" {
		dir, explicit = os.Getenv(viewerDirEnv), "$"+viewerDirEnv
	}
	var found []media.ViewerFile
	var missing []media.ViewerProgram
	if dir != "" {
		if found, missing = media.FindViewers(dir); len(found) == 0 {
			return nil, nil, withCode(exitUsage, fmt.Errorf("%s %s: no viewer programs there (it should hold WIN/VIEWER.EXE, MAC_ARM/VIEWER, MAC_X64/VIEWER, LINUX/VIEWER: see \"make viewers\")", explicit, dir))
		}
	} else {
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "warning: no viewer programs: cannot locate this program (%v); give --viewer-dir DIR, or --no-viewer\n", err)
			return nil, nil, nil
		}
		dirs := defaultViewerDirs(exe)
		for _, dir = range dirs {
			if found, missing = media.FindViewers(dir); len(found) > 0 {
				break
			}
		}
		if len(found) == 0 {
			fmt.Fprintf(e.stderr, "warning: no viewer programs in %s, so the medium will have none: build them with \"make viewers\" (or install them with \"make install\"), or give --viewer-dir DIR, or --no-viewer\n", strings.Join(dirs, " or "))
			return nil, nil, nil
		}
	}
	if len(missing) > 0 {
		var names []string
		for _, v := range missing {
			names = append(names, v.System+" ("+v.FolderPath()+")")
		}
		fmt.Fprintf(e.stderr, "warning: no viewer in %s for %s; the medium gets the others\n", dir, strings.Join(names, ", "))
	}
	page := media.FindPage(dir)
	if page == nil {
		fmt.Fprintf(e.stderr, "warning: no INDEX.HTM (with PAGE/) in %s, so the medium cannot be opened in a browser alone: build it with \"make viewers\"\n", dir)
	}
	return found, page, nil
}
