// Package audittest checks audit messages the way an audit repository's
// validator would: with jing, against the DICOM audit message schema of
// PS3.15 A.5.1 kept in testdata/audit.
package audittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

// schemaFile is testdata/audit/audit-message.rnc of the module, wherever
// the test runs.
func schemaFile() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "testdata", "audit", "audit-message.rnc")
}

// schema is the RELAX NG compact schema of PS3.15 A.5.1 as jing reads it:
// the standard's text (testdata/audit/audit-message.rnc, verbatim) puts
// "##" documentation comments after the values they describe, which the
// compact syntax allows only before; as plain "#" comments they mean the
// same and parse. Nothing else is changed.
func schema(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(schemaFile())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit-message.rnc")
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte("##"), []byte("#")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Validate checks the XML documents with jing against the schema; it
// returns jing's complaints ("" if all are valid).
func Validate(t testing.TB, docs map[string][]byte) string {
	t.Helper()
	jing := testtool.Require(t, "jing")
	dir := t.TempDir()
	args := []string{"-c", schema(t)}
	for name, doc := range docs {
		p := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(p, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(jing, args...).CombinedOutput()
	var complaints []string
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.HasPrefix(line, "[warning]") { // Debian's wrapper on optional jars
			complaints = append(complaints, line)
		}
	}
	if err != nil && len(complaints) == 0 {
		t.Fatalf("jing: %v", err)
	}
	return strings.Join(complaints, "\n")
}
