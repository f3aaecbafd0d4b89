package media

import (
	"crypto/sha256"
	"strings"

	"github.com/securemedia/securemedia/cms"
)

// A medium's fingerprint is a short name of its password's key derivation
// (PBKDF2 salt, iterations, PRF, key size), which every file sealed by one
// burn shares and no other medium does: printed on the password slip, in
// README.TXT and by "securemedia open" (which reads it from the sealed
// DICOMDIR's header, before any password is asked for), it lets a slip and
// its disc be matched by eye. It names the derivation, not the password:
// the salt it comes from is in every sealed file's header anyway.

// fingerprintAlphabet is Crockford's base32: no I, L, O or U, which read
// as 1, 0 or V on a slip.
const fingerprintAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// fingerprint is 40 bits of a domain-separated SHA-256 of kdfKey, as two
// groups of four characters ("7KQ2-M9XD").
func fingerprint(kdfKey string) string {
	if kdfKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("SecureMedia disc fingerprint\x00" + kdfKey))
	var bits uint64
	for _, b := range sum[:5] {
		bits = bits<<8 | uint64(b)
	}
	var s strings.Builder
	for i := 7; i >= 0; i-- {
		if i == 3 {
			s.WriteByte('-')
		}
		s.WriteByte(fingerprintAlphabet[(bits>>(5*uint(i)))&31])
	}
	return s.String()
}

// passwordKDFKey is the key derivation of the first password recipient.
func passwordKDFKey(rs []cms.Recipient) string {
	for _, r := range rs {
		if pr, ok := r.(*cms.PasswordRecipient); ok {
			return pr.KDFKey()
		}
	}
	return ""
}

// infoKDFKey is the key derivation of a sealed file's first password
// recipient.
func infoKDFKey(info *cms.Info) string {
	if info == nil {
		return ""
	}
	for _, r := range info.Recipients {
		if r.Kind == "password" && r.KDFKey != "" {
			return r.KDFKey
		}
	}
	return ""
}

// Fingerprint is the medium's fingerprint (see above): that of its sealed
// DICOMDIR's password recipient, else of the first sealed file's; "" when
// no sealed file opens with a password. It needs no password.
func (d *Disc) Fingerprint() (string, error) {
	files, err := d.survey()
	if err != nil {
		return "", err
	}
	first := ""
	for _, f := range files {
		k := infoKDFKey(f.info)
		if k == "" {
			continue
		}
		if SameName(f.path, "DICOMDIR") {
			return fingerprint(k), nil
		}
		if first == "" {
			first = k
		}
	}
	return fingerprint(first), nil
}
