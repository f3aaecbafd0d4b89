package dicom

import (
	"strings"

	"github.com/suyashkumar/dicom/pkg/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// DecodeText decodes a text element given the Specific Character Set
// element that applies to it (nil for the default repertoire). Single
// character sets use github.com/suyashkumar/dicom's tables, so we show
// what that library reads; values with ISO 2022 code extensions are
// decoded escape sequence by escape sequence (PS3.5 §6.1.2.5), which the
// library does not do.
func DecodeText(cs, e *Element) string {
	if e == nil {
		return ""
	}
	raw := e.String()
	if cs == nil || cs.String() == "" {
		return raw
	}
	names := strings.Split(cs.String(), `\`)
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	if strings.HasPrefix(names[0], "ISO 2022") || len(names) > 1 {
		return decodeISO2022(names[0], []byte(raw))
	}
	sys, err := charset.ParseSpecificCharacterSet(names)
	if err != nil || sys.Ideographic == nil {
		return raw
	}
	s, err := sys.Ideographic.String(raw)
	if err != nil {
		return raw
	}
	return strings.TrimRight(s, " \x00")
}

// g1Sets are the ISO 2022 G1 designations (ESC "-" F for 96-character sets,
// ESC "$)" F for multi-byte ones, ESC ")I" for katakana) of PS3.3 Table
// C.12-3/-4, with the decoder for bytes with the high bit set.
var g1Sets = map[string]encoding.Encoding{
	"-A": charmap.ISO8859_1, "-B": charmap.ISO8859_2, "-C": charmap.ISO8859_3,
	"-D": charmap.ISO8859_4, "-L": charmap.ISO8859_5, "-G": charmap.ISO8859_6,
	"-F": charmap.ISO8859_7, "-H": charmap.ISO8859_8, "-M": charmap.ISO8859_9,
	"-T": charmap.Windows874, ")I": japanese.ShiftJIS, "$)C": korean.EUCKR,
	"$)A": simplifiedchinese.GBK,
}

// initialG1 is the G1 set designated by value 1 of Specific Character Set.
var initialG1 = map[string]string{
	"ISO 2022 IR 100": "-A", "ISO 2022 IR 101": "-B", "ISO 2022 IR 109": "-C",
	"ISO 2022 IR 110": "-D", "ISO 2022 IR 144": "-L", "ISO 2022 IR 127": "-G",
	"ISO 2022 IR 126": "-F", "ISO 2022 IR 138": "-H", "ISO 2022 IR 148": "-M",
	"ISO 2022 IR 166": "-T", "ISO 2022 IR 13": ")I",
}

func decodeISO2022(first string, b []byte) string {
	var out strings.Builder
	g0 := "(B" // ASCII, or "$B" / "$(D" for JIS X 0208 / 0212 in G0
	g1 := initialG1[first]
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == 0x1B:
			n := escLen(b[i:])
			seq := string(b[i+1 : i+n])
			if _, ok := g1Sets[seq]; ok {
				g1 = seq
			} else {
				g0 = seq
			}
			i += n
		case c < 0x80 && (g0 == "$B" || g0 == "$(D") && i+1 < len(b):
			// JIS X 0208/0212 in G0: EUC-JP is the same code with the
			// high bits set (and SS3 before JIS X 0212).
			pair := []byte{b[i] | 0x80, b[i+1] | 0x80}
			if g0 == "$(D" {
				pair = append([]byte{0x8F}, pair...)
			}
			out.WriteString(decodeWith(japanese.EUCJP, pair))
			i += 2
		case c < 0x80:
			out.WriteByte(c)
			i++
		default:
			n := 1
			if strings.HasPrefix(g1, "$") && i+1 < len(b) {
				n = 2
			}
			out.WriteString(decodeWith(g1Sets[g1], b[i:i+n]))
			i += n
		}
	}
	return out.String()
}

// escLen returns the length of the escape sequence at the start of b:
// ESC, intermediate bytes (0x20–0x2F), one final byte.
func escLen(b []byte) int {
	n := 1
	for n < len(b) && b[n] >= 0x20 && b[n] <= 0x2F {
		n++
	}
	if n < len(b) {
		n++
	}
	return n
}

func decodeWith(enc encoding.Encoding, b []byte) string {
	if enc == nil {
		return "\uFFFD"
	}
	s, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return "\uFFFD"
	}
	return string(s)
}

// DisplayDate shows a DA value as YYYY-MM-DD: the DICOM form YYYYMMDD, and
// the ACR-NEMA form YYYY.MM.DD that old discs still carry. Anything else
// is returned trimmed, as it is.
func DisplayDate(da string) string {
	da = strings.TrimSpace(da)
	if len(da) == 10 && (da[4] == '.' || da[4] == '-') && da[7] == da[4] {
		da = da[:4] + da[5:7] + da[8:]
	}
	if len(da) == 8 && strings.Trim(da, "0123456789") == "" {
		return da[:4] + "-" + da[4:6] + "-" + da[6:]
	}
	return da
}
