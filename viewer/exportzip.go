package viewer

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Save a copy in INDEX.HTM: a browser page can write no folder, so the
// copy is a .zip of the File-set Extract would write (media.ExtractTo),
// which page.js hands to the browser as a download.

func (s *Server) exportZipPage(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Title": "Save a copy", "Tree": s.tree, "Zip": true}
	if r.URL.Query().Get("saved") != "" {
		data["Done"] = "The copy was saved as a .zip file, handed to the browser as a download (usually your Downloads folder): a standard DICOM folder (with a DICOMDIR) that any DICOM viewer or PACS can import once unzipped. It is NOT encrypted: keep it safe."
	}
	s.render(w, http.StatusOK, "export", data)
}

// exportZip answers with the zip as an attachment, or with the export page
// and the reason it failed. Memory: the whole zip is held here (a
// bytes.Buffer; stored, not compressed: deflate in WebAssembly would slow
// the save down) as the price of an answer that is either complete or an
// error page, copied once into the in-page response (main_js.go's
// recorder), once into the page's Uint8Array and once into its Blob: about
// four times the zip at the peak, less as Go's garbage is collected. One
// instance's plaintext is never held whole besides. A disc larger than the
// browser can hold that many times over cannot be saved this way (writing
// into a folder with the File System Access API would stream instead).
func (s *Server) exportZip(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	patient := r.PostFormValue("patient")
	data := map[string]any{"Title": "Save a copy", "Tree": s.tree, "Zip": true, "Patient": patient}
	if !s.exportMu.TryLock() {
		data["Error"] = "A copy is already being saved; wait until it has finished."
		s.render(w, http.StatusOK, "export", data)
		return
	}
	defer s.exportMu.Unlock()
	only, ok := s.exportScope(patient)
	if !ok {
		s.fail(w, http.StatusNotFound, "That patient is not on this disc.")
		return
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	_, err := s.disc.ExtractTo(r.Context(), storedZip{zw}, only)
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		data["Error"] = "The copy was not saved: " + err.Error() + "."
		s.render(w, http.StatusOK, "export", data)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+zipName(s.disc.FileSetID())+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// storedZip adds files to a zip without compression.
type storedZip struct{ zw *zip.Writer }

func (z storedZip) Create(name string) (io.Writer, error) {
	return z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
}

// zipName is the download's name: the disc's File-set ID (PS3.10 §8.4:
// upper-case letters, digits, space and underscore), else DISC.
func zipName(fileSetID string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		case r == ' ':
			return '_'
		}
		return -1
	}, strings.TrimSpace(fileSetID))
	if name == "" {
		name = "DISC"
	}
	return name + ".zip"
}
