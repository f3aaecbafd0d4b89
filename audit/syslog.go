package audit

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// The syslog header IHE ITI TF-2 (ITI-20, Record Audit Event) asks of an
// audit message: facility 10, security/authorization (RFC 5424 §6.2.1);
// severity 5, notice, or 4, warning, which we use for a failed event;
// MSGID "IHE+RFC-3881".
const (
	facilityAuthPriv = 10
	severityNotice   = 5
	severityWarning  = 4
	msgID            = "IHE+RFC-3881"
)

// Syslog is m as an RFC 5424 SYSLOG-MSG from host and app:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID IHE+RFC-3881 - XML
//
// with no structured data and the XML as MSG, UTF-8 without a BOM (its XML
// declaration names the encoding).
func Syslog(m *Message, host, app string) ([]byte, error) {
	body, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	severity := severityNotice
	if m.Event.Outcome != Success {
		severity = severityWarning
	}
	head := fmt.Sprintf("<%d>1 %s %s %s %s %s - ", facilityAuthPriv*8+severity,
		time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		headerField(host, 255), headerField(app, 48), strconv.Itoa(os.Getpid()), msgID)
	return append([]byte(head), body...), nil
}

// headerField is s as an RFC 5424 header field: printable US-ASCII
// without spaces, at most n characters, "-" (NILVALUE) if empty.
func headerField(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if c := s[i]; c > ' ' && c < 0x7f {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}
