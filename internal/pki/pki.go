// Package pki makes the certificates of a tmux-orc cluster: a development certificate
// authority, server certificates (also used as the route client certificate) and client
// certificates, all ECDSA P-256, written as PEM files. Standard library only.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"slices"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/home"
)

// CAName is the common name of the development CA.
const CAName = "tmux-orc development CA"

// Validity periods.
const (
	// CAValidity is how long the development CA is valid.
	CAValidity = 10 * 365 * 24 * time.Hour
	// LeafValidity is how long server and client certificates are valid.
	LeafValidity = 5 * 365 * 24 * time.Hour
)

// ErrCA is returned when a CA cannot be loaded or does not match its key.
var ErrCA = errors.New("invalid CA")

// CA is a certificate authority that issues certificates.
type CA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// Issued is a certificate and its private key.
type Issued struct {
	// Cert is the parsed certificate.
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA creates a development CA: a self-signed ECDSA P-256 certificate valid for CAValidity.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	now := time.Now()
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CAName, Organization: []string{"tmux-orc"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing CA certificate: %w", err)
	}
	return &CA{Cert: cert, key: key}, nil
}

// LoadCA loads a CA from its PEM certificate and key files, to issue more certificates.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("loading CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading CA: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCA, certFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%w: %s is not a CA certificate", ErrCA, certFile)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCA, keyFile, err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("%w: the key in %s does not belong to %s", ErrCA, keyFile, certFile)
	}
	return &CA{Cert: cert, key: key}, nil
}

// IssueServer issues a server certificate for the given DNS names and IP addresses, always
// also for localhost and 127.0.0.1. It is valid for server and client authentication, since
// a cluster node presents the same certificate when it connects a route to another node.
// The common name is the first DNS name, else "localhost".
func (ca *CA) IssueServer(dnsNames []string, ips []net.IP) (*Issued, error) {
	names := []string{}
	for _, n := range append(slices.Clone(dnsNames), "localhost") {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var addrs []net.IP
	for _, ip := range append(slices.Clone(ips), net.IPv4(127, 0, 0, 1)) {
		if ip == nil {
			continue
		}
		if !slices.ContainsFunc(addrs, ip.Equal) {
			addrs = append(addrs, ip)
		}
	}
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0], Organization: []string{"tmux-orc"}},
		DNSNames:    names,
		IPAddresses: addrs,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
}

// IssueClient issues a client certificate with the common name name, valid for client
// authentication only.
func (ca *CA) IssueClient(name string) (*Issued, error) {
	if name == "" {
		return nil, errors.New("issuing client certificate: the name is empty")
	}
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"tmux-orc"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (ca *CA) issue(tmpl *x509.Certificate) (*Issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key for %s: %w", tmpl.Subject.CommonName, err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(LeafValidity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	return &Issued{Cert: cert, key: key}, nil
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return certPEM(ca.Cert) }

// Write writes the CA certificate (mode 0644) and its key (mode 0600).
func (ca *CA) Write(certFile, keyFile string) error {
	return writePair(ca.Cert, ca.key, certFile, keyFile)
}

// CertPEM is the certificate in PEM.
func (is *Issued) CertPEM() []byte { return certPEM(is.Cert) }

// KeyPEM is the private key in PEM (PKCS #8).
func (is *Issued) KeyPEM() ([]byte, error) { return keyPEM(is.key) }

// Write writes the certificate (mode 0644) and its key (mode 0600).
func (is *Issued) Write(certFile, keyFile string) error {
	return writePair(is.Cert, is.key, certFile, keyFile)
}

func writePair(cert *x509.Certificate, key *ecdsa.PrivateKey, certFile, keyFile string) error {
	k, err := keyPEM(key)
	if err != nil {
		return err
	}
	if err := home.WriteFileAtomic(keyFile, k, 0o600); err != nil {
		return err
	}
	return home.WriteFileAtomic(certFile, certPEM(cert), 0o644)
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T key, want ECDSA", k)
		}
		return ek, nil
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	}
	return nil, fmt.Errorf("PEM block %q, want PRIVATE KEY", block.Type)
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
