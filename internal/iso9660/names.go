package iso9660

import (
	"fmt"
	"strings"
)

// isDChar reports whether c is an ECMA-119 7.4.1 d-character (A-Z 0-9 _),
// the repertoire of Level 1 identifiers and of DICOM File IDs.
func isDChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// isAChar reports whether c is an a-character (ECMA-119 7.4.1), allowed in
// the publisher and application identifiers.
func isAChar(c byte) bool {
	return isDChar(c) || c == ' ' || strings.IndexByte("!\"%&'()*+,-./:;<=>?", c) >= 0
}

func allChars(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// checkDirName enforces Level 1 directory identifiers: 1-8 d-characters,
// no extension (ECMA-119 10.1).
func checkDirName(s string) error {
	if s == "" || len(s) > 8 || !allChars(s, isDChar) {
		return fmt.Errorf("directory name %q is not ISO 9660 Level 1 (1-8 of A-Z 0-9 _)", s)
	}
	return nil
}

// splitFileName enforces Level 1 file identifiers: a name of up to 8
// d-characters and an optional extension of up to 3 (ECMA-119 10.1); one
// of the two must be non-empty (7.5.1).
func splitFileName(s string) (name, ext string, err error) {
	name, ext, _ = strings.Cut(s, ".")
	if len(name) > 8 || len(ext) > 3 || name == "" && ext == "" ||
		!allChars(name, isDChar) || !allChars(ext, isDChar) || strings.HasSuffix(s, ".") {
		return "", "", fmt.Errorf("file name %q is not ISO 9660 Level 1 (NAME of 1-8 and optional .EXT of 1-3 of A-Z 0-9 _)", s)
	}
	return name, ext, nil
}

// compareIdent orders identifiers as ECMA-119 9.3 requires: by name, then
// by extension, each padded with SPACE. All d-characters sort above SPACE,
// so padded comparison equals plain byte-wise comparison of each part.
func compareIdent(aName, aExt, bName, bExt string) int {
	if c := strings.Compare(aName, bName); c != 0 {
		return c
	}
	return strings.Compare(aExt, bExt)
}
