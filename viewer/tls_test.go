package viewer

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/internal/testpki"
	"github.com/securemedia/securemedia/media"
)

// TestSendOverTLS: with Options.TLS, the viewer's Test connection and Send
// reach a PACS that requires mutual TLS, and store every image; the form
// says the connection is secured; without our certificate the test fails
// with a message about the secure connection.
func TestSendOverTLS(t *testing.T) {
	ca := testpki.NewCA(t, "Hospital CA")
	srvPair, cliPair := ca.Issue(t, testpki.Leaf{Name: "pacs"}), ca.Issue(t, testpki.Leaf{Name: "viewer"})
	load := func(p testpki.Pair) tls.Certificate {
		c, err := tls.LoadX509KeyPair(p.Cert, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	b, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	p := startPACSWith(t, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{load(srvPair)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}, "PACS")
	disc := sealedDisc(t, filepath.Join(sampleStudy, "77654033", "CR1"))

	for _, withCert := range []bool{true, false} {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		if withCert {
			cfg.Certificates = []tls.Certificate{load(cliPair)}
		}
		d, err := media.Open(disc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		c := serveWith(t, d, Options{TLS: cfg})
		c.login()
		c.unlock()
		if _, body, _ := c.get("/send?patient=0"); !strings.Contains(body, `id="tls"`) {
			t.Errorf("the send form does not say the connection is secured:\n%s", body)
		}
		ok, msg := c.echo(sendForm("PACS", p.port))
		if !withCert {
			if ok || !strings.Contains(msg, "The secure connection (TLS) to 127.0.0.1:") {
				t.Errorf("echo without our certificate: %v %q", ok, msg)
			}
			continue
		}
		if !ok || !strings.Contains(msg, "Connection works") {
			t.Fatalf("echo over TLS: %v %q", ok, msg)
		}
		s := c.sendAndWait(sendForm("PACS", p.port, "patient", "0"))
		if s.State != "done" || s.Total == 0 || s.Stored != s.Total || len(p.stored()) != s.Total {
			t.Errorf("send over TLS: %+v; the PACS has %d", s, len(p.stored()))
		}
	}
}
