// Package audittest checks audit messages the way an audit repository's
// validator would: with jing, against the DICOM audit message schema of
// PS3.15 A.5.1 kept in testdata/audit.
package audittest

import (
	"bytes"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/testpki"
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

// TLSRepository is a TLS listener on 127.0.0.1 standing in for an audit
// repository: its connections are given to serve, one after another,
// after the handshake, until serve says no more; ca verifies it; stop
// closes it (also at cleanup).
func TLSRepository(t testing.TB, serve func(i int, c *tls.Conn) (more bool)) (addr, ca string, stop func()) {
	t.Helper()
	pki := testpki.NewCA(t, "repository CA")
	pair := pki.Issue(t, testpki.Leaf{Name: "repository"})
	cert, err := tls.LoadX509KeyPair(pair.Cert, pair.Key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			more := true
			if tc.Handshake() == nil {
				more = serve(i, tc)
			}
			c.Close()
			if !more {
				ln.Close() // gone: nothing listens any more
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { ln.Close(); <-done }) }
	t.Cleanup(stop)
	return ln.Addr().String(), pki.File, stop
}
