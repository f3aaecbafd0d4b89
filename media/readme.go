package media

import (
	"fmt"
	"strings"

	"github.com/securemedia/securemedia/cms"
)

// readmeText is README.TXT: plain language, no patient data (PS3.12 and IHE
// PDI keep README.TXT outside the File-set; everything in it is readable
// by anyone who finds the medium).
func readmeText(p *Plan) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("ENCRYPTED MEDICAL IMAGES")
	w("")
	w("This %s holds medical images (DICOM format). Every file is encrypted, as", mediumWord(p.Medium))
	w("the DICOM standard describes (Secure DICOM Files, PS3.10 section 7.4, and")
	w("the Basic DICOM Media Security Profile, PS3.15 Annex D.1). Without the")
	w("password or key nothing on it can be read, not even the patient's name.")
	w("")
	w("TO OPEN IT")
	w("")
	w("  You need the password. It is given to you separately, never with the")
	w("  %s. A hospital may instead hold the private key of a certificate the", mediumWord(p.Medium))
	w("  %s was made for.", mediumWord(p.Medium))
	w("")
	viewerText(p, w)
	pageText(p, w)
	w("  With SecureMedia (free software for Windows, macOS and Linux), from a")
	w("  command prompt or terminal, where D: or /media/disc is this %s:", mediumWord(p.Medium))
	w("")
	w("    securemedia view D:              shows the images in your web browser")
	w("    securemedia open D:              shows the patients and studies")
	w("    securemedia verify D:            checks that every file is intact")
	w("    securemedia extract D: -o DIR    writes plain DICOM files to DIR,")
	w("                                     ready for a viewer or a PACS")
	w("")
	w("  Any other software that supports the DICOM Basic Media Security Profile")
	w("  can open it too.")
	w("")
	if p.opts.Contact != "" {
		w("QUESTIONS")
		w("")
		w("  %s", p.opts.Contact)
		w("")
	}
	w("ABOUT THIS %s", strings.ToUpper(mediumWord(p.Medium)))
	w("")
	w("  Created:     %s", p.opts.Now.UTC().Format("2006-01-02 15:04 UTC"))
	w("  Label:       %s", p.FileSetID)
	if p.Fingerprint != "" {
		w("  Fingerprint: %s (the password slip for this %s shows the same)", p.Fingerprint, mediumWord(p.Medium))
	}
	w("  Format:      DICOM File-set, application profile %s", p.Profile)
	w("  Opened by:   %s", p.readmeRecipients())
	w("  Made with:   SecureMedia %s", p.opts.Version)
	w("")
	w("  There is no master key: only %s this %s.", p.openers(), mediumWord(p.Medium))
	return b.String()
}

func mediumWord(m Medium) string {
	switch m {
	case CD:
		return "CD"
	case DVD, DVDDL:
		return "DVD"
	case BD:
		return "Blu-ray disc"
	}
	return "medium"
}

// The oldest systems the viewer programs start on: those of the Go release
// that builds them (viewerGoRelease, cmd/discviewer without cgo), as Go's
// release notes state them. Check them again when that release changes.
//   - Windows 10 or Windows Server 2016: Go 1.21 release notes, "Ports,
//     Windows" (https://go.dev/doc/go1.21#windows).
//   - macOS 12 Monterey: Go 1.25 release notes, "Ports, Darwin"
//     (https://go.dev/doc/go1.25#darwin); Go 1.26 is the last release that
//     runs on it, Go 1.27 requires macOS 13 Ventura
//     (https://go.dev/doc/go1.26#darwin).
//   - Linux kernel 3.2: Go 1.24 release notes, "Ports, Linux"
//     (https://go.dev/doc/go1.24#linux).
//
// The Go wiki's "Minimum Requirements" page (https://go.dev/wiki/MinimumRequirements)
// lists the same.
const (
	viewerGoRelease = "go1.26"
	needsWindows    = "64-bit Windows 10 or later (or Windows Server 2016 or later)"
	needsMac        = "macOS 12 Monterey or later"
	needsLinux      = "a 64-bit PC (x86-64) with Linux kernel 3.2 or later"
)

// viewerText tells how to start the viewer programs on the medium, for
// each system that has one, and what each needs, or that there is none.
func viewerText(p *Plan, w func(string, ...any)) {
	m := mediumWord(p.Medium)
	if len(p.opts.Viewers) == 0 {
		w("  No viewer program is included on this %s: use SecureMedia's", m)
		w("  \"securemedia view\" (below), or other DICOM software.")
		w("")
		return
	}
	w("  A viewer program is on this %s. It needs no installation and no", m)
	w("  administrator rights. It shows the images in your web browser, on this")
	w("  computer only, and asks for the password. A small window stays open")
	w("  while it runs: close it, or press \"Close viewer\" on the page, when done.")
	w("")
	if v := p.viewerOn("windows", "amd64"); v != nil {
		w("  Windows: open the %s in File Explorer and double-click", m)
		w("    %s", dosPath(v.Path))
		w("    It needs %s.", needsWindows)
		w("    If Windows says it protected your PC, click \"More info\", then")
		w("    \"Run anyway\".")
	}
	arm, intel := p.viewerOn("darwin", "arm64"), p.viewerOn("darwin", "amd64")
	if arm != nil || intel != nil {
		w("  Mac: open the %s in the Finder and double-click", m)
		if arm != nil {
			w("    %s on a Mac with Apple silicon (M1 or later)", arm.Path)
		}
		if intel != nil {
			w("    %s on a Mac with an Intel processor", intel.Path)
		}
		w("    (the Apple menu, \"About This Mac\", says which, and the macOS version).")
		w("    It needs %s.", needsMac)
		w("    If macOS says it cannot verify the developer, Control-click the")
		w("    program, choose \"Open\", then \"Open\" again; on recent macOS, open")
		w("    System Settings, \"Privacy & Security\", and click \"Open Anyway\".")
	}
	if v := p.viewerOn("linux", "amd64"); v != nil {
		w("  Linux: run %s from the %s, for example", v.Path, m)
		w("    /media/cdrom/%s", v.Path)
		w("    It needs %s.", needsLinux)
	}
	w("")
}

// pageText tells how to open the medium with INDEX.HTM, in a web browser
// alone, for computers that may not start programs from a disc.
func pageText(p *Plan, w func(string, ...any)) {
	if len(p.opts.Page) == 0 {
		return
	}
	m := mediumWord(p.Medium)
	if len(p.opts.Viewers) > 0 {
		w("  If this computer may not start programs from a %s, use a web", m)
		w("  browser alone: open the file INDEX.HTM on the %s in it", m)
	} else {
		w("  To see the images in a web browser alone, open the file INDEX.HTM")
		w("  on the %s in a browser", m)
	}
	w("  (double-click it, or drag it onto a browser window): a recent Chrome,")
	w("  Edge, Firefox or Safari. It installs nothing and sends nothing")
	w("  anywhere. Choose the %s on the page when it asks, then type the", m)
	w("  password.")
	w("")
}

// openers says who opens the medium, verb included, for the no-master-key
// sentence: "the password opens", "the certificate named above opens",
// "the password and the certificates named above open".
func (p *Plan) openers() string {
	passwords, certs := 0, 0
	for _, r := range p.opts.Recipients {
		if _, ok := r.(*cms.PasswordRecipient); ok {
			passwords++
		} else {
			certs++
		}
	}
	var who []string
	if passwords > 0 {
		who = append(who, "the password")
	}
	switch {
	case certs == 1:
		who = append(who, "the certificate named above")
	case certs > 1:
		who = append(who, "the certificates named above")
	}
	if len(who) == 1 && certs <= 1 {
		return who[0] + " opens"
	}
	return strings.Join(who, " and ") + " open"
}
