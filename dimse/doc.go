// Package dimse implements the parts of the DICOM upper layer protocol
// (PS3.8) and of the DICOM Message Service Element (PS3.7) needed to move
// studies in and out of a PACS: association negotiation, C-ECHO and
// C-STORE, as service class user (SCU) and provider (SCP).
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
