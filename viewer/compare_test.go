package viewer

import (
	"strings"
	"testing"
)

// The comparison page shows one patient's series only, frames our own
// series pages and nothing else, and a series page may be framed only
// when asked to be a viewport, and then by our own pages alone.
func TestComparePage(t *testing.T) {
	c := start(t, sealedDisc(t, sampleStudy))
	c.login()
	c.unlock()
	a, b := "", ""
	for k, se := range c.s.tree.series {
		switch {
		case se.Patient.Index == 0 && a == "":
			a = k
		case se.Patient.Index == 1 && b == "":
			b = k
		}
	}
	code, body, _ := c.get("/compare?layout=1x2&s=" + a + "&s=" + b)
	if code != 400 || !strings.Contains(body, "Only the series of one patient can be compared") {
		t.Errorf("two patients side by side: %d\n%s", code, body)
	}
	code, body, h := c.get("/compare?layout=2x2&s=" + b)
	if code != 200 || strings.Count(body, `<iframe class="viewport" src="/series/`) != 4 ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-src 'self'") {
		t.Fatalf("2x2 of patient 2: %d %s\n%s", code, h.Get("Content-Security-Policy"), body)
	}
	// Every series offered is the patient's own.
	for k, se := range c.s.tree.series {
		if offered := strings.Contains(body, `<option value="`+k+`"`); offered != (se.Patient.Index == 1 && se.Count > 0) {
			t.Errorf("series %s of patient %d offered: %v", k, se.Patient.Index, offered)
		}
	}
	_, _, h = c.get("/series/" + b + "?embed=1")
	if h.Get("X-Frame-Options") != "SAMEORIGIN" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
		t.Errorf("viewport headers: %v", h)
	}
	_, _, h = c.get("/series/" + b)
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("series page headers: %v", h)
	}
}
