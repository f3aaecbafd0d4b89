package dicomdir

import (
	"strings"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/suyashkumar/dicom/pkg/charset"
)

// Text returns the value of tag t decoded to UTF-8 for display, using the
// record's Specific Character Set (0008,0005). Record values stay raw
// bytes; this is only for showing them. The decoding tables are
// github.com/suyashkumar/dicom's, so we display what that library reads.
// Undecodable values are returned as they are.
func (r *Record) Text(t dicom.Tag) string {
	return DecodeText(r.Get(tagCharset), r.Get(t))
}

// DecodeText decodes a text element given the Specific Character Set
// element that applies to it (nil for the default repertoire).
func DecodeText(cs, e *dicom.Element) string {
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
	sys, err := charset.ParseSpecificCharacterSet(names)
	if err != nil || sys.Ideographic == nil {
		return raw
	}
	// Like suyashkumar/dicom, decode with the last-listed (ideographic)
	// coding system; ISO 2022 decoders follow the escape sequences.
	s, err := sys.Ideographic.String(raw)
	if err != nil {
		return raw
	}
	return strings.TrimRight(s, " \x00")
}
