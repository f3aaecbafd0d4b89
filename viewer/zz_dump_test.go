package viewer

import (
	"os"
	"testing"
)

func TestZZDump(t *testing.T) {
	for _, n := range []string{"JPGExtended.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_jpeg_no_color_transform.dcm", "SC_rgb_jpeg_lossy_gdcm.dcm", "SC_rgb_jpeg.dcm"} {
		_, b, err := readFile(t, pyd(n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile("/tmp/"+n+".jpg", b, 0o644)
	}
}
