package dimse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PDU types (PS3.8 §9.3.1, Table 9-11).
const (
	typeAssociateRQ = 0x01
	typeAssociateAC = 0x02
	typeAssociateRJ = 0x03
	typePData       = 0x04
	typeReleaseRQ   = 0x05
	typeReleaseRP   = 0x06
	typeAbort       = 0x07
)

// Item types of the variable part of A-ASSOCIATE PDUs (PS3.8 §9.3.2/9.3.3,
// Annex D).
const (
	itemAppContext     = 0x10
	itemPresContextRQ  = 0x20
	itemPresContextAC  = 0x21
	itemAbstractSyntax = 0x30
	itemTransferSyntax = 0x40
	itemUserInfo       = 0x50
	itemMaxLength      = 0x51
	itemImplClassUID   = 0x52
	itemRoleSelection  = 0x54
	itemImplVersion    = 0x55
)

// ApplicationContext is the only DICOM application context name (PS3.7
// Annex A.2.1).
const applicationContext = "1.2.840.10008.3.1.1.1"

// maxAssociatePDU bounds A-ASSOCIATE PDUs; 128 contexts with a dozen
// transfer syntaxes each fit in well under 128 KiB.
const maxAssociatePDU = 1 << 20

// ErrProtocol marks a peer that broke PS3.8; the association is aborted.
var ErrProtocol = errors.New("dicom upper layer protocol error")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// PresentationContext is one context of an A-ASSOCIATE-RQ or -AC. In a
// request TransferSyntaxes lists what is proposed; in an acceptance it
// holds the one transfer syntax chosen, and Result says whether the
// context was accepted (0) or why not (PS3.8 Table 9-18).
type presentationContext struct {
	ID               byte
	AbstractSyntax   string
	TransferSyntaxes []string
	Result           byte
}

// Presentation context results (PS3.8 Table 9-18).
const (
	resultAcceptance                = 0
	resultUserRejection             = 1
	resultNoReason                  = 2
	resultAbstractSyntaxUnsupported = 3
	resultTransferSyntaxUnsupported = 4
)

// Associate is the content of an A-ASSOCIATE-RQ or A-ASSOCIATE-AC PDU.
type associate struct {
	CalledAE, CallingAE string
	AppContext          string
	contexts            []presentationContext
	// MaxLength is the largest P-DATA-TF variable field the sender of this
	// PDU can receive (0: no limit), PS3.8 §D.1.
	MaxLength    uint32
	ImplClassUID string
	ImplVersion  string
	// roles are the SCP/SCU Role Selection sub-items (PS3.7 §D.3.3.4).
	roles []roleSelection
}

// roleSelection is one SCP/SCU Role Selection sub-item: in a request the
// roles the requestor proposes to take for SOPClass, in an acceptance
// those the acceptor agreed to (PS3.7 §D.3.3.4, Tables D.3-9 and D.3-10).
type roleSelection struct {
	SOPClass string
	SCU, SCP bool
}

// Reject is an A-ASSOCIATE-RJ (PS3.8 §9.3.4).
type Reject struct{ Result, Source, Reason byte }

// rejectReasons are the A-ASSOCIATE-RJ reasons by source (PS3.8 Table
// 9-21): 1 service user, 2 service provider (ACSE), 3 service provider
// (presentation).
var rejectReasons = map[[2]byte]string{
	{1, 1}: "no reason given",
	{1, 2}: "application context name not supported",
	{1, 3}: "calling AE title not recognized",
	{1, 7}: "called AE title not recognized",
	{2, 1}: "no reason given",
	{2, 2}: "protocol version not supported",
	{3, 1}: "temporary congestion",
	{3, 2}: "local limit exceeded",
}

func (r *Reject) Error() string {
	perm := "permanently"
	if r.Result == 2 {
		perm = "transiently"
	}
	reason, ok := rejectReasons[[2]byte{r.Source, r.Reason}]
	if !ok {
		reason = fmt.Sprintf("source %d, reason %d", r.Source, r.Reason)
	}
	return fmt.Sprintf("association rejected %s by the peer: %s", perm, reason)
}

// Abort is an A-ABORT received from the peer (PS3.8 §9.3.8).
type Abort struct{ Source, Reason byte }

func (a *Abort) Error() string {
	return fmt.Sprintf("association aborted by the peer (source %d, reason %d)", a.Source, a.Reason)
}

// PDV is one presentation data value item of a P-DATA-TF PDU (PS3.8
// §9.3.5.1 and Annex E.2).
type pdv struct {
	ContextID byte
	command   bool // message control header bit 0
	Last      bool // bit 1
	Data      []byte
}

// readPDU reads one PDU header and its body. max bounds the declared
// length: a hostile length is refused, never allocated.
func readPDU(r io.Reader, max uint32) (typ byte, body []byte, err error) {
	var h [6]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	typ = h[0]
	n := binary.BigEndian.Uint32(h[2:])
	limit := uint32(maxAssociatePDU)
	if typ == typePData {
		limit = max
	}
	if n > limit {
		return 0, nil, protoErr("PDU type %#x of %d bytes exceeds the limit of %d", typ, n, limit)
	}
	// Grow with the data actually received, so a lying length costs
	// nothing until the bytes arrive.
	var buf bytes.Buffer
	buf.Grow(int(min(n, 64<<10)))
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		return 0, nil, fmt.Errorf("PDU type %#x truncated: %w", typ, err)
	}
	return typ, buf.Bytes(), nil
}

// pduHeader appends the 6-byte PDU header.
func pduHeader(dst []byte, typ byte, n int) []byte {
	dst = append(dst, typ, 0)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

func appendItem(dst []byte, typ byte, value []byte) []byte {
	dst = append(dst, typ, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(value)))
	return append(dst, value...)
}

// CheckAETitle checks an AE title: 1 to 16 characters of the default
// repertoire without backslash, not all spaces (PS3.5 Table 6.2-1, AE).
func CheckAETitle(aet string) error {
	if len(aet) == 0 || len(aet) > 16 || strings.TrimSpace(aet) == "" {
		return fmt.Errorf("AE title %q: must be 1 to 16 characters", aet)
	}
	for _, c := range aet {
		if c < 0x20 || c > 0x7E || c == '\\' {
			return fmt.Errorf("AE title %q: only printable ASCII without backslash", aet)
		}
	}
	return nil
}

// aeField pads an AE title to 16 bytes with spaces (PS3.8 §9.3.2).
func aeField(ae string) []byte {
	b := []byte(fmt.Sprintf("%-16s", ae))
	return b[:16]
}

// encodeAssociate encodes an A-ASSOCIATE-RQ (typ 1) or -AC (typ 2).
func encodeAssociate(typ byte, a *associate) ([]byte, error) {
	var v []byte
	v = append(v, 0, 1, 0, 0) // protocol version 1, reserved
	v = append(v, aeField(a.CalledAE)...)
	v = append(v, aeField(a.CallingAE)...)
	v = append(v, make([]byte, 32)...)
	ctxName := a.AppContext
	if ctxName == "" {
		ctxName = applicationContext
	}
	v = appendItem(v, itemAppContext, []byte(ctxName))
	for _, pc := range a.contexts {
		var sub []byte
		sub = append(sub, pc.ID, 0, pc.Result, 0)
		itemType := byte(itemPresContextAC)
		if typ == typeAssociateRQ {
			itemType = itemPresContextRQ
			sub[2] = 0
			sub = appendItem(sub, itemAbstractSyntax, []byte(pc.AbstractSyntax))
		}
		for _, ts := range pc.TransferSyntaxes {
			sub = appendItem(sub, itemTransferSyntax, []byte(ts))
		}
		if len(sub) > 0xFFFF {
			return nil, fmt.Errorf("presentation context %d too long", pc.ID)
		}
		v = appendItem(v, itemType, sub)
	}
	var ui []byte
	ui = appendItem(ui, itemMaxLength, binary.BigEndian.AppendUint32(nil, a.MaxLength))
	ui = appendItem(ui, itemImplClassUID, []byte(a.ImplClassUID))
	if a.ImplVersion != "" {
		ui = appendItem(ui, itemImplVersion, []byte(a.ImplVersion))
	}
	for _, r := range a.roles {
		sub := binary.BigEndian.AppendUint16(nil, uint16(len(r.SOPClass)))
		sub = append(sub, r.SOPClass...)
		sub = append(sub, boolByte(r.SCU), boolByte(r.SCP))
		ui = appendItem(ui, itemRoleSelection, sub)
	}
	v = appendItem(v, itemUserInfo, ui)
	return append(pduHeader(nil, typ, len(v)), v...), nil
}

// items splits a run of items (type, reserved, 2-byte length, value).
func items(b []byte, fn func(typ byte, value []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return protoErr("truncated item header")
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return protoErr("item type %#x of %d bytes overruns its PDU", b[0], n)
		}
		if err := fn(b[0], b[4:4+n]); err != nil {
			return err
		}
		b = b[4+n:]
	}
	return nil
}

// uidString trims the NUL or space padding some implementations add.
func uidString(b []byte) string { return string(bytes.TrimRight(b, "\x00 ")) }

// decodeAssociate decodes the body of an A-ASSOCIATE-RQ or -AC.
func decodeAssociate(typ byte, body []byte) (*associate, error) {
	if len(body) < 68 {
		return nil, protoErr("A-ASSOCIATE PDU too short (%d bytes)", len(body))
	}
	a := &associate{
		CalledAE:  string(bytes.TrimSpace(body[4:20])),
		CallingAE: string(bytes.TrimSpace(body[20:36])),
	}
	err := items(body[68:], func(it byte, v []byte) error {
		switch it {
		case itemAppContext:
			a.AppContext = uidString(v)
		case itemPresContextRQ, itemPresContextAC:
			if (it == itemPresContextRQ) != (typ == typeAssociateRQ) {
				return protoErr("presentation context item %#x in PDU type %#x", it, typ)
			}
			pc, err := decodeContext(v)
			if err != nil {
				return err
			}
			a.contexts = append(a.contexts, pc)
		case itemUserInfo:
			return decodeUserInfo(a, v)
		}
		return nil // unknown items are ignored (PS3.8 §9.3.1)
	})
	return a, err
}

func decodeContext(v []byte) (presentationContext, error) {
	if len(v) < 4 {
		return presentationContext{}, protoErr("presentation context item too short")
	}
	pc := presentationContext{ID: v[0], Result: v[2]}
	err := items(v[4:], func(it byte, s []byte) error {
		switch it {
		case itemAbstractSyntax:
			pc.AbstractSyntax = uidString(s)
		case itemTransferSyntax:
			pc.TransferSyntaxes = append(pc.TransferSyntaxes, uidString(s))
		}
		return nil
	})
	return pc, err
}

func decodeUserInfo(a *associate, v []byte) error {
	return items(v, func(it byte, s []byte) error {
		switch it {
		case itemMaxLength:
			if len(s) != 4 {
				return protoErr("maximum length item of %d bytes", len(s))
			}
			a.MaxLength = binary.BigEndian.Uint32(s)
		case itemImplClassUID:
			a.ImplClassUID = uidString(s)
		case itemImplVersion:
			a.ImplVersion = string(bytes.TrimRight(s, "\x00 "))
		case itemRoleSelection:
			r, err := decodeRole(s)
			if err != nil {
				return err
			}
			a.roles = append(a.roles, r)
		}
		return nil
	})
}

// decodeRole parses an SCP/SCU Role Selection sub-item's value: UID
// length, UID, SCU role, SCP role (PS3.7 Table D.3-9).
func decodeRole(s []byte) (roleSelection, error) {
	if len(s) < 2 {
		return roleSelection{}, protoErr("role selection item of %d bytes", len(s))
	}
	n := int(binary.BigEndian.Uint16(s))
	if len(s) != 2+n+2 {
		return roleSelection{}, protoErr("role selection item of %d bytes for a UID of %d", len(s), n)
	}
	return roleSelection{SOPClass: uidString(s[2 : 2+n]), SCU: s[2+n] == 1, SCP: s[3+n] == 1}, nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func decodeReject(body []byte) (*Reject, error) {
	if len(body) < 4 {
		return nil, protoErr("A-ASSOCIATE-RJ too short")
	}
	return &Reject{Result: body[1], Source: body[2], Reason: body[3]}, nil
}

func encodeReject(r Reject) []byte {
	return append(pduHeader(nil, typeAssociateRJ, 4), 0, r.Result, r.Source, r.Reason)
}

func decodeAbort(body []byte) *Abort {
	if len(body) < 4 {
		return &Abort{}
	}
	return &Abort{Source: body[2], Reason: body[3]}
}

func encodeAbort(source, reason byte) []byte {
	return append(pduHeader(nil, typeAbort, 4), 0, 0, source, reason)
}

func encodeRelease(typ byte) []byte { return append(pduHeader(nil, typ, 4), 0, 0, 0, 0) }

// decodePData splits a P-DATA-TF body into its PDVs (PS3.8 §9.3.5).
// The PDV data slices alias body.
func decodePData(body []byte) ([]pdv, error) {
	var out []pdv
	for len(body) > 0 {
		if len(body) < 6 {
			return nil, protoErr("truncated PDV item")
		}
		n := binary.BigEndian.Uint32(body)
		if n < 2 || uint64(n) > uint64(len(body)-4) {
			return nil, protoErr("PDV item length %d does not fit its PDU", n)
		}
		mch := body[5]
		out = append(out, pdv{ContextID: body[4], command: mch&1 != 0, Last: mch&2 != 0, Data: body[6 : 4+n]})
		body = body[4+n:]
	}
	if len(out) == 0 {
		return nil, protoErr("P-DATA-TF without PDV items")
	}
	return out, nil
}

// pdataHeader is the 12 bytes before one PDV's data in a P-DATA-TF PDU
// holding exactly that PDV.
func pdataHeader(ctxID byte, command, last bool, n int) []byte {
	h := pduHeader(make([]byte, 0, 12), typePData, n+6)
	h = binary.BigEndian.AppendUint32(h, uint32(n+2))
	var mch byte
	if command {
		mch |= 1
	}
	if last {
		mch |= 2
	}
	return append(h, ctxID, mch)
}
