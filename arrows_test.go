package securemedia_test

// The arrows between the module's packages point one way (see README.md,
// "Packages"): this test reads them off the source and fails on one that
// points back. It guards the shape, not the behaviour: a package that
// reaches up, or sideways into the codec, would make the next change harder
// in ways no other test sees.

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/securemedia/securemedia"

// ours maps each package of the module (relative to the module path) to
// the packages of the module it imports, tests left out.
func ours(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		name := rel(fields[0])
		pkgs[name] = nil
		for _, imp := range fields[1:] {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				pkgs[name] = append(pkgs[name], rel(imp))
			}
		}
	}
	return pkgs
}

func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

func under(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }

func TestPackageArrows(t *testing.T) {
	pkgs := ours(t)
	for _, want := range []string{"cms", "cms/keyfile", "dicomdir", "media", "dimse", "importer", "publish", "pixeldata", "viewer", "audit", "cmd/securemedia", "cmd/discviewer", "cmd/discpage"} {
		if _, ok := pkgs[want]; !ok {
			t.Errorf("package %s is missing", want)
		}
	}
	for pkg, imps := range pkgs {
		for _, imp := range imps {
			if why := forbidden(pkg, imp); why != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, why)
			}
		}
	}
}

// forbidden says why pkg may not import imp, or "".
func forbidden(pkg, imp string) string {
	switch {
	case under(pkg, "internal") && !under(imp, "internal"):
		return "internal/ holds leaves: codecs, OS and test helpers, importing nothing above them"
	case under(imp, "importer") && !under(pkg, "viewer") && !under(pkg, "cmd") && !under(pkg, "importer"):
		return "the import side is used by the programs and the viewer only"
	case under(pkg, "viewer") && (imp == "cms" || imp == "internal/dicom"):
		return "the viewer reaches media through media (and images through pixeldata), never the codecs"
	case under(pkg, "cmd") && imp == "internal/dicom":
		return "the programs reach DICOM files through media, importer and dimse"
	case pkg == "media" && (under(imp, "dimse") || under(imp, "importer") || under(imp, "viewer")):
		return "media knows nothing of networks or of the reader's pages"
	case under(pkg, "publish") && (under(imp, "importer") || under(imp, "viewer")):
		return "the publisher is the authoring side: dimse in, media out, nothing of the reader's"
	case under(imp, "publish") && !under(pkg, "cmd"):
		return "the publisher service is used by the programs only"
	case pkg == "dimse" && (under(imp, "media") || under(imp, "cms")):
		return "dimse knows nothing of discs or of encryption"
	case under(pkg, "cms") && !under(imp, "cms"):
		return "cms knows nothing of DICOM or media"
	case pkg == "dicomdir" && imp != "internal/dicom":
		return "dicomdir knows nothing of crypto, media or networks"
	case pkg == "pixeldata" && imp != "internal/dicom":
		return "pixeldata reads a stream: it knows nothing of media or encryption"
	case pkg == "audit" && !under(imp, "internal"):
		return "audit writes and sends messages: it knows nothing of discs, DICOM networks or the viewer"
	case under(imp, "audit") && !under(pkg, "cmd") && !under(pkg, "viewer"):
		return "audit records what the programs and the viewer did: only they use it"
	}
	return ""
}

// The programs use cms for the commands on single files (seal, unseal,
// inspect) and nowhere else: a medium is opened through media.
func TestCommandsUseCMSOnlyForSingleFiles(t *testing.T) {
	singleFile := []string{"seal.go", "unseal.go", "inspect.go", "cmserrors.go"}
	for _, dir := range []string{"cmd/securemedia", "cmd/discviewer", "cmd/discpage"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				if imp.Path.Value == `"`+module+`/cms"` && (dir != "cmd/securemedia" || !slices.Contains(singleFile, filepath.Base(f))) {
					t.Errorf("%s imports cms: only %s may (the single-file commands)", f, strings.Join(singleFile, ", "))
				}
			}
		}
	}
}

// The test itself must be able to fail: an arrow it forbids is reported.
func TestForbiddenArrowsAreCaught(t *testing.T) {
	for _, c := range [][2]string{
		{"internal/iso9660", "media"}, {"media", "dimse"}, {"dimse", "cms"}, {"viewer", "cms"},
		{"viewer", "internal/dicom"}, {"cmd/securemedia", "internal/dicom"}, {"cms", "internal/dicom"},
		{"dicomdir", "cms"}, {"media", "importer"}, {"dimse", "importer"},
		{"audit", "media"}, {"audit", "dimse"}, {"media", "audit"}, {"dimse", "audit"},
		{"publish", "viewer"}, {"publish", "importer"}, {"media", "publish"}, {"dimse", "publish"},
	} {
		if forbidden(c[0], c[1]) == "" {
			t.Errorf("%s → %s is not caught", c[0], c[1])
		}
	}
	for _, c := range [][2]string{
		{"viewer", "cms/keyfile"}, {"viewer", "importer"}, {"cmd/securemedia", "cms"}, {"importer", "media"},
		{"media", "cms"}, {"cms/keyfile", "cms"}, {"internal/pacstest", "internal/testtool"},
		{"cmd/securemedia", "audit"}, {"viewer", "audit"},
		{"publish", "media"}, {"publish", "dimse"}, {"cmd/securemedia", "publish"},
	} {
		if why := forbidden(c[0], c[1]); why != "" {
			t.Errorf("%s → %s refused: %s", c[0], c[1], why)
		}
	}
}
