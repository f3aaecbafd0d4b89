// Package dimse will implement the DICOM upper layer and DIMSE services
// needed to forward studies to a PACS: association, C-ECHO, C-STORE SCU and
// SCP. Not implemented yet.
package dimse
