package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/dimse"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testpki"
	"github.com/securemedia/securemedia/internal/testtool"
)

// DICOM TLS tests. Each run makes its own PKI: a hospital CA that signs
// the server's and the clients' certificates, and a rogue CA that signs a
// stranger's.
type tlsSetup struct {
	ca, rogue                *testpki.CA
	server, client, stranger testpki.Pair
}

func newTLSSetup(t *testing.T) *tlsSetup {
	t.Helper()
	s := &tlsSetup{ca: testpki.NewCA(t, "Hospital CA"), rogue: testpki.NewCA(t, "Rogue CA")}
	s.server = s.ca.Issue(t, testpki.Leaf{Name: "pacs"})
	s.client = s.ca.Issue(t, testpki.Leaf{Name: "workstation"})
	s.stranger = s.rogue.Issue(t, testpki.Leaf{Name: "stranger"})
	return s
}

// clientFlags are the TLS flags of a client presenting p.
func (s *tlsSetup) clientFlags(p testpki.Pair) []string {
	return []string{"--tls", "--tls-ca", s.ca.File, "--tls-cert", p.Cert, "--tls-key", p.Key}
}

// waitLog waits (at most 10 s) until log holds want: the server writes
// its line when its side of the connection ends, maybe after the client's.
func waitLog(t *testing.T, log *syncBuffer, want string) {
	t.Helper()
	for range 500 {
		if strings.Contains(log.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("receive's log lacks %q:\n%s", want, log.String())
}

// studiesIn counts what receive stored, by study folder.
func studiesIn(t *testing.T, dir string) map[string]int {
	t.Helper()
	n := map[string]int{}
	studies, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range studies {
		files, err := filepath.Glob(filepath.Join(dir, s.Name(), "*.dcm"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) > 0 {
			n[s.Name()] = len(files)
		}
	}
	return n
}

func sameCounts(t *testing.T, got, want map[string]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d studies stored, want %d (%v, want %v)", len(got), len(want), got, want)
	}
	for uid, k := range want {
		if got[uid] != k {
			t.Errorf("study %s: %d instances stored, want %d", uid, got[uid], k)
		}
	}
}

// TestTLSFlagErrors: combinations that make no sense are usage errors
// (exit 2) found before anything is opened; unusable certificate files
// exit 1 with a message naming the file, never showing the key.
func TestTLSFlagErrors(t *testing.T) {
	s := newTLSSetup(t)
	pacs := []string{"echo", "--pacs", "PACS@127.0.0.1:104"}
	recv := []string{"receive", "--aet", "SMRX", "--port", "11112", "-o", t.TempDir()}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{append(pacs, "--tls-ca", s.ca.File), exitUsage, "--tls-ca given without --tls"},
		{append(pacs, "--tls-cert", s.client.Cert, "--tls-key", s.client.Key), exitUsage, "--tls-cert, --tls-key given without --tls"},
		{append(pacs, "--tls"), exitUsage, "--tls needs --tls-ca FILE"},
		{[]string{"view", "disc.iso", "--no-browser", "--tls"}, exitUsage, "--tls needs --tls-ca FILE"},
		{[]string{"find-patient", "--pacs", "P@127.0.0.1:104", "--name", "X*", "--tls-server-name", "pacs"}, exitUsage, "--tls-server-name given without --tls"},
		{append(pacs, "--tls", "--tls-ca", s.ca.File, "--tls-cert", s.client.Cert), exitUsage, "--tls-cert and --tls-key go together"},
		{append(recv, "--tls-no-client-cert"), exitUsage, "--tls-no-client-cert given without --tls"},
		{append(recv, "--tls", "--tls-ca", s.ca.File), exitUsage, "receive --tls needs our certificate and key"},
		{append(recv, "--tls", "--tls-cert", s.server.Cert, "--tls-key", s.server.Key), exitUsage, "receive --tls needs --tls-ca FILE"},
		{append(pacs, "--tls", "--tls-ca", s.ca.File, "--tls-cert", s.client.Cert, "--tls-key", s.server.Key), exitFailure,
			"--tls-key " + s.server.Key + " is not the private key of the certificate in --tls-cert " + s.client.Cert},
		{append(pacs, "--tls", "--tls-ca", s.client.Key), exitFailure, "holds a PRIVATE KEY block; a CA bundle holds certificates only"},
		{append(pacs, "--tls", "--tls-ca", filepath.Join(t.TempDir(), "none.pem")), exitFailure, "no such file"},
	} {
		r := cli(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args[len(c.args)-4:], r.code, r.stderr, c.code, c.want)
		}
		if strings.Contains(r.stderr, "PRIVATE KEY-----") || strings.Contains(r.stderr, keyBody(t, s.server.Key)) || strings.Contains(r.stderr, keyBody(t, s.client.Key)) {
			t.Errorf("%v: stderr shows a key", c.args)
		}
	}
	expired := s.ca.Issue(t, testpki.Leaf{Name: "old", Expired: true})
	r := cli(t, "", append(recv, "--tls", "--tls-cert", expired.Cert, "--tls-key", expired.Key, "--tls-no-client-cert")...)
	r.expect(t, exitFailure, "our certificate --tls-cert "+expired.Cert+" expired on ")
}

// keyBody is a line from the middle of a PEM key file.
func keyBody(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")[3]
}

// TestTLSReceive: receive --tls (mutual authentication) stores a study
// from dcmtk's storescu +tls and answers our echo --tls; it refuses, and
// says why, a client without a certificate, one whose certificate another
// CA signed (storescu and our echo alike), and a plain association; our
// client says why when the server's certificate is not trusted or not for
// the name asked; TLS 1.1 and a static-RSA suite are refused (BCP 195).
func TestTLSReceive(t *testing.T) {
	for _, tool := range []string{"storescu"} {
		testtool.Require(t, tool)
	}
	s := newTLSSetup(t)
	dir := t.TempDir()
	port, log := startReceive(t, "SMRX", dir, "--tls", "--tls-cert", s.server.Cert, "--tls-key", s.server.Key, "--tls-ca", s.ca.File)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pacs := "SMRX@" + addr

	src := "../../testdata/sample-study/98892003"
	storescu := func(tlsArgs ...string) ([]byte, error) {
		args := append(append([]string{"-to", "10", "-aec", "SMRX"}, tlsArgs...), "+cf", s.ca.File, "+sd", "+r", "127.0.0.1", fmt.Sprint(port), src)
		return exec.Command("storescu", args...).CombinedOutput()
	}
	if out, err := storescu("+tls", s.client.Key, s.client.Cert); err != nil {
		t.Fatalf("storescu +tls: %v %s\nreceive: %s", err, out, log.String())
	}
	sameCounts(t, studiesIn(t, dir), pacstest.StudyCounts(t, src))
	stored := countFiles(t, dir)

	cli(t, "", append([]string{"echo", "--pacs", pacs}, s.clientFlags(s.client)...)...).expect(t, 0, "")
	// The certificate names localhost: a host name is checked.
	cli(t, "", append([]string{"echo", "--pacs", fmt.Sprintf("SMRX@localhost:%d", port)}, s.clientFlags(s.client)...)...).expect(t, 0, "")

	for _, c := range []struct {
		name       string
		args       []string
		ours, recv string // what our echo says, what receive logs
	}{
		{"no client certificate", []string{"--tls", "--tls-ca", s.ca.File},
			"the PACS requires a client certificate signed by a CA it trusts: give ours with --tls-cert and --tls-key",
			"the peer did not present a client certificate: receive --tls requires one signed by a CA in --tls-ca"},
		// crypto/tls offers no certificate that the CAs the server names
		// did not sign.
		{"stranger's certificate", s.clientFlags(s.stranger),
			"the PACS requires a client certificate signed by a CA it trusts", ""},
		{"untrusted server", []string{"--tls", "--tls-ca", s.rogue.File, "--tls-cert", s.client.Cert, "--tls-key", s.client.Key},
			"the PACS's certificate is not signed by a CA in --tls-ca (", "the sender refused our certificate (--tls-cert)"},
		{"another name", append(s.clientFlags(s.client), "--tls-server-name", "pacs.elsewhere.example"),
			`the PACS's certificate is not issued for "pacs.elsewhere.example"`, ""},
		{"plain DICOM", nil, "", "the peer does not speak TLS on this port"},
	} {
		r := cli(t, "", append([]string{"echo", "--pacs", pacs}, c.args...)...)
		if r.code != exitNetwork || !strings.Contains(r.stderr, c.ours) {
			t.Errorf("%s: exit %d, stderr %q; want exit 12 and %q", c.name, r.code, r.stderr, c.ours)
		}
		if c.recv != "" {
			waitLog(t, log, c.recv)
		}
	}
	for _, c := range []struct {
		args []string
		recv string
	}{
		{[]string{"+tls", s.stranger.Key, s.stranger.Cert}, "the sender's certificate is not signed by a CA in --tls-ca"},
		{[]string{"+tla"}, "the peer did not present a client certificate"},
	} {
		if out, err := storescu(c.args...); err == nil {
			t.Errorf("storescu %s: stored without a trusted certificate: %s", c.args[0], out)
		}
		waitLog(t, log, c.recv)
	}
	if n := countFiles(t, dir); n != stored {
		t.Errorf("%d files stored after the refusals, want %d", n, stored)
	}

	// BCP 195: nothing older than TLS 1.2, no static RSA key exchange.
	cert, err := tls.LoadX509KeyPair(s.client.Cert, s.client.Key)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.1":    {MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
		"static RSA": {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}},
	} {
		cfg.InsecureSkipVerify = true // the server is not what is tested here
		cfg.Certificates = []tls.Certificate{cert}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
		if c, err := d.DialContext(context.Background(), "tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s: receive --tls accepted the handshake", name)
		}
	}
	waitLog(t, log, "no TLS version or cipher suite in common")
	if strings.Contains(log.String(), "PRIVATE KEY") {
		t.Error("receive's log shows a key")
	}
}

// TestTLSExpiredServerCertificate: our client names an expired
// certificate as such.
func TestTLSExpiredServerCertificate(t *testing.T) {
	s := newTLSSetup(t)
	old := s.ca.Issue(t, testpki.Leaf{Name: "oldpacs", Expired: true})
	cert, err := tls.LoadX509KeyPair(old.Cert, old.Key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	srv := &dimse.Server{AETitle: "OLD", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go func() { srv.Serve(ctx, ln); close(done) }()
	defer func() { cancel(); <-done }()
	r := cli(t, "", append([]string{"echo", "--pacs", "OLD@" + ln.Addr().String()}, s.clientFlags(s.client)...)...)
	r.expect(t, exitNetwork, "the PACS's certificate has expired or is not valid yet (")
}

// tlsSCP starts storescp +tls in a namespace script (mutual TLS with the
// test's CA) and waits (bounded) until echoscu +tls is answered.
const tlsSCP = `start_tls_scp() { storescp +tls "$SRVKEY" "$SRVCERT" +cf "$CA" "$@" 11112 >>"${SCPLOG:-/dev/null}" 2>&1 & SCP=$!; i=0; while ! echoscu -to 1 +tls "$CLIKEY" "$CLICERT" +cf "$CA" -aec SCP 127.0.0.1 11112 2>/dev/null; do i=$((i+1)); [ $i -gt 50 ] && exit 9; sleep 0.1; done; }
stop_scp() { kill $SCP; wait $SCP 2>/dev/null; true; }
`

func (s *tlsSetup) env(sm string) []string {
	return []string{"SM=" + sm, "CA=" + s.ca.File, "SRVKEY=" + s.server.Key, "SRVCERT=" + s.server.Cert,
		"CLIKEY=" + s.client.Key, "CLICERT=" + s.client.Cert, "STRKEY=" + s.stranger.Key, "STRCERT=" + s.stranger.Cert}
}

// TestTLSToStorescp: our echo --tls and send --tls to dcmtk's storescp
// +tls (which requires our certificate): every data set arrives byte for
// byte; a stranger's certificate is refused (exit 12).
func TestTLSToStorescp(t *testing.T) {
	for _, tool := range []string{"storescp", "echoscu"} {
		testtool.Require(t, tool)
	}
	pacstest.RequireNetns(t)
	sm := buildCLI(t)
	s := newTLSSetup(t)
	out, work := t.TempDir(), t.TempDir()
	src := "../../testdata/sample-study"
	tlsArgs := `--tls --tls-ca "$CA" --tls-cert "$CLICERT" --tls-key "$CLIKEY"`
	log := pacstest.InNetns(t, tlsSCP+fmt.Sprintf(`start_tls_scp -aet SCP +B -od %[1]s
"$SM" echo --pacs SCP@127.0.0.1:11112 %[3]s; echo "echo-exit=$?"
"$SM" send %[2]s --pacs SCP@127.0.0.1:11112 --state %[4]s/state.tsv %[3]s >%[4]s/table.txt; echo "send-exit=$?"
"$SM" echo --pacs SCP@127.0.0.1:11112 --tls --tls-ca "$CA" --tls-cert "$STRCERT" --tls-key "$STRKEY"; echo "stranger-exit=$?"
stop_scp`, out, src, tlsArgs, work), s.env(sm)...)
	for _, want := range []string{"C-ECHO success", "echo-exit=0", "send-exit=0", "stranger-exit=12", "refused our certificate (--tls-cert)"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	got := map[string]bool{}
	files, _ := os.ReadDir(out)
	for _, f := range files {
		got[dataSetHash(t, filepath.Join(out, f.Name()))] = true
	}
	want := 0
	for _, n := range pacstest.StudyCounts(t, src) {
		want += n
	}
	if len(got) != want {
		t.Errorf("storescp holds %d distinct data sets, want %d", len(got), want)
	}
	table, err := os.ReadFile(filepath.Join(work, "table.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows(string(table))
	delete(rows, "README.md") // skipped: not DICOM
	if len(rows) != want {
		t.Errorf("send's table has %d instances, want %d:\n%s", len(rows), want, table)
	}
	for file, r := range rows {
		if r[0] != "sent" {
			t.Errorf("%s: %s %s", file, r[0], r[1])
		} else if !got[dataSetHash(t, filepath.Join(src, file))] {
			t.Errorf("%s: no byte-identical data set at storescp", file)
		}
	}
}

// orthancTLS is the part of an Orthanc configuration that turns DICOM TLS
// on with the setup's server certificate, requiring a client certificate
// signed by its CA.
func (s *tlsSetup) orthancTLS() string {
	return fmt.Sprintf(`, "DicomTlsEnabled": true, "DicomTlsCertificate": %q, "DicomTlsPrivateKey": %q,
  "DicomTlsTrustedCertificates": %q, "DicomTlsRemoteCertificateRequired": true`, s.server.Cert, s.server.Key, s.ca.File)
}

// TestSendTLSToOrthanc: Orthanc with DICOM TLS enabled, requiring a
// client certificate signed by the test's CA, answers echo --tls and
// stores every study send --tls sends; without our certificate nothing
// gets through (exit 12).
func TestSendTLSToOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	s := newTLSSetup(t)
	work := t.TempDir()
	src := "../../testdata/sample-study"
	extra := s.orthancTLS()
	tlsArgs := `--tls --tls-ca "$CA" --tls-cert "$CLICERT" --tls-key "$CLIKEY"`
	log := pacstest.InNetns(t, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
"$SM" echo --pacs ORTHANC@127.0.0.1:4242 --tls --tls-ca "$CA"; echo "nocert-exit=$?"
"$SM" echo --pacs ORTHANC@127.0.0.1:4242; echo "plain-exit=$?"
"$SM" echo --pacs ORTHANC@127.0.0.1:4242 %[3]s; echo "echo-exit=$?"
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv %[3]s >%[1]s/table.txt; echo "exit=$?"
list_studies
stop_orthanc`, work, src, tlsArgs), append(s.env(sm), "ORTHANC_EXTRA="+extra)...)
	for _, want := range []string{"nocert-exit=12", "plain-exit=12", "echo-exit=0", "exit=0"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	pacstest.CheckStudies(t, log, src)
}
