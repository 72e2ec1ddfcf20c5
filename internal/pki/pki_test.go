package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/pki"
)

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func pool(ca *pki.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

func TestCA(t *testing.T) {
	ca := newCA(t)
	c := ca.Cert
	if c.Subject.CommonName != pki.CAName || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("CA certificate: CN %q, IsCA %v, key usage %v", c.Subject.CommonName, c.IsCA, c.KeyUsage)
	}
	if c.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA key algorithm %v, want ECDSA", c.PublicKeyAlgorithm)
	}
	if years := time.Until(c.NotAfter).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("CA valid for %.1f years, want 10", years)
	}
}

func TestVerify(t *testing.T) {
	ca := newCA(t)
	server, err := ca.IssueServer([]string{"h1", "h1.example.com"}, []net.IP{net.ParseIP("10.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("client-h1")
	if err != nil {
		t.Fatal(err)
	}
	other := newCA(t)
	foreign, err := other.IssueServer([]string{"h1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	serverAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	for _, tc := range []struct {
		name    string
		cert    *x509.Certificate
		dns     string
		usages  []x509.ExtKeyUsage
		wantErr bool
	}{
		{"server by host name", server.Cert, "h1", serverAuth, false},
		{"server by FQDN", server.Cert, "h1.example.com", serverAuth, false},
		{"server by address", server.Cert, "10.0.0.1", serverAuth, false},
		{"server by localhost", server.Cert, "localhost", serverAuth, false},
		{"server by loopback address", server.Cert, "127.0.0.1", serverAuth, false},
		{"server as route client", server.Cert, "", clientAuth, false},
		{"server by a wrong name", server.Cert, "h2", serverAuth, true},
		{"server by a wrong address", server.Cert, "10.0.0.2", serverAuth, true},
		{"client", client.Cert, "", clientAuth, false},
		{"client as server", client.Cert, "", serverAuth, true},
		{"another CA's server", foreign.Cert, "h1", serverAuth, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cert.Verify(x509.VerifyOptions{Roots: pool(ca), DNSName: tc.dns, KeyUsages: tc.usages})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Verify: %v, want error: %v", err, tc.wantErr)
			}
		})
	}
	if server.Cert.Subject.CommonName != "h1" || client.Cert.Subject.CommonName != "client-h1" {
		t.Errorf("common names %q, %q", server.Cert.Subject.CommonName, client.Cert.Subject.CommonName)
	}
}

func TestIssueClientEmptyName(t *testing.T) {
	if _, err := newCA(t).IssueClient(""); err == nil {
		t.Fatal("IssueClient(\"\") succeeded")
	}
}

func TestWriteAndLoad(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	caCert, caKey := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	// A key file that exists with a wide mode must not keep it.
	if err := os.WriteFile(caKey, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ca.Write(caCert, caKey); err != nil {
		t.Fatal(err)
	}
	checkMode(t, caCert, 0o644)
	checkMode(t, caKey, 0o600)

	loaded, err := pki.LoadCA(caCert, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) {
		t.Fatal("loaded CA differs from the written one")
	}
	srv, err := loaded.IssueServer([]string{"h2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Write(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")); err != nil {
		t.Fatal(err)
	}
	checkMode(t, filepath.Join(dir, "server-key.pem"), 0o600)
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")); err != nil {
		t.Fatalf("the written pair does not load: %v", err)
	}
	if _, err := srv.Cert.Verify(x509.VerifyOptions{Roots: pool(ca), DNSName: "h2"}); err != nil {
		t.Fatalf("a certificate from the loaded CA does not verify against the original: %v", err)
	}

	// A key of another CA, or a leaf certificate, is refused.
	other := newCA(t)
	otherKey := filepath.Join(dir, "other-key.pem")
	if err := other.Write(filepath.Join(dir, "other.pem"), otherKey); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.LoadCA(caCert, otherKey); !errors.Is(err, pki.ErrCA) {
		t.Errorf("LoadCA with a foreign key: %v, want ErrCA", err)
	}
	if _, err := pki.LoadCA(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")); !errors.Is(err, pki.ErrCA) {
		t.Errorf("LoadCA of a server certificate: %v, want ErrCA", err)
	}
	if _, err := pki.LoadCA(filepath.Join(dir, "missing.pem"), caKey); err == nil {
		t.Error("LoadCA of a missing file succeeded")
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %o, want %o", filepath.Base(path), got, want)
	}
}

func tlsCert(t *testing.T, is *pki.Issued) tls.Certificate {
	t.Helper()
	key, err := is.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(is.CertPEM(), key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs a TLS handshake over loopback TCP (buffered, unlike net.Pipe, so that an
// alert written by one side never blocks on the other) followed by a ping and a pong, and
// returns the client's and the server's errors.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	_ = a.SetDeadline(deadline)
	_ = b.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		s := tls.Server(b, serverCfg)
		err := s.Handshake()
		if err == nil {
			buf := make([]byte, 4)
			if _, err = io.ReadFull(s, buf); err == nil {
				_, err = s.Write([]byte("pong"))
			}
		}
		b.Close()
		done <- err
	}()
	c := tls.Client(a, clientCfg)
	clientErr = c.Handshake()
	if clientErr == nil {
		// TLS 1.3: a rejected client certificate shows up on the first read.
		if _, clientErr = c.Write([]byte("ping")); clientErr == nil {
			_, clientErr = io.ReadFull(c, make([]byte, 4))
		}
	}
	a.Close()
	serverErr = <-done
	for _, err := range []error{clientErr, serverErr} {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("handshake timed out: %v", err)
		}
	}
	return clientErr, serverErr
}

func TestMutualTLS(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	issue := func(ca *pki.CA) (server, client tls.Certificate) {
		s, err := ca.IssueServer([]string{"h1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ca.IssueClient("agents")
		if err != nil {
			t.Fatal(err)
		}
		return tlsCert(t, s), tlsCert(t, c)
	}
	server, client := issue(ca)
	foreignServer, foreignClient := issue(other)
	serverCfg := func(cert tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool(ca), ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	}
	clientCfg := func(cert tls.Certificate, name string) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool(ca), ServerName: name, MinVersion: tls.VersionTLS12}
	}
	for _, tc := range []struct {
		name            string
		server, client  *tls.Config
		wantClientError bool
		wantServerError bool
	}{
		{"mutual", serverCfg(server), clientCfg(client, "h1"), false, false},
		{"route: server certificate as client", serverCfg(server), clientCfg(server, "127.0.0.1"), false, false},
		{"client from a foreign CA", serverCfg(server), clientCfg(foreignClient, "h1"), true, true},
		{"server from a foreign CA", serverCfg(foreignServer), clientCfg(client, "h1"), true, true},
		{"wrong server name", serverCfg(server), clientCfg(client, "h2"), true, true},
		{"no client certificate", serverCfg(server), &tls.Config{RootCAs: pool(ca), ServerName: "h1"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cerr, serr := handshake(t, tc.server, tc.client)
			if (cerr != nil) != tc.wantClientError || (serr != nil) != tc.wantServerError {
				t.Fatalf("client error %v (want error: %v), server error %v (want error: %v)", cerr, tc.wantClientError, serr, tc.wantServerError)
			}
		})
	}
}
