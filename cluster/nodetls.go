package cluster

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"time"
)

// nodeTLSLabel separates the node-to-node TLS identity from every other use of
// the cluster key (memberlist uses the key itself).
const nodeTLSLabel = "keel node-to-node TLS identity v1"

// NodeTLS derives, from the cluster key (-gossip-key), a TLS configuration that
// encrypts node-to-node connections and authenticates both ends: every node holds
// the same Ed25519 key pair, derived from the key, and accepts a peer only if the
// peer's certificate carries that public key (TLS 1.3's CertificateVerify proves
// the peer holds the private key). No CA, no certificate files: holding the
// cluster key is the membership credential, as it is for gossip. The same config
// serves as server and client.
func NodeTLS(key []byte) (*tls.Config, error) {
	if len(key) == 0 {
		return nil, errors.New("cluster: node TLS needs a key")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(nodeTLSLabel))
	priv := ed25519.NewKeyFromSeed(mac.Sum(nil))
	pub := priv.Public().(ed25519.PublicKey)

	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "keel node"},
		DNSNames:     []string{"keel"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, err
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("cluster: peer sent no certificate")
		}
		cert, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		if pk, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !pk.Equal(pub) {
			return errors.New("cluster: peer does not hold the cluster key")
		}
		return nil
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv}},
		ClientAuth:   tls.RequireAnyClientCert,
		// Chain verification is replaced by pinning the derived public key.
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: verify,
	}, nil
}
