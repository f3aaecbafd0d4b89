package viewer

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/pixeldata"
)

// dcmdumpLine is one top-level element as dcmdump prints it: tag, VR and,
// for text and integers, the value.
var dcmdumpLine = regexp.MustCompile(`^\(([0-9a-f]{4},[0-9a-f]{4})\) ([A-Z][A-Z]) (.*?)\s+#\s*\d+, \d+ `)

// The tag browser lists every top-level element of the file, in order, with
// the VR and the values dcmdump gives (text as stored, integers as numbers),
// for explicit and implicit VR little endian, big endian, private elements
// and sequences; meta information included.
func TestTagBrowserAgreesWithDcmtk(t *testing.T) {
	dcmdump := testtool.Require(t, "dcmdump")
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	for _, name := range []string{"CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "rtplan.dcm"} {
		t.Run(name, func(t *testing.T) {
			in := t.TempDir()
			copyFile(t, pyd(name), filepath.Join(in, name))
			c := start(t, sealedDisc(t, in))
			c.login()
			c.unlock()
			code, body, _ := c.get("/tags/0-0-0/0")
			if code != 200 {
				t.Fatalf("/tags: %d %s", code, body)
			}
			var v tagsView
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatal(err)
			}
			ours := map[string]*pixeldata.Node{}
			var order []string
			for _, n := range v.Elements {
				tag := strings.ToLower(strings.Trim(n.Tag, "()"))
				ours[tag] = n
				if !strings.HasPrefix(tag, "0002,") {
					order = append(order, tag)
				}
			}
			if ours["0002,0010"] == nil || ours["0002,0010"].Name != "Transfer Syntax UID" {
				t.Errorf("no Transfer Syntax UID in the meta information: %+v", ours["0002,0010"])
			}
			out, err := exec.Command(dcmdump, "-q", "+L", "-Un", pyd(name)).Output()
			if err != nil {
				t.Fatal(err)
			}
			var theirs []string
			compared := 0
			for _, l := range strings.Split(string(out), "\n") {
				m := dcmdumpLine.FindStringSubmatch(l)
				if m == nil || strings.HasPrefix(m[1], "0002,") {
					continue
				}
				theirs = append(theirs, m[1])
				n := ours[m[1]]
				if n == nil {
					continue
				}
				if n.VR != m[2] && !(m[2] == "OW" && n.VR == "OB") { // pixel data's VR is OW or OB by syntax
					t.Errorf("%s: VR %s, dcmdump says %s", m[1], n.VR, m[2])
				}
				if want, ok := dcmdumpValue(m[2], m[3]); ok && n.Items == nil && !strings.HasSuffix(n.Value, "…") {
					compared++
					if n.Value != want {
						t.Errorf("%s %s: %q, dcmdump says %q", m[1], n.Name, n.Value, want)
					}
				}
			}
			if strings.Join(order, " ") != strings.Join(theirs, " ") {
				t.Errorf("top-level elements:\nours    %v\ndcmdump %v", order, theirs)
			}
			if compared < 20 {
				t.Errorf("only %d values compared", compared)
			}
		})
	}
}

// dcmdumpValue is the value of a dcmdump line in our form, for the VRs whose
// printing is the same in both (text and integers).
func dcmdumpValue(vr, printed string) (string, bool) {
	if printed == "(no value available)" {
		return "", true
	}
	switch vr {
	case "US", "SS", "UL", "SL":
		return printed, !strings.Contains(printed, "...")
	case "AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UI":
		if strings.HasPrefix(printed, "[") && strings.HasSuffix(printed, "]") {
			return strings.TrimRight(printed[1:len(printed)-1], " "), true
		}
	}
	return "", false
}
