package dicom

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// shortNames are the tags.go constants named more briefly than PS3.6 does,
// with the standard's keyword.
var shortNames = map[string]string{
	"FirstDirectoryRecordOffset":      "OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity",
	"LastDirectoryRecordOffset":       "OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity",
	"NextDirectoryRecordOffset":       "OffsetOfTheNextDirectoryRecord",
	"LowerLevelDirectoryEntityOffset": "OffsetOfReferencedLowerLevelDirectoryEntity",
	"ExposureInMAs":                   "Exposure",
}

// Every constant of tags.go has its own name as its keyword, so that the
// tag browser names every attribute the project itself reads.
func TestKeywordsCoverTags(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "tags.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || len(vs.Values) != 1 || vs.Type == nil || vs.Type.(*ast.Ident).Name != "Tag" {
				continue
			}
			v, err := strconv.ParseUint(lit.Value, 0, 32)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if k, _ := Lookup(Tag(v)); k != vs.Names[0].Name && k != shortNames[vs.Names[0].Name] {
				t.Errorf("Lookup(%v) = %q, want %q (tags.go)", Tag(v), k, vs.Names[0].Name)
			}
		}
	}
	if n < 100 {
		t.Fatalf("found only %d tag constants in tags.go", n)
	}
}

// The keywords and VRs agree with dcmtk's data dictionary, an independent
// transcription of PS3.6.
func TestKeywordsAgreeWithDcmtk(t *testing.T) {
	testtool.Require(t, "dcmdump")
	dics, _ := filepath.Glob("/usr/share/libdcmtk*/dicom.dic")
	if len(dics) == 0 {
		testtool.Missing(t, "dcmtk's dicom.dic not found under /usr/share/libdcmtk*")
	}
	f, err := os.Open(dics[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct{ keyword, vr string }
	dcmtk := map[Tag]entry{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 3 || len(fields[0]) != 11 || fields[0][0] != '(' {
			continue // comments, and ranges such as (50xx,0005)
		}
		v, err := strconv.ParseUint(fields[0][1:5]+fields[0][6:10], 16, 32)
		if err != nil {
			continue
		}
		dcmtk[Tag(v)] = entry{strings.TrimPrefix(fields[2], "RETIRED_"), fields[1]}
	}
	checked := 0
	for tag := range allKnown() {
		k, vr := Lookup(tag)
		want, ok := dcmtk[tag]
		if !ok {
			if tag.Group() != 0xFFFE && tag.Element() != 0 { // items and group lengths are not in dicom.dic
				t.Errorf("%v %s: not in dcmtk's dictionary", tag, k)
			}
			continue
		}
		checked++
		if k != want.keyword {
			t.Errorf("%v: keyword %q, dcmtk says %q", tag, k, want.keyword)
		}
		// dcmtk writes "xs" for US or SS (by Pixel Representation), "ox"
		// for OB or OW.
		if vr != "" && vr != want.vr && !(want.vr == "xs" && (vr == "US" || vr == "SS")) &&
			!(want.vr == "ox" && (vr == "OB" || vr == "OW")) && !(want.vr == "up" && vr == "UL") && !(want.vr == "px" && vr == "OW") {
			t.Errorf("%v %s: VR %s, dcmtk says %s", tag, k, vr, want.vr)
		}
	}
	if checked < 250 {
		t.Fatalf("only %d attributes checked against dcmtk", checked)
	}
}

func allKnown() map[Tag]bool {
	all := map[Tag]bool{}
	for t := range keywords {
		all[t] = true
	}
	for t := range moreAttributes {
		all[t] = true
	}
	return all
}
