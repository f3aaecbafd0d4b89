// Package dimse implements the parts of the DICOM upper layer protocol
// (PS3.8) and of the DICOM Message Service Element (PS3.7) needed to move
// studies in and out of a PACS: association negotiation, C-ECHO and
// C-STORE, as service class user (SCU) and provider (SCP), C-FIND as
// SCU, to look patients up in a PACS, and C-MOVE and C-GET as SCU, to
// fetch studies from one.
//
// The API follows pynetdicom's: Dial makes an association that can store
// the given instances (the presentation contexts are negotiated from them);
// Assoc.Store sends one instance on the context that fits it, Assoc.Echo a
// C-ECHO; Send stores many, over parallel associations if asked
// (SendOptions), opening each instance while the previous one is stored;
// Echo checks a peer; Find queries one (Patient or Study Root), passing
// each match on and cancelling the query beyond a limit; Move asks a peer
// to store a study to an AE title (ours, a Server), Get receives it over
// the association itself, handing each instance to a StoreHandler; both
// report the sub-operation counts and send C-CANCEL when ctx ends. A Server answers
// C-ECHO and C-STORE, handing each instance to a StoreHandler such as
// FolderStore, which writes Part 10 files. PDUs, PDVs and presentation
// contexts stay inside.
//
// Design rules, each for a reason:
//   - Data sets are streamed, never held whole in memory: a PDU is the unit
//     of buffering on both sides, so a 2 GB instance costs one PDU of RAM.
//   - Deadlines are set per PDU (read and write), never once per
//     association: a long study never times out as a whole, a peer that
//     stops answering is detected within one timeout.
//   - The SCU never transcodes compressed data. Each instance is sent only
//     on a presentation context whose accepted transfer syntax is the
//     instance's own, or, for explicit VR little endian data, implicit VR
//     little endian after a lossless header rewrite (see convert.go). An
//     instance the peer cannot take is reported, never sent wrongly.
//   - File Meta Information (group 0002) is never sent (PS3.7 §6.3.1).
package dimse
