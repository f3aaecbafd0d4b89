package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
)

// DICOM TLS: the Secure Transport Connection Profiles of PS3.15 Annex B,
// here B.12/B.13 (BCP 195: RFC 8996, which retires TLS 1.0 and 1.1, and
// RFC 9325, the recommendations for TLS 1.2 and 1.3). Only TLS 1.2 and
// 1.3 are spoken; in TLS 1.2 only ephemeral (EC)DHE key exchange with an
// AEAD cipher (RFC 9325 §4.2), the suites below; TLS 1.3's suites are all
// AEAD, and crypto/tls does not let them be narrowed.
var bcp195Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

func bcp195() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: bcp195Suites}
}

// tlsFlags are the TLS options of the networking commands.
type tlsFlags struct {
	on                    bool
	cert, key, ca, server string // server: --tls-server-name (clients only)
	noClientCert          bool   // receive only
}

const tlsHelp = `DICOM TLS (--tls): the association runs over TLS 1.2 or 1.3 with the cipher
suites BCP 195 allows (PS3.15 Annex B, BCP 195 TLS profiles): nothing older
or weaker is offered or accepted. --tls-ca FILE is a PEM bundle of the CA
certificates we trust; --tls-cert and --tls-key (PEM) are our certificate
and its private key. The key is never logged or shown.`

const tlsClientHelp = tlsHelp + `

As a client the PACS's certificate must be signed by a CA in --tls-ca (the
system's CAs are not used: a hospital PKI is its own). When --pacs names the
PACS by host name, the certificate must be issued for that name, as a browser
checks. When --pacs gives an IP address, only the chain is checked (hospital
certificates rarely list addresses, which change with the network); to
check a name anyway, give it with --tls-server-name. --tls-cert and --tls-key
are needed by a PACS that asks for a client certificate (most do).`

func (t *tlsFlags) register(cmd *cobra.Command, server bool) {
	f := cmd.Flags()
	f.BoolVar(&t.on, "tls", false, "secure the association with TLS 1.2 or 1.3 (DICOM TLS, BCP 195)")
	f.StringVar(&t.cert, "tls-cert", "", "our certificate, PEM `FILE` (with --tls-key)")
	f.StringVar(&t.key, "tls-key", "", "the private key of --tls-cert, PEM `FILE`; never logged")
	if server {
		f.StringVar(&t.ca, "tls-ca", "", "PEM `FILE` of the CA certificates whose client certificates are accepted")
		f.BoolVar(&t.noClientCert, "tls-no-client-cert", false, "do not require a client certificate (one given is still checked against --tls-ca)")
		return
	}
	f.StringVar(&t.ca, "tls-ca", "", "PEM `FILE` of the CA certificates that may sign the PACS's certificate (required with --tls)")
	f.StringVar(&t.server, "tls-server-name", "", "check that the PACS's certificate is issued for `NAME` (default: the host of --pacs, unless it is an IP address)")
}

// check refuses flag combinations that make no sense (exit 2).
func (t *tlsFlags) check(server bool) error {
	var given []string
	for name, v := range map[string]bool{"--tls-cert": t.cert != "", "--tls-key": t.key != "", "--tls-ca": t.ca != "",
		"--tls-server-name": t.server != "", "--tls-no-client-cert": t.noClientCert} {
		if v {
			given = append(given, name)
		}
	}
	switch {
	case !t.on && len(given) > 0:
		slices.Sort(given)
		return fmt.Errorf("%s given without --tls", strings.Join(given, ", "))
	case !t.on:
		return nil
	case (t.cert == "") != (t.key == ""):
		return errors.New("--tls-cert and --tls-key go together: our certificate and its private key")
	case server && t.cert == "":
		return errors.New("receive --tls needs our certificate and key: --tls-cert FILE --tls-key FILE")
	case server && t.ca == "" && !t.noClientCert:
		return errors.New("receive --tls needs --tls-ca FILE, the CA certificates that sign the senders' certificates (or --tls-no-client-cert to accept senders without one)")
	case !server && t.ca == "":
		return errors.New("--tls needs --tls-ca FILE, the CA certificates that sign the PACS's certificate")
	}
	return nil
}

// clientConfig is the TLS configuration of a client (nil without --tls).
// It serves any host: the chain is checked against --tls-ca only, and
// the name is the one dimse sends as SNI, the host of the address unless
// --tls-server-name says otherwise, of which crypto/tls sends none for an
// IP address: then the chain alone is checked.
func (t *tlsFlags) clientConfig() (*tls.Config, error) {
	if err := t.check(false); err != nil || !t.on {
		return nil, withCode(exitUsage, err)
	}
	pool, err := loadCAs(t.ca)
	if err != nil {
		return nil, err
	}
	cfg := bcp195()
	cfg.RootCAs = pool
	if t.cert != "" {
		pair, err := loadPair(t.cert, t.key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	cfg.ServerName = t.server
	// crypto/tls's own check is replaced (not skipped) by the same
	// x509.Verify, only without a name when there is none to check.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server presented no certificate")
		}
		opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool(), DNSName: cs.ServerName,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
	return cfg, nil
}

// serverConfig is receive's TLS configuration (nil without --tls): a
// client certificate signed by --tls-ca is required unless
// --tls-no-client-cert, with which one given is still verified.
func (t *tlsFlags) serverConfig() (*tls.Config, error) {
	if err := t.check(true); err != nil || !t.on {
		return nil, withCode(exitUsage, err)
	}
	pair, err := loadPair(t.cert, t.key)
	if err != nil {
		return nil, err
	}
	cfg := bcp195()
	cfg.Certificates = []tls.Certificate{pair}
	if t.ca != "" {
		if cfg.ClientCAs, err = loadCAs(t.ca); err != nil {
			return nil, err
		}
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if !t.noClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// loadCAs reads a PEM bundle of certificates; anything else in it (a
// private key, say) is refused rather than ignored.
func loadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, withCode(exitFailure, fmt.Errorf("--tls-ca: %w", err))
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, withCode(exitFailure, fmt.Errorf("--tls-ca %s: holds a %s block; a CA bundle holds certificates only", path, blk.Type))
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, withCode(exitFailure, fmt.Errorf("--tls-ca %s: certificate %d: %w", path, n+1, err))
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, withCode(exitFailure, fmt.Errorf("--tls-ca %s: no PEM certificate in it", path))
	}
	return pool, nil
}

// loadPair reads our certificate and key. Errors name the files, never
// the key's content; an expired certificate is refused here, where the
// message can say it is ours, rather than by every peer.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			err = fmt.Errorf("--tls-key %s is not the private key of the certificate in --tls-cert %s", keyFile, certFile)
		} else {
			err = fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
		}
		return tls.Certificate{}, withCode(exitFailure, err)
	}
	now := time.Now()
	switch c := pair.Leaf; {
	case now.After(c.NotAfter):
		err = fmt.Errorf("our certificate --tls-cert %s expired on %s", certFile, c.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(c.NotBefore):
		err = fmt.Errorf("our certificate --tls-cert %s is not valid before %s", certFile, c.NotBefore.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return tls.Certificate{}, withCode(exitFailure, err)
	}
	return pair, nil
}

// explainTLS says in words why a TLS handshake failed, from the client's
// side (the peer is the PACS) or the server's (receive; the peer is the
// sender), keeping crypto/tls's own words in brackets. Other errors are
// returned as they are.
func explainTLS(err error, server bool) error {
	var te *dimse.TLSError
	if !errors.As(err, &te) {
		return err
	}
	peer, ours := "the PACS's certificate", "the PACS refused our certificate (--tls-cert)"
	if server {
		peer, ours = "the sender's certificate", "the sender refused our certificate (--tls-cert)"
	}
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var hn x509.HostnameError
	var rh tls.RecordHeaderError
	var oe *net.OpError
	msg := ""
	switch s := err.Error(); {
	case errors.As(err, &ua):
		msg = peer + " is not signed by a CA in --tls-ca"
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		msg = peer + " has expired or is not valid yet"
	case errors.As(err, &ci) && ci.Reason == x509.IncompatibleUsage:
		msg = peer + " is not issued for this use (its extended key usage)"
	case errors.As(err, &hn):
		msg = fmt.Sprintf("%s is not issued for %q: check the host in --pacs, or give --tls-server-name with a name the certificate holds", peer, hn.Host)
	case strings.Contains(s, "didn't provide a certificate"):
		msg = "the peer did not present a client certificate: receive --tls requires one signed by a CA in --tls-ca (or --tls-no-client-cert)"
	case errors.As(err, &oe) && oe.Op == "remote error" && strings.Contains(s, "certificate required"):
		msg = "the PACS requires a client certificate signed by a CA it trusts: give ours with --tls-cert and --tls-key (one that no CA the PACS names has signed is not offered)"
	case errors.As(err, &oe) && oe.Op == "remote error" && (strings.Contains(s, "certificate") || strings.Contains(s, "unknown ca")):
		msg = ours
	case errors.As(err, &oe) && oe.Op == "remote error" && (strings.Contains(s, "protocol version") || strings.Contains(s, "handshake failure")),
		strings.Contains(s, "unsupported versions"), strings.Contains(s, "no cipher suite"):
		msg = "no TLS version or cipher suite in common (we speak only TLS 1.2 and 1.3 with the cipher suites BCP 195 allows)"
	case errors.Is(err, dimse.ErrClosedAfterHandshake):
		msg = "the PACS closed the connection right after the TLS handshake: it probably refused our certificate (--tls-cert)"
		if server {
			msg = "the sender closed the connection right after the TLS handshake"
		}
	case errors.As(err, &rh):
		msg = "the peer does not speak TLS on this port"
	case errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(s, "within"):
		msg = "no TLS handshake in time"
	default:
		msg = "the TLS handshake failed"
		if !server {
			msg += " (does the PACS speak TLS on this port, and accept our certificate?)"
		}
	}
	return fmt.Errorf("%s (%w)", msg, err)
}
