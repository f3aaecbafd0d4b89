package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
	"github.com/securemedia/securemedia/internal/dicom/dicomtest"
	"github.com/securemedia/securemedia/internal/pacstest"
	"github.com/securemedia/securemedia/internal/testtool"
)

// Fetching from Orthanc, a real PACS, in a private network namespace.
// The sample study is uploaded with our send (C-STORE); Orthanc keeps each
// file as received, so what fetch retrieves must be the originals' data
// sets byte for byte. The File Meta Information (group 0002) is left out
// of the comparison: it is our own, written by the FolderStore, and names
// the sending AE.

// fetchAccession is an accession number of testdata/sample-study held by
// one study (four MR instances); accession 2 is shared by studies of two
// patients there.
const fetchAccession = "134"

// orthancWithUs is Orthanc's configuration for fetch: our AE title as a
// modality (C-MOVE destination SECUREMEDIA on 127.0.0.1:11112), C-GET
// allowed.
const orthancWithUs = `, "DicomModalities": {"sm": ["SECUREMEDIA", "127.0.0.1", 11112],
  "else": ["ELSEWHERE", "127.0.0.1", 11112]}, "DicomAlwaysAllowGet": true`

// TestFetchFromOrthanc: fetch --accession by C-GET and by C-MOVE each
// retrieve the study's four instances, their data sets identical to the
// originals'; a selector without a match exits 14 with a clear message;
// one matching studies of two patients is refused (exit 10) and fetches
// nothing; an unreachable PACS exits 12. A C-MOVE whose destination the
// PACS has at another port (where storescp takes the study) is reported
// incomplete (exit 11): the PACS's success alone is not trusted.
func TestFetchFromOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	work := t.TempDir()
	src := "../../testdata/sample-study"
	pacs := "--pacs ORTHANC@127.0.0.1:4242"
	log := pacstest.InNetns(t, pacstest.OrthancScript+storescpUp+fmt.Sprintf(`start_orthanc %[1]s
"$SM" send %[2]s %[3]s --state %[1]s/state.tsv >/dev/null 2>&1; echo "send-exit=$?"
"$SM" fetch %[3]s --accession %[4]s -o %[1]s/get --json --audit file:%[1]s/audit.log >%[1]s/get.json; echo "get-exit=$?"
"$SM" fetch %[3]s --accession %[4]s -o %[1]s/move --method move --port 11112 >%[1]s/move.txt; echo "move-exit=$?"
"$SM" fetch %[3]s --accession NOSUCH -o %[1]s/none --json >%[1]s/none.json; echo "none-exit=$?"
"$SM" fetch %[3]s --accession 2 -o %[1]s/two; echo "two-exit=$?"
"$SM" fetch --pacs ORTHANC@127.0.0.1:4243 --study 1.2.3 -o %[1]s/unreachable; echo "unreachable-exit=$?"
mkdir %[1]s/storescp; start_scp -od %[1]s/storescp
"$SM" fetch %[3]s --accession %[4]s -o %[1]s/elsewhere --method move --move-dest ELSEWHERE --port 11113 --audit file:%[1]s/audit.log; echo "elsewhere-exit=$?"
stop_scp
stop_orthanc`, work, src, pacs, fetchAccession), "SM="+sm, "ORTHANC_EXTRA="+orthancWithUs)
	t.Log(log)
	for _, want := range []string{"send-exit=0", "get-exit=0", "move-exit=0", "none-exit=14", "two-exit=10", "unreachable-exit=12", "elsewhere-exit=11"} {
		if !strings.Contains(log, want) {
			t.Errorf("want %s:\n%s", want, log)
		}
	}
	originals := sampleDataSets(t, src, "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133")
	if len(originals) != 4 {
		t.Fatalf("%d originals of the study, want 4", len(originals))
	}
	for _, dir := range []string{"get", "move"} {
		sameDataSets(t, originals, filepath.Join(work, dir))
	}
	var out fetchJSON
	b, _ := os.ReadFile(filepath.Join(work, "get.json"))
	decodeStrict(t, "fetch", b)
	if err := json.Unmarshal(b, &out); err != nil || len(out.Studies) != 1 || out.Counts["stored"] != 4 ||
		out.Studies[0].Result != "retrieved" || out.Studies[0].AccessionNumber != fetchAccession {
		t.Errorf("fetch --json: %v\n%s", err, b)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "move.txt")); !strings.Contains(string(b), "retrieved") {
		t.Errorf("fetch --method move table:\n%s", b)
	}
	for _, want := range []string{"no study matches the --accession given", "more than one patient", "connection refused",
		"the PACS reports 4 instances stored, 0 arrived here (does the PACS's entry for AE title ELSEWHERE name this host and --port?)"} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log:\n%s", want, log)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "two")); !os.IsNotExist(err) {
		t.Errorf("a refused fetch made its output folder (%v)", err)
	}
	var none fetchJSON
	if b, _ := os.ReadFile(filepath.Join(work, "none.json")); json.Unmarshal(b, &none) != nil ||
		none.Error != "ORTHANC@127.0.0.1:4242: no study matches the --accession given" || len(none.Studies) != 0 {
		t.Errorf("fetch --json with no match:\n%s", b)
	}
	checkFetchAudit(t, readAudit(t, filepath.Join(work, "audit.log")))
}

// checkFetchAudit: the C-GET and the C-MOVE that went elsewhere each
// recorded DICOM Instances Transferred from ORTHANC to us for the study,
// the first a success naming the study's patient, the second a failure.
func checkFetchAudit(t *testing.T, recs []auditRecord) {
	t.Helper()
	if len(recs) != 2 {
		t.Fatalf("%d audit messages, want 2 (the fetch by C-GET, the C-MOVE elsewhere)", len(recs))
	}
	const study = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133"
	for i, want := range []string{"0", "8"} {
		r := recs[i]
		if r.Event.ID.Code != "110104" || r.Event.Outcome != want {
			t.Errorf("message %d: event %s outcome %s, want 110104 (Instances Transferred) outcome %s", i+1, r.Event.ID.Code, r.Event.Outcome, want)
		}
		if _, ok := r.objects("3")[study]; !ok {
			t.Errorf("message %d names studies %v, want %s", i+1, r.objects("3"), study)
		}
		roles := map[string]string{}
		for _, p := range r.Participants {
			roles[p.Role.Code] = p.UserID
		}
		if roles["110153"] != "ORTHANC" || roles["110152"] == "" {
			t.Errorf("message %d: participants by role %v, want ORTHANC as source (110153) and us as destination (110152)", i+1, roles)
		}
	}
	if len(recs[0].objects("1")) != 1 {
		t.Errorf("the fetch's message names patients %v, want the study's one", recs[0].objects("1"))
	}
}

// sameDataSets checks that dir holds the instances of originals (data
// set hashes by SOP Instance UID), each data set byte for byte, and no
// other.
func sameDataSets(t *testing.T, originals map[string]string, dir string) {
	t.Helper()
	got := sampleDataSets(t, dir, "")
	if len(got) != len(originals) {
		t.Errorf("%s: %d instances retrieved, want %d", dir, len(got), len(originals))
	}
	for sop, h := range originals {
		if got[sop] != h {
			t.Errorf("%s: instance %s: data set %q, want the original's %q", dir, sop, got[sop], h)
		}
	}
}

// withoutTrailingPadding drops a Data Set Trailing Padding element
// (FFFC,FFFC), explicit VR, that ends ds: it has no meaning, and a
// receiver may discard it (PS3.10 §7.2), as Orthanc's dcmtk does when it
// sends an instance.
func withoutTrailingPadding(ds []byte) []byte {
	i := bytes.LastIndex(ds, []byte{0xFC, 0xFF, 0xFC, 0xFF, 'O', 'B', 0, 0})
	if i >= 0 && i+12 <= len(ds) && uint64(i)+12+uint64(binary.LittleEndian.Uint32(ds[i+8:])) == uint64(len(ds)) {
		return ds[:i]
	}
	return ds
}

// sampleDataSets hashes the data sets of the DICOM files under root by
// SOP Instance UID, only those of study when it is not empty: every byte
// after the File Meta Information but a trailing padding element.
func sampleDataSets(t *testing.T, root, study string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		h, ds := readPart10(t, p)
		r := dicom.NewReader(bytes.NewReader(ds), 0, dicom.ExplicitVRLittleEndian)
		r.MaxValue = 1 << 16
		elems, err := r.ReadUntil(dicom.SeriesInstanceUID)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if study == "" || dicom.Find(elems, dicom.StudyInstanceUID).String() == study {
			out[h.MetaString(dicom.MediaStorageSOPInstanceUID)] = fmt.Sprintf("%x", sha256.Sum256(withoutTrailingPadding(ds)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInterruptFetch: SIGINT in the middle of a large instance, by C-GET
// and by C-MOVE, stops fetch within a second with exit 130, and leaves no
// file in DIR: the half-received instance is discarded.
func TestInterruptFetch(t *testing.T) {
	if testing.Short() {
		t.Skip("stores a 288 MB instance in Orthanc")
	}
	sm := requireOrthanc(t)
	work := t.TempDir()
	big := filepath.Join(work, "big")
	// 12000² 16-bit pixels: 288 MB, a hole in the file until sent.
	if err := dicomtest.WriteSparse(filepath.Join(big, "BIG"), dicomtest.Spec{PatientID: "INT2", PatientName: "Interrupt^Fetch",
		StudyUID: "2.25.17.1", SeriesUID: "2.25.17.1.1", SOPUID: "2.25.17.1.1.1", Modality: "CT", Pixels: 12000}); err != nil {
		t.Fatal(err)
	}
	log := pacstest.InNetns(t, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
"$SM" send %[1]s/big --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv >/dev/null 2>&1; echo "send-exit=$?"
for m in get move; do
  port=""; [ $m = move ] && port="--port 11112"
  "$SM" fetch --pacs ORTHANC@127.0.0.1:4242 --study 2.25.17.1 -o %[1]s/$m --method $m $port 2>%[1]s/$m.err & F=$!
  i=0; until [ "$(du -sk %[1]s/$m 2>/dev/null | cut -f1)" -gt 32768 ] 2>/dev/null; do
    i=$((i+1)); [ $i -gt 400 ] && { echo "$m: nothing arrived"; cat %[1]s/$m.err; break; }; sleep 0.05
  done
  t0=$(date +%%s%%N); kill -INT $F; wait $F; echo "$m-exit=$?"; t1=$(date +%%s%%N)
  echo "$m-stop-ms=$(( (t1 - t0) / 1000000 ))"
  printf '%%s-files=%%s\n' $m "$(find %[1]s/$m -type f | wc -l)"
  cat %[1]s/$m.err
done
stop_orthanc`, work), "SM="+sm, "ORTHANC_EXTRA="+orthancWithUs)
	t.Log(log)
	for _, m := range []string{"get", "move"} {
		for _, want := range []string{m + "-exit=130", m + "-files=0"} {
			if !strings.Contains(log, want) {
				t.Errorf("want %s:\n%s", want, log)
			}
		}
		var ms int
		if i := strings.Index(log, m+"-stop-ms="); i < 0 {
			t.Errorf("%s: no stop time", m)
		} else if fmt.Sscanf(log[i+len(m)+9:], "%d", &ms); ms > int(stopWithin/time.Millisecond) {
			t.Errorf("%s: stopped %d ms after SIGINT, want at most %v", m, ms, stopWithin)
		}
	}
	if !strings.Contains(log, "interrupted (SIGINT)") {
		t.Errorf("no \"interrupted (SIGINT)\" in:\n%s", log)
	}
}

// TestFetchTLSFromOrthanc: with DICOM TLS on both sides (Orthanc requiring
// our client certificate; for C-MOVE, Orthanc connecting to our storage
// SCP over TLS with its own), fetch --tls retrieves the study by C-GET and
// by C-MOVE, byte for byte; without our certificate nothing is fetched.
func TestFetchTLSFromOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	s := newTLSSetup(t)
	work := t.TempDir()
	src := "../../testdata/sample-study"
	extra := s.orthancTLS() + `, "DicomAlwaysAllowGet": true,
  "DicomModalities": {"sm": {"AET": "SECUREMEDIA", "Host": "127.0.0.1", "Port": 11112, "UseDicomTls": true}}`
	tlsArgs := `--tls --tls-ca "$CA" --tls-cert "$CLICERT" --tls-key "$CLIKEY"`
	log := pacstest.InNetns(t, pacstest.OrthancScript+fmt.Sprintf(`start_orthanc %[1]s
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv %[3]s >/dev/null; echo "send-exit=$?"
"$SM" fetch --pacs ORTHANC@127.0.0.1:4242 --accession %[4]s -o %[1]s/get %[3]s; echo "get-exit=$?"
"$SM" fetch --pacs ORTHANC@127.0.0.1:4242 --accession %[4]s -o %[1]s/move --method move --port 11112 %[3]s; echo "move-exit=$?"
"$SM" fetch --pacs ORTHANC@127.0.0.1:4242 --accession %[4]s -o %[1]s/nocert --tls --tls-ca "$CA"; echo "nocert-exit=$?"
stop_orthanc`, work, src, tlsArgs, fetchAccession), append(s.env(sm), "ORTHANC_EXTRA="+extra)...)
	for _, want := range []string{"send-exit=0", "get-exit=0", "move-exit=0", "nocert-exit=12"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	originals := sampleDataSets(t, src, "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133")
	for _, dir := range []string{"get", "move"} {
		sameDataSets(t, originals, filepath.Join(work, dir))
	}
}

// compressedSamples are corpus files in compressed transfer syntaxes, one
// study each but the last two (one study): RLE MR (which ends in Data Set
// Trailing Padding), JPEG 2000 lossless CT, JPEG lossless (process 14,
// SV1) and lossy JPEG baseline secondary captures.
var compressedSamples = []struct{ file, study string }{
	{"pydicom/test_files/MR_small_RLE.dcm", "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"},
	{"pydicom/test_files/J2K_pixelrep_mismatch.dcm", "1.2.392.200036.9123.100.11.15002200303521616157144527203339851"},
	{"pydicom/test_files/SC_rgb_jpeg_gdcm.dcm", "1.2.826.0.1.3680043.8.498.12406831542731051035295345080039845114"},
	{"pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm", "1.2.826.0.1.3680043.8.498.12406831542731051035295345080039845114"},
}

// TestFetchCompressedFromOrthanc: by C-GET, instances Orthanc holds in a
// lossless compressed transfer syntax arrive in it, byte for byte (one
// presentation context per class and syntax); the lossy JPEG, for which we
// offer no context, arrives decompressed by Orthanc, never recompressed.
func TestFetchCompressedFromOrthanc(t *testing.T) {
	sm := requireOrthanc(t)
	testtool.RequirePath(t, sharedCorpus, "the shared corpus")
	work := t.TempDir()
	src := filepath.Join(work, "src")
	os.Mkdir(src, 0o755)
	for i, c := range compressedSamples {
		b, err := os.ReadFile(filepath.Join(sharedCorpus, c.file))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, fmt.Sprintf("IM%d", i)), b, 0o644)
	}
	script := fmt.Sprintf(`start_orthanc %[1]s
"$SM" send %[2]s --pacs ORTHANC@127.0.0.1:4242 --state %[1]s/state.tsv >/dev/null 2>&1; echo "send-exit=$?"
`, work, src)
	for _, c := range compressedSamples[:3] {
		script += fmt.Sprintf(`"$SM" fetch --pacs ORTHANC@127.0.0.1:4242 --study %[2]s -o %[1]s/got; echo "fetch-exit=$?"
`, work, c.study)
	}
	log := pacstest.InNetns(t, pacstest.OrthancScript+script+"stop_orthanc", "SM="+sm, "ORTHANC_EXTRA="+orthancWithUs)
	t.Log(log)
	if strings.Count(log, "fetch-exit=0") != 3 || !strings.Contains(log, "send-exit=0") {
		t.Fatalf("send or fetch failed:\n%s", log)
	}
	originals := sampleDataSets(t, src, "")
	got := sampleDataSets(t, filepath.Join(work, "got"), "")
	for i, c := range compressedSamples {
		h, _ := readPart10(t, filepath.Join(src, fmt.Sprintf("IM%d", i)))
		sop := h.MetaString(dicom.MediaStorageSOPInstanceUID)
		switch {
		case got[sop] == "":
			t.Errorf("%s: not retrieved", c.file)
		case i < 3 && got[sop] != originals[sop]:
			g, _ := readPart10(t, filepath.Join(work, "got", c.study, sop+".dcm"))
			t.Errorf("%s (%s): the data set retrieved (%s) is not the original's", c.file, h.TransferSyntaxUID, g.TransferSyntaxUID)
		case i == 3:
			if g, _ := readPart10(t, filepath.Join(work, "got", c.study, sop+".dcm")); g.TransferSyntaxUID != "1.2.840.10008.1.2.1" {
				t.Errorf("%s (lossy JPEG): retrieved in %s, want explicit VR little endian", c.file, g.TransferSyntaxUID)
			}
		}
	}
}
