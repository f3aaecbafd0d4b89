package media

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/internal/testtool"
)

// fakeViewers lays out stand-ins for the viewer programs as "make viewers"
// does, leaving out the systems in skip.
func fakeViewers(t *testing.T, skip ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, v := range ViewerPrograms {
		if strings.Contains(strings.Join(skip, " "), v.GOOS+"/"+v.GOARCH) {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(v.FolderPath()))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("program for "+v.GOOS+"/"+v.GOARCH+strings.Repeat(".", 3000)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func viewerPlan(t *testing.T, m Medium, viewers []ViewerFile) *Plan {
	t.Helper()
	p, err := NewPlan(context.Background(), []string{study}, Options{Medium: m, Recipients: []cms.Recipient{recipient(t)}, Viewers: viewers})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindViewers(t *testing.T) {
	found, missing := FindViewers(fakeViewers(t, "darwin/amd64"))
	if len(found) != 3 || len(missing) != 1 || missing[0].Path != "VIEWER/MAC_X64/VIEWER" {
		t.Fatalf("found %v, missing %v", found, missing)
	}
	if found, missing := FindViewers(t.TempDir()); len(found) != 0 || len(missing) != 4 {
		t.Fatalf("empty folder: found %v, missing %v", found, missing)
	}
}

// The viewers land on a USB folder executable, verify checks them against
// the manifest without decrypting them, and README.TXT names their paths.
func TestViewersOnFolder(t *testing.T) {
	found, _ := FindViewers(fakeViewers(t))
	p := viewerPlan(t, USB, found)
	dir := filepath.Join(t.TempDir(), "usb")
	writeChecked(t, p, dir, false)
	for _, v := range ViewerPrograms {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(v.Path)))
		if err != nil || st.Mode()&0o111 == 0 {
			t.Fatalf("%s: %v, mode %v", v.Path, err, st.Mode())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, autorunName)); err == nil {
		t.Error("AUTORUN.INF on a USB stick")
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "README.TXT"))
	for _, want := range []string{`VIEWER\WIN\VIEWER.EXE`, "VIEWER/MAC_ARM/VIEWER on a Mac with Apple silicon", "VIEWER/MAC_X64/VIEWER on a Mac with an Intel", "Open Anyway", "VIEWER/LINUX/VIEWER"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.TXT lacks %q:\n%s", want, readme)
		}
	}
	d := unlocked(t, dir, testPassword)
	problems, checked, err := d.Verify(context.Background(), nil)
	if err != nil || len(problems) != 0 || checked != len(p.Entries)-1 {
		t.Fatalf("verify: %v, %d checked of %d, %v", problems, checked, len(p.Entries)-1, err)
	}
	// An altered viewer program is caught like any other file.
	exe := filepath.Join(dir, "VIEWER", "LINUX", "VIEWER")
	os.WriteFile(exe, []byte("something else"), 0o755)
	if problems, _, _ := d.Verify(context.Background(), nil); len(problems) != 1 || problems[0].Path != "VIEWER/LINUX/VIEWER" {
		t.Fatalf("altered viewer: %v", problems)
	}
}

// On an ISO image the viewers are Level 1 names with Rock Ridge mode
// r-xr-xr-x, as isoinfo and our reader see them, with AUTORUN.INF for the
// Windows one; README.TXT names only the systems present.
func TestViewersOnISO(t *testing.T) {
	found, _ := FindViewers(fakeViewers(t, "darwin/arm64", "darwin/amd64"))
	p := viewerPlan(t, CD, found)
	// The capacity plan counts them.
	without := viewerPlan(t, CD, nil)
	if grow := p.Size() - without.Size(); grow < 2*3000 || grow > 2*3100+3000 { // + README.TXT, AUTORUN.INF, MANIFEST lines
		t.Errorf("two viewers of about 3 kB grow the plan by %d bytes", grow)
	}
	iso := filepath.Join(t.TempDir(), "disc.iso")
	writeChecked(t, p, iso, true)
	d, err := Open(iso)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{"VIEWER/WIN/VIEWER.EXE", "VIEWER/LINUX/VIEWER"} {
		st, err := fs.Stat(d.fsys, name)
		if err != nil || st.Mode().Perm() != 0o555 {
			t.Fatalf("%s on the image: %v, %v", name, err, st)
		}
	}
	if _, err := fs.Stat(d.fsys, "VIEWER/MAC_ARM"); err == nil {
		t.Error("a macOS folder without a macOS viewer")
	}
	autorun, err := fs.ReadFile(d.fsys, autorunName)
	if err != nil || !strings.Contains(string(autorun), `open=VIEWER\WIN\VIEWER.EXE`) {
		t.Fatalf("AUTORUN.INF: %v\n%s", err, autorun)
	}
	readme, _ := fs.ReadFile(d.fsys, "README.TXT")
	if !strings.Contains(string(readme), `VIEWER\WIN\VIEWER.EXE`) || strings.Contains(string(readme), "MAC_") || strings.Contains(string(readme), "No viewer program") {
		t.Errorf("README.TXT with Windows and Linux viewers:\n%s", readme)
	}

	testtool.Require(t, "isoinfo")
	listing := string(run(t, ".", "isoinfo", "-R", "-l", "-i", iso))
	for _, want := range []string{"Directory listing of /VIEWER/WIN/", "Directory listing of /VIEWER/LINUX/"} {
		if !strings.Contains(listing, want) {
			t.Fatalf("isoinfo -R -l lacks %q:\n%s", want, listing)
		}
	}
	programs := 0
	for _, line := range strings.Split(listing, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasSuffix(line, " VIEWER.EXE") || strings.HasSuffix(line, " VIEWER") && strings.HasPrefix(line, "-") {
			programs++
			if !strings.HasPrefix(line, "-r-xr-xr-x") {
				t.Errorf("not executable for everyone: %s", line)
			}
		}
	}
	if programs != 2 {
		t.Errorf("isoinfo -R -l lists %d viewer programs, want 2:\n%s", programs, listing)
	}
	plain := string(run(t, ".", "isoinfo", "-l", "-i", iso))
	for _, want := range []string{"VIEWER.EXE;1", "VIEWER.;1", "AUTORUN.INF;1"} {
		if !strings.Contains(plain, want) {
			t.Errorf("isoinfo -l (ISO 9660 names) lacks %s", want)
		}
	}
}

// Without viewers README.TXT says so and points to securemedia view.
func TestReadmeWithoutViewers(t *testing.T) {
	text := readmeText(viewerPlan(t, CD, nil))
	if !strings.Contains(text, "No viewer program is included") || !strings.Contains(text, "securemedia view D:") || strings.Contains(text, "VIEWER") {
		t.Fatalf("README.TXT without viewers:\n%s", text)
	}
}
