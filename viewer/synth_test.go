package viewer

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
)

// synth describes a small generated image for pixel pipeline tests.
type synth struct {
	uid                       string // SOP Instance UID suffix
	series                    string // Series Instance UID suffix
	ts                        string // transfer syntax (default explicit VR LE)
	rows, cols, spp           int
	bits, stored, pixrep      int
	photometric               string
	slope, intercept, wc, ww  string
	frames                    string
	pixels                    []byte   // native pixel data
	fragment                  []byte   // encapsulated: one fragment
	fragments                 [][]byte // encapsulated: several fragments
	bot                       []uint32 // Basic Offset Table
	eot                       []uint64 // Extended Offset Table
	modality, name, seriesDsc string
}

func synthBytes(t testing.TB, s synth) []byte {
	t.Helper()
	if s.ts == "" {
		s.ts = dicom.ExplicitVRLittleEndianUID
	}
	if s.spp == 0 {
		s.spp = 1
	}
	if s.stored == 0 {
		s.stored = s.bits
	}
	if s.modality == "" {
		s.modality = "OT"
	}
	if s.series == "" {
		s.series = "1"
	}
	const sop = "1.2.840.10008.5.1.4.1.1.7" // Secondary Capture
	uid := "2.25.4242." + s.uid
	meta := []*dicom.Element{
		{Tag: dicom.FileMetaInformationVersion, VR: "OB", Value: []byte{0, 1}},
		dicom.StringElement(dicom.MediaStorageSOPClassUID, "UI", sop),
		dicom.StringElement(dicom.MediaStorageSOPInstanceUID, "UI", uid),
		dicom.StringElement(dicom.TransferSyntaxUID, "UI", s.ts),
		dicom.StringElement(dicom.ImplementationClassUID, "UI", "2.25.1"),
	}
	ds := []*dicom.Element{
		dicom.StringElement(dicom.SOPClassUID, "UI", sop),
		dicom.StringElement(dicom.SOPInstanceUID, "UI", uid),
		dicom.StringElement(dicom.StudyDate, "DA", "20240102"),
		dicom.StringElement(dicom.Modality, "CS", s.modality),
		dicom.StringElement(dicom.PatientName, "PN", s.name),
		dicom.StringElement(dicom.PatientID, "LO", "SYNTH1"),
		dicom.StringElement(dicom.StudyInstanceUID, "UI", "2.25.4242"),
		dicom.StringElement(dicom.SeriesInstanceUID, "UI", "2.25.4242.0."+s.series),
		dicom.StringElement(dicom.SeriesNumber, "IS", s.series),
		dicom.StringElement(dicom.InstanceNumber, "IS", s.uid),
		dicom.Uint16Element(dicom.SamplesPerPixel, uint16(s.spp)),
		dicom.StringElement(dicom.PhotometricInterpretation, "CS", s.photometric),
		dicom.Uint16Element(dicom.Rows, uint16(s.rows)),
		dicom.Uint16Element(dicom.Columns, uint16(s.cols)),
		dicom.Uint16Element(dicom.BitsAllocated, uint16(s.bits)),
		dicom.Uint16Element(dicom.BitsStored, uint16(s.stored)),
		dicom.Uint16Element(dicom.HighBit, uint16(s.stored-1)),
		dicom.Uint16Element(dicom.PixelRepresentation, uint16(s.pixrep)),
	}
	opt := func(tag dicom.Tag, vr, v string) {
		if v != "" {
			ds = append(ds, dicom.StringElement(tag, vr, v))
		}
	}
	opt(dicom.SeriesDescription, "LO", s.seriesDsc)
	opt(dicom.NumberOfFrames, "IS", s.frames)
	opt(dicom.WindowCenter, "DS", s.wc)
	opt(dicom.WindowWidth, "DS", s.ww)
	opt(dicom.RescaleIntercept, "DS", s.intercept)
	opt(dicom.RescaleSlope, "DS", s.slope)
	if s.spp == 3 {
		ds = append(ds, dicom.Uint16Element(dicom.PlanarConfiguration, 0))
	}
	if s.fragment != nil {
		s.fragments = [][]byte{s.fragment}
	}
	if s.eot != nil {
		var v []byte
		for _, o := range s.eot {
			v = binary.LittleEndian.AppendUint64(v, o)
		}
		ds = append(ds, &dicom.Element{Tag: dicom.ExtendedOffsetTable, VR: "OV", Value: v})
	}
	if s.fragments == nil {
		vr := "OW"
		if s.bits == 8 {
			vr = "OB"
		}
		ds = append(ds, &dicom.Element{Tag: dicom.PixelData, VR: vr, Value: s.pixels})
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Tag < ds[j].Tag })
	b, err := dicom.AppendFileMeta(nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	syntax, _ := dicom.SyntaxOf(s.ts)
	for _, e := range ds {
		dicom.PadValue(e)
		if b, err = dicom.AppendElementSyntax(b, e, syntax); err != nil {
			t.Fatal(err)
		}
	}
	if s.fragments != nil {
		le := binary.LittleEndian
		b = le.AppendUint16(b, 0x7FE0)
		b = le.AppendUint16(b, 0x0010)
		b = append(b, 'O', 'B', 0, 0)
		b = le.AppendUint32(b, dicom.UndefinedLength)
		item := func(v []byte) {
			b = le.AppendUint16(b, 0xFFFE)
			b = le.AppendUint16(b, 0xE000)
			b = le.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
		var bot []byte
		for _, o := range s.bot {
			bot = le.AppendUint32(bot, o)
		}
		item(bot)
		for _, frag := range s.fragments {
			if len(frag)%2 == 1 {
				frag = append(frag, 0)
			}
			item(frag)
		}
		b = le.AppendUint16(b, 0xFFFE)
		b = le.AppendUint16(b, 0xE0DD)
		b = le.AppendUint32(b, 0)
	}
	return b
}

func writeSynth(t *testing.T, dir string, s synth) string {
	t.Helper()
	p := filepath.Join(dir, "synth"+s.uid+".dcm")
	if err := os.WriteFile(p, synthBytes(t, s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func u16(vals ...int) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}
