package siteconf

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	c, err := Parse(strings.NewReader("# site\n\nMedia = dvd\nrecipient = a.pem # escrow\nrecipient=b.pem\nmedia = bd\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("media"); v != "bd" {
		t.Errorf("media = %q, want the last one, bd", v)
	}
	if got := strings.Join(c.All("recipient"), ","); got != "a.pem,b.pem" {
		t.Errorf("recipients = %q", got)
	}
	if _, ok := c.Get("audit"); ok {
		t.Error("audit reported as given")
	}
	if err := c.Unknown("media"); err == nil || !strings.Contains(err.Error(), `line 4: unknown setting "recipient"`) {
		t.Errorf("Unknown: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{"just words\n", "= value\n", strings.Repeat("x", maxLineBytes+1) + "\n", strings.Repeat("a=b\n", maxSettings+1)} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%.20q...) took it", in)
		}
	}
}
