package dimse

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/internal/dicom"
)

// FolderStore stores what a Server receives as DICOM Part 10 files:
// Dir/<Study Instance UID>/<SOP Instance UID>.dcm, the data set exactly as
// received behind a File Meta Information of our own (PS3.10 §7.1). Each
// instance is streamed to disk, never held whole in memory, and appears
// under its final name complete or not at all.
//
// A stored file is never replaced: losing the first copy of an image is
// worse than keeping two. When an instance arrives whose file exists, its
// data set (not our File Meta, which names the sending AE) is compared
// with the stored one. The same data set again is discarded
// (IdenticalCopy); another one is kept apart as
// Dir/conflicts/<SOP Instance UID>.<first 12 hex digits of its data set's
// SHA-256>.dcm (ConflictingCopy), so the same conflicting copy sent twice
// is still one file.
type FolderStore struct {
	Dir string
	// Stored, if set, is told of every instance: what was done with it,
	// or why it was not stored. It may be called concurrently.
	Stored func(req StoreRequest, res StoreResult)

	// mu makes "is the name free? then take it" one step for the
	// handlers of this store, on file systems without hard links.
	mu sync.Mutex
}

// Copy says how an arriving instance relates to what the FolderStore
// already holds under its SOP Instance UID.
type Copy int

const (
	// NewCopy was stored under its final name.
	NewCopy Copy = iota
	// IdenticalCopy had the data set of a file already stored (the first
	// copy, or a conflicting copy kept apart earlier); it was discarded.
	IdenticalCopy
	// ConflictingCopy had another data set than the first copy, which is
	// unchanged; it was kept apart in Dir/conflicts.
	ConflictingCopy
)

// StoreResult is what a FolderStore did with one instance. Paths are
// relative to Dir.
type StoreResult struct {
	Copy Copy
	// Path holds the instance's data set: the new file, the file that
	// already had it (IdenticalCopy), or the copy kept apart
	// (ConflictingCopy).
	Path string
	// First is, for IdenticalCopy and ConflictingCopy, the file first
	// stored under the SOP Instance UID, <study>/<sop>.dcm.
	First string
	// Err, if set, is why the instance was not stored; the other fields
	// are then empty.
	Err error
}

// ConflictsDir is the folder inside Dir where conflicting copies go.
const ConflictsDir = "conflicts"

// Handle is the StoreHandler.
//
// A duplicate is answered with success, like a new instance: its bytes
// are stored (or already were), and no other status is honest. The C-STORE
// warnings (PS3.4 Table B.2-1: B000 coercion of data elements, B006
// elements discarded, B007 data set does not match SOP Class) all say
// something about this data set that is not true, and 0111 Duplicate SOP
// Instance (PS3.7 Annex C) is a failure, which would tell the sender its
// instance was not stored, so that it retries forever or reports a loss.
// The duplicate is reported through Stored instead.
func (s *FolderStore) Handle(_ context.Context, req StoreRequest, data io.Reader) Status {
	if !safeUID(req.SOPInstanceUID) || !safeUID(req.SOPClassUID) {
		s.report(req, StoreResult{Err: fmt.Errorf("invalid SOP Instance or Class UID")})
		return Status{Code: 0xA900, ErrorComment: "invalid SOP Class or Instance UID"}
	}
	res := s.store(req, data)
	s.report(req, res)
	if res.Err != nil {
		return Status{Code: 0xA700, ErrorComment: truncate(res.Err.Error(), 64)}
	}
	return Status{}
}

func (s *FolderStore) report(req StoreRequest, res StoreResult) {
	if s.Stored != nil {
		s.Stored(req, res)
	}
}

// store receives the instance into Dir/.incoming, then gives it its final
// name, or discards it or keeps it apart if that name is taken.
func (s *FolderStore) store(req StoreRequest, data io.Reader) StoreResult {
	tmp, size, sum, err := s.receive(req, data)
	if err != nil {
		return StoreResult{Err: err}
	}
	// Placing links the file under its new name (or renames it); the
	// name in .incoming goes in every case.
	defer os.Remove(tmp)
	first := filepath.Join(studyOf(tmp), req.SOPInstanceUID+".dcm")
	placed, err := s.place(tmp, first)
	switch {
	case err != nil:
		return StoreResult{Err: err}
	case placed:
		return StoreResult{Copy: NewCopy, Path: first}
	case sameDataSet(filepath.Join(s.Dir, first), size, sum):
		return StoreResult{Copy: IdenticalCopy, Path: first, First: first}
	}
	// A first copy that cannot be read counts as different too: keeping
	// the new one apart loses nothing.
	return s.keepApart(req, tmp, first, size, sum)
}

// keepApart stores tmp, whose data set differs from the first copy's, in
// ConflictsDir under a name derived from its data set, so that the same
// conflicting copy sent again finds itself there.
func (s *FolderStore) keepApart(req StoreRequest, tmp, first string, size int64, sum [sha256.Size]byte) StoreResult {
	apart := filepath.Join(ConflictsDir, fmt.Sprintf("%s.%x.dcm", req.SOPInstanceUID, sum[:6]))
	placed, err := s.place(tmp, apart)
	switch {
	case err != nil:
		return StoreResult{Err: err}
	case placed:
		return StoreResult{Copy: ConflictingCopy, Path: apart, First: first}
	case sameDataSet(filepath.Join(s.Dir, apart), size, sum):
		return StoreResult{Copy: IdenticalCopy, Path: apart, First: first}
	}
	// 48 bits of SHA-256 alike, or an unreadable file there: refuse
	// rather than guess (the sender keeps its copy and may retry).
	return StoreResult{Err: fmt.Errorf("%s holds another data set", apart)}
}

// receive streams the instance into a file of its own in Dir/.incoming
// (two associations may send one UID at once, so the UID alone is not a
// unique name) and returns its path, the size and the SHA-256 of its
// data set, hashed as it is written.
func (s *FolderStore) receive(req StoreRequest, data io.Reader) (string, int64, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	inc := filepath.Join(s.Dir, ".incoming")
	if err := os.MkdirAll(inc, 0o700); err != nil {
		return "", 0, sum, err
	}
	tmp := filepath.Join(inc, req.SOPInstanceUID+"."+rand.Text()+".dcm")
	f, err := atomicfile.Create(tmp, 0o600, true)
	if err != nil {
		return "", 0, sum, err
	}
	defer f.Abort()
	if err := writeFileMeta(f, req); err != nil {
		return "", 0, sum, err
	}
	h := sha256.New()
	// The MultiWriter also keeps io.Copy on f.Write, which paces the
	// writeback of large files; f's promoted os.File.ReadFrom would not.
	n, err := io.Copy(io.MultiWriter(f, h), data)
	if err != nil {
		return "", 0, sum, err
	}
	if err := f.Commit(); err != nil {
		return "", 0, sum, err
	}
	h.Sum(sum[:0])
	return tmp, n, sum, nil
}

// place gives the complete file tmp the name rel (relative to Dir) unless
// that name is taken, and reports whether it did. A hard link fails
// atomically when the name exists, even against another process storing
// into Dir; where links are not supported (some network shares and USB
// file systems) a check and a rename do, under s.mu, for this store.
func (s *FolderStore) place(tmp, rel string) (bool, error) {
	final := filepath.Join(s.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := link(tmp, final)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err == nil, nil
	}
	if _, err := os.Lstat(final); !errors.Is(err, fs.ErrNotExist) {
		return false, err // nil: the name is taken
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, err
	}
	return true, nil
}

// link is os.Link, a variable so that a test can take hard links away.
var link = os.Link

// sameDataSet reports whether the Part 10 file at path holds a data set of
// size bytes whose SHA-256 is sum. What precedes the data set does not
// count: our File Meta names the sending AE, which may differ. A file
// that cannot be read is not the same; a size that differs spares reading
// it.
func sameDataSet(path string, size int64, sum [sha256.Size]byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	hd, _, err := dicom.ReadHeader(f)
	if err != nil || fi.Size()-hd.DataSetOffset != size {
		return false
	}
	if _, err := f.Seek(hd.DataSetOffset, io.SeekStart); err != nil {
		return false
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return [sha256.Size]byte(h.Sum(nil)) == sum
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
