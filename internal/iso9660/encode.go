package iso9660

import (
	"encoding/binary"
	"fmt"
	"time"
)

// sectorSize is the logical block size we write. ECMA-119 6.1.2 allows
// others, but every CD/DVD/BD image uses 2048.
const sectorSize = 2048

// putBoth16 and putBoth32 write ECMA-119 7.2.3 / 7.3.3 "both-byte orders"
// fields: little-endian first, then big-endian.
func putBoth16(b []byte, v uint16) {
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
}

func putBoth32(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
}

// checkTime rejects times the 7-byte format cannot hold (its year is a
// byte counted from 1900, ECMA-119 9.1.5). The zero time is allowed and
// recorded as "not specified".
func checkTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 1900 || y > 2155 {
		return fmt.Errorf("time %s outside the ISO 9660 range 1900-2155", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// putDate7 writes the 7-byte recording date of ECMA-119 9.1.5 in UTC
// (offset 0). The zero time is written as all zeros ("not specified").
func putDate7(b []byte, t time.Time) {
	if t.IsZero() {
		clear(b[:7])
		return
	}
	t = t.UTC()
	b[0] = byte(t.Year() - 1900)
	b[1] = byte(t.Month())
	b[2] = byte(t.Day())
	b[3] = byte(t.Hour())
	b[4] = byte(t.Minute())
	b[5] = byte(t.Second())
	b[6] = 0
}

// putDate17 writes the 17-byte volume descriptor date of ECMA-119 8.4.26.1:
// 16 digits and a GMT offset byte. The zero time is "not specified", which
// is sixteen '0' digits and a zero offset.
func putDate17(b []byte, t time.Time) {
	if t.IsZero() {
		copy(b, "0000000000000000")
		b[16] = 0
		return
	}
	t = t.UTC()
	s := fmt.Sprintf("%04d%02d%02d%02d%02d%02d%02d", t.Year(), int(t.Month()), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e7)
	copy(b, s)
	b[16] = 0
}

// putField writes an identifier field of a volume descriptor: d- or
// a-characters padded with spaces, or for Joliet UCS-2 padded with UCS-2
// spaces (truncated to the field, which holds half as many characters).
func putField(b []byte, s string, t tree) {
	if t == isoTree {
		putPadded(b, s)
		return
	}
	clear(b)
	u := encodeName(s, t)
	for len(u) < len(b)-1 {
		u += "\x00 "
	}
	copy(b, u)
}

// putPadded copies s into b and fills the rest with spaces (ECMA-119 7.4.3:
// identifiers are padded with SPACE, which PS3.12 F.1.1 repeats for the
// Volume Identifier).
func putPadded(b []byte, s string) {
	n := copy(b, s)
	for i := n; i < len(b); i++ {
		b[i] = ' '
	}
}
