package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/dicom"
)

// A survey lists every file of a medium and tells, from its first bytes,
// what each one is: a plain DICOM File, a Secure DICOM File (with the key
// derivations its recipients ask for), or something else. It is what a
// reader knows before any key is used: whether a password is needed at
// all, and how much key derivation opening the medium would cost.

// fileKind is what a file of a medium is.
type fileKind int

const (
	kindOther  fileKind = iota // not DICOM: a report, a picture, a program
	kindPlain                  // a plain DICOM Part 10 file
	kindSealed                 // a Secure DICOM File (CMS EnvelopedData)
)

// surveyedFile is one file of the medium.
type surveyedFile struct {
	path string // slash path as the medium shows it
	size int64
	kind fileKind
	// what: for kindOther, what the file looks like ("PDF document", ...);
	// for an unreadable file, why.
	what string
	info *cms.Info // kindSealed: its envelope
	err  error     // the file could not be read (a damaged disc)
}

// Limits of a survey: a hostile medium must not make it walk forever.
const (
	maxMediumFiles = 1 << 18
	maxMediumDepth = 16
	maxEnvelope    = 1 << 20 // bytes read to parse a sealed file's envelope
)

// survey walks the medium once (cached): every regular file, in walk
// order. Directories that cannot be read are reported as files with an
// error, so that a damaged disc shows what was lost.
func (d *Disc) survey() ([]*surveyedFile, error) {
	if d.files != nil || d.surveyErr != nil {
		return d.files, d.surveyErr
	}
	var files []*surveyedFile
	err := fs.WalkDir(d.fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			files = append(files, &surveyedFile{path: p, err: err, what: "unreadable folder"})
			return fs.SkipDir
		}
		if e.IsDir() {
			if strings.Count(p, "/") >= maxMediumDepth {
				return fmt.Errorf("%s: folders nested deeper than %d: %w", p, maxMediumDepth, ErrTooLarge)
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		if len(files) == maxMediumFiles {
			return fmt.Errorf("more than %d files on the medium: %w", maxMediumFiles, ErrTooLarge)
		}
		files = append(files, d.sniff(p))
		return nil
	})
	if err != nil {
		d.surveyErr = err
		return nil, err
	}
	if files == nil {
		files = []*surveyedFile{}
	}
	d.files = files
	return files, nil
}

// sniff reads the start of one file to tell its kind.
func (d *Disc) sniff(p string) *surveyedFile {
	sf := &surveyedFile{path: p}
	f, err := d.fsys.Open(p)
	if err != nil {
		sf.err, sf.what = err, "unreadable"
		return sf
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		sf.size = st.Size()
	}
	head := make([]byte, dicom.PreambleLen+4)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		sf.err, sf.what = err, "unreadable"
		return sf
	}
	head = head[:n]
	switch {
	case dicom.IsPart10(head):
		sf.kind = kindPlain
	case n > 0 && head[0] == 0x30: // a DER or BER SEQUENCE: perhaps CMS
		info, err := cms.Inspect(io.LimitReader(io.MultiReader(bytes.NewReader(head), sniffReads{f}), maxEnvelope))
		if err == nil {
			sf.kind, sf.info = kindSealed, info
			break
		}
		sf.what = "not DICOM (" + describe(p, head) + ")"
		if !errors.Is(err, cms.ErrNotEnvelopedData) {
			sf.what = "a damaged or malformed Secure DICOM File: " + err.Error()
			sf.kind, sf.err = kindSealed, classify(err)
		}
	default:
		sf.what = describe(p, head)
	}
	return sf
}

// sniffReads caps each read of a file the survey inspects at a sector: a
// sealed file's envelope is a few hundred bytes, but cms reads ahead
// 64 KiB, which on a CD-ROM costs 18 ms more for each of hundreds of
// files. Capped, it reads the envelope and less than a sector more.
type sniffReads struct{ r io.Reader }

func (s sniffReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 2048)]) }

// describe names what a non-DICOM file looks like, from its magic bytes
// or else its name.
func describe(p string, head []byte) string {
	for _, m := range []struct{ magic, what string }{
		{"%PDF", "PDF document"}, {"\xFF\xD8\xFF", "JPEG picture"}, {"\x89PNG", "PNG picture"},
		{"MZ", "Windows program"}, {"\x7FELF", "Linux program"}, {"\xCF\xFA\xED\xFE", "macOS program"},
		{"PK\x03\x04", "ZIP archive"}, {"<!DOCTYPE", "web page"}, {"<html", "web page"}, {"<HTML", "web page"},
	} {
		if bytes.HasPrefix(head, []byte(m.magic)) {
			return m.what
		}
	}
	switch strings.ToUpper(path.Ext(p)) {
	case ".TXT", ".MD", ".INF", ".INI", ".XML", ".HTM", ".HTML", ".CSS", ".JS", ".JSON", ".CSV":
		return "text"
	}
	if len(head) >= 132 && (head[0] == 0x08 || head[0] == 0x02) && head[1] == 0 {
		return "DICOM data without the Part 10 preamble and DICM prefix"
	}
	return "unknown data"
}

// NeedsKey reports whether anything on the medium is sealed, so that a
// program asks for a password (or key) only then. It reads the start of
// every file once.
func (d *Disc) NeedsKey() (bool, error) {
	files, err := d.survey()
	if err != nil {
		return false, err
	}
	for _, f := range files {
		if f.kind == kindSealed {
			return true, nil
		}
	}
	return false, nil
}

// DefaultMaxKDFWork bounds the PBKDF2 iterations opening one medium may
// cost, about ten seconds here: a medium sealed under one salt costs one
// derivation (a few hundred thousand iterations), one made by a tool that
// salts each file (openssl cms: 2048 iterations each) costs one per file.
const DefaultMaxKDFWork = 100_000_000

// SetMaxKDFWork changes the bound on key derivation work (0 means the
// default; negative means none). Call it before Unlock.
func (d *Disc) SetMaxKDFWork(iterations int64) { d.maxKDFWork = iterations }

func (d *Disc) kdfLimit() int64 {
	switch {
	case d.maxKDFWork == 0:
		return DefaultMaxKDFWork
	case d.maxKDFWork < 0:
		return 0
	}
	return d.maxKDFWork
}

// ErrKDFLimit: opening the medium would cost more key derivation work
// than allowed. It is also ErrPolicy.
var ErrKDFLimit = errors.New("key derivation work limit")

// KDFWork counts, without deriving anything, the PBKDF2 iterations that
// opening every sealed file of the medium with one password costs: one
// derivation per distinct salt, iteration count and PRF, as the
// password's key cache shares the rest.
func (d *Disc) KDFWork() (iterations int64, derivations int, err error) {
	files, err := d.survey()
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	for _, f := range files {
		if f.info == nil {
			continue
		}
		for _, r := range f.info.Recipients {
			if r.Kind == "password" && r.KDFKey != "" && !seen[r.KDFKey] {
				seen[r.KDFKey] = true
				iterations += int64(r.Iterations)
				derivations++
			}
		}
	}
	return iterations, derivations, nil
}

// checkKDFWork refuses, before any derivation, a medium whose key
// derivations cost more than the limit, and sets the limit on the
// password identities as a backstop.
func (d *Disc) checkKDFWork(ids []Identity) error {
	limit := d.kdfLimit()
	passwords := 0
	for _, id := range ids {
		if p, ok := id.(*cms.PasswordIdentity); ok {
			passwords++
			if limit > 0 {
				p.LimitWork(limit)
			}
		}
	}
	if limit == 0 || passwords == 0 {
		return nil
	}
	work, n, err := d.KDFWork()
	if err != nil {
		return err
	}
	if work*int64(passwords) > limit {
		return fmt.Errorf("%w: opening this medium takes %d PBKDF2 iterations (%d key derivations), more than the limit of %d; if you trust it, raise the limit with --max-kdf-work: %w",
			ErrKDFLimit, work*int64(passwords), n*passwords, limit, ErrPolicy)
	}
	return nil
}

// OtherFile is a file of the medium that is not a DICOM instance of its
// File-set: a report, a picture, another vendor's viewer, or a file that
// could not be read.
type OtherFile struct {
	Path string
	What string // "PDF document", "Windows program", ...
	Err  error  // the file (or its folder) could not be read
}
