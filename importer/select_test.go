package importer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/dicomdir"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
)

// count is the number of instances picked, per patient number.
func count(picks []*Pick) map[int]int {
	out := map[int]int{}
	for _, p := range picks {
		out[p.Number] = len(p.Instances)
	}
	return out
}

func TestSelect(t *testing.T) {
	d := unlocked(t, sealedDisc(t))
	for _, c := range []struct {
		sel  Selection
		want map[int]int
	}{
		{Selection{}, map[int]int{1: 7, 2: 24}},
		{Selection{Patient: "#2"}, map[int]int{2: 24}},
		{Selection{Patient: "77654033"}, map[int]int{1: 7}},
		{Selection{Study: "#4"}, map[int]int{2: 4}},
		{Selection{Study: "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133"}, map[int]int{2: 4}},
		{Selection{Patient: "#2", Series: "#11"}, map[int]int{2: 7}},
		{Selection{Series: "1.3.6.1.4.1.5962.1.1.0.0.0.1196527414.5534.0.10"}, map[int]int{1: 1}},
	} {
		picks, rest, err := Select(d, c.sel)
		if err != nil {
			t.Errorf("%+v: %v", c.sel, err)
			continue
		}
		if got := count(picks); len(got) != len(c.want) || !equalCounts(got, c.want) {
			t.Errorf("%+v: picked %v, want %v", c.sel, got, c.want)
		}
		if len(rest) != 0 {
			t.Errorf("%+v: %d instances outside any patient on a disc that has none", c.sel, len(rest))
		}
	}
	for _, c := range []struct {
		sel  Selection
		want string
	}{
		{Selection{Patient: "#3"}, "no patient #3: this medium holds 2"},
		{Selection{Patient: "#0"}, `no patient with ID "#0"`},
		{Selection{Patient: "12345"}, `no patient with ID "12345"`},
		{Selection{Study: "#7"}, "no study #7"},
		{Selection{Series: "2.25.1"}, "no series 2.25.1"},
		{Selection{Patient: "#1", Study: "#4"}, "no instance in common"},
	} {
		_, _, err := Select(d, c.sel)
		if !errors.Is(err, ErrSelection) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want ErrSelection saying %q", c.sel, err, c.want)
		}
	}
	_, _, err := Select(d, Selection{Patient: "#9"})
	if !strings.Contains(err.Error(), "#1 Doe^Archibald [ID 77654033]") || !strings.Contains(err.Error(), "#2 Doe^Peter [ID 98890234]") {
		t.Errorf("the error does not list the patients to choose from: %v", err)
	}
}

func equalCounts(a, b map[int]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// A file the DICOMDIR does not list, of another person with the same
// Patient ID, is a patient of its own: the ID is ambiguous and refused,
// the number picks each.
func TestSelectSharedPatientID(t *testing.T) {
	dir := plainFileSet(t, dicomtest.Spec{PatientID: "P-1", PatientName: "Listed^Person", StudyUID: "2.25.61", SeriesUID: "2.25.62", SOPUID: "2.25.63"})
	if err := dicomtest.Write(filepath.Join(dir, "EXTRA", "X1"), dicomtest.Spec{PatientID: "P-1", PatientName: "Other^Person",
		StudyUID: "2.25.71", SeriesUID: "2.25.72", SOPUID: "2.25.73"}); err != nil {
		t.Fatal(err)
	}
	d := unlocked(t, dir)
	_, _, err := Select(d, Selection{Patient: "P-1"})
	if !errors.Is(err, ErrSelection) || !strings.Contains(err.Error(), `2 patients on this medium have ID "P-1"`) {
		t.Fatalf("shared ID: %v", err)
	}
	picks, _, err := Select(d, Selection{Patient: "#2"})
	if err != nil || len(picks) != 1 || picks[0].Patient.Name != "Other^Person" || !picks[0].Patient.Scanned || len(picks[0].Instances) != 1 {
		t.Fatalf("#2: %v %+v", err, picks)
	}
}

// plainFileSet writes a plain File-set of the instances specs describe,
// with its DICOMDIR.
func plainFileSet(t *testing.T, specs ...dicomtest.Spec) string {
	t.Helper()
	in, out := t.TempDir(), t.TempDir()
	for _, s := range specs {
		if err := dicomtest.Write(filepath.Join(in, s.SOPUID), s); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := dicomdir.Scan(context.Background(), []string{in}, dicomdir.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dicomdir.Build(sc.Instances, dicomdir.BuildOptions{FileSetID: "TEST"})
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range b.Placements {
		data, err := os.ReadFile(pl.Instance.Path)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(append([]string{out}, pl.FileID...)...)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := dicomdir.Marshal(b.Directory)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "DICOMDIR"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseMappings(t *testing.T) {
	maps, err := ParseMappings(strings.NewReader("# disc\tlocal\n\n#1\tL-1\tHOSP\tDOE^A\r\n98890234\tL-2\n"))
	if err != nil || len(maps) != 2 || maps[0].Disc != "#1" || maps[0].Change != (Change{PatientID: "L-1", Issuer: "HOSP", PatientName: "DOE^A"}) ||
		maps[1].Disc != "98890234" || maps[1].Change != (Change{PatientID: "L-2"}) || maps[1].Line != 4 {
		t.Fatalf("%v %+v", err, maps)
	}
	for in, want := range map[string]string{
		"":                    "maps no patient",
		"#1\n":                "line 1: want 2 to 4",
		"#1\t\n":              "line 1: no local Patient ID",
		"\tL\n":               "line 1: no disc patient",
		"#1\tL\n#1\tM\n":      "line 2: #1 is already mapped on line 1",
		"#1\tL\\X\n":          "printable ASCII",
		"#1\tL\tI\tN\tMORE\n": "want 2 to 4",
	} {
		if _, err := ParseMappings(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if _, err := ParseMappings(strings.NewReader(strings.Repeat("#1\tL\n", 300_000))); err == nil {
		t.Error("a 1.5 MB reconciliation file was read")
	}
}

func TestAssign(t *testing.T) {
	d := unlocked(t, sealedDisc(t))
	picks, _, err := Select(d, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	one := []Mapping{{Line: 1, Disc: "98890234", Change: Change{PatientID: "L-2"}}}
	changes, unmapped, err := Assign(picks, d.Patients(), one)
	if err != nil || len(changes) != 1 || changes[picks[1]].PatientID != "L-2" || len(unmapped) != 1 || unmapped[0].Number != 1 {
		t.Fatalf("%v %v %v", err, changes, unmapped)
	}
	both := append(one, Mapping{Line: 2, Disc: "#2", Change: Change{PatientID: "L-3"}})
	if _, _, err := Assign(picks, d.Patients(), both); !errors.Is(err, ErrSelection) || !strings.Contains(err.Error(), "lines 1 and 2 both name patient #2") {
		t.Errorf("two lines for one patient: %v", err)
	}
	typo := []Mapping{{Line: 4, Disc: "9889023", Change: Change{PatientID: "L-2"}}}
	if _, _, err := Assign(picks, d.Patients(), typo); !errors.Is(err, ErrSelection) || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("a line naming no patient: %v", err)
	}
}
