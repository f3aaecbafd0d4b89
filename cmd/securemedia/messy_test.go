package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
	"github.com/securemedia/securemedia/media/mediatest"
)

// The discs hospitals receive, made by other tools (dcmmkdir, xorriso):
// plain, lower-case and Joliet-only, without a DICOMDIR, with files it does
// not list, with a referenced file missing, with a plain file cut short,
// and half sealed; each as a folder and as an ISO image. open, ls, verify,
// extract and send must agree on what is there, ask for no password where
// nothing is sealed, and name every missing, extra or damaged file.

// runSM runs the securemedia binary with no terminal: a password prompt
// fails, so a command that asks where it must not is caught.
func runSM(t *testing.T, sm string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(sm, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// namesAll reports the first of paths the output does not name (ignoring
// case: a lower-case medium's DICOMDIR names its files in upper case).
func namesAll(out string, paths []string) string {
	for _, p := range paths {
		if !strings.Contains(strings.ToUpper(out), strings.ToUpper(p)) {
			return p
		}
	}
	return ""
}

func TestMessyDiscs(t *testing.T) {
	testtool.Require(t, "storescp")
	testtool.Require(t, "echoscu")
	pacstest.RequireNetns(t)
	sm := buildCLI(t)
	discs := mediatest.MessyDiscs(t)
	var sends strings.Builder
	for _, m := range discs {
		var env []string
		if m.Sealed {
			env = []string{"SM_PW=" + mediatest.Password}
		}
		for _, form := range []struct{ name, path string }{{"folder", m.Folder}, {"iso", m.ISO}} {
			label := m.Name + "/" + form.name
			keys := []string{}
			if m.Sealed {
				keys = []string{"--password-env", "SM_PW"}
			}
			bad := len(m.Missing)+len(m.Damaged) > 0
			present := len(m.Instances) + len(m.Damaged)
			for _, c := range []string{"open", "ls"} {
				code, out := runSM(t, sm, env, append([]string{c, form.path}, keys...)...)
				wantCode := 0
				if len(m.Missing) > 0 {
					wantCode = exitIntegrity
				}
				if code != wantCode || !strings.Contains(out, fmt.Sprintf("%d instances", present)) && c == "open" {
					t.Errorf("%s: %s: exit %d (want %d), want %d instances:\n%s", label, c, code, wantCode, present, out)
				}
				if p := namesAll(out, append(m.Missing, m.Other...)); p != "" {
					t.Errorf("%s: %s does not name %s:\n%s", label, c, p, out)
				}
				if len(m.Unlisted) > 0 && !strings.Contains(out, "found by scanning") {
					t.Errorf("%s: %s does not say some instances were found by scanning:\n%s", label, c, out)
				}
			}
			code, out := runSM(t, sm, env, append([]string{"verify", form.path}, keys...)...)
			if (code != 0) != bad || (bad && code != exitIntegrity) {
				t.Errorf("%s: verify exit %d:\n%s", label, code, out)
			}
			if p := namesAll(out, append(append(m.Missing, m.Damaged...), m.Other...)); p != "" {
				t.Errorf("%s: verify does not name %s:\n%s", label, p, out)
			}
			dst := filepath.Join(t.TempDir(), "out")
			code, out = runSM(t, sm, env, append([]string{"extract", form.path, "-o", dst}, keys...)...)
			switch {
			case bad && (code == 0 || namesAll(out, m.Missing[:min(1, len(m.Missing))]) != ""):
				t.Errorf("%s: extract of a damaged medium: exit %d:\n%s", label, code, out)
			case !bad && (code != 0 || !strings.Contains(out, fmt.Sprintf("%d instances extracted", len(m.Instances)))):
				t.Errorf("%s: extract: exit %d, want %d instances:\n%s", label, code, len(m.Instances), out)
			}
			if bad {
				code, out = runSM(t, sm, env, append([]string{"extract", "--salvage", form.path, "-o", dst}, keys...)...)
				report, _ := os.ReadFile(filepath.Join(dst, "SALVAGE.TXT"))
				if code != exitSalvaged || !strings.Contains(out, fmt.Sprintf("%d instances extracted", len(m.Instances))) {
					t.Errorf("%s: extract --salvage: exit %d, want 13 and %d instances:\n%s", label, code, len(m.Instances), out)
				}
				if p := namesAll(string(report), append(m.Missing, m.Damaged...)); p != "" {
					t.Errorf("%s: SALVAGE.TXT does not name %s:\n%s", label, p, report)
				}
			}
			recv := filepath.Join(t.TempDir(), "recv")
			os.MkdirAll(recv, 0o755)
			pw := ""
			if m.Sealed {
				pw = "SM_PW='" + mediatest.Password + "' "
			}
			fmt.Fprintf(&sends, "echo '=== %s'\nstart_scp -aet SCP -od %s\n%s\"$SM\" send %s --pacs SCP@127.0.0.1:11112 --no-resume --state %s/state %s </dev/null; echo \"exit=$?\"\nstop_scp\necho \"stored=$(ls %s | wc -l)\"\n",
				label, recv, pw, form.path, t.TempDir(), strings.Join(keys, " "), recv)
		}
	}
	log := inNetns(t, sm, storescpUp+sends.String())
	ph := phases(log)
	for _, m := range discs {
		for _, form := range []string{"folder", "iso"} {
			label := m.Name + "/" + form
			out := ph[label]
			wantExit := "0"
			if len(m.Missing)+len(m.Damaged) > 0 {
				wantExit = "11"
			}
			if exitOf(t, out) != wantExit || !strings.Contains(out, fmt.Sprintf("stored=%d\n", len(m.Instances))) {
				t.Errorf("%s: send: want exit %s and %d stored:\n%s", label, wantExit, len(m.Instances), out)
			}
			if p := namesAll(out, append(append(m.Missing, m.Damaged...), m.Other...)); p != "" {
				t.Errorf("%s: send does not name %s:\n%s", label, p, out)
			}
		}
	}
}
