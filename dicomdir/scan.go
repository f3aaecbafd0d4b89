package dicomdir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Instance is one DICOM Part 10 file found by Scan: where it is and the
// header elements needed for its directory records.
type Instance struct {
	Path              string
	Size              int64
	SOPClassUID       string
	SOPInstanceUID    string
	TransferSyntaxUID string
	// Elements holds the top-level data set elements that precede Pixel
	// Data, little endian, values as on disk. Values longer than
	// maxHeaderValue are skipped, so memory does not grow with pixel data.
	Elements []*dicom.Element
}

// Get returns the instance's element with tag t, or nil.
func (in *Instance) Get(t dicom.Tag) *dicom.Element { return dicom.Find(in.Elements, t) }

// Value returns the trimmed string value of tag t ("" if absent).
func (in *Instance) Value(t dicom.Tag) string { return in.Get(t).String() }

// Skipped is an input file Scan did not index, and why.
type Skipped struct {
	Path   string
	Reason string
}

// ConflictError reports two input files that cannot both go into one
// File-set: the same SOP Instance UID with different content, or one
// Patient ID with two different names.
type ConflictError struct {
	What         string // e.g. "SOP Instance UID 1.2.3"
	First, Other string // the two input files
	Detail       string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict: %s in %s and %s: %s", e.What, e.First, e.Other, e.Detail)
}

// ScanResult is what Scan found.
type ScanResult struct {
	Instances []*Instance // sorted by path, duplicates removed
	Skipped   []Skipped
	// Duplicates counts files identical to an instance already found.
	Duplicates int
	// Conflicts lists conflicts tolerated because ScanOptions.AllowConflicts
	// was set; the first file found was kept.
	Conflicts []*ConflictError
}

// ScanOptions controls Scan.
type ScanOptions struct {
	// AllowConflicts keeps the first of two files claiming one SOP
	// Instance UID with different content instead of failing.
	AllowConflicts bool
}

// maxHeaderValue is the longest header value Scan keeps. Record keys are
// short; the limit only drops things like embedded icons or waveforms.
const maxHeaderValue = 1 << 16

// Scan finds every DICOM Part 10 file under inputs (files or folders,
// recursively; an existing File-set's DICOMDIR is ignored, the files it
// lists are found directly) and reads their headers only. Files that are
// not DICOM, or are data sets without File Meta Information (which a
// File-set cannot hold, PS3.10 §7.1), are skipped and listed. Files that
// are byte-identical to one already found are collapsed. The end of ctx
// stops the scan, between two files, with ctx's error.
func Scan(ctx context.Context, inputs []string, opt ScanOptions) (*ScanResult, error) {
	inputs, missing, err := expandDICOMDIRs(inputs)
	if err != nil {
		return nil, err
	}
	paths, err := listFiles(inputs)
	if err != nil {
		return nil, err
	}
	res := &ScanResult{Skipped: missing}
	byUID := map[string]*Instance{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in, reason, err := ReadInstance(p)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			res.Skipped = append(res.Skipped, Skipped{Path: p, Reason: reason})
			continue
		}
		if in == nil { // a DICOMDIR
			continue
		}
		prev := byUID[in.SOPInstanceUID]
		if prev == nil {
			byUID[in.SOPInstanceUID] = in
			res.Instances = append(res.Instances, in)
			continue
		}
		same, err := sameContent(prev.Path, in.Path)
		if err != nil {
			return nil, err
		}
		if same {
			res.Duplicates++
			continue
		}
		c := &ConflictError{What: "SOP Instance UID " + in.SOPInstanceUID, First: prev.Path, Other: in.Path,
			Detail: "the files differ"}
		if !opt.AllowConflicts {
			return nil, c
		}
		res.Conflicts = append(res.Conflicts, c)
	}
	return res, nil
}

// expandDICOMDIRs replaces an input that is a DICOMDIR file by the files
// it references, so "index /media/cdrom/DICOMDIR" takes exactly the
// File-set. Referenced files are looked up as written and in lower case
// (how many systems mount ISO 9660 names).
func expandDICOMDIRs(inputs []string) (out []string, missing []Skipped, err error) {
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, nil, err
		}
		if st.IsDir() || !isDICOMDIR(in) {
			out = append(out, in)
			continue
		}
		d, err := ParseFile(in)
		if err != nil {
			return nil, nil, err
		}
		root := filepath.Dir(in)
		d.Walk(func(r *Record, _ int) {
			id := r.FileID()
			if id == nil {
				return
			}
			p := resolveFileID(root, id)
			if err := ValidFileID(id); err != nil {
				missing = append(missing, Skipped{Path: p, Reason: "referenced by " + in + ": " + err.Error()})
			} else if _, err := os.Stat(p); err != nil {
				missing = append(missing, Skipped{Path: p, Reason: "referenced by " + in + " but missing"})
			} else {
				out = append(out, p)
			}
		})
	}
	return out, missing, nil
}

func isDICOMDIR(path string) bool {
	in, reason, err := ReadInstance(path)
	return err == nil && in == nil && reason == ""
}

func resolveFileID(root string, id []string) string {
	p := filepath.Join(append([]string{root}, id...)...)
	if _, err := os.Stat(p); err != nil {
		lower := filepath.Join(root, strings.ToLower(filepath.Join(id...)))
		if _, err := os.Stat(lower); err == nil {
			return lower
		}
	}
	return p
}

// listFiles expands inputs into a sorted, de-duplicated list of regular
// files, so the result does not depend on directory listing order.
func listFiles(inputs []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, in := range inputs {
		err := filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadInstance reads the header of one file. It returns a non-empty
// reason when the file is not an indexable DICOM instance, and a nil
// Instance with no reason for a DICOMDIR. I/O errors are errors.
func ReadInstance(path string) (*Instance, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	return ReadInstanceAt(f, st.Size(), path)
}

// headerReaders recycles ReadInstanceAt's read buffers (the dicom Reader
// copies every value it returns out of them): a scan of thousands of
// files otherwise allocates 16 KiB for each.
var headerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, dicom.HeaderBufferSize) }}

// ReadInstanceAt is ReadInstance for a file of the given size whose bytes
// r holds (for example the start of a file just written, still in memory);
// the Instance records path as its location.
func ReadInstanceAt(ra io.ReaderAt, size int64, path string) (*Instance, string, error) {
	f := io.NewSectionReader(ra, 0, size)
	br := headerReaders.Get().(*bufio.Reader)
	br.Reset(f)
	defer func() {
		br.Reset(nil)
		headerReaders.Put(br)
	}()
	h, r, err := dicom.ReadHeader(br)
	if errors.Is(err, dicom.ErrNotPart10) {
		return nil, notPart10Reason(f), nil
	}
	if err != nil {
		return nil, "unreadable File Meta Information: " + err.Error(), nil
	}
	if h.MetaString(dicom.MediaStorageSOPClassUID) == MediaStorageDirectoryStorage {
		return nil, "", nil
	}
	r.MaxValue = maxHeaderValue
	elems, err := r.ReadUntil(dicom.PixelData)
	if err != nil {
		return nil, "unreadable data set: " + err.Error(), nil
	}
	if h.Syntax.BigEndian {
		for _, e := range elems {
			dicom.SwapToLittleEndian(e)
		}
	}
	in := &Instance{Path: path, Size: size, Elements: elems, TransferSyntaxUID: h.TransferSyntaxUID}
	// The data set is authoritative for the instance's identity; the
	// File Meta copy is a fallback for files that lack it.
	in.SOPClassUID = firstNonEmpty(in.Value(dicom.SOPClassUID), h.MetaString(dicom.MediaStorageSOPClassUID))
	in.SOPInstanceUID = firstNonEmpty(in.Value(dicom.SOPInstanceUID), h.MetaString(dicom.MediaStorageSOPInstanceUID))
	switch {
	case in.SOPInstanceUID == "":
		return nil, "no SOP Instance UID", nil
	case in.SOPClassUID == "":
		return nil, "no SOP Class UID", nil
	case RecordType(in.SOPClassUID) == "":
		return nil, "SOP Class " + in.SOPClassUID + " has no directory record type known to this program", nil
	case rootLevel(RecordType(in.SOPClassUID)):
		// Palettes and the like belong to no patient or study.
	case in.Value(dicom.StudyInstanceUID) == "" || in.Value(dicom.SeriesInstanceUID) == "":
		return nil, "no Study or Series Instance UID: the instance cannot be placed in a directory", nil
	}
	return in, "", nil
}

// notPart10Reason explains why a file without "DICM" at byte 128 is not
// indexed: a File-set may only hold Part 10 files (PS3.10 §7.1, §8), and
// index never rewrites an input to make it one.
func notPart10Reason(f io.ReaderAt) string {
	b := make([]byte, 8)
	if n, _ := f.ReadAt(b, 0); n < len(b) {
		return "not a DICOM file"
	}
	switch {
	case string(b[:4]) == "DICM":
		return "DICM prefix at byte 0: the 128-byte preamble is missing (PS3.10 §7.1)"
	case b[0] == 0x02 && b[1] == 0:
		return "File Meta Information without the 128-byte preamble and DICM prefix (PS3.10 §7.1)"
	case b[0] == 0x08 && b[1] == 0, b[0] == 0 && b[1] == 0x08:
		return "DICOM data set without File Meta Information (no preamble and DICM prefix, PS3.10 §7.1)"
	}
	return "not a DICOM file"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// sameContent compares two files byte by byte.
func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ra, rb := bufio.NewReader(fa), bufio.NewReader(fb)
	ba, bb := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, ea := io.ReadFull(ra, ba)
		nb, eb := io.ReadFull(rb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return eb == io.EOF || eb == io.ErrUnexpectedEOF, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}
