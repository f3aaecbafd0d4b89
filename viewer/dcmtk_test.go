package viewer

import (
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/securemedia/securemedia/internal/testtool"
)

const sharedCorpus = "../../shared/corpus"

// Our renderings equal dcmtk's dcm2pnm (same VOI window, same rounding) to
// within one grey level: the sample study (signed CT/MR, MONOCHROME1 CR with
// rescale), implicit VR, a 12-bit CT without a window (full range), and a
// 1760×2140 MONOCHROME1 CR.
func TestMatchesDcm2pnm(t *testing.T) {
	dcm2pnm := testtool.Require(t, "dcm2pnm")
	files := []string{sampleStudy + "/77654033/CT2/17136", sampleStudy + "/77654033/CR1/6154", sampleStudy + "/98892003/MR2/4981"}
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	files = append(files, sharedCorpus+"/pydicom/test_files/MR_small_implicit.dcm", sharedCorpus+"/pydicom/test_files/CT_small.dcm",
		sharedCorpus+"/suyashkumar-dicom/4.dcm", sharedCorpus+"/pydicom/test_files/SC_rgb_small_odd.dcm")
	dir := t.TempDir()
	for i, f := range files {
		f, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		in, br, err := readInfo(f)
		if err != nil || in.Unsupported != "" {
			t.Fatalf("%s: %v %s", f.Name(), err, in.Unsupported)
		}
		frame, err := readFrame(br, in, 0)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := render(in, frame, math.NaN(), math.NaN(), false)
		// dcm2pnm: the file's first window, else min-max.
		voi := []string{"+Wm"}
		if in.WindowWidth >= 1 {
			voi = []string{"+Wi", "1"}
		}
		ref := filepath.Join(dir, filepath.Base(f.Name())+".png")
		args := append([]string{"--write-png", "-il"}, voi...)
		if out, err := exec.Command(dcm2pnm, append(args, f.Name(), ref)...).CombinedOutput(); err != nil {
			t.Fatalf("dcm2pnm %s: %v\n%s", f.Name(), err, out)
		}
		rf, err := os.Open(ref)
		if err != nil {
			t.Fatal(err)
		}
		want, err := png.Decode(rf)
		rf.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: size %v, dcmtk %v", f.Name(), got.Bounds(), want.Bounds())
		}
		if d := maxDiff(got, want); d > 1 {
			t.Errorf("%d %s: differs from dcm2pnm by up to %d grey levels", i, f.Name(), d)
		}
	}
}

func maxDiff(a, b image.Image) int {
	m := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			a1, a2, a3, _ := a.At(x, y).RGBA()
			b1, b2, b3, _ := b.At(x, y).RGBA()
			for _, d := range []int{int(a1>>8) - int(b1>>8), int(a2>>8) - int(b2>>8), int(a3>>8) - int(b3>>8)} {
				m = max(m, d, -d)
			}
		}
	}
	return m
}
