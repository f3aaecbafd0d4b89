package dimse

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
)

const ctImage = "1.2.840.10008.5.1.4.1.1.2"

var studyQuery = []*dicom.Element{
	dicom.StringElement(dicom.QueryRetrieveLevel, "CS", "STUDY"),
	dicom.StringElement(dicom.StudyInstanceUID, "UI", "1.2.3"),
}

// ctDataSet is a minimal CT data set in explicit VR little endian.
func ctDataSet(sop string) []byte {
	var b []byte
	for _, e := range []*dicom.Element{dicom.StringElement(dicom.SOPClassUID, "UI", ctImage),
		dicom.StringElement(dicom.SOPInstanceUID, "UI", sop), dicom.StringElement(dicom.StudyInstanceUID, "UI", "1.2.3")} {
		dicom.PadValue(e)
		b, _ = dicom.AppendElementSyntax(b, e, dicom.ExplicitVRLittleEndian)
	}
	return b
}

// retrieveResponse sends a C-MOVE or C-GET response with counts.
func retrieveResponse(a *Assoc, ctxID byte, field, to, code uint16, counts [4]int, ident []byte) error {
	return sendResponse(a, ctxID, &command{Field: field, MessageIDRespondedTo: to, Status: code, SubOps: counts}, ident)
}

// peerStore plays the peer's side of one C-STORE sub-operation and returns
// the status we answered.
func peerStore(a *Assoc, sop string) (uint16, error) {
	var ctxID byte
	for id, pc := range a.contexts {
		if pc.AbstractSyntax == ctImage && pc.TransferSyntaxes[0] == ExplicitVRLittleEndian {
			ctxID = id
		}
	}
	if ctxID == 0 {
		return 0, errors.New("no CT context in explicit VR little endian")
	}
	rq := &command{Field: cStoreRQ, MessageID: a.nextMessageID(), AffectedSOPClass: ctImage, AffectedSOPInstance: sop, HasDataSet: true}
	if err := a.sendCommand(ctxID, rq); err != nil {
		return 0, err
	}
	if err := a.sendFragments(ctxID, false, &byteReader{ctDataSet(sop)}); err != nil {
		return 0, err
	}
	rsp, _, err := a.readCommand(a.timeout)
	if err != nil {
		return 0, err
	}
	if rsp.Field != cStoreRSP || rsp.MessageIDRespondedTo != rq.MessageID {
		return 0, errors.New("not our C-STORE-RSP")
	}
	return rsp.Status, nil
}

// TestGetStoresEachInstance: the C-STORE sub-operations of a C-GET reach
// the handler (a FolderStore) on the same association, are answered with
// success, and land as files holding the data set byte for byte; the
// counts of the responses reach progress and the result.
func TestGetStoresEachInstance(t *testing.T) {
	sops := []string{"1.2.3.1", "1.2.3.2"}
	addr, seen := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		if p.rq.Field != cGetRQ || p.rq.AffectedSOPClass != StudyRootGet {
			return errors.New("not a Study Root C-GET-RQ")
		}
		for i, sop := range sops {
			if code, err := peerStore(a, sop); err != nil || code != 0 {
				return errors.Join(err, errors.New("sub-operation not stored"))
			}
			if err := retrieveResponse(a, ctxID, cGetRSP, p.rq.MessageID, 0xFF00, [4]int{1 - i, i + 1, 0, 0}, nil); err != nil {
				return err
			}
		}
		return retrieveResponse(a, ctxID, cGetRSP, p.rq.MessageID, 0, [4]int{-1, 2, 0, 0}, nil)
	})
	dir := t.TempDir()
	var progress []SubOperations
	res, err := Get(context.Background(), findConfig(addr), StudyRootGet, studyQuery, (&FolderStore{Dir: dir}).Handle,
		func(s SubOperations) { progress = append(progress, s) })
	if err != nil || res.Status.Code != 0 || res.Completed != 2 || res.Received != 2 || res.Failed != 0 {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if len(progress) != 2 || progress[1] != (SubOperations{0, 2, 0, 0}) {
		t.Fatalf("progress %+v", progress)
	}
	if p := <-seen; p.err != nil || !p.released {
		t.Fatalf("peer: %v (released %v)", p.err, p.released)
	}
	for _, sop := range sops {
		b, err := os.ReadFile(filepath.Join(dir, "1.2.3", sop+".dcm"))
		if err != nil || !bytes.HasSuffix(b, ctDataSet(sop)) {
			t.Fatalf("%s: %v, or not the data set sent", sop, err)
		}
	}
}

// TestGetProposesStorageRoles: the A-ASSOCIATE-RQ of Get proposes the SCP
// role for every storage class it offers, within 128 contexts.
func TestGetProposesStorageRoles(t *testing.T) {
	contexts, roles := getContexts(StudyRootGet)
	if len(contexts) != 123 || len(roles) != len(StorageSOPClasses) {
		t.Fatalf("%d contexts, %d roles", len(contexts), len(roles))
	}
	pdu, err := encodeAssociate(typeAssociateRQ, &associate{contexts: contexts, roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	rq, err := decodeAssociate(typeAssociateRQ, pdu[6:])
	if err != nil || len(rq.roles) != len(roles) || rq.roles[0] != (roleSelection{SOPClass: StorageSOPClasses[0].UID, SCP: true}) {
		t.Fatalf("decoded roles %+v, err %v", rq.roles, err)
	}
}

// TestMoveReportsCountsAndFailures: the C-MOVE-RQ names the destination;
// pending counts reach progress; a final warning with a Failed SOP
// Instance UID List is returned as the peer gave it.
func TestMoveReportsCountsAndFailures(t *testing.T) {
	addr, seen := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		if p.rq.Field != cMoveRQ || p.rq.MoveDestination != "OURSCP" {
			return errors.New("not a C-MOVE-RQ to OURSCP")
		}
		if err := retrieveResponse(a, ctxID, cMoveRSP, p.rq.MessageID, 0xFF00, [4]int{2, 0, 0, 0}, nil); err != nil {
			return err
		}
		if err := retrieveResponse(a, ctxID, cMoveRSP, p.rq.MessageID, 0xFF00, [4]int{1, 1, 0, 0}, nil); err != nil {
			return err
		}
		e := dicom.StringElement(failedSOPInstanceUIDList, "UI", "1.2.3.2")
		dicom.PadValue(e)
		ident, _ := dicom.AppendElementSyntax(nil, e, p.syntax)
		return retrieveResponse(a, ctxID, cMoveRSP, p.rq.MessageID, 0xB000, [4]int{-1, 1, 1, 0}, ident)
	})
	var progress []SubOperations
	res, err := Move(context.Background(), findConfig(addr), StudyRootMove, studyQuery, "OURSCP",
		func(s SubOperations) { progress = append(progress, s) })
	if err != nil || res.Status.Code != 0xB000 || res.Completed != 1 || res.Failed != 1 ||
		strings.Join(res.FailedInstances, ",") != "1.2.3.2" || res.Remaining != 1 {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if len(progress) != 2 || progress[0].Remaining != 2 {
		t.Fatalf("progress %+v", progress)
	}
	if p := <-seen; p.err != nil || !p.released {
		t.Fatalf("peer: %v (released %v)", p.err, p.released)
	}
	if _, err := Move(context.Background(), findConfig(addr), StudyRootMove, studyQuery, "BAD\\AE", nil); err == nil {
		t.Fatal("a move destination with a backslash accepted")
	}
}

// TestMoveCancelSendsCCancel: cancelling ctx sends C-CANCEL-RQ for the
// C-MOVE; the peer's final Cancel response ends it, and Move returns the
// context's error at once.
func TestMoveCancelSendsCCancel(t *testing.T) {
	got := make(chan *command, 1)
	addr, seen := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		if err := retrieveResponse(a, ctxID, cMoveRSP, p.rq.MessageID, 0xFF00, [4]int{5, 0, 0, 0}, nil); err != nil {
			return err
		}
		c, _, err := a.readCommand(a.timeout)
		if err != nil {
			return err
		}
		got <- c
		return retrieveResponse(a, ctxID, cMoveRSP, p.rq.MessageID, 0xFE00, [4]int{4, 1, 0, 0}, nil)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	res, err := Move(ctx, findConfig(addr), StudyRootMove, studyQuery, "OURSCP", func(SubOperations) { cancel() })
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	if res.Status.Code != 0xFE00 {
		t.Errorf("final status %v, want FE00 cancel", res.Status)
	}
	select {
	case c := <-got:
		if c.Field != cCancelRQ || c.MessageIDRespondedTo != 1 {
			t.Fatalf("peer got %#04x for message %d", c.Field, c.MessageIDRespondedTo)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the peer never got C-CANCEL-RQ")
	}
	<-seen
}

// TestMoveCancelSilentPeer: a peer that ignores C-CANCEL-RQ is aborted
// about cancelGrace later.
func TestMoveCancelSilentPeer(t *testing.T) {
	addr, _ := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		if err := retrieveResponse(a, ctxID, cMoveRSP, p.rq.MessageID, 0xFF00, [4]int{5, 0, 0, 0}, nil); err != nil {
			return err
		}
		_, _, err := a.readCommand(10 * time.Second) // the cancel, never answered
		time.Sleep(3 * time.Second)
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	_, err := Move(ctx, findConfig(addr), StudyRootMove, studyQuery, "OURSCP", func(SubOperations) { cancel() })
	if d := time.Since(start); !errors.Is(err, context.Canceled) || d > cancelGrace+time.Second {
		t.Fatalf("err %v after %v", err, d)
	}
}

// TestRetrieveStalledPeerCutOff: a peer repeating the same pending
// response is cut off after maxStalledResponses.
func TestRetrieveStalledPeerCutOff(t *testing.T) {
	addr, _ := startFindPeer(t, nil, func(a *Assoc, ctxID byte, p *findPeer) error {
		for range 2 * maxStalledResponses {
			if err := retrieveResponse(a, ctxID, cMoveRSP, p.rq.MessageID, 0xFF00, [4]int{3, 0, 0, 0}, nil); err != nil {
				return nil // we were cut off
			}
		}
		return nil
	})
	_, err := Move(context.Background(), findConfig(addr), StudyRootMove, studyQuery, "OURSCP", nil)
	if err == nil || !strings.Contains(err.Error(), "without progress") {
		t.Fatalf("err %v, want a cut-off", err)
	}
}
