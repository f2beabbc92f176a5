package api

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
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
// by clientCAs required and verified before any request is read.
func TLSConfig(sc *ServerCert, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      clientCAs,
		GetCertificate: sc.GetCertificate,
	}
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
