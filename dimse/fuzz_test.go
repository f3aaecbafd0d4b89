package dimse

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/securemedia/securemedia/internal/dicom"
)

// FuzzPDU feeds arbitrary bytes to the PDU reader, to every decoder of
// a PDU body (SCP/SCU role selection items included), to the C-FIND
// identifier decoder and to the decoder of a final C-MOVE or C-GET
// response's Failed SOP Instance UID List: errors are fine, panics are
// not, and a declared length never
// causes an allocation beyond the bytes actually present (readPDU grows its
// buffer with the data received; see TestHugeDeclaredLength).
func FuzzPDU(f *testing.F) {
	rq, _ := encodeAssociate(typeAssociateRQ, &associate{CalledAE: "A", CallingAE: "B", MaxLength: 16384,
		ImplClassUID: ImplClassUID, ImplVersion: ImplVersion,
		contexts: []presentationContext{{ID: 1, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{ImplicitVRLittleEndian}}}})
	f.Add(rq)
	ac, _ := encodeAssociate(typeAssociateAC, &associate{contexts: []presentationContext{{ID: 1, TransferSyntaxes: []string{ImplicitVRLittleEndian}}}})
	f.Add(ac)
	acRoles, _ := encodeAssociate(typeAssociateAC, &associate{roles: []roleSelection{{SOPClass: "1.2.840.10008.5.1.4.1.1.2", SCP: true}}})
	f.Add(acRoles)
	failed := dicom.StringElement(failedSOPInstanceUIDList, "UI", "1.2.3\\1.2.4")
	failedB, _ := dicom.AppendElementSyntax(nil, failed, dicom.ExplicitVRLittleEndian)
	f.Add(failedB)
	moveRsp, _ := (&command{Field: cMoveRSP, MessageIDRespondedTo: 1, Status: 0xFF00, SubOps: [4]int{3, 1, 0, 0}}).encode()
	f.Add(append(pdataHeader(1, true, true, len(moveRsp)), moveRsp...))
	cmd, _ := (&command{Field: cEchoRQ, MessageID: 1, AffectedSOPClass: VerificationSOPClass}).encode()
	f.Add(append(pdataHeader(1, true, true, len(cmd)), cmd...))
	f.Add(encodeReject(Reject{1, 1, 7}))
	f.Add(encodeAbort(2, 0))
	f.Add([]byte{0x10, 0x00, 0x10, 0x00, 0x08, 0x00, 0x00, 0x00, 'D', 'O', 'E', '^', 'J', 'O', 'H', 'N'}) // (0010,0010) implicit VR
	f.Fuzz(func(t *testing.T, b []byte) {
		// The same bytes as a C-FIND response identifier, in both
		// encodings a find context may have.
		for _, ts := range findSyntaxes {
			syn, _ := dicom.SyntaxOf(ts)
			if elems, err := decodeIdentifier(b, syn); err == nil && len(elems) > maxIdentifierElements {
				t.Fatalf("%d elements decoded, limit %d", len(elems), maxIdentifierElements)
			}
			failedInstances(b, syn) // a final C-MOVE or C-GET response's identifier
		}
		typ, body, err := readPDU(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		switch typ {
		case typeAssociateRQ, typeAssociateAC:
			decodeAssociate(typ, body)
		case typeAssociateRJ:
			decodeReject(body)
		case typePData:
			pdvs, err := decodePData(body)
			if err == nil {
				for _, p := range pdvs {
					if p.command {
						decodeCommand(p.Data)
					}
				}
			}
		case typeAbort:
			decodeAbort(body)
		}
	})
}

// TestHugeDeclaredLength: a PDU header claiming 4 GB with 10 bytes behind
// it is refused or fails, without allocating gigabytes.
func TestHugeDeclaredLength(t *testing.T) {
	b := append(pduHeader(nil, typePData, 0xFFFFFFF0), make([]byte, 10)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, _, err := readPDU(bytes.NewReader(b), 0xFFFFFFFF); err == nil {
		t.Fatal("truncated PDU accepted")
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("%d bytes allocated for a 10-byte PDU body", d)
	}
	if _, _, err := readPDU(bytes.NewReader(b), DefaultMaxPDU); err == nil {
		t.Fatal("oversized PDU accepted")
	}
}
