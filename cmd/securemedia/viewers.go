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

// findViewers returns the viewer programs burn puts on the medium: from
// --viewer-dir, else $SECUREMEDIA_VIEWER_DIR, else the folder VIEWER next
// to this program. A folder named explicitly must hold at least one; the
// default one may hold none, which is a warning. Missing systems are a
// warning too.
func findViewers(e *env, o *burnOptions) ([]media.ViewerFile, error) {
	if o.noViewer {
		return nil, nil
	}
	dir, explicit := o.viewerDir, "--viewer-dir"
	if dir == "" {
		dir, explicit = os.Getenv(viewerDirEnv), "$"+viewerDirEnv
	}
	if dir == "" {
		explicit = ""
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "warning: no viewer programs: cannot locate this program (%v); give --viewer-dir DIR, or --no-viewer\n", err)
			return nil, nil
		}
		dir = filepath.Join(filepath.Dir(exe), "VIEWER")
	}
	found, missing := media.FindViewers(dir)
	if len(found) == 0 {
		if explicit != "" {
			return nil, withCode(exitUsage, fmt.Errorf("%s %s: no viewer programs there (it should hold WIN/VIEWER.EXE, MAC_ARM/VIEWER, MAC_X64/VIEWER, LINUX/VIEWER: see \"make viewers\")", explicit, dir))
		}
		fmt.Fprintf(e.stderr, "warning: no viewer programs in %s, so the medium will have none: build them with \"make viewers\", or give --viewer-dir DIR, or --no-viewer\n", dir)
		return nil, nil
	}
	if len(missing) > 0 {
		var names []string
		for _, v := range missing {
			names = append(names, v.System+" ("+v.FolderPath()+")")
		}
		fmt.Fprintf(e.stderr, "warning: no viewer in %s for %s; the medium gets the others\n", dir, strings.Join(names, ", "))
	}
	return found, nil
}
