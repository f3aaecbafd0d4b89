package dimse

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/dicom"
)

// FolderStore stores what a Server receives as DICOM Part 10 files:
// Dir/<Study Instance UID>/<SOP Instance UID>.dcm, the data set exactly as
// received behind a File Meta Information of our own (PS3.10 §7.1). Each
// instance is streamed to disk, never held whole in memory, and appears
// under its final name complete or not at all.
type FolderStore struct {
	Dir string
	// Stored, if set, is told of every instance: where it went (relative
	// to Dir), or why it was not stored. It may be called concurrently.
	Stored func(req StoreRequest, path string, err error)
}

// Handle is the StoreHandler.
func (s *FolderStore) Handle(_ context.Context, req StoreRequest, data io.Reader) Status {
	if !safeUID(req.SOPInstanceUID) || !safeUID(req.SOPClassUID) {
		s.report(req, "", fmt.Errorf("invalid SOP Instance or Class UID"))
		return Status{Code: 0xA900, ErrorComment: "invalid SOP Class or Instance UID"}
	}
	path, err := s.write(req, data)
	s.report(req, path, err)
	if err != nil {
		return Status{Code: 0xA700, ErrorComment: truncate(err.Error(), 64)}
	}
	return Status{}
}

func (s *FolderStore) report(req StoreRequest, path string, err error) {
	if s.Stored != nil {
		s.Stored(req, path, err)
	}
}

// write streams the instance into Dir/.incoming, then moves it into its
// study folder once the Study Instance UID has been read back from disk.
func (s *FolderStore) write(req StoreRequest, data io.Reader) (string, error) {
	inc := filepath.Join(s.Dir, ".incoming")
	if err := os.MkdirAll(inc, 0o700); err != nil {
		return "", err
	}
	tmp := filepath.Join(inc, req.SOPInstanceUID+".dcm")
	f, err := atomicfile.Create(tmp, 0o600, true)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if err := writeFileMeta(f, req); err != nil {
		return "", err
	}
	if _, err := io.Copy(f, data); err != nil {
		return "", err
	}
	if err := f.Commit(); err != nil {
		return "", err
	}
	study := studyOf(tmp)
	dir := filepath.Join(s.Dir, study)
	final := filepath.Join(dir, req.SOPInstanceUID+".dcm")
	err = os.MkdirAll(dir, 0o700)
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return filepath.Join(study, req.SOPInstanceUID+".dcm"), nil
}

// writeFileMeta writes the preamble and File Meta Information (PS3.10
// §7.1) of a received instance.
func writeFileMeta(w io.Writer, req StoreRequest) error {
	meta := []*dicom.Element{
		{Tag: dicom.FileMetaInformationVersion, VR: "OB", Value: []byte{0, 1}},
		dicom.StringElement(dicom.MediaStorageSOPClassUID, "UI", req.SOPClassUID),
		dicom.StringElement(dicom.MediaStorageSOPInstanceUID, "UI", req.SOPInstanceUID),
		dicom.StringElement(dicom.TransferSyntaxUID, "UI", req.TransferSyntaxUID),
		dicom.StringElement(dicom.ImplementationClassUID, "UI", ImplClassUID),
		dicom.StringElement(dicom.ImplementationVersionName, "SH", ImplVersion),
	}
	if req.CallingAE != "" {
		meta = append(meta, dicom.StringElement(dicom.SourceApplicationEntityTitle, "AE", req.CallingAE))
	}
	for _, m := range meta {
		dicom.PadValue(m)
	}
	b, err := dicom.AppendFileMeta(nil, meta)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// studyOf reads the Study Instance UID of a stored file; instances without
// a usable one are grouped under "unknown-study".
func studyOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown-study"
	}
	defer f.Close()
	_, r, err := dicom.ReadHeader(f)
	if err != nil {
		return "unknown-study"
	}
	r.MaxValue = 1 << 16
	elems, _ := r.ReadUntil(dicom.SeriesInstanceUID)
	if uid := dicom.Find(elems, dicom.StudyInstanceUID).String(); safeUID(uid) {
		return uid
	}
	return "unknown-study"
}

// safeUID accepts a UID as PS3.5 §9.1 defines it (digits and dots, at
// most 64 characters), which also makes it a safe file name.
func safeUID(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}
