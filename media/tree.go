package media

import (
	"path"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
)

// The study tree of an unlocked medium, as its DICOMDIR records it. Text
// values are decoded from the records' character set for display; UIDs and
// codes are as recorded, without padding.

// Patient is a PATIENT record and what it holds.
type Patient struct {
	Name string // as recorded (Family^Given^...), decoded
	// ID is the Patient ID, "" when the disc gives none: the stand-in that
	// a DICOMDIR needs there (ours: "NOID" and a hash) is not the
	// patient's ID and is never presented as one.
	ID string
	// BirthDate (DA) and Sex (M, F, O) as the record gives them, "" when
	// it does not: with the name, what a search of the local PACS for
	// this patient starts from.
	BirthDate, Sex string
	Studies        []*Study
	// Scanned: found by scanning files the DICOMDIR does not list (never
	// merged with a patient it lists, whatever the ID).
	Scanned bool
	standIn bool // the record holds a stand-in ID: its files have none
}

// Study is a STUDY record.
type Study struct {
	Patient         *Patient
	Date, Time      string // DA and TM as recorded
	Description     string
	ID              string
	AccessionNumber string
	UID             string
	Series          []*Series
}

// Series is a SERIES record.
type Series struct {
	Study       *Study
	Number      string
	Modality    string
	Description string
	UID         string
	Instances   []*Instance // the records below it that reference a file
}

// TypeCount is how many of a series' instances have one record type.
type TypeCount struct {
	Type  string // IMAGE, PRESENTATION, ...
	Count int
	// Frames is the frames they hold together, when a record says one of
	// them is multi-frame (Number of Frames above 1); 0 if none does.
	Frames int
}

// RecordTypes counts the series' instances by record type, in the order
// the types first appear.
func (s *Series) RecordTypes() []TypeCount {
	var out []TypeCount
	at := map[string]int{}
	multi := map[int]bool{}
	for _, in := range s.Instances {
		i, ok := at[in.RecordType]
		if !ok {
			i = len(out)
			at[in.RecordType] = i
			out = append(out, TypeCount{Type: in.RecordType})
		}
		out[i].Count++
		out[i].Frames += max(in.Frames, 1)
		multi[i] = multi[i] || in.Frames > 1
	}
	for i := range out {
		if !multi[i] {
			out[i].Frames = 0
		}
	}
	return out
}

// Instance is a record that references a file of the medium: an IMAGE,
// SR DOCUMENT, PRESENTATION, ... record, or a root-level one (PALETTE).
type Instance struct {
	Series     *Series  // nil for a root-level record
	RecordType string   // IMAGE, SR DOCUMENT, ...
	FileID     []string // Referenced File ID: the path on the medium
	Number     string   // Instance Number, as recorded
	Frames     int      // Number of Frames, when the record gives it (0: not said)
	// What the record says the file is; "" when the record omits it.
	SOPClassUID, SOPInstanceUID, TransferSyntaxUID string
	// Scanned: the DICOMDIR does not list the file (or the medium has no
	// DICOMDIR); it was found by scanning, and its record made from its
	// own header.
	Scanned  bool
	record   *dicomdir.Record
	onMedium string // the file's path as the medium shows it
	lost     error  // the file is missing or unreadable
}

// Lost reports why the instance's file cannot be read (missing, or on an
// unreadable part of the medium), nil if it is there.
func (in *Instance) Lost() error {
	if in.lost == nil {
		return nil
	}
	return in.lostError()
}

// Path is the instance's file on the medium, slash-separated.
func (in *Instance) Path() string { return path.Join(in.FileID...) }

// RootRecord is a top-level record outside any patient (e.g. PALETTE).
type RootRecord struct {
	Type, Label string // Label: Content Label, when recorded
	Instance    *Instance
}

// tree is the study tree, built when the medium is unlocked.
type tree struct {
	fileSetID string
	warnings  []string
	patients  []*Patient
	roots     []*RootRecord
	instances []*Instance // every referenced file, in DICOMDIR order, then those found by scanning
	byRecord  map[*dicomdir.Record]*Instance
	missing   []*Instance
	others    []OtherFile
	problems  []Problem
}

// buildTree reads the tree off the DICOMDIR. Every record that references
// a file is an Instance, wherever it sits; the tree holds those at the
// places PS3.3 F.4 gives them (patient, study, series, instance).
func buildTree(d *dicomdir.Directory) *tree {
	t := &tree{fileSetID: d.FileSetID, warnings: d.Warnings, byRecord: map[*dicomdir.Record]*Instance{}}
	d.Walk(func(r *dicomdir.Record, _ int) {
		if id := r.FileID(); len(id) > 0 {
			in := newInstance(r, id)
			t.byRecord[r] = in
			t.instances = append(t.instances, in)
		}
	})
	for _, r := range d.Records {
		if isManifestRecord(r) {
			continue // ours, not content
		}
		if r.Type != "PATIENT" {
			t.roots = append(t.roots, &RootRecord{Type: r.Type, Label: r.Text(dicom.ContentLabel), Instance: t.byRecord[r]})
			continue
		}
		p := &Patient{Name: r.Text(dicom.PatientName), ID: r.Value(dicom.PatientID),
			BirthDate: r.Value(dicom.PatientBirthDate), Sex: r.Value(dicom.PatientSex)}
		if dicomdir.StandInPatientID(r) {
			p.ID, p.standIn = "", true
		}
		t.patients = append(t.patients, p)
		for _, sr := range r.Children {
			if sr.Type == "STUDY" {
				p.Studies = append(p.Studies, t.study(sr, p))
			}
		}
	}
	return t
}

func (t *tree) study(r *dicomdir.Record, p *Patient) *Study {
	st := &Study{Patient: p, Date: r.Value(dicom.StudyDate), Time: r.Value(dicom.StudyTime),
		Description: r.Text(dicom.StudyDescription), ID: r.Value(dicom.StudyID),
		AccessionNumber: r.Value(dicom.AccessionNumber), UID: r.Value(dicom.StudyInstanceUID)}
	for _, sr := range r.Children {
		if sr.Type != "SERIES" {
			continue
		}
		se := &Series{Study: st, Number: sr.Value(dicom.SeriesNumber), Modality: sr.Value(dicom.Modality),
			Description: sr.Text(dicom.SeriesDescription), UID: sr.Value(dicom.SeriesInstanceUID)}
		for _, ir := range sr.Children {
			if in := t.byRecord[ir]; in != nil {
				in.Series = se
				se.Instances = append(se.Instances, in)
			}
		}
		st.Series = append(st.Series, se)
	}
	return st
}

func newInstance(r *dicomdir.Record, id []string) *Instance {
	frames, _ := strconv.Atoi(strings.TrimSpace(r.Value(dicom.NumberOfFrames)))
	return &Instance{record: r, RecordType: r.Type, FileID: id, Number: strings.TrimSpace(r.Value(dicom.InstanceNumber)), Frames: max(frames, 0),
		SOPClassUID: r.Value(dicom.ReferencedSOPClassUIDInFile), SOPInstanceUID: r.Value(dicom.ReferencedSOPInstanceUIDInFile),
		TransferSyntaxUID: r.Value(dicom.ReferencedTransferSyntaxUIDInFile)}
}

// DisplayDate shows a date of the tree (DA) as YYYY-MM-DD, also from the
// ACR-NEMA form YYYY.MM.DD that old discs carry; anything else as it is.
func DisplayDate(da string) string { return dicom.DisplayDate(da) }
