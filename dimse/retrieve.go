package dimse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/securemedia/securemedia/internal/dicom"
)

// Query/Retrieve Information Models for C-MOVE and C-GET (PS3.4 Annex
// C.6, Table C.6-1).
const (
	PatientRootMove = "1.2.840.10008.5.1.4.1.2.1.2"
	PatientRootGet  = "1.2.840.10008.5.1.4.1.2.1.3"
	StudyRootMove   = "1.2.840.10008.5.1.4.1.2.2.2"
	StudyRootGet    = "1.2.840.10008.5.1.4.1.2.2.3"
)

// Bounds on a retrieval. A real one exchanges two messages per instance
// and at most one pending response per sub-operation; a peer that sends
// pending responses that do not move, or more messages than any study
// has instances, is not retrieving.
const (
	maxRetrieveMessages = 1 << 22
	maxStalledResponses = 1000
	// cancelGrace is how long the peer has to send its final response
	// after our C-CANCEL-RQ (Ctrl-C must end a command within a second);
	// then the association is aborted.
	cancelGrace = 500 * time.Millisecond
)

// failedSOPInstanceUIDList is (0008,0058), in the identifier of a final
// C-MOVE or C-GET response that had failed sub-operations (PS3.4
// C.4.2.1.4.2, C.4.3.1.3.2).
const failedSOPInstanceUIDList dicom.Tag = 0x00080058

// SubOperations are the counts of the C-STORE sub-operations of a C-MOVE
// or C-GET, as the peer reports them in its responses (PS3.4 C.4.2.1.6,
// C.4.3.1.5; PS3.7 §9.1.3, §9.1.4). A count the response left out is -1:
// Remaining is often absent from a final response.
type SubOperations struct {
	Remaining, Completed, Failed, Warning int
}

// RetrieveResult is the outcome of Move or Get.
type RetrieveResult struct {
	// Status is the peer's final response: success (every sub-operation
	// completed), B000 warning (some failed or had warnings), FE00
	// cancelled, or a failure such as A801 move destination unknown.
	Status Status
	// SubOperations are the final response's counts (or, where it left
	// one out, the last pending response's).
	SubOperations
	// FailedInstances are the SOP Instance UIDs the peer listed as not
	// retrieved (Failed SOP Instance UID List).
	FailedInstances []string
	// Received counts the C-STORE sub-operations Get received (and
	// passed to its handler); 0 for Move.
	Received int
}

// Move asks the peer, by a C-MOVE-RQ for model (StudyRootMove or
// PatientRootMove) with identifier (PS3.4 C.4.2, PS3.7 §9.1.4), to store
// the matching instances to the AE title dest, which the peer must know
// (its host and port are in the peer's own configuration). progress, if
// set, is told each pending response's counts. The final status is
// returned as the peer gave it, not as an error. Cancelling ctx sends
// C-CANCEL-RQ and waits about a second for the final response; the error
// is then ctx's.
func Move(ctx context.Context, cfg Config, model string, identifier []*dicom.Element, dest string,
	progress func(SubOperations)) (RetrieveResult, error) {
	if err := CheckAETitle(dest); err != nil {
		return RetrieveResult{}, fmt.Errorf("dimse: move destination: %w", err)
	}
	rq := &command{Field: cMoveRQ, AffectedSOPClass: model, HasDataSet: true, MoveDestination: dest}
	contexts := []presentationContext{{AbstractSyntax: model, TransferSyntaxes: findSyntaxes}}
	return retrieve(ctx, cfg, rq, identifier, contexts, nil, nil, progress)
}

// Get retrieves the instances matching identifier over the association
// itself: a C-GET-RQ for model (StudyRootGet or PatientRootGet, PS3.4
// C.4.3, PS3.7 §9.1.3), the peer then sending each instance as a C-STORE
// sub-operation, which is passed to store as our own Server would (with
// FolderStore.Handle, say) and answered with the status it returns. Get
// proposes the storage SOP classes of StorageSOPClasses, each with the
// SCP role (PS3.7 §D.3.3.4), so it needs no port of its own and the peer
// no configuration for us beyond allowing C-GET. Each class is offered in
// explicit and implicit VR little endian and, for the common images, in
// each lossless compressed syntax, so that an instance stored in one of
// them arrives as it is; the peer may convert others (a lossy JPEG, say)
// to one we offer, or count them as failed. progress, ctx and the status are as for
// Move.
func Get(ctx context.Context, cfg Config, model string, identifier []*dicom.Element, store StoreHandler,
	progress func(SubOperations)) (RetrieveResult, error) {
	if store == nil {
		return RetrieveResult{}, errors.New("dimse: Get without a store handler")
	}
	rq := &command{Field: cGetRQ, AffectedSOPClass: model, HasDataSet: true}
	contexts, roles := getContexts(model)
	return retrieve(ctx, cfg, rq, identifier, contexts, roles, store, progress)
}

// getContexts are the presentation contexts and roles Get proposes: the
// model first, then the storage classes.
func getContexts(model string) ([]presentationContext, []roleSelection) {
	contexts := []presentationContext{{AbstractSyntax: model, TransferSyntaxes: findSyntaxes}}
	var roles []roleSelection
	for _, sc := range StorageSOPClasses {
		contexts = append(contexts, presentationContext{AbstractSyntax: sc.UID, TransferSyntaxes: findSyntaxes})
		if sc.Compressed {
			// One context per syntax: a context carries the one syntax
			// the peer accepts of those proposed (PS3.8 §9.3.3.2), and
			// each instance must find its own.
			for _, ts := range losslessSyntaxes {
				contexts = append(contexts, presentationContext{AbstractSyntax: sc.UID, TransferSyntaxes: []string{ts}})
			}
		}
		roles = append(roles, roleSelection{SOPClass: sc.UID, SCP: true})
	}
	return contexts, roles
}

// losslessSyntaxes are the compressed transfer syntaxes Get accepts for
// the common images: only lossless ones, so that a peer converting an
// instance to one we accept never loses information (PS3.5 §8, Annex
// A.4).
var losslessSyntaxes = []string{
	"1.2.840.10008.1.2.4.70",  // JPEG Lossless, first-order prediction
	"1.2.840.10008.1.2.4.57",  // JPEG Lossless
	"1.2.840.10008.1.2.4.80",  // JPEG-LS Lossless
	"1.2.840.10008.1.2.4.90",  // JPEG 2000 Lossless Only
	"1.2.840.10008.1.2.4.201", // HTJ2K Lossless
	"1.2.840.10008.1.2.5",     // RLE Lossless
}

// StorageSOPClass is a storage SOP class Get can receive (PS3.4 Annex B,
// Table B.5-1). Every class is offered in explicit and implicit VR little
// endian; Compressed ones also in each lossless compressed syntax.
type StorageSOPClass struct {
	UID        string
	Compressed bool
}

// StorageSOPClasses are the storage SOP classes Get proposes: the common
// modalities' images, and the non-image objects that travel with them
// (presentation states, structured reports, encapsulated PDF, RT). With
// the compressed contexts of the most common images (123 in all) they
// stay within the 128 contexts of an association (PS3.8 §9.3.2.2).
var StorageSOPClasses = []StorageSOPClass{
	{"1.2.840.10008.5.1.4.1.1.1", true},         // Computed Radiography
	{"1.2.840.10008.5.1.4.1.1.1.1", true},       // Digital X-Ray, for presentation
	{"1.2.840.10008.5.1.4.1.1.1.1.1", false},    // Digital X-Ray, for processing
	{"1.2.840.10008.5.1.4.1.1.1.2", true},       // Digital Mammography, for presentation
	{"1.2.840.10008.5.1.4.1.1.1.2.1", false},    // Digital Mammography, for processing
	{"1.2.840.10008.5.1.4.1.1.1.3", false},      // Digital Intra-Oral X-Ray, for presentation
	{"1.2.840.10008.5.1.4.1.1.2", true},         // CT
	{"1.2.840.10008.5.1.4.1.1.2.1", true},       // Enhanced CT
	{"1.2.840.10008.5.1.4.1.1.3.1", true},       // Ultrasound Multi-frame
	{"1.2.840.10008.5.1.4.1.1.4", true},         // MR
	{"1.2.840.10008.5.1.4.1.1.4.1", true},       // Enhanced MR
	{"1.2.840.10008.5.1.4.1.1.6.1", true},       // Ultrasound
	{"1.2.840.10008.5.1.4.1.1.7", true},         // Secondary Capture
	{"1.2.840.10008.5.1.4.1.1.7.4", false},      // Multi-frame True Color Secondary Capture
	{"1.2.840.10008.5.1.4.1.1.12.1", true},      // X-Ray Angiographic
	{"1.2.840.10008.5.1.4.1.1.12.2", false},     // X-Ray Radiofluoroscopic
	{"1.2.840.10008.5.1.4.1.1.13.1.3", false},   // Breast Tomosynthesis
	{"1.2.840.10008.5.1.4.1.1.20", true},        // Nuclear Medicine
	{"1.2.840.10008.5.1.4.1.1.77.1.4", false},   // VL Photographic
	{"1.2.840.10008.5.1.4.1.1.77.1.5.1", false}, // Ophthalmic Photography 8 Bit
	{"1.2.840.10008.5.1.4.1.1.128", true},       // PET
	{"1.2.840.10008.5.1.4.1.1.130", false},      // Enhanced PET
	{"1.2.840.10008.5.1.4.1.1.481.1", false},    // RT Image
	{"1.2.840.10008.5.1.4.1.1.3", false},        // Ultrasound Multi-frame (retired)
	{"1.2.840.10008.5.1.4.1.1.6", false},        // Ultrasound (retired)
	{"1.2.840.10008.5.1.4.1.1.7.2", false},      // Multi-frame Grayscale Byte Secondary Capture
	{"1.2.840.10008.5.1.4.1.1.7.3", false},      // Multi-frame Grayscale Word Secondary Capture
	{"1.2.840.10008.5.1.4.1.1.12.1.1", false},   // Enhanced X-Ray Angiographic
	{"1.2.840.10008.5.1.4.1.1.2.2", false},      // Legacy Converted Enhanced CT
	{"1.2.840.10008.5.1.4.1.1.4.4", false},      // Legacy Converted Enhanced MR
	{"1.2.840.10008.5.1.4.1.1.11.1", false},     // Grayscale Softcopy Presentation State
	{"1.2.840.10008.5.1.4.1.1.11.2", false},     // Color Softcopy Presentation State
	{"1.2.840.10008.5.1.4.1.1.88.11", false},    // Basic Text SR
	{"1.2.840.10008.5.1.4.1.1.88.22", false},    // Enhanced SR
	{"1.2.840.10008.5.1.4.1.1.88.33", false},    // Comprehensive SR
	{"1.2.840.10008.5.1.4.1.1.88.59", false},    // Key Object Selection
	{"1.2.840.10008.5.1.4.1.1.88.67", false},    // X-Ray Radiation Dose SR
	{"1.2.840.10008.5.1.4.1.1.104.1", false},    // Encapsulated PDF
	{"1.2.840.10008.5.1.4.1.1.66", false},       // Raw Data
	{"1.2.840.10008.5.1.4.1.1.66.4", false},     // Segmentation
	{"1.2.840.10008.5.1.4.1.1.481.2", false},    // RT Dose
	{"1.2.840.10008.5.1.4.1.1.481.3", false},    // RT Structure Set
	{"1.2.840.10008.5.1.4.1.1.481.5", false},    // RT Plan
	{"1.2.840.10008.5.1.4.1.1.9.1.1", false},    // 12-lead ECG Waveform
}

// retrieval is one C-MOVE or C-GET in progress.
type retrieval struct {
	a     *Assoc
	ctxID byte
	rq    *command
	store StoreHandler // Get's; nil for Move
	// peerAE and ourAE name the two ends in each sub-operation's
	// StoreRequest: the peer calls, we are called.
	peerAE, ourAE string
	progress      func(SubOperations)

	// mu makes each of our messages one step, so that the C-CANCEL-RQ
	// sent when ctx ends (from another goroutine) never lands inside one.
	mu        sync.Mutex
	done      bool // the final response arrived, or the association ended
	cancelled bool
	inStore   bool // a C-STORE sub-operation's data set is arriving
}

// retrieve runs the C-MOVE or C-GET rq on a new association.
func retrieve(ctx context.Context, cfg Config, rq *command, identifier []*dicom.Element,
	contexts []presentationContext, roles []roleSelection, store StoreHandler, progress func(SubOperations)) (RetrieveResult, error) {
	query, err := sortedIdentifier(identifier)
	if err != nil {
		return RetrieveResult{}, err
	}
	a, err := dialRoles(ctx, cfg, contexts, roles)
	if err != nil {
		return RetrieveResult{}, err
	}
	r := &retrieval{a: a, rq: rq, store: store, peerAE: cfg.CalledAE, ourAE: cfg.CallingAE, progress: progress}
	stop := context.AfterFunc(ctx, r.cancel)
	res, err := r.run(ctx, query)
	stop()
	r.mu.Lock()
	r.done = true
	switch {
	case a.closed:
	case err == nil:
		_ = a.Release()
	default:
		a.Abort()
	}
	cancelled := r.cancelled
	r.mu.Unlock()
	if cancelled || ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, err
}

// cancel sends C-CANCEL-RQ (PS3.7 §9.3.2.3) and gives the peer
// cancelGrace to end the operation. It writes the PDU with one Write on
// the connection, which is safe alongside the reading goroutine. Before
// the request is sent, or in the middle of an instance (which the peer
// cannot take back, and which may be gigabytes), the association is cut
// at once instead: a half-received instance is discarded by the handler.
func (r *retrieval) cancel() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelled = true
	if r.done {
		return
	}
	if r.ctxID == 0 || r.inStore {
		r.a.cutOff(time.Now())
		return
	}
	b, err := (&command{Field: cCancelRQ, MessageIDRespondedTo: r.rq.MessageID}).encode()
	if err == nil {
		_ = r.a.conn.SetWriteDeadline(time.Now().Add(cancelGrace))
		_, _ = r.a.conn.Write(append(pdataHeader(r.ctxID, true, true, len(b)), b...))
	}
	r.a.cutOff(time.Now().Add(cancelGrace))
}

// run sends the request and reads what follows up to the final response.
func (r *retrieval) run(ctx context.Context, query []*dicom.Element) (RetrieveResult, error) {
	res := RetrieveResult{SubOperations: SubOperations{-1, -1, -1, -1}}
	ctxID, syntax, err := r.a.findContext(r.rq.AffectedSOPClass)
	if err != nil {
		return res, err
	}
	if err := r.send(ctxID, query, syntax); err != nil {
		return res, err
	}
	stalled := 0
	for range maxRetrieveMessages {
		c, got, err := r.a.readCommand(r.a.timeout)
		if err != nil {
			return res, r.readError(err)
		}
		switch {
		case c.Field == cStoreRQ && r.store != nil && c.HasDataSet:
			if err := r.subStore(ctx, c, got); err != nil {
				return res, err
			}
			res.Received++
			stalled = 0
		case c.Field == r.rq.Field|0x8000 && c.MessageIDRespondedTo == r.rq.MessageID && got == ctxID:
			counts := subOperations(c)
			if pending(c.Status) {
				// Pending responses carry no identifier (PS3.4
				// C.4.2.1.4.2); one sent anyway is read and dropped.
				if err := r.a.skipDataSet(c, ctxID); err != nil {
					return res, err
				}
				if counts == res.SubOperations {
					if stalled++; stalled > maxStalledResponses {
						r.a.Abort()
						return res, fmt.Errorf("the peer sent %d pending responses without progress", stalled)
					}
				} else {
					stalled = 0
				}
				res.SubOperations = counts
				if r.progress != nil {
					r.progress(counts)
				}
				continue
			}
			return r.final(res, c, ctxID, syntax)
		default:
			r.a.abortProvider()
			return res, protoErr("expected %s to message %d on context %d, got %#04x to %d on context %d",
				r.name(), r.rq.MessageID, ctxID, c.Field, c.MessageIDRespondedTo, got)
		}
	}
	r.a.Abort()
	return res, fmt.Errorf("the peer sent more than %d messages for one %s", maxRetrieveMessages, r.name())
}

func (r *retrieval) name() string {
	if r.rq.Field == cGetRQ {
		return "C-GET"
	}
	return "C-MOVE"
}

// send sends the request and its identifier as one step.
func (r *retrieval) send(ctxID byte, query []*dicom.Element, syntax dicom.Syntax) error {
	data, err := encodeIdentifier(query, syntax)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rq.MessageID = r.a.nextMessageID()
	if err := r.a.sendRequest(ctxID, r.rq, data); err != nil {
		return err
	}
	r.ctxID = ctxID
	return nil
}

// subStore receives one C-STORE sub-operation of a C-GET and answers it.
// After a C-CANCEL-RQ the instance is read and refused: the command is
// ending, and what arrives now would be stored after the user asked it
// to stop.
func (r *retrieval) subStore(ctx context.Context, c *command, ctxID byte) error {
	if pc := r.a.contexts[ctxID]; pc.AbstractSyntax != c.AffectedSOPClass {
		r.a.abortProvider()
		return protoErr("C-STORE-RQ for SOP Class %s on the context of %s", c.AffectedSOPClass, pc.AbstractSyntax)
	}
	handler := r.store
	if ctx.Err() != nil {
		handler = func(context.Context, StoreRequest, io.Reader) Status {
			return Status{Code: 0x0110, ErrorComment: "retrieve cancelled"}
		}
	}
	r.setInStore(true)
	st, ok := receiveStore(ctx, r.a, handler, r.peerAE, r.ourAE, c, ctxID)
	r.setInStore(false)
	if !ok {
		return errors.New("the association broke during a C-STORE sub-operation")
	}
	rsp := &command{Field: cStoreRSP, MessageIDRespondedTo: c.MessageID, AffectedSOPClass: c.AffectedSOPClass,
		AffectedSOPInstance: c.AffectedSOPInstance, Status: st.Code, ErrorComment: st.ErrorComment}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.a.sendCommand(ctxID, rsp)
}

func (r *retrieval) setInStore(b bool) {
	r.mu.Lock()
	r.inStore = b
	r.mu.Unlock()
}

// final fills res from the final response c and its identifier, if any.
func (r *retrieval) final(res RetrieveResult, c *command, ctxID byte, syntax dicom.Syntax) (RetrieveResult, error) {
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
	res.Status = statusOf(c)
	counts := subOperations(c)
	for _, p := range []struct{ final, last *int }{{&counts.Remaining, &res.Remaining}, {&counts.Completed, &res.Completed},
		{&counts.Failed, &res.Failed}, {&counts.Warning, &res.Warning}} {
		if *p.final >= 0 {
			*p.last = *p.final
		}
	}
	if !c.HasDataSet {
		return res, nil
	}
	b, err := r.a.readIdentifier(ctxID)
	if err != nil {
		return res, err
	}
	failed, err := failedInstances(b, syntax)
	if err != nil {
		r.a.abortProvider()
		return res, fmt.Errorf("final %s response: %w", r.name(), err)
	}
	res.FailedInstances = failed
	return res, nil
}

// failedInstances decodes a final response's identifier (bounded as a
// C-FIND one) and returns its Failed SOP Instance UID List.
func failedInstances(b []byte, s dicom.Syntax) ([]string, error) {
	elems, err := decodeIdentifier(b, s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, uid := range dicom.Find(elems, failedSOPInstanceUIDList).Strings() {
		if uid = strings.TrimSpace(uid); uid != "" {
			out = append(out, uid)
		}
	}
	return out, nil
}

func subOperations(c *command) SubOperations {
	return SubOperations{Remaining: c.SubOps[0], Completed: c.SubOps[1], Failed: c.SubOps[2], Warning: c.SubOps[3]}
}

// readError words a failed read as Find does, naming the cancel when
// there was one.
func (r *retrieval) readError(err error) error {
	r.mu.Lock()
	cancelled := r.cancelled
	r.mu.Unlock()
	if cancelled && isTimeout(err) {
		return fmt.Errorf("no final response within %v of C-CANCEL-RQ", cancelGrace)
	}
	return r.a.responseError(err)
}
