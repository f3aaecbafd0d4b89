package media

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/securemedia/securemedia/cms"
	"github.com/securemedia/securemedia/dicomdir"
)

// Unlocking a medium takes stock of every file on it, whatever tool made
// it: the DICOMDIR's records (when there is one) are matched with the
// files found, ignoring case and ISO 9660 version suffixes; DICOM files
// the DICOMDIR does not list are read and put in the tree as found by
// scanning (never merged into a listed patient); everything else is kept
// as an OtherFile. Nothing is dropped without a word.

// fold is the key a medium's path is matched by: upper case, without the
// ISO 9660 ";1" version or a trailing ".".
func fold(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = strings.ToUpper(trimVersion(s))
	}
	return strings.Join(parts, "/")
}

// takeStock matches the tree read from the DICOMDIR (if any) with the
// survey: it finds missing files, scans unlisted DICOM files into the tree
// and lists the rest. On a medium with a manifest, a file it does not list
// is a problem (ErrUnexpected), and never read as one of its instances.
func (d *Disc) takeStock(files []*surveyedFile) error {
	byKey := make(map[string]*surveyedFile, len(files))
	for _, f := range files {
		byKey[fold(f.path)] = f
	}
	claimed := map[string]bool{fold(d.dirName): true, manifestName: true}
	for _, in := range d.tree.instances {
		k := fold(in.Path())
		if f := byKey[k]; f != nil && f.err == nil {
			in.onMedium = f.path
		} else if f != nil {
			in.lost = f.err
		} else {
			in.lost = ErrMissing
		}
		if in.lost != nil {
			d.tree.missing = append(d.tree.missing, in)
		}
		claimed[k] = true
	}
	inManifest := map[string]bool{fold(d.dirName): true, manifestName: true}
	for _, e := range d.manifest {
		inManifest[fold(e.path)] = true
	}
	var scanned []*dicomdir.Instance
	for _, f := range files {
		k := fold(f.path)
		if d.manifest != nil && !inManifest[k] {
			d.problem(f.path, altered(ErrUnexpected, "%v", ErrUnexpected))
			continue
		}
		if claimed[k] || inManifest[k] {
			continue
		}
		if f.err != nil || f.kind == kindOther {
			d.tree.others = append(d.tree.others, OtherFile{Path: f.path, What: f.what, Err: f.err})
			continue
		}
		in, why := d.scanFile(f)
		if in == nil {
			d.tree.others = append(d.tree.others, OtherFile{Path: f.path, What: why})
			continue
		}
		scanned = append(scanned, in)
	}
	if len(scanned) > 0 {
		return d.addScanned(scanned)
	}
	return nil
}

// scanFile reads the header of a DICOM file the DICOMDIR does not list;
// nil and the reason when it is not an instance a tree can hold.
func (d *Disc) scanFile(f *surveyedFile) (*dicomdir.Instance, string) {
	r, _, err := d.openPath(f.path)
	if err != nil {
		return nil, "unreadable DICOM file: " + err.Error()
	}
	defer r.Close()
	_, in, reason, err := readHeader(r, f.path)
	switch {
	case err != nil:
		return nil, "unreadable DICOM file: " + err.Error()
	case in == nil && reason == "":
		return nil, "another DICOMDIR"
	case in == nil:
		return nil, "DICOM file that is not an instance: " + reason
	}
	return in, ""
}

// addScanned puts instances found by scanning into the tree, under
// patients, studies and series of their own.
func (d *Disc) addScanned(scanned []*dicomdir.Instance) error {
	b, err := dicomdir.Build(scanned, dicomdir.BuildOptions{AllowConflicts: true})
	if err != nil {
		return fmt.Errorf("files found by scanning: %w", err)
	}
	onMedium := map[string]string{}
	for _, pl := range b.Placements {
		onMedium[path.Join(pl.FileID...)] = pl.Instance.Path
	}
	t := buildTree(b.Directory)
	for _, in := range t.instances {
		in.onMedium = onMedium[in.Path()]
		in.FileID = strings.Split(in.onMedium, "/")
		in.Scanned = true
	}
	for _, p := range t.patients {
		p.Scanned = true
	}
	for _, c := range b.Conflicts {
		d.tree.warnings = append(d.tree.warnings, "files found by scanning: "+c.Error())
	}
	d.tree.patients = append(d.tree.patients, t.patients...)
	d.tree.roots = append(d.tree.roots, t.roots...)
	d.tree.instances = append(d.tree.instances, t.instances...)
	for r, in := range t.byRecord {
		d.tree.byRecord[r] = in
	}
	return nil
}

// checkKey makes sure the identities open the medium's sealed files when
// its DICOMDIR did not test them (a plain DICOMDIR over sealed files, or
// none): a wrong password is reported now, once, as for a sealed DICOMDIR,
// and a file that fails later is then a damaged one.
func (d *Disc) checkKey(files []*surveyedFile) error {
	for _, f := range files {
		if f.kind != kindSealed || f.err != nil {
			continue
		}
		if len(d.ids) == 0 {
			return fmt.Errorf("%s is sealed and no password or key was given: %w", f.path, ErrNoRecipient)
		}
		r, err := d.fsys.Open(f.path)
		if err != nil {
			return err
		}
		cr, err := cms.Decrypt(io.LimitReader(r, maxEnvelope+f.size), d.ids...)
		r.Close()
		if errors.Is(err, cms.ErrWrongPassword) || errors.Is(err, cms.ErrNoRecipient) || errors.Is(err, cms.ErrWorkLimit) {
			return fmt.Errorf("%s: %w", f.path, classify(err))
		}
		if err == nil {
			d.keyChecked = true
			if d.cipher == 0 {
				d.cipher = cr.Info().ContentCipher
			}
			return nil
		}
		// A damaged file proves nothing about the key: try the next one.
	}
	return nil
}

// Missing are the instances the DICOMDIR references whose file is not on
// the medium (or cannot be read), in the DICOMDIR's order.
func (d *Disc) Missing() []*Instance { return d.tree.missing }

// Others are the files of the medium that are not instances of its
// File-set and not the medium's own (DICOMDIR, manifest and the files it
// lists): reports, pictures, programs, unreadable files.
func (d *Disc) Others() []OtherFile { return d.tree.others }

// Listed reports whether the medium has a DICOMDIR that was read; without
// one, every instance was found by scanning.
func (d *Disc) Listed() bool { return d.listed }

// Scanned counts the instances found by scanning, not listed in the
// DICOMDIR.
func (d *Disc) Scanned() int {
	n := 0
	for _, in := range d.tree.instances {
		if in.Scanned {
			n++
		}
	}
	return n
}
