package dicomdir

import "github.com/securemedia/securemedia/internal/dicom"

// recordTypes maps Storage SOP Class UIDs to the directory record type that
// references their instances (PS3.3 Table F.4-1 and F.5; PS3.4 Annex B).
// The prefix "1.2.840.10008.5.1.4.1.1." is implied for keys starting "."
var recordTypes = map[string]string{}

func init() {
	add := func(typ string, suffixes ...string) {
		for _, s := range suffixes {
			if s[0] == '.' {
				s = "1.2.840.10008.5.1.4.1.1" + s
			}
			recordTypes[s] = typ
		}
	}
	add("IMAGE", ".1", ".1.1", ".1.1.1", ".1.2", ".1.2.1", ".1.3", ".1.3.1", // CR, DX, MG, IO
		".2", ".2.1", ".2.2", ".3.1", ".4", ".4.1", ".4.3", ".4.4", ".6.1", ".6.2", ".6.3",
		".7", ".7.1", ".7.2", ".7.3", ".7.4", ".12.1", ".12.1.1", ".12.2", ".12.2.1",
		".12.3", ".13.1.1", ".13.1.2", ".13.1.3", ".13.1.4", ".13.1.5", ".14.1", ".14.2",
		".20", ".30", ".66.4", ".77.1.1", ".77.1.1.1", ".77.1.2", ".77.1.2.1", ".77.1.3",
		".77.1.4", ".77.1.4.1", ".77.1.5.1", ".77.1.5.2", ".77.1.5.4", ".77.1.5.5",
		".77.1.5.7", ".77.1.5.8", ".77.1.6", ".77.1.7", ".77.1.8", ".128", ".128.1", ".130", ".481.1")
	add("SPECTROSCOPY", ".4.2")
	add("RAW DATA", ".66")
	add("REGISTRATION", ".66.1", ".66.3")
	add("FIDUCIAL", ".66.2")
	add("VALUE MAP", ".67")
	add("PRESENTATION", ".11.1", ".11.2", ".11.3", ".11.4", ".11.5", ".11.6", ".11.7", ".11.8", ".11.9", ".11.10", ".11.11", ".11.12")
	add("WAVEFORM", ".9.1.1", ".9.1.2", ".9.1.3", ".9.2.1", ".9.3.1", ".9.4.1", ".9.4.2",
		".9.5.1", ".9.6.1", ".9.6.2", ".9.7.1", ".9.7.2", ".9.7.3", ".9.7.4", ".9.8.1")
	add("SR DOCUMENT", ".88.11", ".88.22", ".88.33", ".88.34", ".88.35", ".88.40", ".88.50",
		".88.65", ".88.67", ".88.68", ".88.69", ".88.70", ".88.71", ".88.72", ".88.73",
		".88.74", ".88.75", ".88.76")
	add("KEY OBJECT DOC", ".88.59")
	add("ENCAP DOC", ".104.1", ".104.2", ".104.3", ".104.4", ".104.5")
	add("STEREOMETRIC", ".77.1.5.3")
	add("RT DOSE", ".481.2")
	add("RT STRUCTURE SET", ".481.3")
	add("RT PLAN", ".481.5", ".481.8")
	add("RT TREAT RECORD", ".481.4", ".481.6", ".481.7", ".481.9")
	add("PALETTE", "1.2.840.10008.5.1.4.39.1") // Color Palette Storage
}

// rootLevel reports record types that hang directly under the root
// directory entity, outside any patient (Table F.4-1).
func rootLevel(typ string) bool { return allowedAt(typ, 0) && typ != "PATIENT" && typ != "PRIVATE" }

// RecordType returns the directory record type for a Storage SOP Class, or
// "" when this package does not know how to index the class.
func RecordType(sopClassUID string) string { return recordTypes[sopClassUID] }

// allowedAt reports whether a record type may appear at a depth of the
// hierarchy (PS3.3 Table F.4-1: root → PATIENT → STUDY → SERIES → leaf).
func allowedAt(typ string, depth int) bool {
	switch typ {
	case "PRIVATE":
		return true
	case "PATIENT", "HANGING PROTOCOL", "PALETTE", "IMPLANT", "IMPLANT GROUP", "IMPLANT ASSY":
		return depth == 0
	case "STUDY":
		return depth == 1
	case "SERIES":
		return depth == 2
	}
	return depth == 3
}

// key is one record key and its type in F.5 (1: a value is required, 2:
// present, possibly empty, 3: copied when the instance has it).
type key struct {
	tag dicom.Tag
	typ byte
}

// Keys for each record type: F.5 plus the additional keys of the
// STD-GEN-CD (PS3.11 D.3.3) and STD-GEN-DVD/USB (H.3.3, J.3.3) profiles.
// Specific Character Set (0008,0005) is handled separately.
var (
	patientKeys = []key{{0x00100010, '2'}, {0x00100020, '1'}, {0x00100030, '3'}, {0x00100040, '3'}}
	studyKeys   = []key{{0x00080020, '1'}, {0x00080030, '1'}, {0x00080050, '2'}, {0x00081030, '2'},
		{0x0020000D, '1'}, {0x00200010, '1'}}
	seriesKeys = []key{{0x00080060, '1'}, {0x00080080, '3'}, {0x00080081, '3'}, {0x00081050, '3'},
		{0x0020000E, '1'}, {0x00200011, '1'}}
	imageKeys = []key{{0x00080008, '3'}, {0x00081140, '3'}, {0x00200013, '1'}, {0x00200032, '3'},
		{0x00200037, '3'}, {0x00200052, '3'}, {0x00280008, '3'}, {0x00280010, '3'},
		{0x00280011, '3'}, {0x00280030, '3'}, {0x00282112, '3'}, {0x00500004, '3'}}
	contentDateTime = []key{{0x00080023, '1'}, {0x00080033, '1'}, {0x00200013, '1'}}
)

var instanceKeys = map[string][]key{
	"IMAGE":        imageKeys,
	"SPECTROSCOPY": append([]key{{0x00080008, '1'}, {0x00080023, '1'}, {0x00080033, '1'}}, imageKeys[1:]...),
	"RAW DATA":     contentDateTime,
	"WAVEFORM":     contentDateTime,
	"VALUE MAP":    contentDateTime,
	"FIDUCIAL":     contentDateTime,
	"STEREOMETRIC": nil,
	"REGISTRATION": append(contentDateTime[:2:2], key{0x00200013, '1'}, key{0x00700080, '1'},
		key{0x00700081, '2'}, key{0x00700084, '2'}),
	"PRESENTATION": {{0x00081115, '3'}, {0x00200013, '1'}, {0x00700080, '1'}, {0x00700081, '2'},
		{0x00700082, '1'}, {0x00700083, '1'}, {0x00700084, '2'}, {0x00700402, '3'}},
	"SR DOCUMENT": {{0x00080023, '1'}, {0x00080033, '1'}, {0x00200013, '1'}, {0x0040A030, '3'},
		{0x0040A043, '1'}, {0x0040A491, '1'}, {0x0040A493, '1'}},
	"KEY OBJECT DOC": {{0x00080023, '1'}, {0x00080033, '1'}, {0x00200013, '1'}, {0x0040A043, '1'}},
	"ENCAP DOC": {{0x00080023, '2'}, {0x00080033, '2'}, {0x00200013, '1'}, {0x0040A043, '2'},
		{0x0040E001, '3'}, {0x00420010, '2'}, {0x00420012, '1'}},
	"RT DOSE":          {{0x00200013, '1'}, {0x3004000A, '1'}},
	"RT STRUCTURE SET": {{0x00200013, '1'}, {0x30060002, '1'}, {0x30060008, '2'}, {0x30060009, '2'}},
	"RT PLAN":          {{0x00200013, '1'}, {0x300A0002, '1'}, {0x300A0006, '2'}, {0x300A0007, '2'}},
	"RT TREAT RECORD":  {{0x00080023, '2'}, {0x00080033, '2'}, {0x00200013, '1'}},
	"PALETTE":          {{0x00700080, '1'}, {0x00700081, '2'}},
}
