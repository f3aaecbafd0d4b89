// Package media is the one door to a DICOM medium (CD, DVD, Blu-ray, USB
// stick, ISO image, folder): it writes encrypted ones and reads any, so that
// its callers need neither the codec (package cms) nor the element codec.
// An encrypted medium is a DICOM File-set in which every file, the DICOMDIR
// included, is a Secure DICOM File (PS3.10 §7.4), as the STD-GEN-SEC-*
// application profiles of PS3.11 require.
//
// Authoring: NewPlan scans the input, builds the DICOMDIR (package
// dicomdir), chooses the medium and profile, and knows the exact size of
// every sealed file before a byte is written; it derives the keys
// (Options.Keys) while it scans. A Writer, made by CreateImage (ISO 9660)
// or CreateFolder (USB), is written in the shape of archive/zip: the files
// are declared up front, each is created, written and closed, from any
// goroutine, and Close reads the medium back, flushes it and publishes it.
// Plan.Write seals every file straight into its Writer entry, one file per
// core; Plan.WriteImage and Plan.WriteFolder do it all. All files of one
// disc share one PBKDF2 salt (one PasswordRecipient), each with its own
// content key. A sealed MANIFEST lists every file's size and SHA-256, for
// Verify. WriteFileSet writes a plain File-set (securemedia index).
//
// Reading: Open gives a Disc for a folder, a mounted disc or an ISO image:
// an fs.FS of its files as recorded, found ignoring case and ISO 9660
// version suffixes. Unlock reads the DICOMDIR, decrypting it with the
// identities (Password, or a certificate key from package cms/keyfile) when
// it is sealed; the Disc then lists its Patients, Studies, Series and
// Instances, opens any instance as a decrypted stream (OpenInstance),
// verifies the whole disc, or extracts a plain standard File-set.
//
// Errors are this package's own values (ErrWrongPassword, ErrNoRecipient,
// ErrDamaged and its kinds ErrAltered and ErrMalformed, ErrNotSecure,
// ErrPolicy, ErrNoDICOMDIR, ErrTooLarge), for errors.Is; their messages
// keep the codec's detail.
package media
