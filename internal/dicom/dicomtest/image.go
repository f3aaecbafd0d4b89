package dicomtest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Image describes a small generated image for the tests of the pixel
// pipeline (package pixeldata) and of the viewer: Secondary Capture, with
// the Image Pixel module given here. Zero values take defaults (explicit VR
// little endian, 1 sample, Bits Stored = Bits, modality OT, series 1).
type Image struct {
	UID                               string // SOP Instance UID suffix
	Series                            string // Series Instance UID suffix
	TS                                string // transfer syntax
	Rows, Cols, SPP                   int
	Bits, Stored, PixRep              int
	Photometric                       string
	Slope, Intercept, WC, WW          string
	Frames                            string
	Pixels                            []byte   // native pixel data
	Fragment                          []byte   // encapsulated: one fragment
	Fragments                         [][]byte // encapsulated: several fragments
	BOT                               []uint32 // Basic Offset Table
	EOT                               []uint64 // Extended Offset Table
	Modality, Name, SeriesDescription string
	// Attrs are more elements of the data set (geometry, timing, ...),
	// each once, none of those above.
	Attrs []*dicom.Element
}

// ImageBytes encodes s as a Part 10 file.
func ImageBytes(t testing.TB, s Image) []byte {
	t.Helper()
	if s.TS == "" {
		s.TS = dicom.ExplicitVRLittleEndianUID
	}
	if s.SPP == 0 {
		s.SPP = 1
	}
	if s.Stored == 0 {
		s.Stored = s.Bits
	}
	if s.Modality == "" {
		s.Modality = "OT"
	}
	if s.Series == "" {
		s.Series = "1"
	}
	const sop = "1.2.840.10008.5.1.4.1.1.7" // Secondary Capture
	uid := "2.25.4242." + s.UID
	meta := []*dicom.Element{
		{Tag: dicom.FileMetaInformationVersion, VR: "OB", Value: []byte{0, 1}},
		dicom.StringElement(dicom.MediaStorageSOPClassUID, "UI", sop),
		dicom.StringElement(dicom.MediaStorageSOPInstanceUID, "UI", uid),
		dicom.StringElement(dicom.TransferSyntaxUID, "UI", s.TS),
		dicom.StringElement(dicom.ImplementationClassUID, "UI", "2.25.1"),
	}
	ds := []*dicom.Element{
		dicom.StringElement(dicom.SOPClassUID, "UI", sop),
		dicom.StringElement(dicom.SOPInstanceUID, "UI", uid),
		dicom.StringElement(dicom.StudyDate, "DA", "20240102"),
		dicom.StringElement(dicom.Modality, "CS", s.Modality),
		dicom.StringElement(dicom.PatientName, "PN", s.Name),
		dicom.StringElement(dicom.PatientID, "LO", "SYNTH1"),
		dicom.StringElement(dicom.StudyInstanceUID, "UI", "2.25.4242"),
		dicom.StringElement(dicom.SeriesInstanceUID, "UI", "2.25.4242.0."+s.Series),
		dicom.StringElement(dicom.SeriesNumber, "IS", s.Series),
		dicom.StringElement(dicom.InstanceNumber, "IS", s.UID),
		dicom.Uint16Element(dicom.SamplesPerPixel, uint16(s.SPP)),
		dicom.StringElement(dicom.PhotometricInterpretation, "CS", s.Photometric),
		dicom.Uint16Element(dicom.Rows, uint16(s.Rows)),
		dicom.Uint16Element(dicom.Columns, uint16(s.Cols)),
		dicom.Uint16Element(dicom.BitsAllocated, uint16(s.Bits)),
		dicom.Uint16Element(dicom.BitsStored, uint16(s.Stored)),
		dicom.Uint16Element(dicom.HighBit, uint16(s.Stored-1)),
		dicom.Uint16Element(dicom.PixelRepresentation, uint16(s.PixRep)),
	}
	opt := func(tag dicom.Tag, vr, v string) {
		if v != "" {
			ds = append(ds, dicom.StringElement(tag, vr, v))
		}
	}
	opt(dicom.SeriesDescription, "LO", s.SeriesDescription)
	opt(dicom.NumberOfFrames, "IS", s.Frames)
	opt(dicom.WindowCenter, "DS", s.WC)
	opt(dicom.WindowWidth, "DS", s.WW)
	opt(dicom.RescaleIntercept, "DS", s.Intercept)
	opt(dicom.RescaleSlope, "DS", s.Slope)
	ds = append(ds, s.Attrs...)
	if s.SPP == 3 {
		ds = append(ds, dicom.Uint16Element(dicom.PlanarConfiguration, 0))
	}
	if s.Fragment != nil {
		s.Fragments = [][]byte{s.Fragment}
	}
	if s.EOT != nil {
		var v []byte
		for _, o := range s.EOT {
			v = binary.LittleEndian.AppendUint64(v, o)
		}
		ds = append(ds, &dicom.Element{Tag: dicom.ExtendedOffsetTable, VR: "OV", Value: v})
	}
	if s.Fragments == nil {
		vr := "OW"
		if s.Bits == 8 {
			vr = "OB"
		}
		ds = append(ds, &dicom.Element{Tag: dicom.PixelData, VR: vr, Value: s.Pixels})
	}
	syntax, _ := dicom.SyntaxOf(s.TS)
	b, err := encode(meta, ds, syntax)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fragments != nil {
		le := binary.LittleEndian
		b = le.AppendUint16(b, dicom.PixelData.Group())
		b = le.AppendUint16(b, dicom.PixelData.Element())
		b = append(b, 'O', 'B', 0, 0)
		b = le.AppendUint32(b, dicom.UndefinedLength)
		item := func(v []byte) {
			b = le.AppendUint16(b, dicom.ItemTag.Group())
			b = le.AppendUint16(b, dicom.ItemTag.Element())
			b = le.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
		var bot []byte
		for _, o := range s.BOT {
			bot = le.AppendUint32(bot, o)
		}
		item(bot)
		for _, frag := range s.Fragments {
			if len(frag)%2 == 1 {
				frag = append(frag, 0)
			}
			item(frag)
		}
		b = le.AppendUint16(b, dicom.SequenceDelimitationTag.Group())
		b = le.AppendUint16(b, dicom.SequenceDelimitationTag.Element())
		b = le.AppendUint32(b, 0)
	}
	return b
}

// WriteImage writes s as dir/synth<UID>.dcm and returns the path.
func WriteImage(t testing.TB, dir string, s Image) string {
	t.Helper()
	p := filepath.Join(dir, "synth"+s.UID+".dcm")
	if err := os.WriteFile(p, ImageBytes(t, s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// U16 encodes 16-bit samples little endian.
func U16(vals ...int) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}
