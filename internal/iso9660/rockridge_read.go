package iso9660

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"time"
)

// applyRockRidge applies the RRIP entries of rec to de: NM name (RRIP
// 4.1.4), PX mode (4.1.1), TF modification time (4.1.6), CL child link
// (4.1.5.1). hide reports an RE entry (4.1.5.3): a relocated directory,
// which is shown at its CL position instead.
func (img *image) applyRockRidge(de *dirent, rec rawRecord) (hide bool, err error) {
	var name []byte
	hasName := false
	err = img.eachSUEntry(rec, func(e []byte) error {
		switch string(e[:2]) {
		case "NM":
			// Flags 0x02/0x04 mean "." and ".."; 0x01 (CONTINUE) just
			// concatenates with the next NM.
			if len(e) >= 5 && e[4]&0x06 == 0 && len(name)+len(e)-5 <= maxNameLen {
				name, hasName = append(name, e[5:]...), true
			}
		case "PX":
			if len(e) >= 36 {
				de.mode = posixMode(binary.LittleEndian.Uint32(e[4:]))
			}
		case "TF":
			if t, ok := tfModify(e); ok {
				de.modTime = t
			}
		case "CL":
			if len(e) >= 12 {
				return img.childLink(de, binary.LittleEndian.Uint32(e[4:]))
			}
		case "RE":
			hide = true
		}
		return nil
	})
	if hasName {
		de.name, de.nm = string(name), true
	}
	return hide, err
}

// eachSUEntry calls fn with every SUSP entry of rec's System Use field
// (after the SP skip bytes) and of its continuation areas (SUSP 5.1, CE),
// stopping at ST or at a malformed entry. Continuations are capped in
// number and total size.
func (img *image) eachSUEntry(rec rawRecord, fn func(e []byte) error) error {
	su := rec.su[min(img.rrSkip, len(rec.su)):]
	total := 0
	for hops := 0; ; hops++ {
		var ce *extent
		for len(su) >= 4 {
			l := int(su[2])
			if l < 4 || l > len(su) || string(su[:2]) == "ST" {
				break
			}
			e := su[:l]
			su = su[l:]
			if string(e[:2]) == "CE" && l >= 28 {
				ce = &extent{
					off: int64(binary.LittleEndian.Uint32(e[4:]))*img.bs + int64(binary.LittleEndian.Uint32(e[12:])),
					n:   int64(binary.LittleEndian.Uint32(e[20:])),
				}
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if ce == nil {
			return nil
		}
		if hops >= maxCEHops || ce.n > int64(maxSUBytes-total) {
			return formatErr("Rock Ridge continuation areas too long")
		}
		if err := img.spend(ce.n); err != nil {
			return err
		}
		su = make([]byte, ce.n) // at most maxSUBytes in all
		if err := img.readAt(su, ce.off); err != nil {
			return fmt.Errorf("iso9660: Rock Ridge continuation area: %w", err)
		}
		total += len(su)
	}
}

// posixMode maps an st_mode value (RRIP PX) to an fs.FileMode.
func posixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o040000:
		mode |= fs.ModeDir
	case 0o120000:
		mode |= fs.ModeSymlink
	case 0o010000:
		mode |= fs.ModeNamedPipe
	case 0o140000:
		mode |= fs.ModeSocket
	case 0o020000:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		mode |= fs.ModeDevice
	}
	return mode
}

// tfModify returns the modification time of a TF entry, in the 7-byte
// form or, with flag bit 7, the 17-byte form.
func tfModify(e []byte) (time.Time, bool) {
	if len(e) < 5 || e[4]&0x02 == 0 {
		return time.Time{}, false
	}
	size := 7
	if e[4]&0x80 != 0 {
		size = 17
	}
	off := 5
	if e[4]&0x01 != 0 { // creation time comes first
		off += size
	}
	if off+size > len(e) {
		return time.Time{}, false
	}
	if size == 7 {
		return parseDate7(e[off : off+7]), true
	}
	return parseDate17(e[off : off+17]), true
}

// parseDate17 decodes the ECMA-119 8.4.26.1 digit format.
func parseDate17(b []byte) time.Time {
	n := func(i, w int) int {
		v := 0
		for _, c := range b[i : i+w] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d := n(0, 4), n(4, 2), n(6, 2)
	if y <= 0 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}
	}
	loc := time.FixedZone("", int(int8(b[16]))*15*60)
	return time.Date(y, time.Month(mo), d, max(n(8, 2), 0), max(n(10, 2), 0), max(n(12, 2), 0), 0, loc)
}

// childLink turns de into the directory that was relocated to block loc
// (RRIP 4.1.5.1); its size comes from that directory's "." record. When
// that record cannot be read, de is a directory that fails when listed.
func (img *image) childLink(de *dirent, loc uint32) error {
	off := int64(loc) * img.bs
	de.isDir, de.extents, de.size = true, []extent{{off, 0}}, 0
	de.mode |= fs.ModeDir
	b := make([]byte, 34)
	if err := img.readAt(b, off); err != nil {
		de.err = fmt.Errorf("iso9660: relocated directory: %w", err)
		return nil
	}
	b[0] = min(b[0], 34)
	rec, err := parseRecord(b)
	if err != nil {
		de.err = err
		return nil
	}
	de.extents[0].n, de.size = int64(rec.size), int64(rec.size)
	return nil
}
