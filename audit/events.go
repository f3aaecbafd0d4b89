package audit

import (
	"cmp"
	"maps"
	"net"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"
)

// Participant is a person or process taking part in an event: the one
// running the command (Local), or a DICOM peer.
type Participant struct {
	// UserID: for the local process the OS user running it; for a peer
	// its AE title.
	UserID string
	// UserName: the program ("securemedia burn"), for the local process.
	UserName string
	AETitle  string // written as AlternativeUserID AETITLES= (PS3.15 A.5.2.2)
	// Host is the network access point: a host name or an IP address.
	Host      string
	Requestor bool // UserIsRequestor: this participant started the event
}

// Local is the process running program (e.g. "securemedia burn") as a
// participant: the OS user running it, on this host.
func Local(program string) Participant {
	p := Participant{UserID: "unknown", UserName: program, Host: hostname(), Requestor: true}
	if u, err := user.Current(); err == nil && u.Username != "" {
		p.UserID = u.Username
	}
	return p
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

func (p Participant) element(roles ...Code) ActiveParticipant {
	a := ActiveParticipant{Roles: roles, UserID: p.UserID, UserName: p.UserName, Requestor: p.Requestor}
	if p.AETitle != "" {
		a.AlternativeUserID = "AETITLES=" + p.AETitle
		if a.UserID == "" {
			a.UserID = p.AETitle
		}
	}
	if p.Host != "" {
		// PS3.15 A.5.1: 1 machine name, 2 IP address.
		a.NetworkAccessPoint, a.NetworkAccessPointTC = p.Host, "1"
		if net.ParseIP(p.Host) != nil {
			a.NetworkAccessPointTC = "2"
		}
	}
	return a
}

// Patient is a patient as the instances name it. Two patients are one
// only when both ID and name are equal: a message never merges two.
type Patient struct {
	ID   string // Patient ID; "" when the instances give none
	Name string // as recorded, Family^Given^...
}

// Study is a study an event touched, and what of it.
type Study struct {
	UID       string
	Patient   Patient
	Accession string
	// SOPClasses counts the instances the event touched by SOP Class UID.
	SOPClasses map[string]int
}

// Medium is a disc or USB folder as a participant (PS3.15 A.5.2.1: the
// media type and its label, as free text).
type Medium struct {
	Type  MediaType
	Label string // the volume label / File-set ID
	// URI, when set, is the participant's UserID, the form PS3.15
	// A.5.2.1 prefers (e.g. file:///srv/discs/x.iso); else the UserID is
	// the media type and label as free text ("DVD SM20261207_0905").
	URI string
	// FileSetUID is the DICOMDIR's SOP Instance UID, when known: with the
	// label, the machine-readable identity of PS3.15 A.5.2.2.
	FileSetUID string
}

// Event is what every message says besides its objects: when, how it
// ended, who reported it and who ran it.
type Event struct {
	Time    time.Time // zero: now
	Outcome Outcome
	// Failure says what went wrong when Outcome is not Success. It must
	// name no patient: write what failed, not whose.
	Failure string
	// Site is the AuditEnterpriseSiteID, and SourceID the AuditSourceID
	// (default: this host's name).
	Site, SourceID string
	SourceType     AuditSourceType // default SourceEndUser
	Local          Participant     // the process reporting: see Local
}

func (ev Event) message(id Code, action Action) *Message {
	m := &Message{Event: EventIdentification{Action: action, DateTime: timestamp(ev.Time), Outcome: ev.Outcome, ID: id}}
	if ev.Outcome != Success {
		m.Event.Description = ev.Failure
	}
	m.Source = AuditSource{Site: ev.Site, ID: cmp.Or(ev.SourceID, hostname()),
		Types: []AuditSourceType{cmp.Or(ev.SourceType, SourceEndUser)}}
	return m
}

// Export is the message of PS3.15 A.5.3, "Export" (110106): the studies
// were written to medium m, leaving the system's control. The local
// process is the source; the medium is the Destination Media.
func Export(ev Event, m Medium, studies []Study) *Message {
	msg := ev.message(EventExport, Read)
	msg.Participants = []ActiveParticipant{ev.Local.element(RoleSource), m.element(RoleDestinationMedia)}
	msg.Objects = objects(studies, true)
	return msg
}

// Import is the message of PS3.15 A.5.3, "Import" (110107): the studies
// were taken in from medium m (e.g. a disc forwarded to a PACS). The
// medium is the Source Media, the local process the destination.
func Import(ev Event, m Medium, studies []Study) *Message {
	msg := ev.message(EventImport, Create)
	msg.Participants = []ActiveParticipant{ev.Local.element(RoleDestination), m.element(RoleSourceMedia)}
	msg.Objects = objects(studies, false)
	return msg
}

// InstancesTransferred is the message of PS3.15 A.5.3, "DICOM Instances
// Transferred" (110104): the studies' instances went from source to
// destination, one of which is usually Local. The standard allows one
// patient a message, so it is one message per patient. Action: Read for
// the sender, Create for a receiver storing them the first time.
func InstancesTransferred(ev Event, action Action, source, destination Participant, studies []Study) []*Message {
	var out []*Message
	for _, group := range byPatient(studies) {
		msg := ev.message(EventInstancesTransferred, action)
		msg.Participants = []ActiveParticipant{source.element(RoleSource), destination.element(RoleDestination)}
		msg.Objects = objects(group, false)
		out = append(out, msg)
	}
	return out
}

// InstancesAccessed is the message of PS3.15 A.5.3, "DICOM Instances
// Accessed" (110103): the local process (its user) read, created, updated
// or deleted the studies' instances, e.g. unlocked a disc to view it. One
// message per patient, as the standard allows one.
func InstancesAccessed(ev Event, action Action, studies []Study) []*Message {
	var out []*Message
	for _, group := range byPatient(studies) {
		msg := ev.message(EventInstancesAccessed, action)
		msg.Participants = []ActiveParticipant{ev.Local.element()}
		msg.Objects = objects(group, false)
		out = append(out, msg)
	}
	return out
}

func (m Medium) element(role Code) ActiveParticipant {
	name := cmp.Or(m.URI, strings.TrimSpace(Code(m.Type).Meaning+" "+m.Label))
	a := ActiveParticipant{Roles: []Code{role}, UserID: name, Media: &MediaIdentifer{Type: Code(m.Type)}}
	var alt []string
	if m.Label != "" {
		alt = append(alt, "label="+m.Label)
	}
	if m.FileSetUID != "" {
		alt = append(alt, "DICOMDIR="+m.FileSetUID)
	}
	a.AlternativeUserID = strings.Join(alt, ";")
	return a
}

// byPatient groups studies by patient, in order of first appearance.
func byPatient(studies []Study) [][]Study {
	var order []Patient
	groups := map[Patient][]Study{}
	for _, s := range studies {
		if _, ok := groups[s.Patient]; !ok {
			order = append(order, s.Patient)
		}
		groups[s.Patient] = append(groups[s.Patient], s)
	}
	out := make([][]Study, 0, len(order))
	for _, p := range order {
		out = append(out, groups[p])
	}
	return out
}

// objects are the studies' participant objects, then their patients'
// (PS3.15 A.5.3: studies with role Report, patients with role Patient).
func objects(studies []Study, encrypted bool) []ParticipantObject {
	var out []ParticipantObject
	var patients []Patient
	seen := map[Patient]bool{}
	for _, s := range studies {
		out = append(out, studyObject(s, encrypted))
		if !seen[s.Patient] {
			seen[s.Patient] = true
			patients = append(patients, s.Patient)
		}
	}
	for _, p := range patients {
		out = append(out, ParticipantObject{IDType: idPatient, Name: p.Name, ID: p.ID, Type: "1", Role: "1"})
	}
	return out
}

func studyObject(s Study, encrypted bool) ParticipantObject {
	var d ObjectDescription
	if s.Accession != "" {
		d.Accessions = []Accession{{s.Accession}}
	}
	for _, uid := range slices.Sorted(maps.Keys(s.SOPClasses)) {
		d.SOPClasses = append(d.SOPClasses, SOPClassInstance{UID: uid, Count: s.SOPClasses[uid]})
	}
	if encrypted {
		d.Encrypted = &encrypted
	}
	// The schema wants a name or a query: a study's name is its UID.
	return ParticipantObject{IDType: idStudy, Name: s.UID, ID: s.UID, Type: "2", Role: "3",
		Descriptions: []ObjectDescription{d}}
}
