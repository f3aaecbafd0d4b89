package main

import (
	"encoding/json"
	"io"

	"github.com/securemedia/securemedia/importer"
	"github.com/securemedia/securemedia/media"
)

// The --json outputs, for scripts: one object per command run (inspect:
// one per file; receive: one per event, as JSON lines), keys in
// snake_case, documented in README.md. Fields are only added, never
// renamed. They hold what the text output holds, patient names included:
// stdout is the caller's to protect.

// mediumJSON is open --json and ls --json.
type mediumJSON struct {
	Medium      string           `json:"medium"`
	FileSetID   string           `json:"file_set_id"`
	DICOMDIR    bool             `json:"dicomdir"` // false: the instances were found by scanning
	Encrypted   string           `json:"encrypted"`
	Cipher      string           `json:"cipher,omitempty"`
	Fingerprint string           `json:"fingerprint,omitempty"`
	Instances   int              `json:"instances"`
	Scanned     int              `json:"scanned"` // found by scanning, not in the DICOMDIR
	Patients    []patientJSON    `json:"patients"`
	Missing     []problemJSON    `json:"missing"`
	Others      []otherJSON      `json:"others"`
	Problems    []problemJSON    `json:"problems"`
	Warnings    []string         `json:"warnings"`
	RootRecords []rootRecordJSON `json:"root_records,omitempty"`
}

type patientJSON struct {
	Number    int         `json:"number"` // as --patient '#N' names it
	Name      string      `json:"name"`
	ID        string      `json:"id"` // "" when the medium gives none
	BirthDate string      `json:"birth_date,omitempty"`
	Sex       string      `json:"sex,omitempty"`
	Scanned   bool        `json:"scanned"`
	Studies   []studyJSON `json:"studies"`
}

type studyJSON struct {
	Number          int          `json:"number"` // as --study '#N' names it
	UID             string       `json:"uid"`
	Date            string       `json:"date,omitempty"` // YYYY-MM-DD when the record has that shape
	Time            string       `json:"time,omitempty"`
	Description     string       `json:"description,omitempty"`
	ID              string       `json:"id,omitempty"`
	AccessionNumber string       `json:"accession_number,omitempty"`
	Series          []seriesJSON `json:"series"`
}

type seriesJSON struct {
	Number       int    `json:"number"` // as --series '#N' names it
	UID          string `json:"uid"`
	SeriesNumber string `json:"series_number,omitempty"`
	Modality     string `json:"modality,omitempty"`
	Description  string `json:"description,omitempty"`
	Instances    int    `json:"instances"`
}

type problemJSON struct {
	Path  string `json:"path"` // "" for the image's names (verify)
	Error string `json:"error"`
}

type otherJSON struct {
	Path  string `json:"path"`
	What  string `json:"what"`
	Error string `json:"error,omitempty"`
}

type rootRecordJSON struct {
	Type  string `json:"type"`
	Label string `json:"label,omitempty"`
}

func newMediumJSON(path string, d *media.Disc) mediumJSON {
	m := mediumJSON{Medium: path, FileSetID: d.FileSetID(), DICOMDIR: d.Listed(), Encrypted: "no",
		Instances: len(d.Instances()) - len(d.Missing()), Scanned: d.Scanned(),
		Patients: []patientJSON{}, Missing: []problemJSON{}, Others: othersJSON(d), Problems: problemsJSON(d.Problems()), Warnings: d.Warnings()}
	if m.Warnings == nil {
		m.Warnings = []string{}
	}
	switch sealed, plain := d.SealedFiles(), d.PlainFiles(); {
	case sealed > 0 && plain > 0:
		m.Encrypted, m.Cipher = "partly", d.Cipher()
	case d.Sealed():
		m.Encrypted, m.Cipher = "yes", d.Cipher()
	}
	m.Fingerprint, _ = d.Fingerprint()
	for _, r := range d.RootRecords() {
		m.RootRecords = append(m.RootRecords, rootRecordJSON{Type: r.Type, Label: r.Label})
	}
	num := importer.Number(d)
	for i, p := range d.Patients() {
		pj := patientJSON{Number: i + 1, Name: p.Name, ID: p.ID, BirthDate: media.DisplayDate(p.BirthDate), Sex: p.Sex,
			Scanned: p.Scanned, Studies: []studyJSON{}}
		for _, st := range p.Studies {
			sj := studyJSON{Number: num.Study[st], UID: st.UID, Date: media.DisplayDate(st.Date), Time: st.Time,
				Description: st.Description, ID: st.ID, AccessionNumber: st.AccessionNumber, Series: []seriesJSON{}}
			for _, se := range st.Series {
				sj.Series = append(sj.Series, seriesJSON{Number: num.Series[se], UID: se.UID, SeriesNumber: se.Number,
					Modality: se.Modality, Description: se.Description, Instances: len(se.Instances)})
			}
			pj.Studies = append(pj.Studies, sj)
		}
		m.Patients = append(m.Patients, pj)
	}
	for _, in := range d.Missing() {
		m.Missing = append(m.Missing, problemJSON{Path: in.Path(), Error: errText(in.Lost())})
	}
	return m
}

// problemsJSON lists problems, never null.
func problemsJSON(ps []media.Problem) []problemJSON {
	out := []problemJSON{}
	for _, p := range ps {
		out = append(out, problemJSON{Path: p.Path, Error: errText(p.Err)})
	}
	return out
}

// othersJSON lists the medium's files that are not instances, never null.
func othersJSON(d *media.Disc) []otherJSON {
	out := []otherJSON{}
	for _, o := range d.Others() {
		out = append(out, otherJSON{Path: o.Path, What: o.What, Error: errText(o.Err)})
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// verifyJSON is verify --json.
type verifyJSON struct {
	Medium   string        `json:"medium"`
	Checked  int           `json:"checked"` // files read and checked
	Intact   bool          `json:"intact"`  // every file present and intact
	Problems []problemJSON `json:"problems"`
	Others   []otherJSON   `json:"others"`
}

// inspectJSON is inspect --json, one per file.
type inspectJSON struct {
	File          string          `json:"file"`
	Version       int             `json:"version"`
	Encoding      string          `json:"encoding"`
	ContentType   string          `json:"content_type"`
	ContentCipher string          `json:"content_cipher"`
	Recipients    []recipientJSON `json:"recipients"`
	Error         string          `json:"error,omitempty"` // the file is not a Secure DICOM File, or unreadable
}

type recipientJSON struct {
	Kind          string `json:"kind"` // password, certificate, kek, key-agreement, other
	KDF           string `json:"kdf,omitempty"`
	PRF           string `json:"prf,omitempty"`
	Iterations    int    `json:"iterations,omitempty"`
	SaltSize      int    `json:"salt_size,omitempty"`
	KEKCipher     string `json:"kek_cipher,omitempty"`
	Issuer        string `json:"issuer,omitempty"`
	SerialNumber  string `json:"serial_number,omitempty"`
	SubjectKeyID  string `json:"subject_key_id,omitempty"`
	KeyEncryption string `json:"key_encryption,omitempty"`
}

// sendJSON is send --json.
type sendJSON struct {
	Source  string         `json:"source"`
	Peer    string         `json:"peer"`
	Results []sendItemJSON `json:"results"`
	Counts  map[string]int `json:"counts"`          // by result: sent, warning, skipped, failed, refused, not sent, cancelled
	Error   string         `json:"error,omitempty"` // no association could be had (exit 12)
}

type sendItemJSON struct {
	Result         string `json:"result"`
	File           string `json:"file"`
	SOPInstanceUID string `json:"sop_instance_uid,omitempty"`
	Detail         string `json:"detail,omitempty"`
	Failed         bool   `json:"failed"`
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
