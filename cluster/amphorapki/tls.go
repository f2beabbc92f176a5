package amphorapki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// MinTLSVersion is the oldest TLS version either side accepts (the agent's, and
// Octavia's agent_tls_protocol default).
const MinTLSVersion = tls.VersionTLS12

func caPool(caPEM []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("amphora CA: no PEM CA certificate to trust")
	}
	return p, nil
}

// ServerTLS is the agent's side of the mutual TLS: it serves the amphora's
// certificate and requires a client certificate, for client authentication, that
// the CA in caPEM signed. It is what keel-agent builds from -tls-cert, -tls-key and
// -client-ca (agent/api.TLSConfig).
func ServerTLS(caPEM []byte, server *Issued) (*tls.Config, error) {
	if server == nil {
		return nil, errors.New("amphora CA: server certificate required")
	}
	pool, err := caPool(caPEM)
	if err != nil {
		return nil, err
	}
	cert, err := server.TLSCertificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   MinTLSVersion,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// ClientTLS is a node's side of the mutual TLS to one amphora: it presents the
// node's client certificate and accepts only a server certificate, for server
// authentication, that the CA in caPEM signed for amphoraID (the name is asserted
// whatever address the node dials, as Octavia asserts the amphora id).
func ClientTLS(caPEM []byte, client *Issued, amphoraID string) (*tls.Config, error) {
	if client == nil {
		return nil, errors.New("amphora CA: client certificate required")
	}
	if amphoraID == "" {
		return nil, errors.New("amphora CA: amphora id required")
	}
	pool, err := caPool(caPEM)
	if err != nil {
		return nil, err
	}
	cert, err := client.TLSCertificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: MinTLSVersion,
		// Always present the certificate, even to an agent that names other CAs
		// as acceptable, so an agent trusting a stale CA logs "unknown authority"
		// rather than "no certificate".
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		RootCAs:              pool,
		ServerName:           amphoraID,
	}, nil
}
