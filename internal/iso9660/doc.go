// Package iso9660 writes and reads ISO 9660 (ECMA-119) images.
//
// The writer produces Level 1 images as PS3.12 Annex F (CD-R) and Annex P
// (DVD) require for DICOM File-sets: upper-case 8.3 identifiers recorded as
// "NAME.;1", at most 8 directory levels, L and M path tables, and the
// File-set ID as the space-padded Volume Identifier. Optionally it adds
// Rock Ridge (SUSP, IEEE P1281; RRIP 1.09 "RRIP_1991A", IEEE P1282), so
// that the POSIX modes of viewer executables survive on Linux and macOS,
// and a Joliet tree (Supplementary Volume Descriptor, UCS-2 names).
//
// Every file's size is known before anything is written, so Write lays the
// whole image out in memory (directory metadata only) and then streams it
// in one pass to an io.Writer that need not seek: no staging directory and
// no temporary copy of the data. Size reports the exact image size without
// reading any file, so a caller can refuse input that does not fit a medium
// before writing a byte.
//
// Open reads images made by this package or by other tools (xorriso,
// genisoimage), with Rock Ridge or Joliet names when present, as an fs.FS.
// It treats the image as hostile: malformed structures give errors, never
// panics, and nothing is allocated in proportion to a length the image
// declares. A damaged or truncated image degrades per file: a directory or
// file whose data is unreadable, or lies past the end of the image
// (ErrOutside), fails alone. CompareNames reports files whose ISO 9660,
// Rock Ridge and Joliet names disagree, which different systems would find
// under different names.
package iso9660
