package viewer

import (
	"io"
	"net/http"

	"github.com/securemedia/securemedia/pixeldata"
)

// The tag browser: every data element of one instance's file, File Meta
// Information included, sequences as nested items (GET /tags/{key}/{i};
// pixeldata.Describe). The file is read to its end first, and through the
// check against its directory record, so a damaged or mismatched file
// shows nothing, as on the image.

type tagsView struct {
	Elements []*pixeldata.Node `json:"elements"`
}

func (s *Server) tagsJSON(w http.ResponseWriter, r *http.Request) {
	se, i, ok := s.instance(r, r.PathValue("i"))
	if !ok {
		http.Error(w, "no such image", http.StatusNotFound)
		return
	}
	v, err := readTags(func() (io.ReadCloser, error) { return s.disc.OpenInstance(se.files[i]) })
	if err != nil {
		msg, _ := s.readFailed(se, i, err)
		http.Error(w, msg, http.StatusUnprocessableEntity)
		return
	}
	writeJSON(w, v)
}

// readTags describes the file open gives.
func readTags(open func() (io.ReadCloser, error)) (*tagsView, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	nodes, err := pixeldata.Describe(rc)
	if err != nil {
		return nil, err
	}
	return &tagsView{Elements: nodes}, nil
}
