package viewer

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Started away from any disc, the viewer asks which disc to open and says
// in plain words what is wrong with a bad answer.
func TestChooseDisc(t *testing.T) {
	disc := sealedDisc(t, sampleStudy)
	c := serve(t, nil)
	c.login()
	if code, body, _ := c.get("/"); code != 200 || !strings.Contains(body, "Which disc?") || !strings.Contains(body, `name="path"`) {
		t.Fatalf("home without a disc: %d\n%s", code, body)
	}
	// Pages that need a disc lead back to the question.
	if code, body, _ := c.get("/export"); code != 200 || !strings.Contains(body, "Which disc?") {
		t.Fatalf("export without a disc: %d\n%s", code, body)
	}
	if code, body := c.post("/unlock", url.Values{"password": {testPassword}}); code != 200 || !strings.Contains(body, "Which disc?") {
		t.Fatalf("unlock without a disc: %d\n%s", code, body)
	}

	empty := t.TempDir()
	notISO := filepath.Join(empty, "notes.txt")
	if err := os.WriteFile(notISO, []byte("not a disc image"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ path, want string }{
		{"  ", "Type where the disc is first"},
		{filepath.Join(empty, "missing"), "Nothing was found at"},
		{empty, "There is no DICOMDIR in"},
		{notISO, "is not a disc image the viewer can read"},
	} {
		code, body := c.post("/choose", url.Values{"path": {bad.path}})
		if code != 200 || !strings.Contains(body, bad.want) || !strings.Contains(body, "Which disc?") {
			t.Errorf("choose %q: %d, want %q\n%s", bad.path, code, bad.want, body)
		}
	}

	// A path pasted with the quotes of Windows' "Copy as path", pointing
	// at the DICOMDIR file itself: the disc it belongs to opens.
	code, body := c.post("/choose", url.Values{"path": {` "` + filepath.Join(disc, "DICOMDIR") + `" `}})
	if code != 200 || !strings.Contains(body, "Open the disc") || !strings.Contains(body, `type="password"`) {
		t.Fatalf("choose the sealed disc: %d\n%s", code, body)
	}
	c.unlock()
	if _, body, _ := c.get("/"); !strings.Contains(body, "Doe, Archibald") {
		t.Fatalf("studies of the chosen disc:\n%s", body)
	}
	// Once a disc is open, the question is not asked again.
	if code, body := c.post("/choose", url.Values{"path": {empty}}); code != 200 || !strings.Contains(body, "Studies on this disc") {
		t.Fatalf("choose after opening: %d\n%s", code, body)
	}
}
