package media

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
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
		e.size, e.path = size, f[2]
		out = append(out, e)
	}
	return out, sc.Err()
}
