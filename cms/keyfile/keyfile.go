// Package keyfile loads certificates and private keys from files (PEM or
// DER, or PKCS #12) and makes the cms identity that opens sealed data with
// them: for the securemedia command and for the viewer on the disc, whose
// unlock page accepts a certificate and key file.
package keyfile

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/securemedia/securemedia/cms"
)

const maxKeyFile = 1 << 20

func readSmallFile(path, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if st.Size() > maxKeyFile {
		return nil, fmt.Errorf("%s %s is larger than %d bytes: is it the right file?", what, path, maxKeyFile)
	}
	return os.ReadFile(path)
}

// Certificates reads every certificate in a PEM file, or one DER one.
func Certificates(path string) ([]*x509.Certificate, error) {
	b, err := readSmallFile(path, "certificate")
	if err != nil {
		return nil, err
	}
	return ParseCertificates(b, path)
}

// ParseCertificates is Certificates of a file's bytes; name is how errors
// name the file.
func ParseCertificates(b []byte, name string) ([]*x509.Certificate, error) {
	path := name
	var certs []*x509.Certificate
	rest := b
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: no PEM CERTIFICATE block and not a DER certificate", path)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// PrivateKey reads an unencrypted PEM (PKCS #8 or PKCS #1) or DER key.
func PrivateKey(path string) (crypto.PrivateKey, error) {
	b, err := readSmallFile(path, "private key")
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(b, path)
}

// ParsePrivateKey is PrivateKey of a file's bytes; name is how errors name
// the file.
func ParsePrivateKey(b []byte, name string) (crypto.PrivateKey, error) {
	path := name
	der := b
	if block, _ := pem.Decode(b); block != nil {
		switch block.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("private key %s is password-protected PEM, which is not supported: use a PKCS #12 file (--p12) instead", path)
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			der = block.Bytes
		default:
			return nil, fmt.Errorf("private key %s: unexpected PEM block %q", path, block.Type)
		}
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("private key %s: not a PKCS #8 or PKCS #1 key", path)
}

// PKCS12 reads a PKCS #12 file (as exported by browsers, Windows and
// "openssl pkcs12 -export").
func PKCS12(path string, password []byte) (crypto.PrivateKey, *x509.Certificate, error) {
	b, err := readSmallFile(path, "PKCS #12 file")
	if err != nil {
		return nil, nil, err
	}
	return ParsePKCS12(b, path, password)
}

// ParsePKCS12 is PKCS12 for bytes already read (a file chosen on a page);
// name is for messages. A wrong password says so in words.
func ParsePKCS12(b []byte, name string, password []byte) (crypto.PrivateKey, *x509.Certificate, error) {
	if len(b) > maxKeyFile { // bounded here too, whoever read the bytes
		return nil, nil, fmt.Errorf("PKCS #12 file %s is larger than %d bytes: is it the right file?", name, maxKeyFile)
	}
	key, cert, _, err := pkcs12.DecodeChain(b, string(password))
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, nil, fmt.Errorf("PKCS #12 file %s: wrong password for the key file", name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("PKCS #12 file %s: %w", name, err)
	}
	return key, cert, nil
}

// decrypter is the key as a crypto.Decrypter, or an error naming path.
func decrypter(k crypto.PrivateKey, path string) (crypto.Decrypter, error) {
	d, ok := k.(crypto.Decrypter)
	if !ok {
		return nil, fmt.Errorf("private key %s cannot decrypt", path)
	}
	return d, nil
}

// Signer is the key as a crypto.Signer, or an error naming path.
func Signer(k crypto.PrivateKey, path string) (crypto.Signer, error) {
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key %s cannot sign", path)
	}
	return s, nil
}

// Identity opens data sealed for cert with its private key (read from
// path, which errors name).
func Identity(cert *x509.Certificate, key crypto.PrivateKey, path string) (cms.Identity, error) {
	d, err := decrypter(key, path)
	if err != nil {
		return nil, err
	}
	return cms.NewCertificateIdentity(cert, d)
}

// Pair is the identity of a certificate file and its private key file
// (the first certificate of the file).
func Pair(certFile, keyFile string) (cms.Identity, error) {
	certs, err := Certificates(certFile)
	if err != nil {
		return nil, err
	}
	key, err := PrivateKey(keyFile)
	if err != nil {
		return nil, err
	}
	return Identity(certs[0], key, keyFile)
}

// ParsePair is Pair of the files' bytes (files a user gave a web page);
// the names are how errors name them.
func ParsePair(certName string, cert []byte, keyName string, key []byte) (cms.Identity, error) {
	if len(cert) > maxKeyFile || len(key) > maxKeyFile {
		return nil, fmt.Errorf("%s or %s is larger than %d bytes: is it the right file?", certName, keyName, maxKeyFile)
	}
	certs, err := ParseCertificates(cert, certName)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(key, keyName)
	if err != nil {
		return nil, err
	}
	return Identity(certs[0], k, keyName)
}
