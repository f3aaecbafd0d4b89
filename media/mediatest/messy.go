package mediatest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// Messy is one kind of disc a hospital receives, as a folder and as an ISO
// image. Both are made by tools this project did not write: dcmtk's
// dcmmkdir writes the DICOMDIR, xorriso the ISO image.
type Messy struct {
	Name   string // short, e.g. "plain"
	Folder string // the medium as a folder (a USB stick, a mounted disc)
	ISO    string // the same medium as an ISO 9660 image
	// Sealed: something on it is sealed (opened by Password); false: no
	// password may be asked.
	Sealed      bool
	HasDICOMDIR bool
	// What a reader must find, as slash paths relative to the medium root,
	// spelled as on the medium (in the folder, and in the ISO image's Rock
	// Ridge or Joliet names), each list sorted.
	//
	// Instances is every readable DICOM instance, listed in the DICOMDIR or
	// not, sealed or not; it holds neither Missing nor Damaged files.
	Instances []string
	Unlisted  []string // DICOM instances present but not referenced by the DICOMDIR (subset of Instances)
	Missing   []string // referenced by the DICOMDIR but absent
	Damaged   []string // present but broken (truncated): must be named, never sent
	Other     []string // non-DICOM files (a PDF report, a JPEG, a vendor viewer .EXE)
	// Encrypted is the instances stored as Secure DICOM Files (subset of
	// Instances; empty unless Sealed).
	Encrypted []string
	// UIDs maps every DICOM file of the medium as made (Instances, Missing
	// and Damaged) to its SOP Instance UID.
	UIDs map[string]string

	// plain holds the Part 10 bytes of every DICOM file as made, before it
	// was sealed or truncated (for this package's own test).
	plain map[string][]byte
}

// messyPixels is the side of the square 16-bit image of every instance.
const messyPixels = 32

// messyKinds lists the kinds in the order MessyDiscs returns them.
var messyKinds = []string{
	"plain", "lowercase-joliet", "no-dicomdir", "extra-files",
	"missing-file", "truncated-file", "half-sealed",
}

// MessyDiscs makes every kind in t.TempDir(): it needs dcmmkdir and xorriso
// (testtool.Require). Each kind is about six small CT instances with pixel
// data: patient 1 with two series of two images, patient 2 with one series
// of two, in upper-case 8.3 paths DICOM/PATp/ST1/SEs/IMi. Identifiers
// differ between kinds: Patient ID "MESSYkPp", name "Messyk^Patientp", and
// UIDs under 2.25.77k, where k is the kind's position (1 to 7).
//
//   - plain: a DICOMDIR (File-set ID MESSY) by dcmmkdir's General Purpose
//     profile, an ISO image with Rock Ridge and Joliet; every later kind is
//     this one changed, except as told.
//   - lowercase-joliet: every name in lower case (renamed after dcmmkdir,
//     so the DICOMDIR's upper-case File IDs match only ignoring case); the
//     ISO has no Rock Ridge, only ISO 9660 (upper case) and Joliet (lower
//     case) names.
//   - no-dicomdir: the files only.
//   - extra-files: plain, plus two instances the DICOMDIR does not list
//     (DICOM/PAT1/ST1/SE1/IM3 and DICOM/PAT3/ST1/SE1/IM1) and five other
//     files: REPORT.PDF, PHOTO.JPG (a real JPEG), AUTORUN.INF,
//     VIEWER/VIEWER.EXE (an MZ/PE stub) and VIEWER/README.TXT.
//   - missing-file: DICOM/PAT2/ST1/SE1/IM2 is listed but absent.
//   - truncated-file: DICOM/PAT1/ST1/SE2/IM1 is cut to 60% of its size,
//     inside its pixel data.
//   - half-sealed: a plain DICOMDIR; IM1 of every series (3 of 6) is a
//     Secure DICOM File opened by Password (one salt for all, the fewest
//     iterations allowed).
func MessyDiscs(t testing.TB) []Messy {
	t.Helper()
	mkdir := testtool.Require(t, "dcmmkdir")
	xorriso := testtool.Require(t, "xorriso")
	root := t.TempDir()
	var out []Messy
	for i, name := range messyKinds {
		out = append(out, makeMessy(t, root, i+1, name, mkdir, xorriso))
	}
	return out
}

// messyInstance is one generated DICOM file.
type messyInstance struct {
	path string // slash path, upper case
	spec dicomtest.Spec
}

// messySet returns the base instances of kind k.
func messySet(k int) []messyInstance {
	var set []messyInstance
	for _, ps := range []struct{ patient, series int }{{1, 1}, {1, 2}, {2, 1}} {
		for i := 1; i <= 2; i++ {
			set = append(set, messyOne(k, ps.patient, ps.series, i))
		}
	}
	return set
}

// messyOne describes instance i of series se of study 1 of patient p of
// kind k.
func messyOne(k, p, se, i int) messyInstance {
	study := fmt.Sprintf("2.25.77%d.%d.1", k, p)
	return messyInstance{
		path: fmt.Sprintf("DICOM/PAT%d/ST1/SE%d/IM%d", p, se, i),
		spec: dicomtest.Spec{
			PatientID:   fmt.Sprintf("MESSY%dP%d", k, p),
			PatientName: fmt.Sprintf("Messy%d^Patient%d", k, p),
			StudyUID:    study,
			SeriesUID:   fmt.Sprintf("%s.%d", study, se),
			SOPUID:      fmt.Sprintf("%s.%d.%d", study, se, i),
			StudyDate:   "20240315", StudyTime: "101500", StudyID: "1",
			Modality: "CT", SeriesNumber: fmt.Sprint(se), InstanceNumber: fmt.Sprint(i),
			Pixels: messyPixels,
		},
	}
}

// messyBytes encodes in with a visible image: a diagonal gradient whose
// direction and brightness tell the instances apart.
func messyBytes(t testing.TB, in messyInstance) []byte {
	t.Helper()
	b, err := dicomtest.Bytes(in.spec)
	if err != nil {
		t.Fatal(err)
	}
	// Pixel Data, the highest tag, ends the file: overwrite its zeros.
	n := messyPixels
	px := b[len(b)-2*n*n:]
	var seed int
	fmt.Sscan(in.spec.InstanceNumber, &seed)
	for y := range n {
		for x := range n {
			v := (x + y) * 64
			if seed%2 == 0 {
				v = (x + n - 1 - y) * 64
			}
			binary.LittleEndian.PutUint16(px[2*(y*n+x):], uint16(v+seed*256))
		}
	}
	return b
}

func makeMessy(t testing.TB, root string, k int, name, mkdir, xorriso string) Messy {
	t.Helper()
	m := Messy{
		Name:   name,
		Folder: filepath.Join(root, name),
		ISO:    filepath.Join(root, name+".iso"),
		UIDs:   map[string]string{},
		plain:  map[string][]byte{},
	}
	write := func(in messyInstance) {
		b := messyBytes(t, in)
		writeFile(t, m.Folder, in.path, b)
		m.UIDs[in.path] = in.spec.SOPUID
		m.plain[in.path] = b
		m.Instances = append(m.Instances, in.path)
	}
	set := messySet(k)
	for _, in := range set {
		write(in)
	}
	if name != "no-dicomdir" {
		runTool(t, m.Folder, mkdir, "-q", "-Pgp", "+r", "-nb", "+F", "MESSY", "+id", ".", "+D", "DICOMDIR", "DICOM")
		m.HasDICOMDIR = true
	}
	rockRidge := true
	switch name {
	case "lowercase-joliet":
		lowerAll(t, m.Folder)
		rockRidge = false
		m.Instances = lowerEach(m.Instances)
		m.UIDs = lowerKeys(m.UIDs)
		m.plain = lowerKeys(m.plain)
	case "extra-files":
		for _, in := range []messyInstance{messyOne(k, 1, 1, 3), messyOne(k, 3, 1, 1)} {
			write(in)
			m.Unlisted = append(m.Unlisted, in.path)
		}
		others := map[string][]byte{
			"REPORT.PDF":        messyPDF(),
			"PHOTO.JPG":         messyJPEG(t),
			"VIEWER/VIEWER.EXE": messyEXE(),
			"VIEWER/README.TXT": []byte("Vendor viewer: run VIEWER.EXE.\r\n"),
			"AUTORUN.INF":       []byte("[autorun]\r\nopen=VIEWER\\VIEWER.EXE\r\n"),
		}
		for p, b := range others {
			writeFile(t, m.Folder, p, b)
			m.Other = append(m.Other, p)
		}
	case "missing-file":
		gone := set[5].path // DICOM/PAT2/ST1/SE1/IM2
		if err := os.Remove(filepath.Join(m.Folder, filepath.FromSlash(gone))); err != nil {
			t.Fatal(err)
		}
		m.Missing = []string{gone}
		m.Instances = slices.DeleteFunc(m.Instances, func(p string) bool { return p == gone })
	case "truncated-file":
		cut := set[2].path // DICOM/PAT1/ST1/SE2/IM1
		b := m.plain[cut]
		n := len(b) * 60 / 100
		if pixelStart := len(b) - 2*messyPixels*messyPixels; n <= pixelStart {
			t.Fatalf("mediatest: truncating %s to %d bytes would not cut its pixel data (from %d)", cut, n, pixelStart)
		}
		if err := os.Truncate(filepath.Join(m.Folder, filepath.FromSlash(cut)), int64(n)); err != nil {
			t.Fatal(err)
		}
		m.Damaged = []string{cut}
		m.Instances = slices.DeleteFunc(m.Instances, func(p string) bool { return p == cut })
	case "half-sealed":
		r, err := cms.NewPasswordRecipient([]byte(Password), &cms.PasswordParams{Iterations: cms.MinIterations})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range set {
			if !strings.HasSuffix(in.path, "/IM1") {
				continue
			}
			var buf bytes.Buffer
			plain := m.plain[in.path]
			w, err := cms.Encrypt(&buf, int64(len(plain)), nil, r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(plain); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			writeFile(t, m.Folder, in.path, buf.Bytes())
			m.Encrypted = append(m.Encrypted, in.path)
		}
		m.Sealed = true
	}
	for _, l := range []*[]string{&m.Instances, &m.Unlisted, &m.Missing, &m.Damaged, &m.Other, &m.Encrypted} {
		sort.Strings(*l)
	}
	// xorriso's mkisofs writes Rock Ridge unless told --norock.
	args := []string{"-as", "mkisofs", "-quiet", "-R"}
	if !rockRidge {
		args[3] = "--norock"
	}
	label := "MESSY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	args = append(args, "-J", "-V", label, "-o", m.ISO, m.Folder)
	runTool(t, root, xorriso, args...)
	return m
}

// writeFile writes b to the slash path p under dir.
func writeFile(t testing.TB, dir, p string, b []byte) {
	t.Helper()
	f := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runTool runs an external program in dir and fails t, with its output,
// if it fails.
func runTool(t testing.TB, dir, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mediatest: %s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
}

// lowerAll renames everything under dir to lower case, deepest first.
func lowerAll(t testing.TB, dir string) {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil && p != dir {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(paths) - 1; i >= 0; i-- { // children come after their parent
		p := paths[i]
		lower := filepath.Join(filepath.Dir(p), strings.ToLower(filepath.Base(p)))
		if lower != p {
			if err := os.Rename(p, lower); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func lowerEach(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.ToLower(s)
	}
	return out
}

func lowerKeys[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// messyPDF returns a small, well-formed one-page PDF.
func messyPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		"", // the content stream, below
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	content := "BT /F1 12 Tf 20 50 Td (Radiology report) Tj ET"
	objs[3] = fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offsets []int
	for i, o := range objs {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// messyJPEG returns a small real JPEG photograph (a gradient).
func messyJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			img.SetGray(x, y, color.Gray{Y: uint8(8 * (x + y))})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// messyEXE returns the start of a DOS/Windows executable: the "MZ" header
// and a PE signature; nobody runs it.
func messyEXE() []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80) // e_lfanew
	copy(b[0x80:], "PE\x00\x00")
	copy(b[0x100:], "This program cannot be run in DOS mode.")
	return b
}
