// Package media writes and reads encrypted DICOM media: a DICOM File-set in
// which every file, the DICOMDIR included, is a Secure DICOM File (PS3.10
// §7.4), as the STD-GEN-SEC-* application profiles of PS3.11 require.
//
// Authoring: NewPlan scans the input, builds the DICOMDIR (package
// dicomdir), chooses the medium and profile, and knows the exact size of
// every sealed file before a byte is written; Plan.Write seals every file
// in one streaming pass into a Sink: a folder (USB) or an ISO 9660 image.
// All files of one disc share one PBKDF2 salt (one PasswordRecipient), each
// with its own content key. A sealed MANIFEST lists every file's size and
// SHA-256, for Verify and for the read-back check after burning.
//
// Reading: Open gives a Disc for a folder, a mounted disc or an ISO image;
// Unlock decrypts the DICOMDIR with the given identities; the Disc then
// opens any instance as a stream, verifies the whole disc, or extracts a
// plain standard File-set.
package media
