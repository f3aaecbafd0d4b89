package dicomdir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Placement says where Build put an instance in the File-set.
type Placement struct {
	Instance *Instance
	FileID   []string
}

// BuildOptions controls Build.
type BuildOptions struct {
	FileSetID string
	// AllowConflicts keeps the first name seen when one Patient ID comes
	// with two different Patient's Names, instead of failing.
	AllowConflicts bool
}

// BuildResult is a Directory and the File ID of every instance in it.
type BuildResult struct {
	Directory  *Directory
	Placements []Placement
	Conflicts  []*ConflictError // tolerated under AllowConflicts
}

type patient struct {
	id      string
	first   *Instance
	studies map[string]*study
}

type study struct {
	uid    string
	first  *Instance
	series map[string]*series
}

type series struct {
	uid       string
	first     *Instance
	instances []*Instance
}

// Build groups instances into PATIENT → STUDY → SERIES → instance records
// and assigns each instance a File ID DICOM/Pnnnnnnn/STnnnnnn/SEnnnnnn/
// IMnnnnnn (PS3.10 §8.2: ≤ 8 components of 1–8 characters A–Z 0–9 _).
// Names carry no PHI and depend only on the instances' header values, not
// on input order or paths, so the same input always gives the same tree.
//
// Instances without a Study or Series Instance UID cannot be placed and
// are an error. Missing Type 1 keys are filled by documented rules (see
// fillType1).
func Build(instances []*Instance, opt BuildOptions) (*BuildResult, error) {
	if err := checkFileSetID(opt.FileSetID); err != nil {
		return nil, err
	}
	res := &BuildResult{}
	patients, roots, err := group(instances, opt, res)
	if err != nil {
		return nil, err
	}
	d := &Directory{FileSetID: opt.FileSetID, FileSetUID: fileSetUID(instances)}
	for pi, p := range sortedPatients(patients) {
		if err := addPatient(d, res, p, fmt.Sprintf("P%07d", pi+1)); err != nil {
			return nil, err
		}
	}
	addRootRecords(d, res, roots)
	d.Walk(func(r *Record, _ int) {
		for _, e := range r.Elements {
			dicom.PadValue(e)
		}
	})
	res.Directory = d
	return res, nil
}

// group sorts instances into patients, studies and series, and sets aside
// those that belong under the root (palettes). It groups in SOP Instance
// UID order, so that the instance whose values fill a PATIENT, STUDY or
// SERIES record does not depend on file paths.
func group(instances []*Instance, opt BuildOptions, res *BuildResult) (map[string]*patient, []*Instance, error) {
	instances = slices.Clone(instances)
	sort.SliceStable(instances, func(i, j int) bool { return instances[i].SOPInstanceUID < instances[j].SOPInstanceUID })
	patients := map[string]*patient{}
	studyOwner := map[string]*patient{}
	seriesOwner := map[string]*study{}
	var roots []*Instance
	for _, in := range instances {
		if rootLevel(RecordType(in.SOPClassUID)) {
			roots = append(roots, in)
			continue
		}
		p, err := patientFor(patients, in, opt, res)
		if err != nil {
			return nil, nil, err
		}
		suid, seuid := in.Value(dicom.StudyInstanceUID), in.Value(dicom.SeriesInstanceUID)
		if suid == "" || seuid == "" {
			return nil, nil, fmt.Errorf("%s: no Study or Series Instance UID; the instance cannot be placed in a directory", in.Path)
		}
		if owner := studyOwner[suid]; owner != nil && owner != p {
			return nil, nil, &ConflictError{What: "Study Instance UID " + suid, First: owner.first.Path, Other: in.Path,
				Detail: "the study belongs to two different Patient IDs"}
		}
		studyOwner[suid] = p
		st := p.studies[suid]
		if st == nil {
			st = &study{uid: suid, first: in, series: map[string]*series{}}
			p.studies[suid] = st
		}
		// PS3.11 D.3.3: one SERIES record per Series Instance UID.
		if owner := seriesOwner[seuid]; owner != nil && owner != st {
			return nil, nil, &ConflictError{What: "Series Instance UID " + seuid, First: owner.first.Path, Other: in.Path,
				Detail: "the series belongs to two different studies"}
		}
		seriesOwner[seuid] = st
		se := st.series[seuid]
		if se == nil {
			se = &series{uid: seuid, first: in}
			st.series[seuid] = se
		}
		se.instances = append(se.instances, in)
	}
	return patients, roots, nil
}

// patientFor returns the patient of in, creating it on first sight; one
// Patient ID with two names is a conflict.
func patientFor(patients map[string]*patient, in *Instance, opt BuildOptions, res *BuildResult) (*patient, error) {
	pid := patientID(in)
	p := patients[pid]
	if p == nil {
		p = &patient{id: pid, first: in, studies: map[string]*study{}}
		patients[pid] = p
		return p, nil
	}
	if !bytes.Equal(pnKey(p.first), pnKey(in)) {
		c := &ConflictError{What: "Patient ID " + pid, First: p.first.Path, Other: in.Path,
			Detail: "two different Patient's Names"}
		if !opt.AllowConflicts {
			return nil, c
		}
		res.Conflicts = append(res.Conflicts, c)
	}
	return p, nil
}

// addPatient appends the PATIENT record of p and its subtree, placing
// every instance under the patient's folder pdir.
func addPatient(d *Directory, res *BuildResult, p *patient, pdir string) error {
	prec := newRecord("PATIENT", p.first, patientKeys)
	if p.first.Value(dicom.PatientID) == "" {
		prec.Set(dicom.StringElement(dicom.PatientID, "LO", p.id))
	}
	d.Records = append(d.Records, prec)
	for si, st := range sortedStudies(p.studies) {
		srec := newRecord("STUDY", st.first, studyKeys)
		fillType1(srec, st.first, si+1)
		prec.Children = append(prec.Children, srec)
		for ei, se := range sortedSeries(st.series) {
			erec := newRecord("SERIES", se.first, seriesKeys)
			fillType1(erec, se.first, ei+1)
			srec.Children = append(srec.Children, erec)
			sortInstances(se.instances)
			for ii, in := range se.instances {
				id := []string{"DICOM", pdir, fmt.Sprintf("ST%06d", si+1), fmt.Sprintf("SE%06d", ei+1), fmt.Sprintf("IM%06d", ii+1)}
				if err := ValidFileID(id); err != nil {
					return fmt.Errorf("dicomdir: too many entities for the File ID scheme: %w", err)
				}
				irec := instanceRecord(in, id)
				fillType1(irec, in, ii+1)
				erec.Children = append(erec.Children, irec)
				res.Placements = append(res.Placements, Placement{Instance: in, FileID: id})
			}
		}
	}
	return nil
}

// addRootRecords files instances that belong to no patient (palettes)
// under DICOM/ROOT/nnnnnnnn, after the patients, ordered by SOP Instance
// UID.
func addRootRecords(d *Directory, res *BuildResult, roots []*Instance) {
	sort.Slice(roots, func(i, j int) bool { return roots[i].SOPInstanceUID < roots[j].SOPInstanceUID })
	for i, in := range roots {
		id := []string{"DICOM", "ROOT", fmt.Sprintf("%08d", i+1)}
		r := instanceRecord(in, id)
		fillType1(r, in, i+1)
		d.Records = append(d.Records, r)
		res.Placements = append(res.Placements, Placement{Instance: in, FileID: id})
	}
}

// newRecord makes a record of type typ with the keys copied from in.
// Values are the original bytes; the instance's Specific Character Set is
// copied with them so the bytes keep their meaning (F.5: 1C if any key is
// not in the default repertoire; copying it when present is always safe).
func newRecord(typ string, in *Instance, keys []key) *Record {
	r := &Record{Type: typ}
	if cs := in.Get(dicom.SpecificCharacterSet); cs != nil && cs.String() != "" {
		r.Set(copyElement(cs))
	}
	for _, k := range keys {
		e := in.Get(k.tag)
		switch {
		case e != nil && !e.Skipped:
			r.Set(copyElement(e))
		case k.typ == '1' || k.typ == '2':
			r.Set(&dicom.Element{Tag: k.tag, VR: dicom.VROf(k.tag)})
		}
	}
	return r
}

// copyElement returns e with the VR of the standard dictionary when the
// tag is known (source files sometimes carry wrong explicit VRs; the text
// bytes stay as they were).
func copyElement(e *dicom.Element) *dicom.Element {
	c := *e
	if vr := dicom.VROf(e.Tag); vr != "UN" && (vr == "SQ") == e.IsSequence() {
		c.VR = vr
	}
	return &c
}

func instanceRecord(in *Instance, fileID []string) *Record {
	typ := RecordType(in.SOPClassUID)
	r := newRecord(typ, in, instanceKeys[typ])
	r.Set(dicom.StringElement(dicom.ReferencedFileID, "CS", strings.Join(fileID, `\`)))
	r.Set(dicom.StringElement(dicom.ReferencedSOPClassUIDInFile, "UI", in.SOPClassUID))
	r.Set(dicom.StringElement(dicom.ReferencedSOPInstanceUIDInFile, "UI", in.SOPInstanceUID))
	r.Set(dicom.StringElement(dicom.ReferencedTransferSyntaxUIDInFile, "UI", in.TransferSyntaxUID))
	if typ == "IMAGE" {
		addSharedFunctionalGroupKeys(r, in)
	}
	if typ == "SR DOCUMENT" || typ == "KEY OBJECT DOC" {
		if cs := conceptModifiers(in); cs != nil {
			r.Set(cs)
		}
	}
	if typ == "SR DOCUMENT" && r.Value(dicom.VerificationFlag) == "VERIFIED" && r.Get(dicom.VerificationDateTime) == nil {
		if v := verificationDateTime(in); v != nil {
			r.Set(v)
		}
	}
	if rel := in.Get(dicom.RelatedGeneralSOPClassUID); rel != nil && rel.String() != "" {
		r.Set(&dicom.Element{Tag: dicom.ReferencedRelatedGeneralSOPClassUIDInFile, VR: "UI", Value: rel.Value})
	}
	return r
}

// sharedKeys are IMAGE keys that enhanced multi-frame objects keep in a
// functional group macro of the Shared Functional Groups Sequence
// (5200,9229) instead of the top level; PS3.11 H.3.3 asks for them to be
// looked up there.
var sharedKeys = []struct{ tag, macro dicom.Tag }{
	{dicom.ImageOrientationPatient, dicom.PlaneOrientationSequence}, // Image Orientation (Patient) in Plane Orientation
	{dicom.PixelSpacing, dicom.PixelMeasuresSequence},               // Pixel Spacing in Pixel Measures
}

func addSharedFunctionalGroupKeys(r *Record, in *Instance) {
	shared := in.Get(dicom.SharedFunctionalGroupsSequence)
	if shared == nil || len(shared.Items) == 0 {
		return
	}
	for _, k := range sharedKeys {
		if r.Get(k.tag) != nil {
			continue
		}
		macro := dicom.Find(shared.Items[0].Elements, k.macro)
		if macro == nil || len(macro.Items) == 0 {
			continue
		}
		if e := dicom.Find(macro.Items[0].Elements, k.tag); e != nil && !e.Skipped {
			r.Set(copyElement(e))
		}
	}
}

// conceptModifiers returns the Content Sequence (0040,A730) reduced to its
// items with Relationship Type (0040,A010) HAS CONCEPT MOD, which F.5.25
// and F.5.26 require in SR DOCUMENT and KEY OBJECT DOC records when the
// document has any; nil when it has none.
func conceptModifiers(in *Instance) *dicom.Element {
	seq := in.Get(dicom.ContentSequence)
	if seq == nil {
		return nil
	}
	out := &dicom.Element{Tag: seq.Tag, VR: "SQ"}
	for _, it := range seq.Items {
		if dicom.Find(it.Elements, dicom.RelationshipType).String() == "HAS CONCEPT MOD" {
			out.Items = append(out.Items, it)
		}
	}
	if len(out.Items) == 0 {
		return nil
	}
	return out
}

// verificationDateTime finds the Verification DateTime that F.5.25 wants
// at the top of a VERIFIED SR record: in the instance it lives in the
// Verifying Observer Sequence (0040,A073); the last item is the latest.
func verificationDateTime(in *Instance) *dicom.Element {
	seq := in.Get(dicom.VerifyingObserverSequence)
	if seq == nil || len(seq.Items) == 0 {
		return nil
	}
	e := dicom.Find(seq.Items[len(seq.Items)-1].Elements, dicom.VerificationDateTime)
	if e == nil {
		return nil
	}
	return copyElement(e)
}

// fillType1 gives every empty Type 1 key of a record a value, because F.5
// requires one even when the instance lacks it (PS3.11 D.3.3 says the
// same). The rules, documented for users in "securemedia help index":
//   - Study Date/Time: Series, Acquisition or Content Date/Time of the
//     instance, else 19000101 / 000000.
//   - Study ID, Series Number, Instance Number: the record's position
//     among its siblings (1, 2, ...).
//   - Modality: OT. Content Date/Time: Study Date/Time, else as above.
//   - Other Type 1 keys (labels, flags): a neutral constant.
//
// Patient ID is handled by patientID.
func fillType1(r *Record, in *Instance, ordinal int) {
	for _, e := range r.Elements {
		if len(bytes.Trim(e.Value, " \x00")) > 0 || e.IsSequence() || !isType1(r.Type, e.Tag) {
			continue
		}
		e.Value = []byte(defaultFor(e.Tag, in, ordinal))
	}
}

func isType1(typ string, t dicom.Tag) bool {
	var keys []key
	switch typ {
	case "STUDY":
		keys = studyKeys
	case "SERIES":
		keys = seriesKeys
	default:
		keys = instanceKeys[typ]
	}
	for _, k := range keys {
		if k.tag == t {
			return k.typ == '1'
		}
	}
	return false
}

func defaultFor(t dicom.Tag, in *Instance, ordinal int) string {
	switch t {
	case dicom.StudyDate, dicom.ContentDate, dicom.PresentationCreationDate:
		return firstNonEmpty(in.Value(dicom.SeriesDate), in.Value(dicom.AcquisitionDate), in.Value(dicom.ContentDate), in.Value(dicom.StudyDate), "19000101")
	case dicom.StudyTime, dicom.ContentTime, dicom.PresentationCreationTime:
		return firstNonEmpty(in.Value(dicom.SeriesTime), in.Value(dicom.AcquisitionTime), in.Value(dicom.ContentTime), in.Value(dicom.StudyTime), "000000")
	case dicom.StudyID, dicom.SeriesNumber, dicom.InstanceNumber:
		return strconv.Itoa(ordinal)
	case dicom.Modality:
		return "OT"
	case dicom.CompletionFlag:
		return "PARTIAL"
	case dicom.VerificationFlag:
		return "UNVERIFIED"
	case dicom.MIMETypeOfEncapsulatedDocument:
		return "application/octet-stream"
	}
	return "UNLABELED"
}

// patientID returns the instance's Patient ID or, when it has none, a
// stable stand-in derived from Patient's Name and Birth Date ("NOID" and
// 12 hex digits of their SHA-256), so that instances of one unidentified
// patient stay together and the PATIENT record still has its Type 1 key.
func patientID(in *Instance) string {
	if id := in.Value(dicom.PatientID); id != "" {
		return id
	}
	return standInID(rawValue(in, dicom.PatientName), rawValue(in, dicom.PatientBirthDate))
}

func standInID(name, birthDate []byte) string {
	h := sha256.New()
	h.Write(name)
	h.Write([]byte{0})
	h.Write(birthDate)
	return "NOID" + strings.ToUpper(hex.EncodeToString(h.Sum(nil))[:12])
}

// StandInPatientID reports whether the Patient ID of a PATIENT record is
// the stand-in Build gives a patient whose instances carry none: the
// record keeps the name and birth date it was derived from, so it can be
// recognised, and a reader can say "no ID on the disc" rather than show a
// made-up ID as if it were the patient's.
func StandInPatientID(r *Record) bool {
	id := r.Value(dicom.PatientID)
	if !strings.HasPrefix(id, "NOID") {
		return false
	}
	return id == standInID(trimmedValue(r.Get(dicom.PatientName)), trimmedValue(r.Get(dicom.PatientBirthDate)))
}

// pnKey is Patient's Name for comparison: trailing empty components and
// padding are not significant (PS3.5 §6.2, PN), so "Doe^John^^^" and
// "Doe^John" are one name.
func pnKey(in *Instance) []byte {
	groups := bytes.Split(rawValue(in, dicom.PatientName), []byte("="))
	for i, g := range groups {
		groups[i] = bytes.TrimRight(g, "^ ")
	}
	return bytes.TrimRight(bytes.Join(groups, []byte("=")), "=")
}

func rawValue(in *Instance, t dicom.Tag) []byte { return trimmedValue(in.Get(t)) }

func trimmedValue(e *dicom.Element) []byte {
	if e == nil {
		return nil
	}
	return bytes.TrimRight(e.Value, " \x00")
}

// fileSetUID derives the File-set UID from the set of SOP Instance UIDs
// (a 2.25 UID, PS3.5 §B.2): the same content always gets the same UID,
// different content a different one.
func fileSetUID(instances []*Instance) string {
	uids := make([]string, len(instances))
	for i, in := range instances {
		uids[i] = in.SOPInstanceUID
	}
	sort.Strings(uids)
	sum := sha256.Sum256([]byte(strings.Join(uids, "\n")))
	n := new(big.Int).SetBytes(sum[:16])
	return "2.25." + n.String()
}

func sortedPatients(m map[string]*patient) []*patient {
	out := make([]*patient, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func sortedStudies(m map[string]*study) []*study {
	out := make([]*study, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].first, out[j].first
		if ka, kb := a.Value(dicom.StudyDate)+a.Value(dicom.StudyTime), b.Value(dicom.StudyDate)+b.Value(dicom.StudyTime); ka != kb {
			return ka < kb
		}
		return out[i].uid < out[j].uid
	})
	return out
}

func sortedSeries(m map[string]*series) []*series {
	out := make([]*series, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := number(out[i].first, dicom.SeriesNumber), number(out[j].first, dicom.SeriesNumber); a != b {
			return a < b
		}
		return out[i].uid < out[j].uid
	})
	return out
}

func sortInstances(ins []*Instance) {
	sort.Slice(ins, func(i, j int) bool {
		if a, b := number(ins[i], dicom.InstanceNumber), number(ins[j], dicom.InstanceNumber); a != b {
			return a < b
		}
		return ins[i].SOPInstanceUID < ins[j].SOPInstanceUID
	})
}

// number parses an IS value; absent or malformed numbers sort last.
func number(in *Instance, t dicom.Tag) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(in.Value(t)), 10, 64)
	if err != nil {
		return 1 << 62
	}
	return n
}
