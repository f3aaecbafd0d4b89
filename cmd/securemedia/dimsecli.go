package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/securemedia/securemedia/dimse"
)

// peer is a remote application entity given as AET@HOST:PORT.
type peer struct {
	AET, Addr string
}

func (p peer) String() string { return p.AET + "@" + p.Addr }

// parsePeer parses AET@HOST:PORT; an AE title is 1 to 16 characters of
// the default repertoire without backslash (PS3.5 Table 6.2-1, AE).
func parsePeer(s string) (peer, error) {
	i := strings.LastIndex(s, "@")
	if i <= 0 {
		return peer{}, fmt.Errorf("--pacs %q: want AET@HOST:PORT", s)
	}
	p := peer{AET: s[:i], Addr: s[i+1:]}
	if err := dimse.CheckAETitle(p.AET); err != nil {
		return peer{}, err
	}
	host, port, err := net.SplitHostPort(p.Addr)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return peer{}, fmt.Errorf("--pacs %q: want AET@HOST:PORT with a port from 1 to 65535", s)
	}
	return p, nil
}

// netFlags are the options every networking command shares.
type netFlags struct {
	pacs, callingAET string
	timeout          time.Duration
	tls              tlsFlags // a client's with --pacs, receive's without
}

func (n *netFlags) register(cmd *cobra.Command, needPACS bool) {
	f := cmd.Flags()
	if needPACS {
		f.StringVar(&n.pacs, "pacs", "", "the peer, as AET@HOST:PORT (required)")
		f.StringVar(&n.callingAET, "calling-aet", "SECUREMEDIA", "our AE title")
		_ = cmd.MarkFlagRequired("pacs")
	}
	f.DurationVar(&n.timeout, "timeout", dimse.DefaultTimeout, "longest silence allowed per network read or write (never for a whole study)")
	n.tls.register(cmd, !needPACS)
}

func (n *netFlags) config() (dimse.Config, peer, error) {
	p, err := parsePeer(n.pacs)
	if err == nil {
		err = dimse.CheckAETitle(n.callingAET)
	}
	if err != nil {
		return dimse.Config{}, p, withCode(exitUsage, err)
	}
	tc, err := n.tls.clientConfig()
	if err != nil {
		return dimse.Config{}, p, err
	}
	return dimse.Config{CallingAE: n.callingAET, CalledAE: p.AET, Address: p.Addr, Timeout: n.timeout,
		ARTIM: min(n.timeout, dimse.DefaultARTIM), TLS: tc}, p, nil
}
