package iso9660

import (
	"io/fs"
	"time"
)

// Rock Ridge as genisoimage writes it: SUSP (IEEE P1281) entries SP, CE,
// ER, and RRIP 1.09 (IEEE P1282, extension "RRIP_1991A") entries PX, TF,
// NM. Every reader we know (Linux, macOS, isoinfo, xorriso, libarchive)
// accepts this version.

const (
	erID     = "RRIP_1991A"
	erDesc   = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
	erSource = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION."
)

// POSIX file type bits for PX (RRIP 4.1.1 uses the st_mode encoding).
const (
	sIFDIR = 0o040000
	sIFREG = 0o100000
)

func suHeader(sig string, length int) []byte {
	b := make([]byte, length)
	b[0], b[1], b[2], b[3] = sig[0], sig[1], byte(length), 1
	return b
}

// spEntry is the SUSP 5.3 indicator: check bytes BE EF, skip 0.
func spEntry() []byte {
	b := suHeader("SP", 7)
	b[4], b[5] = 0xBE, 0xEF
	return b
}

// erEntry is the SUSP 5.5 extension reference for RRIP 1.09.
func erEntry() []byte {
	b := suHeader("ER", 8+len(erID)+len(erDesc)+len(erSource))
	b[4], b[5], b[6], b[7] = byte(len(erID)), byte(len(erDesc)), byte(len(erSource)), 1
	copy(b[8:], erID+erDesc+erSource)
	return b
}

// ceEntry points at the continuation area that holds erEntry (SUSP 5.1).
func (p *plan) ceEntry() []byte {
	b := suHeader("CE", 28)
	putBoth32(b[4:], p.ceSector)
	putBoth32(b[12:], 0)
	putBoth32(b[20:], uint32(len(erEntry())))
	return b
}

// Flags of the RRIP 1.09 "RR" entry, which lists the RRIP entries a
// record carries. RRIP 1.12 dropped it, but genisoimage writes it and
// Linux stops parsing a record whose RR entry lacks the flag it needs.
const (
	rrPX = 0x01
	rrNM = 0x08
	rrTF = 0x80
)

func rrEntry(flags byte) []byte {
	b := suHeader("RR", 5)
	b[4] = flags
	return b
}

// pxEntry is the RRIP 4.1.1 POSIX attributes entry (1.09 form, without
// the file serial number): mode, links, uid 0, gid 0.
func pxEntry(mode fs.FileMode, links uint32) []byte {
	b := suHeader("PX", 36)
	m := uint32(mode.Perm())
	if mode.IsDir() {
		m |= sIFDIR
	} else {
		m |= sIFREG
	}
	putBoth32(b[4:], m)
	putBoth32(b[12:], links)
	return b
}

// tfEntry is the RRIP 4.1.6 time stamps entry with modify, access and
// attribute-change times in the 7-byte format.
func tfEntry(t time.Time) []byte {
	b := suHeader("TF", 5+3*7)
	b[4] = 0x02 | 0x04 | 0x08
	for i := 0; i < 3; i++ {
		putDate7(b[5+7*i:], t)
	}
	return b
}

// nmEntry is the RRIP 4.1.4 alternate name, here the name as given
// (without the ";1" version), so Rock Ridge readers show "README.TXT".
func nmEntry(name string) []byte {
	b := suHeader("NM", 5+len(name))
	copy(b[5:], name)
	return b
}
