package main

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/securemedia/securemedia/internal/atomicfile"
	"github.com/securemedia/securemedia/media"
)

// A password slip is what the patient keeps apart from the disc: the
// generated password, and the disc's label, date and fingerprint, which
// README.TXT and "securemedia open" show too, so that a slip and its disc
// can be matched by eye. It names no patient unless asked to
// (--slip-patient-name): found alone, it opens nothing and says whose
// images it would open to nobody.
type slip struct {
	Password    string
	Label       string
	Fingerprint string
	Created     time.Time
	Medium      string   // "disc" or "USB stick"
	Patients    []string // only with --slip-patient-name
}

// mediumName is what a patient calls the medium.
func mediumName(m media.Medium) string {
	if m == media.USB {
		return "USB stick"
	}
	return "disc"
}

func newSlip(plan *media.Plan, password []byte, withPatients bool) slip {
	s := slip{Password: string(password), Label: plan.FileSetID, Fingerprint: plan.Fingerprint,
		Created: plan.Created.UTC(), Medium: mediumName(plan.Medium)}
	if withPatients {
		s.Patients = plan.PatientNames()
	}
	return s
}

// checkSlipFree refuses a --slip path that exists: a slip is never
// replaced, since the disc it was printed for would open with nothing
// else. Checked before anything is written; writeSlip checks again.
func checkSlipFree(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return errSlipExists(path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--slip %s: %w", path, err)
	}
	return nil
}

func errSlipExists(path string) error {
	return fmt.Errorf("--slip %s exists: a password slip is never replaced (the disc it belongs to opens with no other password); choose another file name; nothing was written", path)
}

// writeSlip writes the slip to path, as HTML for a printer when the name
// ends in .html or .htm, else as plain text. It appears complete or not at
// all, and never over an existing file (a hard link of a finished
// temporary file, which fails if the name was taken meanwhile).
func writeSlip(path string, s slip) error {
	var body string
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		var b strings.Builder
		if err := slipHTML.Execute(&b, s); err != nil {
			return err
		}
		body = b.String()
	default:
		body = s.text()
	}
	tmp, err := atomicfile.WriteTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*", []byte(body))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return errSlipExists(path)
	} else if err != nil {
		return err
	}
	return nil
}

// text is the slip as plain text (for a text editor's Print, or a label
// printer): short lines, the password alone on its line.
func (s slip) text() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("PASSWORD FOR YOUR ENCRYPTED MEDICAL IMAGES")
	w("")
	w("Keep this slip apart from the %s: together they open the images.", s.Medium)
	w("")
	w("    %s", s.Password)
	w("")
	w("Type it exactly as shown, with the dashes.")
	w("")
	for _, p := range s.Patients {
		w("Patient:      %s", p)
	}
	w("%-13s %s", s.LabelWord()+":", s.Label)
	w("Made:         %s", s.Created.Format("2006-01-02 15:04 UTC"))
	if s.Fingerprint != "" {
		w("Fingerprint:  %s", s.Fingerprint)
	}
	w("")
	w("The %s's README.TXT shows the same label and fingerprint: that is how", s.Medium)
	w("you know that this slip belongs to that %s.", s.Medium)
	return b.String()
}

// LabelWord names the label as the medium calls it.
func (s slip) LabelWord() string {
	if s.Medium == "disc" {
		return "Disc label"
	}
	return "Label"
}

// slipHTML is the slip for a printer: one card, the password large and in
// a monospaced face (no 0/O, 1/l doubt), nothing loaded from anywhere.
var slipHTML = template.Must(template.New("slip").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.Format("2006-01-02 15:04 UTC") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Password slip {{.Label}}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #111; }
  .card { max-width: 34rem; border: 2px dashed #555; border-radius: 8px; padding: 1.5rem 2rem; }
  h1 { font-size: 1.25rem; margin: 0 0 .5rem; }
  .keep { margin: 0 0 1.25rem; }
  .password { font-family: ui-monospace, "DejaVu Sans Mono", Consolas, monospace; font-size: 1.6rem;
    font-weight: 600; letter-spacing: .04em; padding: .6rem .8rem; background: #f2f2f2; border-radius: 4px;
    overflow-wrap: anywhere; }
  .hint { font-size: .95rem; margin: .5rem 0 1.25rem; }
  table { border-collapse: collapse; }
  th { text-align: left; font-weight: 600; padding: .15rem 1.25rem .15rem 0; }
  td { font-family: ui-monospace, "DejaVu Sans Mono", Consolas, monospace; }
  .match { font-size: .9rem; color: #333; margin-top: 1.25rem; }
  @media print { body { margin: 0; } .card { border-color: #000; } }
</style>
</head>
<body>
<div class="card">
<h1>Password for your encrypted medical images</h1>
<p class="keep">Keep this slip apart from the {{.Medium}}: together they open the images.</p>
<div class="password">{{.Password}}</div>
<p class="hint">Type it exactly as shown, with the dashes.</p>
<table>
{{range .Patients}}<tr><th>Patient</th><td>{{.}}</td></tr>
{{end}}<tr><th>{{.LabelWord}}</th><td>{{.Label}}</td></tr>
<tr><th>Made</th><td>{{date .Created}}</td></tr>
{{if .Fingerprint}}<tr><th>Fingerprint</th><td>{{.Fingerprint}}</td></tr>
{{end}}</table>
<p class="match">The {{.Medium}}'s README.TXT shows the same label and fingerprint: that is how you know that this slip belongs to that {{.Medium}}.</p>
</div>
</body>
</html>
`))
