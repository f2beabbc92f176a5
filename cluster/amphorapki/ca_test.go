package amphorapki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keel/agent/agentclient"
	"keel/agent/api"
	"keel/agent/certs"
)

const (
	amp1 = "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce"
	amp2 = "0c5a3a4e-8d2b-4c1e-9f3a-2b7d6e5f4a31"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func mustCA(t testing.TB, name string, opts Options) *CA {
	t.Helper()
	ca, err := Generate(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustAmphora(t testing.TB, ca *CA, id string) *Issued {
	t.Helper()
	c, err := ca.IssueAmphora(id, loopback)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustNode(t testing.TB, ca *CA, name string) *Issued {
	t.Helper()
	c, err := ca.IssueNode(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseLeaf(t *testing.T, i *Issued) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(i.CertPEM)
	if b == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs one mutual TLS handshake over 127.0.0.1 and one byte each way; it
// returns the server's and the client's errors.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, server)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(tc, buf); err != nil {
			done <- err
			return
		}
		_, err = tc.Write(buf)
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(c, client)
	clientErr = tc.Handshake()
	if clientErr == nil {
		// TLS 1.3: the server judges the client's certificate after the client's
		// handshake returned, so the refusal shows on the first read.
		if _, clientErr = tc.Write([]byte{'k'}); clientErr == nil {
			_, clientErr = io.ReadFull(tc, make([]byte, 1))
		}
	}
	c.Close()
	return <-done, clientErr
}

func TestMutualTLS(t *testing.T) {
	ca := mustCA(t, "keel amphora CA", Options{})
	other := mustCA(t, "another CA", Options{})
	// Issued three years ago for one hour: expired now, by a CA valid now.
	past := Options{Now: func() time.Time { return time.Now().Add(-3 * 365 * 24 * time.Hour) }, Validity: time.Hour}
	oldCA := mustCA(t, "old CA", past) // valid now, its certificates are not
	node := mustNode(t, ca, "node-1")
	server1 := mustAmphora(t, ca, amp1)

	cases := []struct {
		name       string
		serverCA   []byte
		server     *Issued
		clientCA   []byte
		client     *Issued
		amphora    string
		refusedBy  string // "", "server" or "client"
		wantReason string
	}{
		{name: "both verified", serverCA: ca.CertPEM(), server: server1, clientCA: ca.CertPEM(), client: node, amphora: amp1},
		{name: "client of another CA", serverCA: ca.CertPEM(), server: server1, clientCA: ca.CertPEM(),
			client: mustNode(t, other, "intruder"), amphora: amp1, refusedBy: "server", wantReason: "unknown authority"},
		{name: "server of another CA", serverCA: other.CertPEM(), server: mustAmphora(t, other, amp1), clientCA: ca.CertPEM(),
			client: node, amphora: amp1, refusedBy: "client", wantReason: "unknown authority"},
		{name: "server certificate for another amphora", serverCA: ca.CertPEM(), server: mustAmphora(t, ca, amp2),
			clientCA: ca.CertPEM(), client: node, amphora: amp1, refusedBy: "client", wantReason: "valid for " + amp2 + ", not " + amp1},
		{name: "expired server certificate", serverCA: ca.CertPEM(), server: mustAmphora(t, oldCA, amp1),
			clientCA: oldCA.CertPEM(), client: node, amphora: amp1, refusedBy: "client", wantReason: "expired"},
		{name: "expired client certificate", serverCA: oldCA.CertPEM(), server: server1, clientCA: ca.CertPEM(),
			client: mustNode(t, oldCA, "node-1"), amphora: amp1, refusedBy: "server", wantReason: "expired"},
		{name: "an amphora's certificate is no client certificate", serverCA: ca.CertPEM(), server: server1,
			clientCA: ca.CertPEM(), client: mustAmphora(t, ca, amp2), amphora: amp1, refusedBy: "server", wantReason: "key usage"},
		{name: "a node's certificate is no amphora's", serverCA: ca.CertPEM(), server: node,
			clientCA: ca.CertPEM(), client: node, amphora: amp1, refusedBy: "client", wantReason: "not valid for any names"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := ServerTLS(tc.serverCA, tc.server)
			if err != nil {
				t.Fatal(err)
			}
			cc, err := ClientTLS(tc.clientCA, tc.client, tc.amphora)
			if err != nil {
				t.Fatal(err)
			}
			serr, cerr := handshake(t, sc, cc)
			switch tc.refusedBy {
			case "":
				if serr != nil || cerr != nil {
					t.Fatalf("server: %v, client: %v", serr, cerr)
				}
			case "server":
				if serr == nil || !strings.Contains(serr.Error(), tc.wantReason) {
					t.Fatalf("server error %v, want %q", serr, tc.wantReason)
				}
				if cerr == nil {
					t.Fatal("the client carried on after the server refused it")
				}
			case "client":
				if cerr == nil || !strings.Contains(cerr.Error(), tc.wantReason) {
					t.Fatalf("client error %v, want %q", cerr, tc.wantReason)
				}
				if serr == nil {
					t.Fatal("the server carried on after the client refused it")
				}
			}
		})
	}
}

// The issued material works with the real agent's TLS (files, -client-ca,
// PUT /certificate rotation) and the real controller client's.
func TestWithTheAgentsOwnTLS(t *testing.T) {
	ca := mustCA(t, "keel amphora CA", Options{})
	node := mustNode(t, ca, "node-1")
	first := mustAmphora(t, ca, amp1)
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "client_ca.pem")
	for f, b := range map[string][]byte{certFile: first.CertPEM, keyFile: first.KeyPEM, caFile: ca.CertPEM()} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := api.LoadServerCert(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs, err := api.LoadCAPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	agentTLS := api.TLSConfig(sc, clientCAs)
	nodeCert, err := node.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	controllerTLS := agentclient.TLSConfig(nodeCert, ca.Pool(), amp1)

	served := func() *big.Int {
		t.Helper()
		// tls.Client hands the peer's certificates to VerifyConnection.
		var serial *big.Int
		cc := controllerTLS.Clone()
		cc.VerifyConnection = func(cs tls.ConnectionState) error { serial = cs.PeerCertificates[0].SerialNumber; return nil }
		if serr, cerr := handshake(t, agentTLS, cc); serr != nil || cerr != nil {
			t.Fatalf("agent: %v, controller: %v", serr, cerr)
		}
		return serial
	}
	if got := served(); got.Cmp(first.Serial) != 0 {
		t.Fatalf("served serial %v, issued %v", got, first.Serial)
	}
	// Rotation: the agent's PUT /certificate takes the bundle (seed rules: RSA key).
	second := mustAmphora(t, ca, amp1)
	if _, err := certs.ParseBundle(second.Bundle()); err != nil {
		t.Fatalf("the agent refuses the bundle: %v", err)
	}
	if err := sc.Replace(second.Bundle()); err != nil {
		t.Fatal(err)
	}
	if got := served(); got.Cmp(second.Serial) != 0 {
		t.Fatalf("after rotation served serial %v, issued %v", got, second.Serial)
	}
	// The bundle also works as one file for both -tls-cert and -tls-key.
	if _, err := tls.X509KeyPair(second.Bundle(), second.Bundle()); err != nil {
		t.Fatal(err)
	}
}

func TestIssuedCertificates(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	ca := mustCA(t, "keel amphora CA", Options{Now: clock})
	short := mustCA(t, "short-lived CA", Options{Now: clock, CAValidity: 24 * time.Hour})
	custom, err := Load(ca.Material(), Options{Now: clock, Validity: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ip6 := netip.MustParseAddr("::1")
	issueAmp := func(c *CA, ips ...netip.Addr) func() (*Issued, error) {
		return func() (*Issued, error) { return c.IssueAmphora(amp1, ips...) }
	}
	cases := []struct {
		name      string
		issue     func() (*Issued, error)
		cn        string
		dns       []string
		ips       []string
		usage     x509.ExtKeyUsage
		keyType   string
		notAfter  time.Time
		wantError string
	}{
		{name: "amphora, default validity", issue: issueAmp(ca, loopback, ip6), cn: amp1, dns: []string{amp1},
			ips: []string{"127.0.0.1", "::1"}, usage: x509.ExtKeyUsageServerAuth, keyType: "rsa", notAfter: now.Add(DefaultValidity)},
		{name: "amphora, flag validity", issue: issueAmp(custom, loopback), cn: amp1, dns: []string{amp1},
			ips: []string{"127.0.0.1"}, usage: x509.ExtKeyUsageServerAuth, keyType: "rsa", notAfter: now.Add(90 * 24 * time.Hour)},
		{name: "amphora, capped at the CA's expiry", issue: issueAmp(short), cn: amp1, dns: []string{amp1},
			usage: x509.ExtKeyUsageServerAuth, keyType: "rsa", notAfter: now.Add(24 * time.Hour)},
		{name: "amphora, 4-in-6 address unmapped", issue: issueAmp(ca, netip.MustParseAddr("::ffff:127.0.0.7")), cn: amp1,
			dns: []string{amp1}, ips: []string{"127.0.0.7"}, usage: x509.ExtKeyUsageServerAuth, keyType: "rsa", notAfter: now.Add(DefaultValidity)},
		{name: "node", issue: func() (*Issued, error) { return ca.IssueNode("node-1") }, cn: "keel node node-1",
			usage: x509.ExtKeyUsageClientAuth, keyType: "ecdsa", notAfter: now.Add(DefaultValidity)},
		{name: "amphora id not a UUID", issue: func() (*Issued, error) { return ca.IssueAmphora("../etc", loopback) }, wantError: "not a UUID"},
		{name: "invalid address", issue: issueAmp(ca, netip.Addr{}), wantError: "invalid IP"},
		{name: "node without a name", issue: func() (*Issued, error) { return ca.IssueNode("") }, wantError: "node name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.issue()
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("error %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := parseLeaf(t, got)
			if c.Subject.CommonName != tc.cn || strings.Join(c.DNSNames, ",") != strings.Join(tc.dns, ",") {
				t.Errorf("CN %q DNS %v, want %q %v", c.Subject.CommonName, c.DNSNames, tc.cn, tc.dns)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if strings.Join(ips, ",") != strings.Join(tc.ips, ",") {
				t.Errorf("IPs %v, want %v", ips, tc.ips)
			}
			if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != tc.usage || c.IsCA {
				t.Errorf("ext key usage %v (CA %v), want only %v", c.ExtKeyUsage, c.IsCA, tc.usage)
			}
			if !c.NotAfter.Equal(tc.notAfter) || !got.NotAfter.Equal(tc.notAfter) {
				t.Errorf("NotAfter %s (reported %s), want %s", c.NotAfter, got.NotAfter, tc.notAfter)
			}
			if !c.NotBefore.Before(now) || got.Serial.Cmp(c.SerialNumber) != 0 || c.SerialNumber.Sign() <= 0 {
				t.Errorf("NotBefore %s, serial %v / %v", c.NotBefore, got.Serial, c.SerialNumber)
			}
			switch k := c.PublicKey.(type) {
			case *rsa.PublicKey:
				if tc.keyType != "rsa" || k.N.BitLen() != 2048 {
					t.Errorf("RSA %d bits, want %s", k.N.BitLen(), tc.keyType)
				}
			case *ecdsa.PublicKey:
				if tc.keyType != "ecdsa" || k.Curve != elliptic.P256() {
					t.Errorf("ECDSA %v, want %s", k.Curve.Params().Name, tc.keyType)
				}
			default:
				t.Errorf("key %T", k)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil &&
				!strings.Contains(tc.name, "capped") {
				t.Errorf("does not verify against the CA: %v", err)
			}
			if _, err := got.TLSCertificate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestGeneratedCA(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ca := mustCA(t, "keel amphora CA", Options{Now: func() time.Time { return now }})
	c := ca.Certificate()
	if !c.IsCA || !c.MaxPathLenZero || c.KeyUsage&x509.KeyUsageCertSign == 0 || c.Subject.CommonName != "keel amphora CA" {
		t.Fatalf("CA certificate: IsCA %v, MaxPathLenZero %v, usage %v, subject %v", c.IsCA, c.MaxPathLenZero, c.KeyUsage, c.Subject)
	}
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Fatalf("CA key %T, want ECDSA P-256", c.PublicKey)
	}
	if !c.NotAfter.Equal(now.Add(DefaultCAValidity)) {
		t.Fatalf("CA NotAfter %s", c.NotAfter)
	}
	// Round trip through Material (what Raft stores): the same CA.
	m := ca.Material()
	again, err := Load(m, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Certificate().Equal(c) || string(again.Material().KeyPEM) != string(m.KeyPEM) {
		t.Fatal("Material round trip changed the CA")
	}
	issued, err := again.IssueNode("n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseLeaf(t, issued).Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("a certificate of the reloaded CA does not verify against the original: %v", err)
	}
	if strings.Count(string(m.CertPEM), "BEGIN CERTIFICATE") != 1 || !strings.Contains(string(m.KeyPEM), "BEGIN PRIVATE KEY") {
		t.Fatalf("material:\n%s%s", m.CertPEM, m.KeyPEM)
	}
}

// operatorCA makes a CA as an operator might with openssl: RSA or EC keys in the
// traditional PEM encodings, optionally not a CA at all.
func operatorCA(t *testing.T, isCA bool, keyType string, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	var (
		pub  any
		priv any
		kpem []byte
	)
	switch keyType {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
		kpem = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	case "ec":
		k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		der, _ := x509.MarshalECPrivateKey(k)
		pub, priv = &k.PublicKey, k
		kpem = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "operator CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter, IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	if !isCA {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), kpem
}

func TestLoadFiles(t *testing.T) {
	future := time.Now().Add(365 * 24 * time.Hour)
	rsaCert, rsaKey := operatorCA(t, true, "rsa", future)
	ecCert, ecKey := operatorCA(t, true, "ec", future)
	leafCert, leafKey := operatorCA(t, false, "ec", future)
	expiredCert, expiredKey := operatorCA(t, true, "ec", time.Now().Add(-time.Hour))
	gen := mustCA(t, "generated", Options{}).Material()
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}})
	cases := []struct {
		name      string
		cert, key []byte
		wantError string
	}{
		{name: "RSA CA, PKCS#1 key", cert: rsaCert, key: rsaKey},
		{name: "EC P-384 CA, SEC1 key", cert: ecCert, key: ecKey},
		{name: "generated, with a chain certificate after it", cert: append(append([]byte{}, gen.CertPEM...), rsaCert...), key: gen.KeyPEM},
		{name: "not a CA", cert: leafCert, key: leafKey, wantError: "not a CA certificate"},
		{name: "expired", cert: expiredCert, key: expiredKey, wantError: "not now"},
		{name: "key of another certificate", cert: rsaCert, key: ecKey, wantError: "not the certificate's key"},
		{name: "encrypted key", cert: ecCert, key: encrypted, wantError: "encrypted"},
		{name: "no certificate", cert: rsaKey, key: rsaKey, wantError: "no PEM CERTIFICATE"},
		{name: "no key", cert: rsaCert, key: rsaCert, wantError: "no PEM private key"},
		{name: "garbage certificate", cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), key: rsaKey, wantError: "certificate 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cf, kf := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")
			os.WriteFile(cf, tc.cert, 0o600)
			os.WriteFile(kf, tc.key, 0o600)
			ca, err := LoadFiles(cf, kf, Options{})
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("error %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			issued := mustAmphora(t, ca, amp1)
			if _, err := parseLeaf(t, issued).Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: amp1}); err != nil {
				t.Fatal(err)
			}
			if m := ca.Material(); string(m.CertPEM) != string(pemCerts(tc.cert)) {
				t.Fatalf("Material does not keep the certificate file's certificates")
			}
		})
	}
	if _, err := LoadFiles(filepath.Join(t.TempDir(), "missing"), "x", Options{}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// pemCerts re-encodes the CERTIFICATE blocks of data.
func pemCerts(data []byte) []byte {
	var out []byte
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: b.Bytes})...)
	}
}

func TestTLSConfigArguments(t *testing.T) {
	ca := mustCA(t, "c", Options{})
	node := mustNode(t, ca, "n")
	cases := []struct {
		name string
		make func() (*tls.Config, error)
		want string
	}{
		{"server without certificate", func() (*tls.Config, error) { return ServerTLS(ca.CertPEM(), nil) }, "server certificate required"},
		{"server without CA", func() (*tls.Config, error) { return ServerTLS(nil, node) }, "no PEM CA"},
		{"client without certificate", func() (*tls.Config, error) { return ClientTLS(ca.CertPEM(), nil, amp1) }, "client certificate required"},
		{"client without amphora id", func() (*tls.Config, error) { return ClientTLS(ca.CertPEM(), node, "") }, "amphora id required"},
		{"client with a broken key", func() (*tls.Config, error) {
			return ClientTLS(ca.CertPEM(), &Issued{CertPEM: node.CertPEM, KeyPEM: []byte("x")}, amp1)
		}, "key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.make(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewHeartbeatKey(t *testing.T) {
	seen := map[string]bool{}
	for range 16 {
		k := NewHeartbeatKey()
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != HeartbeatKeyBytes || len(k) != 64 || strings.ToLower(k) != k {
			t.Fatalf("key %q: %v", k, err)
		}
		if seen[k] {
			t.Fatal("the same key twice")
		}
		seen[k] = true
	}
}
