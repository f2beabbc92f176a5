// Package certs owns TLS material the controller sends to the agent: it validates PEM
// bundles as the seed demands (a certificate, an unencrypted RSA key, matching modulus),
// and stores per-listener certificate files 0600 in a directory meant to be
// memory-backed, reporting their md5 instead of their content.
package certs

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// The seed's three validation failures; their text is the API's "message".
var (
	ErrNoCertificate = errors.New("No certificate found")
	ErrNoRSAKey      = errors.New("No RSA key found")
	ErrKeyMismatch   = errors.New("Certificate and key do not match")
)

// InvalidPEMError is a validation failure: Kind is one of the three sentinels above,
// Details says what exactly was wrong.
type InvalidPEMError struct {
	Kind    error
	Details string
}

func (e *InvalidPEMError) Error() string {
	if e.Details == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Details
}

func (e *InvalidPEMError) Unwrap() error { return e.Kind }

func invalid(kind error, format string, args ...any) error {
	return &InvalidPEMError{Kind: kind, Details: fmt.Sprintf(format, args...)}
}

// Bundle is a validated PEM bundle: an RSA key and its certificate chain (leaf first).
type Bundle struct {
	Key   *rsa.PrivateKey
	Chain []*x509.Certificate
	// KeyPEM and ChainPEM are the key and the certificates re-encoded as PEM.
	KeyPEM   []byte
	ChainPEM []byte
}

// ParseBundle validates data as the seed's PEM bundle (unencrypted RSA key, certificate
// and chain, in any order of blocks; the first certificate is the leaf).
func ParseBundle(data []byte) (*Bundle, error) {
	var (
		b        Bundle
		keyErr   string
		certErrs []string
		rest     = data
	)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				certErrs = append(certErrs, err.Error())
				continue
			}
			b.Chain = append(b.Chain, c)
			b.ChainPEM = append(b.ChainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})...)
		case "RSA PRIVATE KEY", "PRIVATE KEY":
			if b.Key != nil {
				continue
			}
			if _, enc := block.Headers["DEK-Info"]; enc || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
				keyErr = "the private key is encrypted"
				continue
			}
			key, err := parseRSAKey(block)
			if err != nil {
				keyErr = err.Error()
				continue
			}
			b.Key = key
			b.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		case "ENCRYPTED PRIVATE KEY":
			keyErr = "the private key is encrypted"
		case "EC PRIVATE KEY":
			keyErr = "the private key is an EC key, not RSA"
		}
	}
	if len(b.Chain) == 0 {
		if len(certErrs) > 0 {
			return nil, invalid(ErrNoCertificate, "unparsable certificate: %s", certErrs[0])
		}
		return nil, invalid(ErrNoCertificate, "no PEM CERTIFICATE block in the data")
	}
	if b.Key == nil {
		if keyErr == "" {
			keyErr = "no PEM RSA PRIVATE KEY or PRIVATE KEY block in the data"
		}
		return nil, invalid(ErrNoRSAKey, "%s", keyErr)
	}
	pub, ok := b.Chain[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, invalid(ErrKeyMismatch, "the first certificate's public key is not RSA")
	}
	if pub.N.Cmp(b.Key.N) != 0 || pub.E != b.Key.E {
		return nil, invalid(ErrKeyMismatch, "the first certificate's modulus differs from the key's")
	}
	return &b, nil
}

func parseRSAKey(block *pem.Block) (*rsa.PrivateKey, error) {
	if block.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("unparsable RSA key: %v", err)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("unparsable PKCS#8 key: %v", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is a %T, not RSA", k)
	}
	return rk, nil
}

// TLSCertificate returns the bundle as a certificate usable by crypto/tls.
func (b *Bundle) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(b.ChainPEM, b.KeyPEM)
}
