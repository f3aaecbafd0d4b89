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
	patientKeys = []key{{dicom.PatientName, '2'}, {dicom.PatientID, '1'}, {dicom.PatientBirthDate, '3'}, {dicom.PatientSex, '3'}}
	studyKeys   = []key{{dicom.StudyDate, '1'}, {dicom.StudyTime, '1'}, {dicom.AccessionNumber, '2'}, {dicom.StudyDescription, '2'},
		{dicom.StudyInstanceUID, '1'}, {dicom.StudyID, '1'}}
	// Series Description is not one of the profiles' keys, but F.5 lets
	// a SERIES record hold any attribute of the series: a study list is
	// read by its descriptions.
	seriesKeys = []key{{dicom.SeriesDescription, '3'}, {dicom.Modality, '1'}, {dicom.InstitutionName, '3'}, {dicom.InstitutionAddress, '3'}, {dicom.PerformingPhysicianName, '3'},
		{dicom.SeriesInstanceUID, '1'}, {dicom.SeriesNumber, '1'}}
	imageKeys = []key{{dicom.ImageType, '3'}, {dicom.ReferencedImageSequence, '3'}, {dicom.InstanceNumber, '1'}, {dicom.ImagePositionPatient, '3'},
		{dicom.ImageOrientationPatient, '3'}, {dicom.FrameOfReferenceUID, '3'}, {dicom.NumberOfFrames, '3'}, {dicom.Rows, '3'},
		{dicom.Columns, '3'}, {dicom.PixelSpacing, '3'}, {dicom.LossyImageCompressionRatio, '3'}, {dicom.CalibrationImage, '3'}}
	contentDateTime = []key{{dicom.ContentDate, '1'}, {dicom.ContentTime, '1'}, {dicom.InstanceNumber, '1'}}
)

var instanceKeys = map[string][]key{
	"IMAGE":        imageKeys,
	"SPECTROSCOPY": append([]key{{dicom.ImageType, '1'}, {dicom.ContentDate, '1'}, {dicom.ContentTime, '1'}}, imageKeys[1:]...),
	"RAW DATA":     contentDateTime,
	"WAVEFORM":     contentDateTime,
	"VALUE MAP":    contentDateTime,
	"FIDUCIAL":     contentDateTime,
	"STEREOMETRIC": nil,
	"REGISTRATION": append(contentDateTime[:2:2], key{dicom.InstanceNumber, '1'}, key{dicom.ContentLabel, '1'},
		key{dicom.ContentDescription, '2'}, key{dicom.ContentCreatorName, '2'}),
	"PRESENTATION": {{dicom.ReferencedSeriesSequence, '3'}, {dicom.InstanceNumber, '1'}, {dicom.ContentLabel, '1'}, {dicom.ContentDescription, '2'},
		{dicom.PresentationCreationDate, '1'}, {dicom.PresentationCreationTime, '1'}, {dicom.ContentCreatorName, '2'}, {dicom.BlendingSequence, '3'}},
	"SR DOCUMENT": {{dicom.ContentDate, '1'}, {dicom.ContentTime, '1'}, {dicom.InstanceNumber, '1'}, {dicom.VerificationDateTime, '3'},
		{dicom.ConceptNameCodeSequence, '1'}, {dicom.CompletionFlag, '1'}, {dicom.VerificationFlag, '1'}},
	"KEY OBJECT DOC": {{dicom.ContentDate, '1'}, {dicom.ContentTime, '1'}, {dicom.InstanceNumber, '1'}, {dicom.ConceptNameCodeSequence, '1'}},
	"ENCAP DOC": {{dicom.ContentDate, '2'}, {dicom.ContentTime, '2'}, {dicom.InstanceNumber, '1'}, {dicom.ConceptNameCodeSequence, '2'},
		{dicom.HL7InstanceIdentifier, '3'}, {dicom.DocumentTitle, '2'}, {dicom.MIMETypeOfEncapsulatedDocument, '1'}},
	"RT DOSE":          {{dicom.InstanceNumber, '1'}, {dicom.DoseSummationType, '1'}},
	"RT STRUCTURE SET": {{dicom.InstanceNumber, '1'}, {dicom.StructureSetLabel, '1'}, {dicom.StructureSetDate, '2'}, {dicom.StructureSetTime, '2'}},
	"RT PLAN":          {{dicom.InstanceNumber, '1'}, {dicom.RTPlanLabel, '1'}, {dicom.RTPlanDate, '2'}, {dicom.RTPlanTime, '2'}},
	"RT TREAT RECORD":  {{dicom.ContentDate, '2'}, {dicom.ContentTime, '2'}, {dicom.InstanceNumber, '1'}},
	"PALETTE":          {{dicom.ContentLabel, '1'}, {dicom.ContentDescription, '2'}},
}
