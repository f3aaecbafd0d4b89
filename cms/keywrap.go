package cms

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"io"
)

// RFC 3211 §2.3 key wrap for PasswordRecipientInfo.

// wrapKey formats cek as byteCount ‖ check ‖ cek ‖ random padding (at least
// two blocks, a block multiple) and CBC-encrypts it twice, the second pass
// chained from the last ciphertext block of the first.
func wrapKey(block cipher.Block, iv, cek []byte, rand io.Reader) ([]byte, error) {
	bs := block.BlockSize()
	if len(cek) < 3 || len(cek) > 255 {
		return nil, fmt.Errorf("cms: key wrap: content key of %d bytes", len(cek))
	}
	n := 4 + len(cek)
	if n < 2*bs {
		n = 2 * bs
	}
	n = (n + bs - 1) / bs * bs
	buf := make([]byte, n)
	buf[0] = byte(len(cek))
	buf[1], buf[2], buf[3] = ^cek[0], ^cek[1], ^cek[2]
	copy(buf[4:], cek)
	if _, err := io.ReadFull(rand, buf[4+len(cek):]); err != nil {
		return nil, err
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	cipher.NewCBCEncrypter(block, buf[n-bs:]).CryptBlocks(buf, buf)
	return buf, nil
}

// unwrapKey reverses wrapKey. A failed check means the key-encryption key
// is wrong, i.e. the password is (RFC 3211 §2.3.2).
func unwrapKey(block cipher.Block, iv, wrapped []byte) ([]byte, error) {
	bs := block.BlockSize()
	n := len(wrapped)
	if n < 2*bs || n%bs != 0 {
		return nil, fmt.Errorf("%w: wrapped key of %d bytes", ErrMalformed, n)
	}
	tmp := make([]byte, n)
	// Step 1: decrypt the last block using the one before it as IV, giving
	// the last block of the first pass's ciphertext.
	cipher.NewCBCDecrypter(block, wrapped[n-2*bs:n-bs]).CryptBlocks(tmp[n-bs:], wrapped[n-bs:])
	// Step 2: with that as IV, decrypt blocks 1..n-1 of the second pass.
	cipher.NewCBCDecrypter(block, tmp[n-bs:]).CryptBlocks(tmp[:n-bs], wrapped[:n-bs])
	// Step 3: undo the first pass with the real IV.
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(tmp, tmp)
	length := int(tmp[0])
	check := (tmp[1] ^ tmp[4]) & (tmp[2] ^ tmp[5]) & (tmp[3] ^ tmp[6])
	ok := subtle.ConstantTimeByteEq(check, 0xff) & subtle.ConstantTimeLessOrEq(length+4, n)
	if ok != 1 || length < 3 {
		return nil, ErrWrongPassword
	}
	return tmp[4 : 4+length], nil
}
