package media

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/units"
)

// Options control NewPlan.
type Options struct {
	// Medium: CD, DVD, DVDDL, BD or USB; empty picks the smallest disc the
	// content fits, preferring CD only when every file fits its profile.
	Medium     Medium
	FileSetID  string // ≤ 16 of A-Z 0-9 _; empty: "SM" + creation date and time
	Contact    string // who to contact, for README.TXT (no patient data)
	Seal       *cms.Options
	Recipients []cms.Recipient
	// Keys, if set, gives Seal and Recipients instead, and NewPlan calls
	// it while it scans the inputs: deriving a password's key and scanning
	// a study each take a noticeable fraction of a second, independently.
	Keys func() (*cms.Options, []cms.Recipient, error)
	// AllowConflicts keeps the first of conflicting files or names (see
	// "securemedia index") instead of failing.
	AllowConflicts bool
	Now            time.Time // creation time; zero means now
	Version        string    // the authoring software's version, for README.TXT
	// Viewers are the viewer programs to put under VIEWER/ (FindViewers),
	// unsealed and executable; README.TXT tells how to start them.
	Viewers []ViewerFile
	// Page is INDEX.HTM and its assets (FindPage), which open the medium
	// in a browser with no program; README.TXT tells of it.
	Page []PageFile
}

// Entry is one file of the medium.
type Entry struct {
	Path      string      // slash-separated, as recorded on the medium
	Size      int64       // bytes on the medium (sealed size for sealed files)
	PlainSize int64       // bytes before sealing
	Sealed    bool        // a Secure DICOM File
	Mode      fs.FileMode // for media that record modes (Rock Ridge)
	source    string      // the input file: a DICOM instance, or a viewer program (unsealed)
	data      []byte      // generated content (DICOMDIR, README.TXT)
}

// Plan is everything known about a medium before writing it.
type Plan struct {
	Medium    Medium
	Profile   string
	FileSetID string
	// Fingerprint names the password's key derivation (see Disc.Fingerprint),
	// for the slip; "" when no password opens the medium.
	Fingerprint string
	// Created is the time the medium says it was made (README.TXT, the
	// volume's dates).
	Created   time.Time
	Warnings  []string
	Skipped   []dicomdir.Skipped
	Directory *dicomdir.Directory
	Entries   []Entry // DICOMDIR, MANIFEST, README.TXT, then the rest
	Counts    struct{ Patients, Studies, Series, Instances int }
	opts      Options
}

// ErrTooLarge: the content does not fit the chosen medium.
var ErrTooLarge = errors.New("content does not fit the medium")

// NewPlan scans the inputs and lays out the medium; the end of ctx stops
// the scan.
func NewPlan(ctx context.Context, inputs []string, o Options) (*Plan, error) {
	type keys struct {
		seal       *cms.Options
		recipients []cms.Recipient
		err        error
	}
	derived := make(chan keys, 1)
	if o.Keys != nil {
		go func() {
			seal, rs, err := o.Keys()
			derived <- keys{seal, rs, err}
		}()
	}
	res, err := dicomdir.Scan(ctx, inputs, dicomdir.ScanOptions{AllowConflicts: o.AllowConflicts})
	if o.Keys != nil {
		k := <-derived // always waited for: a prompt must not outlive the call
		if k.err != nil {
			return nil, k.err
		}
		o.Seal, o.Recipients = k.seal, k.recipients
	}
	if err != nil {
		return nil, err
	}
	return layOut(res, o)
}

// layOut plans the medium for scanned inputs.
func layOut(res *dicomdir.ScanResult, o Options) (*Plan, error) {
	if len(o.Recipients) == 0 {
		return nil, errors.New("media: no recipients")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.FileSetID == "" {
		o.FileSetID = "SM" + o.Now.UTC().Format("20060102_1504")
	}
	if err := ValidFileSetID(o.FileSetID); err != nil {
		return nil, err
	}
	if len(res.Instances) == 0 {
		return nil, errors.New("no DICOM instances found in the input")
	}
	b, err := dicomdir.Build(res.Instances, dicomdir.BuildOptions{FileSetID: o.FileSetID, AllowConflicts: o.AllowConflicts})
	if err != nil {
		return nil, err
	}
	p := &Plan{FileSetID: o.FileSetID, Skipped: res.Skipped, Directory: b.Directory, opts: o,
		Fingerprint: fingerprint(passwordKDFKey(o.Recipients)), Created: o.Now}
	for _, c := range append(res.Conflicts, b.Conflicts...) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%v (kept the first)", c))
	}
	if err := p.addEntries(b); err != nil {
		return nil, err
	}
	if err := p.addViewers(); err != nil {
		return nil, err
	}
	if err := p.chooseMedium(b); err != nil {
		return nil, err
	}
	p.addAutorun()
	return p, p.addReadmeAndManifest()
}

// ValidFileSetID checks a File-set ID, which burn also writes as the
// volume label: at most 16 of A-Z 0-9 _ (PS3.10 §8.2).
func ValidFileSetID(id string) error {
	if len(id) > 16 {
		return fmt.Errorf("file-set ID %q: at most 16 characters", id)
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("file-set ID %q: only A-Z, 0-9 and _ (PS3.10 §8.2); it becomes the volume label, so no patient data", id)
		}
	}
	return nil
}

// sealedSize caches cms.SealedSize by plaintext size.
func (p *Plan) sealedSize(cache map[int64]int64, n int64) (int64, error) {
	if s, ok := cache[n]; ok {
		return s, nil
	}
	s, err := cms.SealedSize(n, p.opts.Seal, p.opts.Recipients...)
	cache[n] = s
	return s, err
}

func (p *Plan) addEntries(b *dicomdir.BuildResult) error {
	cache := map[int64]int64{}
	for _, pl := range b.Placements {
		size, err := p.sealedSize(cache, pl.Instance.Size)
		if err != nil {
			return err
		}
		p.Entries = append(p.Entries, Entry{Path: path.Join(pl.FileID...), Size: size, PlainSize: pl.Instance.Size,
			Sealed: true, Mode: 0o444, source: pl.Instance.Path})
	}
	// The DICOMDIR names the manifest's digest (manifestBinding); it is
	// laid out now with a placeholder of the same size.
	b.Directory.Records = append(b.Directory.Records, manifestRecord([32]byte{}))
	dir, err := dicomdir.Marshal(b.Directory)
	if err != nil {
		return err
	}
	size, err := p.sealedSize(cache, int64(len(dir)))
	if err != nil {
		return err
	}
	p.Entries = append(p.Entries, Entry{Path: "DICOMDIR", Size: size, PlainSize: int64(len(dir)), Sealed: true, Mode: 0o444, data: dir})
	p.Directory.Walk(func(r *dicomdir.Record, _ int) {
		switch r.Type {
		case "PATIENT":
			p.Counts.Patients++
		case "STUDY":
			p.Counts.Studies++
		case "SERIES":
			p.Counts.Series++
		}
	})
	p.Counts.Instances = len(b.Placements)
	return nil
}

// chooseMedium picks or checks the medium and the profile.
func (p *Plan) chooseMedium(b *dicomdir.BuildResult) error {
	syntaxes := map[string]int{}
	for _, pl := range b.Placements {
		syntaxes[pl.Instance.TransferSyntaxUID]++
	}
	need := p.estimatedSize()
	m := p.opts.Medium
	if m == "" {
		m = USB
		for _, c := range []Medium{CD, DVD, DVDDL, BD} {
			if need <= c.Capacity() {
				if _, warn := chooseProfile(c, syntaxes); c != CD || len(warn) == 0 {
					m = c
					break
				}
			}
		}
		if m == USB {
			return fmt.Errorf("%w: %s is more than a BD holds (%s): use a USB stick (--media usb)", ErrTooLarge, units.Bytes(need), units.Bytes(BD.Capacity()))
		}
	}
	if err := checkFits(m, need); err != nil {
		return err
	}
	p.Medium = m
	var warn []string
	p.Profile, warn = chooseProfile(m, syntaxes)
	p.Warnings = append(p.Warnings, warn...)
	return nil
}

// checkFits refuses content larger than the medium, saying by how much
// and which medium would hold it.
func checkFits(m Medium, need int64) error {
	c := m.Capacity()
	if c == 0 || need <= c {
		return nil
	}
	fits := "a USB stick (--media usb)"
	for _, bigger := range []Medium{CD, DVD, DVDDL, BD} {
		if need <= bigger.Capacity() {
			fits = fmt.Sprintf("a %s (--media %s, %s)", strings.ToUpper(string(bigger)), bigger, units.Bytes(bigger.Capacity()))
			break
		}
	}
	return fmt.Errorf("%w: the sealed File-set needs %s, %s more than a %s holds (%s); it fits on %s",
		ErrTooLarge, units.Bytes(need), units.Bytes(need-c), strings.ToUpper(string(m)), units.Bytes(c), fits)
}

// estimatedSize is the data rounded to whole sectors plus room for
// directories and descriptors; the ISO sink knows the exact figure.
func (p *Plan) estimatedSize() int64 {
	n := int64(64 * 2048)
	for _, e := range p.Entries {
		n += (e.Size+2047)/2048*2048 + 256
	}
	return n
}

// addReadmeAndManifest adds README.TXT and the manifest, and puts the
// DICOMDIR, the manifest and README.TXT first: on an ISO image they take
// the lowest sectors, right after the directories, so that a disc damaged
// or cut short towards its end still opens and lists its studies.
func (p *Plan) addReadmeAndManifest() error {
	readme := []byte(readmeText(p))
	var dir Entry
	var rest []Entry
	for _, e := range p.Entries {
		if e.Path == "DICOMDIR" {
			dir = e
		} else {
			rest = append(rest, e)
		}
	}
	readmeEntry := Entry{Path: "README.TXT", Size: int64(len(readme)), PlainSize: int64(len(readme)), Mode: 0o444, data: readme}
	paths := []string{readmeEntry.Path}
	for _, e := range rest {
		paths = append(paths, e.Path)
	}
	plain := manifestSize(paths)
	size, err := cms.SealedSize(plain, p.opts.Seal, p.opts.Recipients...)
	if err != nil {
		return err
	}
	manifest := Entry{Path: manifestName, Size: size, PlainSize: plain, Sealed: true, Mode: 0o444}
	p.Entries = append([]Entry{dir, manifest, readmeEntry}, rest...)
	return nil
}

// Size is the total of the files' sizes on the medium.
func (p *Plan) Size() int64 {
	var n int64
	for _, e := range p.Entries {
		n += e.Size
	}
	return n
}

// RecipientNames describes who can open the medium (for summaries).
func (p *Plan) RecipientNames() []string {
	var out []string
	for _, r := range p.opts.Recipients {
		switch r := r.(type) {
		case *cms.PasswordRecipient:
			out = append(out, "password")
		case *cms.CertificateRecipient:
			out = append(out, "certificate "+r.Certificate().Subject.String())
		}
	}
	return out
}

func (p *Plan) readmeRecipients() string { return strings.Join(p.RecipientNames(), "; ") }

// Patients is the study tree the medium will hold, as its DICOMDIR
// records it (for an audit record of what it exports).
func (p *Plan) Patients() []*Patient { return buildTree(p.Directory).patients }

// PatientNames are the names of the medium's patients, as recorded
// (Family^Given^...), decoded from their character set.
func (p *Plan) PatientNames() []string {
	var names []string
	p.Directory.Walk(func(r *dicomdir.Record, _ int) {
		if r.Type == "PATIENT" {
			names = append(names, r.Text(dicom.PatientName))
		}
	})
	return names
}
