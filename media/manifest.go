package media

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
)

// The manifest lists every other file of the medium with its size as
// recorded and the SHA-256 of its content (the DICOM File inside a sealed
// file, the bytes of a plain one). It is sealed itself, so it reveals
// nothing, and it is written last: its lines have a fixed width, so its
// size is known before the hashes are.

const manifestName = "MANIFEST"

const manifestHeader = "SECUREMEDIA MANIFEST 1\n"

type manifestEntry struct {
	path   string // slash-separated, as on the medium
	size   int64
	sha256 [32]byte
}

// manifestSize is the exact size of a manifest for these paths.
func manifestSize(paths []string) int64 {
	n := int64(len(manifestHeader))
	for _, p := range paths {
		n += int64(64 + 1 + 16 + 1 + len(p) + 1)
	}
	return n
}

func encodeManifest(entries []manifestEntry) []byte {
	var b bytes.Buffer
	b.WriteString(manifestHeader)
	for _, e := range entries {
		fmt.Fprintf(&b, "%x %016d %s\n", e.sha256, e.size, e.path)
	}
	return b.Bytes()
}

// maxManifestEntries bounds what a hostile manifest can make us hold.
const maxManifestEntries = 1 << 20

// manifestPath reports whether p can name a file of a medium: not empty,
// no control characters (a carriage return or a newline in a name would
// let one line of the manifest pass for another).
func manifestPath(p string) bool {
	if p == "" {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func parseManifest(data []byte) ([]manifestEntry, error) {
	if !bytes.HasPrefix(data, []byte(manifestHeader)) {
		return nil, fmt.Errorf("manifest: unknown format")
	}
	var out []manifestEntry
	sc := bufio.NewScanner(bytes.NewReader(data[len(manifestHeader):]))
	for sc.Scan() {
		if len(out) == maxManifestEntries {
			return nil, fmt.Errorf("manifest: more than %d entries", maxManifestEntries)
		}
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 || len(f[0]) != 64 {
			return nil, fmt.Errorf("manifest: bad line %d", len(out)+1)
		}
		var e manifestEntry
		if _, err := hex.Decode(e.sha256[:], []byte(f[0])); err != nil {
			return nil, fmt.Errorf("manifest: bad hash on line %d", len(out)+1)
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("manifest: bad size on line %d", len(out)+1)
		}
		if !manifestPath(f[2]) {
			return nil, fmt.Errorf("manifest: bad path on line %d", len(out)+1)
		}
		e.size, e.path = size, f[2]
		out = append(out, e)
	}
	return out, sc.Err()
}

// The sealed DICOMDIR of a medium we write binds its manifest: a PRIVATE
// directory record at the root (PS3.3 F.5: a Directory Record Type of
// PRIVATE identified by its Private Record UID) holds the SHA-256 of the
// manifest's content in a private element (PS3.5 §7.8). Readers that do not
// know it skip it, as PS3.3 F.4 says they should. A medium whose DICOMDIR
// carries it must have that manifest: deleting or replacing the manifest
// is caught, and the manifest in turn binds every other file.
const (
	manifestRecordUID = "2.25.210116796031464415696414780370444488922"
	manifestCreator   = "SECUREMEDIA MANIFEST"
)

var (
	tagManifestCreator = dicom.NewTag(0x0009, 0x0010)
	tagManifestSHA256  = dicom.NewTag(0x0009, 0x1010)
)

// manifestRecord is the PRIVATE record that binds a manifest's digest.
func manifestRecord(sum [32]byte) *dicomdir.Record {
	return &dicomdir.Record{Type: "PRIVATE", Elements: []*dicom.Element{
		dicom.StringElement(dicom.PrivateRecordUID, "UI", manifestRecordUID),
		dicom.StringElement(tagManifestCreator, "LO", manifestCreator),
		{Tag: tagManifestSHA256, VR: "OB", Length: 32, Value: sum[:]},
	}}
}

// isManifestRecord tells the binding record from other records.
func isManifestRecord(r *dicomdir.Record) bool {
	return r.Type == "PRIVATE" && r.Value(dicom.PrivateRecordUID) == manifestRecordUID
}

// manifestBinding is the manifest digest a DICOMDIR names, or nil.
func manifestBinding(dir *dicomdir.Directory) []byte {
	for _, r := range dir.Records {
		if isManifestRecord(r) && r.Value(tagManifestCreator) == manifestCreator {
			if e := r.Get(tagManifestSHA256); e != nil && len(e.Value) == 32 {
				return e.Value
			}
			return []byte{} // present but unreadable: no manifest can match
		}
	}
	return nil
}

// bindManifest puts the manifest's digest in the place manifestRecord left
// for it in an encoded DICOMDIR: the value is the same size, so no offset
// moves.
func bindManifest(dir, manifest []byte) ([]byte, error) {
	header := []byte{0x09, 0x00, 0x10, 0x10, 'O', 'B', 0, 0, 32, 0, 0, 0}
	at := bytes.Index(dir, header)
	if at < 0 || bytes.Contains(dir[at+1:], header) {
		return nil, fmt.Errorf("media: the DICOMDIR has no single place for the manifest digest")
	}
	out := bytes.Clone(dir)
	sum := sha256.Sum256(manifest)
	copy(out[at+len(header):], sum[:])
	return out, nil
}
