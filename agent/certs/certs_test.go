package certs_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keel/agent/agenttest"
	"keel/agent/certs"
	"keel/agent/ident"
)

const listener = "04bff5c3-5862-4a13-b9e3-9b440d0ed50a"

func TestParseBundle(t *testing.T) {
	ca := agenttest.NewCA(t, "ca")
	a := ca.Server(t, "a.example.com")
	b := ca.Server(t, "b.example.com")
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(a.Key)
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{
		"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"}, Bytes: []byte("xx")})

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"key cert chain", append(a.Bundle(), ca.CertPEM...), nil},
		{"cert before key", append(append([]byte{}, a.CertPEM...), a.KeyPEM...), nil},
		{"pkcs8 key", append(append([]byte{}, pkcs8PEM...), a.CertPEM...), nil},
		{"empty", nil, certs.ErrNoCertificate},
		{"garbage", []byte("hello"), certs.ErrNoCertificate},
		{"key only", a.KeyPEM, certs.ErrNoCertificate},
		{"cert only", a.CertPEM, certs.ErrNoRSAKey},
		{"encrypted key", append(append([]byte{}, encrypted...), a.CertPEM...), certs.ErrNoRSAKey},
		{"ec key", ca.ECBundle(t, "ec"), certs.ErrNoRSAKey},
		{"mismatch", append(append([]byte{}, b.KeyPEM...), a.CertPEM...), certs.ErrKeyMismatch},
		{"chain first", append(append(append([]byte{}, a.KeyPEM...), ca.CertPEM...), a.CertPEM...), certs.ErrKeyMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bundle, err := certs.ParseBundle(c.data)
			if c.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if _, err := bundle.TLSCertificate(); err != nil {
					t.Fatalf("TLSCertificate: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var ie *certs.InvalidPEMError
			if !errors.As(err, &ie) || ie.Details == "" {
				t.Fatalf("want InvalidPEMError with details, got %#v", err)
			}
		})
	}
}

func TestStore(t *testing.T) {
	ca := agenttest.NewCA(t, "ca")
	a := ca.Server(t, "www.example.com")
	dir := filepath.Join(t.TempDir(), "certs")
	s, err := certs.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Put(listener, "www.example.com.pem", a.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.MD5(listener, "www.example.com.pem")
	if err != nil || got != sum || len(sum) != 32 {
		t.Fatalf("md5 %q %q %v", got, sum, err)
	}
	st, err := os.Stat(filepath.Join(dir, listener, "www.example.com.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat %v %v", st, err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", st.Mode())
	}
	for _, bad := range []string{"../x.pem", "x.crt", "..pem"} {
		if _, err := s.Put(listener, bad, a.Bundle()); !errors.Is(err, certs.ErrBadFilename) {
			t.Errorf("Put(%q) = %v", bad, err)
		}
	}
	if _, err := s.Put(listener, "bad.pem", a.CertPEM); !errors.Is(err, certs.ErrNoRSAKey) {
		t.Fatalf("Put invalid = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, listener, "bad.pem")); !os.IsNotExist(err) {
		t.Fatalf("invalid upload was written: %v", err)
	}
	var nf *certs.NotFoundError
	if _, err := s.MD5(listener, "nope.pem"); !errors.As(err, &nf) {
		t.Fatalf("MD5 missing = %v", err)
	}
	if err := s.Delete(listener, "www.example.com.pem"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(listener, "www.example.com.pem"); !errors.As(err, &nf) {
		t.Fatalf("second delete = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, listener)); !os.IsNotExist(err) {
		t.Fatalf("empty listener dir kept: %v", err)
	}
}

// Every file name that passes validation can be stored (the temporary sibling it is
// written through fits NAME_MAX too), and every longer one is refused as a bad name,
// never reaching the file system (which answered "file name too long" with the
// agent's paths).
func TestStoreFilenameLength(t *testing.T) {
	ca := agenttest.NewCA(t, "ca")
	a := ca.Server(t, "www.example.com")
	s, err := certs.NewStore(filepath.Join(t.TempDir(), "certs"))
	if err != nil {
		t.Fatal(err)
	}
	name := func(n int) string { return strings.Repeat("a", n-len(".pem")) + ".pem" }
	cases := []struct {
		length int
		ok     bool
	}{
		{5, true}, {64 + len("WILDCARD.pem"), true}, {ident.MaxCertFilename - 1, true}, {ident.MaxCertFilename, true},
		{ident.MaxCertFilename + 1, false}, {240, false}, {255, false}, {256, false}, {4096, false},
	}
	for _, c := range cases {
		n := name(c.length)
		_, err := s.Put(listener, n, a.Bundle())
		if !c.ok {
			if !errors.Is(err, certs.ErrBadFilename) {
				t.Errorf("Put of a %d-byte name = %v, want ErrBadFilename", c.length, err)
			}
			var nf *certs.NotFoundError
			if _, err := s.MD5(listener, n); !errors.As(err, &nf) {
				t.Errorf("MD5 of a %d-byte name = %v", c.length, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Put of a %d-byte name: %v", c.length, err)
			continue
		}
		if _, err := s.MD5(listener, n); err != nil {
			t.Errorf("MD5 of a %d-byte name: %v", c.length, err)
		}
		if err := s.Delete(listener, n); err != nil {
			t.Errorf("Delete of a %d-byte name: %v", c.length, err)
		}
	}
}
