package mediatest

import (
	"bytes"
	"encoding/asn1"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/testtool"
)

// TestMessyDiscs checks the fixtures themselves, with tools this project
// did not write: dcmtk reads the DICOMDIRs and instances, xorriso (and
// isoinfo when installed) the ISO images, openssl the sealed files.
func TestMessyDiscs(t *testing.T) {
	discs := MessyDiscs(t)
	dcmdump := testtool.Require(t, "dcmdump")
	dcmftest := testtool.Require(t, "dcmftest")
	var names []string
	uids := map[string]string{}
	for _, m := range discs {
		names = append(names, m.Name)
		for p, u := range m.UIDs {
			if prev, dup := uids[u]; dup {
				t.Errorf("SOP Instance UID %s is both %s and %s/%s", u, prev, m.Name, p)
			}
			uids[u] = m.Name + "/" + p
		}
	}
	if !slices.Equal(names, messyKinds) {
		t.Fatalf("kinds %v, want %v", names, messyKinds)
	}
	for _, m := range discs {
		t.Run(m.Name, func(t *testing.T) {
			checkLists(t, &m)
			if got, want := folderFiles(t, m.Folder), m.medium(); !slices.Equal(got, want) {
				t.Errorf("folder holds\n%v\nwant\n%v", got, want)
			}
			checkISO(t, &m)
			checkInstances(t, &m, dcmdump, dcmftest)
			if m.HasDICOMDIR {
				checkDICOMDIR(t, &m, dcmdump)
			}
			checkOther(t, &m)
			checkSealed(t, &m)
		})
	}
}

// medium lists the files of m as they must be on the medium, sorted.
func (m *Messy) medium() []string {
	l := slices.Concat(m.Instances, m.Damaged, m.Other)
	if m.HasDICOMDIR {
		l = append(l, m.dicomdir())
	}
	sort.Strings(l)
	return l
}

// dicomdir is the DICOMDIR's name on m.
func (m *Messy) dicomdir() string {
	if m.Name == "lowercase-joliet" {
		return "dicomdir"
	}
	return "DICOMDIR"
}

var (
	level1Dir  = regexp.MustCompile(`^[A-Z0-9_]{1,8}$`)
	level1File = regexp.MustCompile(`^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?$`)
)

// checkLists checks the lists against each other and the naming rules.
func checkLists(t *testing.T, m *Messy) {
	t.Helper()
	in := func(l []string, p string) bool { _, ok := slices.BinarySearch(l, p); return ok }
	for _, l := range [][]string{m.Instances, m.Unlisted, m.Missing, m.Damaged, m.Other, m.Encrypted} {
		if !slices.IsSorted(l) {
			t.Errorf("list not sorted: %v", l)
		}
	}
	if len(m.Instances) < 5 {
		t.Errorf("%d instances", len(m.Instances))
	}
	for _, p := range slices.Concat(m.Unlisted, m.Encrypted) {
		if !in(m.Instances, p) {
			t.Errorf("%s is not among the instances", p)
		}
	}
	for _, p := range slices.Concat(m.Missing, m.Damaged) {
		if in(m.Instances, p) {
			t.Errorf("%s is missing or damaged but among the readable instances", p)
		}
	}
	for _, p := range slices.Concat(m.Instances, m.Missing, m.Damaged) {
		if m.UIDs[p] == "" || m.plain[p] == nil {
			t.Errorf("%s: no UID or content recorded", p)
		}
	}
	if m.Sealed != (len(m.Encrypted) > 0) {
		t.Errorf("Sealed %v with %d encrypted files", m.Sealed, len(m.Encrypted))
	}
	if m.Sealed && 2*len(m.Encrypted) != len(m.Instances) {
		t.Errorf("%d of %d instances sealed, want half", len(m.Encrypted), len(m.Instances))
	}
	if m.HasDICOMDIR == (m.Name == "no-dicomdir") {
		t.Errorf("HasDICOMDIR %v", m.HasDICOMDIR)
	}
	lower := m.Name == "lowercase-joliet"
	for _, p := range m.medium() {
		if lower != (p == strings.ToLower(p)) {
			t.Errorf("%s: wrong case", p)
		}
		parts := strings.Split(strings.ToUpper(p), "/")
		if len(parts) > 8 {
			t.Errorf("%s: deeper than 8 levels", p)
		}
		for i, s := range parts {
			re := level1Dir
			if i == len(parts)-1 {
				re = level1File
			}
			if !re.MatchString(s) {
				t.Errorf("%s: %q is not an ISO 9660 level 1 name", p, s)
			}
		}
	}
}

// folderFiles lists the regular files under dir as sorted slash paths.
func folderFiles(t *testing.T, dir string) []string {
	t.Helper()
	var l []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			l = append(l, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(l)
	return l
}

func run(t *testing.T, prog string, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(prog), strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// xorrisoFind lists the files of iso as xorriso reads them, with read_fs
// "any" (Rock Ridge, else Joliet, else ISO 9660) or "ecma119".
func xorrisoFind(t *testing.T, iso, readFS string) []string {
	t.Helper()
	out := run(t, "xorriso", "-read_fs", readFS, "-indev", iso, "-find", "/", "-type", "f")
	var l []string
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "'/") && strings.HasSuffix(line, "'") {
			l = append(l, line[2:len(line)-1])
		}
	}
	sort.Strings(l)
	return l
}

// checkISO checks that m.ISO holds exactly m's folder: names (long and
// level 1), extensions (Rock Ridge or Joliet only) and bytes.
func checkISO(t *testing.T, m *Messy) {
	t.Helper()
	want := m.medium()
	if got := xorrisoFind(t, m.ISO, "any"); !slices.Equal(got, want) {
		t.Errorf("xorriso lists\n%v\nwant\n%v", got, want)
	}
	var upper []string
	for _, p := range want {
		upper = append(upper, strings.ToUpper(p))
	}
	sort.Strings(upper)
	if got := xorrisoFind(t, m.ISO, "ecma119"); !slices.Equal(got, upper) {
		t.Errorf("ISO 9660 names\n%v\nwant\n%v", got, upper)
	}
	out := filepath.Join(t.TempDir(), "x")
	run(t, "xorriso", "-osirrox", "on", "-indev", m.ISO, "-extract", "/", out)
	for _, p := range want {
		a, errA := os.ReadFile(filepath.Join(m.Folder, filepath.FromSlash(p)))
		b, errB := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs in the ISO image (%v, %v)", p, errA, errB)
		}
	}
	if _, err := exec.LookPath("isoinfo"); err != nil {
		t.Log("isoinfo not installed: extensions not checked")
		return
	}
	info := run(t, "isoinfo", "-d", "-i", m.ISO)
	rr := !strings.Contains(info, "NO Rock Ridge")
	if rr != (m.Name != "lowercase-joliet") || !strings.Contains(info, "Joliet") {
		t.Errorf("isoinfo -d: Rock Ridge %v, want Joliet and Rock Ridge only with upper case names:\n%s", rr, info)
	}
	var joliet []string
	for line := range strings.Lines(run(t, "isoinfo", "-f", "-J", "-i", m.ISO)) {
		if p := strings.TrimPrefix(strings.TrimSpace(line), "/"); slices.Contains(want, p) {
			joliet = append(joliet, p)
		}
	}
	sort.Strings(joliet)
	if !slices.Equal(joliet, want) {
		t.Errorf("Joliet tree lists\n%v\nwant\n%v", joliet, want)
	}
}

// checkInstances has dcmtk read every DICOM file of m.
func checkInstances(t *testing.T, m *Messy, dcmdump, dcmftest string) {
	t.Helper()
	var plain []string
	for _, p := range m.Instances {
		if !slices.Contains(m.Encrypted, p) {
			plain = append(plain, p)
		}
	}
	abs := func(l []string) []string {
		var out []string
		for _, p := range l {
			out = append(out, filepath.Join(m.Folder, filepath.FromSlash(p)))
		}
		return out
	}
	if len(plain) == 0 {
		t.Fatal("no plain instance")
	}
	// Every plain instance is a whole Part 10 file with its UID.
	out := run(t, dcmdump, append([]string{"-q", "+fo", "+F", "+P", "0008,0018"}, abs(plain)...)...)
	uid := regexp.MustCompile(`(?m)^# dcmdump \(\d+/\d+\): (.*)\n\(0008,0018\) UI \[([0-9.]+)\]`)
	found := map[string]string{}
	for _, g := range uid.FindAllStringSubmatch(out, -1) {
		rel, _ := filepath.Rel(m.Folder, g[1])
		found[filepath.ToSlash(rel)] = g[2]
	}
	for _, p := range plain {
		if found[p] != m.UIDs[p] {
			t.Errorf("%s: dcmdump reads SOP Instance UID %q, want %q", p, found[p], m.UIDs[p])
		}
	}
	// dcmftest: "yes" for Part 10 files (a truncated one still has its
	// preamble), "no" for sealed and other files.
	all := slices.Concat(m.Instances, m.Damaged, m.Other)
	cmd := exec.Command(dcmftest, abs(all)...)
	ft, _ := cmd.Output() // exits non-zero when any file is not DICOM
	for _, p := range all {
		want := "yes: "
		if slices.Contains(m.Encrypted, p) || slices.Contains(m.Other, p) {
			want = "no: "
		}
		if !strings.Contains(string(ft), want+filepath.Join(m.Folder, filepath.FromSlash(p))+"\n") {
			t.Errorf("dcmftest does not say %q of %s:\n%s", want, p, ft)
		}
	}
	for _, p := range m.Damaged {
		f := filepath.Join(m.Folder, filepath.FromSlash(p))
		msg, err := exec.Command(dcmdump, f).CombinedOutput()
		if err == nil {
			t.Errorf("dcmdump reads damaged %s", p)
		}
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		orig := m.plain[p]
		b, _ := os.ReadFile(f)
		if st.Size() >= int64(len(orig)) || !bytes.HasPrefix(orig, b) {
			t.Errorf("%s: %d bytes, not a prefix of the %d-byte file", p, st.Size(), len(orig))
		}
		if pixels := len(orig) - 2*messyPixels*messyPixels; len(b) <= pixels {
			t.Errorf("%s: cut at %d, before its pixel data (%d)", p, len(b), pixels)
		}
		t.Logf("dcmdump on %s: %s", p, bytes.TrimSpace(msg))
	}
	for _, p := range m.Missing {
		if _, err := os.Stat(filepath.Join(m.Folder, filepath.FromSlash(p))); !os.IsNotExist(err) {
			t.Errorf("missing %s: %v", p, err)
		}
	}
}

// checkDICOMDIR has dcmtk read and validate the DICOMDIR and compares the
// files it references with the lists.
func checkDICOMDIR(t *testing.T, m *Messy, dcmdump string) {
	t.Helper()
	dd := filepath.Join(m.Folder, m.dicomdir())
	b, err := os.ReadFile(dd)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		t.Errorf("DICOMDIR is not a plain Part 10 file")
	}
	out := run(t, dcmdump, "-q", "+P", "0004,1500", dd)
	var refs []string
	for _, g := range regexp.MustCompile(`\(0004,1500\) CS \[([^\]]*)\]`).FindAllStringSubmatch(out, -1) {
		refs = append(refs, strings.ReplaceAll(strings.TrimSpace(g[1]), `\`, "/"))
	}
	sort.Strings(refs)
	var want []string
	for _, p := range slices.Concat(m.Instances, m.Missing, m.Damaged) {
		if !slices.Contains(m.Unlisted, p) {
			want = append(want, strings.ToUpper(p)) // File IDs are upper case
		}
	}
	sort.Strings(want)
	if !slices.Equal(refs, want) {
		t.Errorf("DICOMDIR references\n%v\nwant\n%v", refs, want)
	}
	if _, err := exec.LookPath("dciodvfy"); err != nil {
		t.Log("dciodvfy not installed: DICOMDIR not validated")
		return
	}
	v, _ := exec.Command("dciodvfy", dd).CombinedOutput()
	if !bytes.Contains(v, []byte("BasicDirectory")) || bytes.Contains(v, []byte("Error")) {
		t.Errorf("dciodvfy %s:\n%s", m.dicomdir(), v)
	}
}

// checkOther checks the signatures of the non-DICOM files.
func checkOther(t *testing.T, m *Messy) {
	t.Helper()
	magic := map[string]string{".PDF": "%PDF-1.4", ".JPG": "\xff\xd8\xff", ".EXE": "MZ"}
	for _, p := range m.Other {
		b, err := os.ReadFile(filepath.Join(m.Folder, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if sig, ok := magic[strings.ToUpper(filepath.Ext(p))]; ok && !bytes.HasPrefix(b, []byte(sig)) {
			t.Errorf("%s does not start with %q", p, sig)
		}
	}
	if m.Name == "extra-files" {
		for _, p := range []string{"REPORT.PDF", "PHOTO.JPG", "VIEWER/VIEWER.EXE"} {
			if !slices.Contains(m.Other, p) {
				t.Errorf("no %s", p)
			}
		}
	}
}

// checkSealed checks that the sealed files are not Part 10 files and that
// both this project and openssl open them with Password to the plain file.
func checkSealed(t *testing.T, m *Messy) {
	t.Helper()
	_, noSSL := exec.LookPath("openssl")
	if noSSL != nil && len(m.Encrypted) > 0 {
		t.Log("openssl not installed: sealed files not opened by openssl")
	}
	id, err := cms.NewPasswordIdentity([]byte(Password))
	if err != nil {
		t.Fatal(err)
	}
	var salts [][]byte
	for _, p := range m.Encrypted {
		f := filepath.Join(m.Folder, filepath.FromSlash(p))
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) >= 132 && string(b[128:132]) == "DICM" {
			t.Errorf("%s is a Part 10 file", p)
		}
		r, err := cms.Decrypt(bytes.NewReader(b), id)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, m.plain[p]) {
			t.Errorf("%s: cms opens %d bytes (%v), want the %d-byte plain file", p, len(got), err, len(m.plain[p]))
		}
		salts = append(salts, pwriSalt(t, b))
		if noSSL != nil {
			continue
		}
		dir := t.TempDir()
		inner := filepath.Join(dir, "inner")
		run(t, "openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", f, "-out", inner, "-pwri_password", Password)
		if got := testtool.OpensslDigested(t, inner); !bytes.Equal(got, m.plain[p]) {
			t.Errorf("%s: openssl opens %d bytes, want the %d-byte plain file", p, len(got), len(m.plain[p]))
		}
	}
	for _, s := range salts {
		if !bytes.Equal(s, salts[0]) {
			t.Errorf("salts differ: %x, %x", s, salts[0])
		}
	}
}

// pwriSalt finds the PBKDF2 salt of a sealed file: the first OCTET STRING
// after the PBKDF2 OID.
func pwriSalt(t *testing.T, b []byte) []byte {
	t.Helper()
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12})
	i := bytes.Index(b, oid)
	if i < 0 {
		t.Fatal("no PBKDF2 parameters")
	}
	rest := b[i+len(oid):]
	var params struct {
		Salt []byte
		Iter int
		Rest asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(rest, &params); err != nil {
		t.Fatal(err)
	}
	if params.Iter != cms.MinIterations {
		t.Errorf("%d PBKDF2 iterations, want %d", params.Iter, cms.MinIterations)
	}
	return params.Salt
}
