package media

import (
	"fmt"
	"sort"
	"strings"
)

// Medium is a kind of removable medium.
type Medium string

// The media burn knows. Capacities are the user data of the common
// recordable formats, in bytes (2048-byte sectors).
const (
	CD    Medium = "cd"     // CD-R 80 min: 360 000 sectors
	DVD   Medium = "dvd"    // DVD±R single layer
	DVDDL Medium = "dvd-dl" // DVD+R double layer
	BD    Medium = "bd"     // BD-R single layer
	USB   Medium = "usb"    // a folder (USB stick, card); no fixed capacity
)

var capacities = map[Medium]int64{
	CD:    360_000 * 2048,
	DVD:   2_295_104 * 2048,
	DVDDL: 4_173_824 * 2048,
	BD:    12_219_392 * 2048,
}

// ParseMedium accepts cd, dvd, dvd-dl, bd, usb.
func ParseMedium(s string) (Medium, error) {
	m := Medium(strings.ToLower(s))
	if _, ok := capacities[m]; ok || m == USB {
		return m, nil
	}
	return "", fmt.Errorf("medium %q: use cd, dvd, dvd-dl, bd or usb", s)
}

// Capacity is the medium's size in bytes, or 0 for no fixed limit (USB).
func (m Medium) Capacity() int64 { return capacities[m] }

// Transfer syntaxes by family (PS3.5 Annex A, PS3.11 profiles).
const (
	tsExplicitLE = "1.2.840.10008.1.2.1"
)

var (
	jpegTS = map[string]bool{"1.2.840.10008.1.2.4.50": true, "1.2.840.10008.1.2.4.51": true, "1.2.840.10008.1.2.4.70": true}
	j2kTS  = map[string]bool{"1.2.840.10008.1.2.4.90": true, "1.2.840.10008.1.2.4.91": true}
)

// chooseProfile names the secure application profile (PS3.11) for the
// medium and the transfer syntaxes present, and says what does not fit it.
// Nothing is transcoded: a file in a transfer syntax the profile lacks is
// written as it is, with a warning, because changing patient data to suit a
// profile is worse than a reader that needs to support one more syntax.
func chooseProfile(m Medium, syntaxes map[string]int) (string, []string) {
	var profile string
	allowed := map[string]bool{tsExplicitLE: true}
	switch m {
	case CD:
		profile = "STD-GEN-SEC-CD"
	default:
		family, set := "JPEG", jpegTS
		for ts := range syntaxes {
			if j2kTS[ts] {
				family, set = "J2K", j2kTS
			}
		}
		for ts := range set {
			allowed[ts] = true
		}
		switch m {
		case USB:
			profile = "STD-GEN-SEC-USB-" + family
		case BD:
			profile = "STD-GEN-SEC-BD-" + family
		default:
			profile = "STD-GEN-SEC-DVD-" + family
		}
	}
	var off []string
	for ts, n := range syntaxes {
		if !allowed[ts] {
			off = append(off, fmt.Sprintf("%d file(s) in transfer syntax %s", n, tsName(ts)))
		}
	}
	sort.Strings(off)
	var warnings []string
	if len(off) > 0 {
		hint := ""
		if m == CD {
			hint = " (a DVD, BD or USB profile allows JPEG or JPEG 2000: --media dvd)"
		}
		warnings = append(warnings, fmt.Sprintf("not strictly %s, which allows only %s: %s; written unchanged%s",
			profile, allowedNames(allowed), strings.Join(off, ", "), hint))
	}
	return profile, warnings
}

func allowedNames(allowed map[string]bool) string {
	var names []string
	for ts := range allowed {
		names = append(names, tsName(ts))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

var tsNames = map[string]string{
	"1.2.840.10008.1.2":      "Implicit VR Little Endian",
	"1.2.840.10008.1.2.1":    "Explicit VR Little Endian",
	"1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
	"1.2.840.10008.1.2.2":    "Explicit VR Big Endian",
	"1.2.840.10008.1.2.4.50": "JPEG Baseline",
	"1.2.840.10008.1.2.4.51": "JPEG Extended",
	"1.2.840.10008.1.2.4.57": "JPEG Lossless",
	"1.2.840.10008.1.2.4.70": "JPEG Lossless SV1",
	"1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
	"1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
	"1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless",
	"1.2.840.10008.1.2.4.91": "JPEG 2000",
	"1.2.840.10008.1.2.5":    "RLE Lossless",
}

func tsName(ts string) string {
	if n, ok := tsNames[ts]; ok {
		return n
	}
	return ts
}
