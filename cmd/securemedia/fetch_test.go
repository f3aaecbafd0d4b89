package main

import (
	"path/filepath"
	"testing"
)

// TestFetchRefusesBadSelectors: fetch names what is wrong with its
// command line (exit 2) before it connects anywhere (the PACS address is
// unreachable on purpose) and creates nothing.
func TestFetchRefusesBadSelectors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	pacs := []string{"fetch", "--pacs", "PACS@127.0.0.1:1", "-o", out}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "name the studies to fetch: --accession, --patient-id or --study"},
		{[]string{"--accession", "A1", "--patient-id", "P1"}, "not several"},
		{[]string{"--patient-id", "DOE*"}, "without the wildcards"},
		{[]string{"--study", "1.2.abc"}, "--study: not a UID"},
		{[]string{"--study", "1.2", "--method", "copy"}, `--method "copy": want get or move`},
		{[]string{"--study", "1.2", "--method", "move"}, "--method move needs --port N"},
		{[]string{"--study", "1.2", "--port", "11112"}, "go with --method move"},
		{[]string{"--study", "1.2", "--method", "move", "--port", "11112", "--move-dest", "BAD\\AE"}, "AE title"},
		{[]string{"--study", "1.2", "--method", "move", "--port", "11112", "--tls", "--tls-ca", "ca.pem"}, "needs --tls-cert and --tls-key"},
	} {
		r := cli(t, "", append(pacs, c.args...)...)
		r.expect(t, exitUsage, c.want)
		mustNotExist(t, out)
	}
}
