// Package cms reads and writes Secure DICOM Files: a DICOM File wrapped in
// CMS EnvelopedData (RFC 5652) as DICOM PS3.10 §7.4 and the Basic DICOM
// Media Security Profile (PS3.15 Annex D.1, with CP 895 passwords) define.
//
// The API follows filippo.io/age. Encrypt returns an io.WriteCloser that
// streams the plaintext into DER-encoded ContentInfo(EnvelopedData); the
// plaintext size is given up front so every length is known before the first
// byte is written, and SealedSize tells the exact output size without
// sealing. Decrypt returns a Reader that streams the plaintext back out of
// BER or DER input; integrity failures surface as an error from Read at the
// end of the data, never as a silent io.EOF, so a caller must consume the
// Reader to the end before trusting what it read.
//
// Recipients (who may open a file) and Identities (what the reader holds):
//
//   - PasswordRecipient / PasswordIdentity: PasswordRecipientInfo with
//     PBKDF2 (RFC 8018) and the RFC 3211 key wrap. A PasswordRecipient
//     derives its key-encryption key once, so every file sealed with it
//     shares one salt and iteration count; a PasswordIdentity caches derived
//     keys, so opening N such files costs one PBKDF2.
//   - CertificateRecipient / CertificateIdentity: KeyTransRecipientInfo with
//     RSA PKCS #1 v1.5 (the PS3.15 baseline) or RSAES-OAEP.
//
// Inner content (PS3.15 D.1.1 requires Signed-data or Digested-data): by
// default the DICOM File is wrapped in DigestedData (SHA-256); with a Signer
// it is wrapped in SignedData (RSA); plain id-data, as GDCM and "openssl cms"
// write it, only with Options.PlainData. The reader accepts all three
// and also a ContentInfo(DigestedData|SignedData) carried as id-data.
//
// Content ciphers: AES-128/192/256-CBC for writing (AES-256 by default);
// the reader also accepts Triple-DES, which PS3.15 requires readers to
// support. The parser enforces limits (iteration count, nesting depth,
// element sizes, number of recipients) so hostile input yields an error,
// never a panic or an allocation sized by a declared length.
package cms
