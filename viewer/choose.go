package viewer

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/securemedia/securemedia/media"
)

// Choosing the disc: a Server made with New(nil, …) has no disc yet (the
// program on the disc was started from somewhere else). Its home page asks
// for the path of a disc, folder or ISO image; the disc chosen there
// belongs to the server, which closes it when Serve returns.

// attach makes d the server's disc: a medium with nothing sealed on it
// opens at once, one with sealed files waits for its password. A medium
// with no DICOM files at all is refused. A damaged medium opens with what
// can be read (media.Disc.Salvage); the pages mark what is lost.
// The caller holds unlockMu, or has not started serving yet.
func (s *Server) attach(d *media.Disc) error {
	if !d.Unlocked() {
		need, err := d.NeedsKey()
		if err != nil {
			return err
		}
		if !need {
			if err := d.Salvage(); err != nil {
				return err
			}
		}
	}
	s.disc = d
	if d.Unlocked() {
		s.opened()
	}
	return nil
}

// needsDisc tells whether the home page must ask for the disc.
func (s *Server) needsDisc() bool {
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	return s.disc == nil
}

func chooseData(path, msg string) map[string]any {
	return map[string]any{"Title": "Which disc?", "Path": path, "Error": msg}
}

// choose opens the disc the user named.
func (s *Server) choose(w http.ResponseWriter, r *http.Request) {
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	if s.disc != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	typed := r.PostFormValue("path")
	p := cleanTypedPath(typed)
	if p == "" {
		s.render(w, http.StatusOK, "choose", chooseData(typed, "Type where the disc is first."))
		return
	}
	if strings.EqualFold(filepath.Base(p), "DICOMDIR") {
		p = filepath.Dir(p) // the DICOMDIR file itself: its folder is the disc
	}
	d, err := media.Open(p)
	if err == nil {
		if err = s.attach(d); err != nil {
			d.Close()
		}
	}
	if err != nil {
		s.render(w, http.StatusOK, "choose", chooseData(typed, chooseMessage(p, err)))
		return
	}
	s.owned = d
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// cleanTypedPath trims what copying a path tends to add: spaces, and the
// quotes of Windows' "Copy as path".
func cleanTypedPath(p string) string {
	p = strings.TrimSpace(p)
	if len(p) >= 2 && (p[0] == '"' && p[len(p)-1] == '"' || p[0] == '\'' && p[len(p)-1] == '\'') {
		p = strings.TrimSpace(p[1 : len(p)-1])
	}
	return p
}

func chooseMessage(p string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "Nothing was found at " + p + ". Check the spelling, or copy the path from your file manager's address bar."
	case errors.Is(err, media.ErrNoDICOMDIR):
		return "There is no DICOMDIR in " + p + ", so it is not a DICOM disc. Choose the top folder of the disc (the one with README.TXT and DICOMDIR in it), or a disc image file ending in .iso."
	case errors.Is(err, fs.ErrPermission):
		return "This computer does not let the viewer read " + p + ". Copy the disc to a folder of your own and choose that folder."
	}
	if st, serr := os.Stat(p); serr == nil && !st.IsDir() {
		return p + " is not a disc image the viewer can read (" + err.Error() + "). Choose a folder, a disc drive or a file ending in .iso."
	}
	return p + " could not be opened: " + err.Error()
}

// closeOwned closes a disc chosen on the page, once serving has stopped.
func (s *Server) closeOwned() {
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	if s.owned != nil {
		s.owned.Close()
		s.owned = nil
	}
}
