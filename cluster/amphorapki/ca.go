// Package amphorapki owns the credentials the cluster shares with its amphorae: the
// amphora certificate authority (generated at bootstrap or given with flags, kept as
// PEM so it can be replicated), the certificates it issues — one server certificate per
// amphora, whose name is the amphora id, and a client certificate per node — the
// *tls.Config of each side of the mutual TLS between a node and a keel-agent, and the
// cluster's heartbeat key. docs/amphora-pki.md is the contract.
//
// Key types: the CA key is ECDSA P-256 (every TLS stack an operator may point at an
// agent verifies it, in TLS 1.2 and 1.3 and in FIPS modes, which Ed25519 certificates
// cannot claim; and it signs in microseconds where an RSA CA costs a slow key
// generation at bootstrap). Amphora server keys are RSA 2048,
// because the agent's PUT /certificate (seed 002, agent/certs) accepts only RSA keys, so
// rotation through the agent API needs them. Node client keys are ECDSA P-256.
package amphorapki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"time"

	"keel/agent/ident"
)

// DefaultValidity is how long an issued certificate is valid: Octavia's
// [certificates] cert_validity_time, 63072000 s (730 days).
const DefaultValidity = 730 * 24 * time.Hour

// DefaultCAValidity is how long a generated CA is valid.
const DefaultCAValidity = 10 * 365 * 24 * time.Hour

// RotationBuffer is Octavia's [house_keeping] cert_expiry_buffer (1209600 s): an
// amphora whose certificate expires within it is due for rotation.
const RotationBuffer = 14 * 24 * time.Hour

// backdate makes a new certificate valid slightly before it was issued, so a peer
// whose clock is a little behind accepts it at once.
const backdate = 5 * time.Minute

// Options tune a CA; the zero value is usable.
type Options struct {
	// Validity of the certificates the CA issues; DefaultValidity when zero. An
	// issued certificate never outlives the CA: its NotAfter is capped at the CA's.
	Validity time.Duration
	// CAValidity of a generated CA; DefaultCAValidity when zero. Load ignores it.
	CAValidity time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Validity <= 0 {
		o.Validity = DefaultValidity
	}
	if o.CAValidity <= 0 {
		o.CAValidity = DefaultCAValidity
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Material is a CA as it is stored and replicated: plain PEM, no protobuf.
type Material struct {
	// CertPEM is the CA certificate, PEM "CERTIFICATE". Further certificates (the
	// chain above an operator's intermediate CA) are kept but not used: both sides
	// trust the CA certificate itself.
	CertPEM []byte `json:"cert_pem"`
	// KeyPEM is the CA's private key, PEM (PKCS#8 "PRIVATE KEY" when generated; SEC1
	// "EC PRIVATE KEY" and PKCS#1 "RSA PRIVATE KEY" are accepted too). Unencrypted.
	KeyPEM []byte `json:"key_pem"`
}

// CA is the cluster's amphora certificate authority. It is safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte // the CA certificate alone
	rest    []byte // further certificates of Material.CertPEM, kept for Material
	keyPEM  []byte
	pool    *x509.CertPool
	opts    Options
}

// Generate makes a new self-signed CA (ECDSA P-256) named name.
func Generate(name string, opts Options) (*CA, error) {
	opts = opts.withDefaults()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"keel"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(opts.CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // it signs leaves only
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return Load(Material{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, opts)
}

// LoadFiles loads a CA given by flags: a PEM certificate file (the CA certificate
// first) and its PEM key file.
func LoadFiles(certFile, keyFile string, opts Options) (*CA, error) {
	c, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("amphora CA certificate: %w", err)
	}
	k, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("amphora CA key: %w", err)
	}
	return Load(Material{CertPEM: c, KeyPEM: k}, opts)
}

// Load checks m and returns its CA: the first certificate must be a CA certificate
// that may sign certificates, valid now, and the key must be its key.
func Load(m Material, opts Options) (*CA, error) {
	opts = opts.withDefaults()
	certs, err := parseCerts(m.CertPEM)
	if err != nil {
		return nil, err
	}
	cert := certs[0]
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("amphora CA: certificate %q is not a CA certificate (basic constraints CA:TRUE missing)", cert.Subject)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("amphora CA: certificate %q may not sign certificates (key usage lacks keyCertSign)", cert.Subject)
	}
	if now := opts.Now(); now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return nil, fmt.Errorf("amphora CA: certificate %q is valid from %s to %s, not now (%s)",
			cert.Subject, cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	key, err := parseKey(m.KeyPEM)
	if err != nil {
		return nil, err
	}
	if !publicKeyEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("amphora CA: the key is not the certificate's key")
	}
	ca := &CA{cert: cert, key: key, keyPEM: bytes.Clone(m.KeyPEM), pool: x509.NewCertPool(), opts: opts}
	ca.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	for _, c := range certs[1:] {
		ca.rest = append(ca.rest, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	ca.pool.AddCert(cert)
	return ca, nil
}

func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("amphora CA: certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("amphora CA: no PEM CERTIFICATE block")
	}
	return out, nil
}

func parseKey(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("amphora CA: no PEM private key block (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")
		}
		if _, enc := b.Headers["DEK-Info"]; enc {
			return nil, errors.New("amphora CA: the private key is encrypted; give it unencrypted")
		}
		var (
			k   any
			err error
		)
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("amphora CA: the private key is encrypted; give it unencrypted")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("amphora CA: %s: %w", b.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("amphora CA: a %T cannot sign", k)
		}
		return s, nil
	}
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	switch k := a.(type) {
	case *ecdsa.PublicKey:
		return k.Equal(b)
	case *rsa.PublicKey:
		return k.Equal(b)
	case ed25519.PublicKey:
		return k.Equal(b)
	}
	return false
}

// newSerial is a random positive 127-bit serial (RFC 5280 allows 20 octets).
func newSerial() *big.Int {
	max := new(big.Int).Lsh(big.NewInt(1), 127)
	for {
		n, err := rand.Int(rand.Reader, max)
		if err == nil && n.Sign() > 0 {
			return n
		}
	}
}

// Material is the CA as PEM, for storing and replicating it.
func (ca *CA) Material() Material {
	return Material{CertPEM: append(bytes.Clone(ca.certPEM), ca.rest...), KeyPEM: bytes.Clone(ca.keyPEM)}
}

// CertPEM is the CA certificate alone (PEM): what both sides trust, e.g. the agent's
// -client-ca file.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// Certificate is the parsed CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Pool is a certificate pool holding the CA certificate.
func (ca *CA) Pool() *x509.CertPool { return ca.pool.Clone() }

// Issued is a certificate the CA issued, with its key.
type Issued struct {
	// CertPEM is the certificate, PEM.
	CertPEM []byte
	// KeyPEM is the certificate's private key, PKCS#8 PEM.
	KeyPEM []byte
	// NotAfter is when the certificate expires: an amphora record's cert_expiration
	// (the API shows it in microseconds: NotAfter.UnixMicro()).
	NotAfter time.Time
	// Serial is the certificate's serial number.
	Serial *big.Int
}

// Bundle is the key followed by the certificate: the body of the agent's
// PUT /certificate, and a file usable as both -tls-cert and -tls-key.
func (i *Issued) Bundle() []byte {
	return append(bytes.Clone(i.KeyPEM), i.CertPEM...)
}

// TLSCertificate is the certificate usable by crypto/tls.
func (i *Issued) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(i.CertPEM, i.KeyPEM)
}

// IssueAmphora issues an amphora's server certificate: common name and DNS name the
// amphora id (what a node asserts when it connects, as Octavia asserts the hostname),
// IP addresses the addresses the agent listens on (e.g. its 127.x lb_network_ip),
// usable for TLS server authentication only, with an RSA 2048 key (see the package
// comment).
func (ca *CA) IssueAmphora(amphoraID string, ips ...netip.Addr) (*Issued, error) {
	if !ident.ValidUUID(amphoraID) {
		return nil, fmt.Errorf("amphora CA: amphora id %q is not a UUID", amphoraID)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: amphoraID, Organization: []string{"keel amphora"}},
		DNSNames:    []string{amphoraID},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range ips {
		if !ip.IsValid() {
			return nil, errors.New("amphora CA: invalid IP address")
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.Unmap().AsSlice()))
	}
	return ca.issue(tmpl, key)
}

// IssueNode issues a node's client certificate (common name "keel node <name>"),
// usable for TLS client authentication only, with an ECDSA P-256 key.
func (ca *CA) IssueNode(nodeName string) (*Issued, error) {
	if nodeName == "" {
		return nil, errors.New("amphora CA: node name required")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "keel node " + nodeName, Organization: []string{"keel node"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl, key)
}

func (ca *CA) issue(tmpl *x509.Certificate, key crypto.Signer) (*Issued, error) {
	now := ca.opts.Now()
	tmpl.SerialNumber = newSerial()
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(ca.opts.Validity)
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("amphora CA: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Issued{
		CertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		NotAfter: cert.NotAfter,
		Serial:   cert.SerialNumber,
	}, nil
}
