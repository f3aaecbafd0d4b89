// Package media will hold a DICOM File-set on a medium: plan, author, open,
// unlock, verify and extract encrypted discs (ISO 9660 image or USB folder).
// It is built on package cms and package dicomdir; see
// ../shared/docs/design.md. Not implemented yet.
package media
