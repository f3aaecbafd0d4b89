// Package dicomtest generates small, valid DICOM Part 10 files for tests
// and benchmarks: CT images with chosen identifiers and a tiny pixel
// matrix, written by this project's own encoder.
package dicomtest

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Spec describes one generated instance. Empty fields are omitted from the
// file, which lets tests produce instances with missing keys.
type Spec struct {
	PatientID, PatientName, Charset string
	StudyUID, SeriesUID, SOPUID     string
	StudyDate, StudyTime, StudyID   string
	Modality, SeriesNumber          string
	InstanceNumber                  string
	// Pixels is the side of the square 16-bit pixel matrix (default 2).
	Pixels int
}

// CTImageStorage is the SOP Class of generated instances.
const CTImageStorage = "1.2.840.10008.5.1.4.1.1.2"

// Bytes encodes s as a Part 10 file in explicit VR little endian.
func Bytes(s Spec) ([]byte, error) { return encodeSpec(s, true) }

// WriteSparse writes s into path as Write does, but leaves the pixel
// matrix (zeros) a hole in the file: an instance of hundreds of megabytes
// made in a millisecond, with no memory and little disk, for tests of long
// runs. s.Pixels up to 65535.
func WriteSparse(path string, s Spec) error {
	head, err := encodeSpec(s, false)
	if err != nil {
		return err
	}
	n := int64(s.Pixels)
	// Pixel Data, the highest tag, ends the file: its 4-byte length ends
	// the header (explicit VR OW).
	binary.LittleEndian.PutUint32(head[len(head)-4:], uint32(2*n*n))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(head)
	if err == nil {
		err = f.Truncate(int64(len(head)) + 2*n*n)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// encodeSpec encodes s, with its pixel matrix or with an empty Pixel Data.
func encodeSpec(s Spec, pixels bool) ([]byte, error) {
	n := s.Pixels
	if n == 0 {
		n = 2
	}
	var px []byte
	if pixels {
		px = make([]byte, 2*n*n)
	}
	meta := []*dicom.Element{
		{Tag: dicom.FileMetaInformationVersion, VR: "OB", Value: []byte{0, 1}},
		dicom.StringElement(dicom.MediaStorageSOPClassUID, "UI", CTImageStorage),
		dicom.StringElement(dicom.MediaStorageSOPInstanceUID, "UI", s.SOPUID),
		dicom.StringElement(dicom.TransferSyntaxUID, "UI", dicom.ExplicitVRLittleEndianUID),
		dicom.StringElement(dicom.ImplementationClassUID, "UI", "2.25.1"),
	}
	ds := []*dicom.Element{
		dicom.StringElement(dicom.ImageType, "CS", `ORIGINAL\PRIMARY\AXIAL`),
		dicom.StringElement(dicom.SOPClassUID, "UI", CTImageStorage),
		dicom.StringElement(dicom.SOPInstanceUID, "UI", s.SOPUID),
		dicom.Uint16Element(dicom.SamplesPerPixel, 1),
		dicom.StringElement(dicom.PhotometricInterpretation, "CS", "MONOCHROME2"),
		dicom.Uint16Element(dicom.Rows, uint16(n)),
		dicom.Uint16Element(dicom.Columns, uint16(n)),
		dicom.Uint16Element(dicom.BitsAllocated, 16),
		dicom.Uint16Element(dicom.BitsStored, 16),
		dicom.Uint16Element(dicom.HighBit, 15),
		dicom.Uint16Element(dicom.PixelRepresentation, 0),
		{Tag: dicom.PixelData, VR: "OW", Value: px},
	}
	opt := func(t dicom.Tag, vr, v string) {
		if v != "" {
			ds = append(ds, dicom.StringElement(t, vr, v))
		}
	}
	opt(dicom.SpecificCharacterSet, "CS", s.Charset)
	opt(dicom.StudyDate, "DA", s.StudyDate)
	opt(dicom.StudyTime, "TM", s.StudyTime)
	opt(dicom.Modality, "CS", s.Modality)
	opt(dicom.PatientName, "PN", s.PatientName)
	opt(dicom.PatientID, "LO", s.PatientID)
	opt(dicom.StudyInstanceUID, "UI", s.StudyUID)
	opt(dicom.SeriesInstanceUID, "UI", s.SeriesUID)
	opt(dicom.StudyID, "SH", s.StudyID)
	opt(dicom.SeriesNumber, "IS", s.SeriesNumber)
	opt(dicom.InstanceNumber, "IS", s.InstanceNumber)
	return encode(meta, ds, dicom.ExplicitVRLittleEndian)
}

// encode writes a Part 10 file: the File Meta Information, then the data
// set's elements, padded and in tag order, in syntax.
func encode(meta, ds []*dicom.Element, syntax dicom.Syntax) ([]byte, error) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Tag < ds[j].Tag })
	b, err := dicom.AppendFileMeta(nil, meta)
	if err != nil {
		return nil, err
	}
	for _, e := range ds {
		dicom.PadValue(e)
		if b, err = dicom.AppendElementSyntax(b, e, syntax); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Write encodes s into path, creating directories as needed.
func Write(path string, s Spec) error {
	b, err := Bytes(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Set writes patients × studies × series × instances files under dir, with
// deterministic UIDs under the 2.25 root, and returns their paths.
func Set(dir string, patients, studies, series, instances int) ([]string, error) {
	var paths []string
	for p := 1; p <= patients; p++ {
		for st := 1; st <= studies; st++ {
			for se := 1; se <= series; se++ {
				for i := 1; i <= instances; i++ {
					s := Spec{
						PatientID: fmt.Sprintf("PID%04d", p), PatientName: fmt.Sprintf("Test^Patient%d", p),
						StudyUID:  fmt.Sprintf("2.25.9%d.%d", p, st),
						SeriesUID: fmt.Sprintf("2.25.9%d.%d.%d", p, st, se),
						SOPUID:    fmt.Sprintf("2.25.9%d.%d.%d.%d", p, st, se, i),
						StudyDate: fmt.Sprintf("202401%02d", st%28+1), StudyTime: "120000", StudyID: fmt.Sprint(st),
						Modality: "CT", SeriesNumber: fmt.Sprint(se), InstanceNumber: fmt.Sprint(i),
					}
					path := filepath.Join(dir, fmt.Sprintf("p%d", p), fmt.Sprintf("st%d-se%d-%d.dcm", st, se, i))
					if err := Write(path, s); err != nil {
						return nil, err
					}
					paths = append(paths, path)
				}
			}
		}
	}
	return paths, nil
}
