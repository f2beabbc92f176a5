package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"

	"keel/agent/atomicfile"
	"keel/agent/certs"
)

// ServerCert is the agent's server certificate, replaceable while serving: the TLS
// config asks it for the certificate of every handshake.
type ServerCert struct {
	cur      atomic.Pointer[tls.Certificate]
	certPath string
	keyPath  string
}

// LoadServerCert reads the certificate and key files.
func LoadServerCert(certPath, keyPath string) (*ServerCert, error) {
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	s := &ServerCert{certPath: certPath, keyPath: keyPath}
	s.cur.Store(&c)
	return s, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (s *ServerCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cur.Load(), nil
}

// Current is the certificate now served.
func (s *ServerCert) Current() *tls.Certificate { return s.cur.Load() }

// Replace validates a PEM bundle (the seed's rules), writes it over the certificate
// and key files (so a restarted agent serves it too) and serves it from the next
// handshake on.
func (s *ServerCert) Replace(pemData []byte) error {
	b, err := certs.ParseBundle(pemData)
	if err != nil {
		return err
	}
	c, err := b.TLSCertificate()
	if err != nil {
		return &certs.InvalidPEMError{Kind: certs.ErrKeyMismatch, Details: err.Error()}
	}
	if err := atomicfile.Write(s.keyPath, b.KeyPEM, 0o600); err != nil {
		return err
	}
	if err := atomicfile.Write(s.certPath, b.ChainPEM, 0o600); err != nil {
		return err
	}
	s.cur.Store(&c)
	return nil
}

// TLSConfig is the agent's mutual TLS: TLS 1.2 or later, a client certificate signed
// by clientCAs required and verified before any request is read, and that certificate
// made for TLS client authentication (CheckClientCertificate).
func TLSConfig(sc *ServerCert, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      clientCAs,
		GetCertificate: sc.GetCertificate,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no client certificate")
			}
			return CheckClientCertificate(cs.PeerCertificates[0])
		},
	}
}

// CheckClientCertificate refuses a client certificate that was not issued for TLS
// client authentication, beyond the chain check crypto/tls makes (which accepts a
// certificate without extended key usage and never looks at key usage):
//
//   - it must not be a CA certificate;
//   - its extended key usage must be present and name clientAuth (id-kp-clientAuth);
//   - its key usage, when present, must include digitalSignature: the client proves
//     it holds the key by signing the handshake (RFC 5280 §4.2.1.12 pairs clientAuth
//     with digitalSignature or keyAgreement; crypto/tls has no static key agreement).
//
// OpenSSL's "sslclient" purpose, which Octavia's agent gets, checks the last two
// except that it lets a certificate without extended key usage through.
func CheckClientCertificate(c *x509.Certificate) error {
	switch {
	case c.BasicConstraintsValid && c.IsCA:
		return errors.New("client certificate: a CA certificate is not a client certificate")
	case !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth):
		return errors.New("client certificate: extended key usage clientAuth required")
	case c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		return errors.New("client certificate: key usage digitalSignature required")
	}
	return nil
}

// LoadCAPool reads a PEM file of CA certificates.
func LoadCAPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("client CA %s: no PEM certificate", path)
	}
	return p, nil
}
