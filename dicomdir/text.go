package dicomdir

import "github.com/securemedia/securemedia/internal/dicom"

// Text returns the value of tag t decoded to UTF-8 for display, using the
// record's Specific Character Set (0008,0005). Record values stay raw
// bytes; this is only for showing them. Undecodable bytes become U+FFFD.
func (r *Record) Text(t dicom.Tag) string {
	return dicom.DecodeText(r.Get(dicom.SpecificCharacterSet), r.Get(t))
}

// Subject is whom and what the instance is about, as an audit record names
// them: Patient ID, Patient's Name decoded to UTF-8, Study Instance UID and
// Accession Number.
func (in *Instance) Subject() (patientID, patientName, studyUID, accession string) {
	return in.Value(dicom.PatientID), dicom.DecodeText(in.Get(dicom.SpecificCharacterSet), in.Get(dicom.PatientName)),
		in.Value(dicom.StudyInstanceUID), in.Value(dicom.AccessionNumber)
}
