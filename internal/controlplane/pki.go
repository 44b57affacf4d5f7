package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Lifetimes of the generated certificates. Leaf certificates are renewed on start when they expire
// within renewBefore, so a state dir that is used now and then never ends up with expired ones.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
)

// PKI names the files of the control plane's certificates and keys under <state dir>/pki. All
// certificates are signed by one CA; every file is written once and reused on the next start.
type PKI struct {
	Dir string

	CACert, CAKey                 string
	ServingCert, ServingKey       string // kube-apiserver, also etcd's server and peer certificate
	AdminCert, AdminKey           string // CN=nodeless-admin, O=system:masters
	ManagerCert, ManagerKey       string // kube-controller-manager, O=system:masters
	SchedulerCert, SchedulerKey   string // CN=system:kube-scheduler (the bootstrap RBAC role's user)
	EtcdClientCert, EtcdClientKey string // the API server's client certificate for etcd
	SAKey, SAPub                  string // service-account token signing key pair

	// KubeletClientCert and KubeletClientKey are the API server's client certificate for the
	// kubelet API of the virtual node (logs, exec, attach, port-forward):
	// CN=APIServerKubeletClientUser, bound to ClusterRole system:kubelet-api-admin.
	KubeletClientCert, KubeletClientKey string
	// KubeletServingCert and KubeletServingKey are the virtual node's serving certificate for its
	// kubelet API (SANs: see kubeletServingTemplate), which the API server verifies with CACert.
	KubeletServingCert, KubeletServingKey string
}

// APIServerKubeletClientUser is the user (certificate CN) the API server is when it calls the
// virtual node's kubelet API. Its rights are those of ClusterRole system:kubelet-api-admin (bound
// at start, see clusterObjects), which a kubelet API that authorizes with SubjectAccessReviews
// (as the kubelet does) grants; the name is kubeadm's.
const APIServerKubeletClientUser = "kube-apiserver-kubelet-client"

func newPKI(dir string) *PKI {
	p := func(name string) string { return filepath.Join(dir, name) }
	return &PKI{
		Dir:    dir,
		CACert: p("ca.crt"), CAKey: p("ca.key"),
		ServingCert: p("apiserver.crt"), ServingKey: p("apiserver.key"),
		AdminCert: p("admin.crt"), AdminKey: p("admin.key"),
		ManagerCert: p("controller-manager.crt"), ManagerKey: p("controller-manager.key"),
		SchedulerCert: p("scheduler.crt"), SchedulerKey: p("scheduler.key"),
		EtcdClientCert: p("etcd-client.crt"), EtcdClientKey: p("etcd-client.key"),
		SAKey: p("sa.key"), SAPub: p("sa.pub"),
		KubeletClientCert: p("apiserver-kubelet-client.crt"), KubeletClientKey: p("apiserver-kubelet-client.key"),
		KubeletServingCert: p("kubelet-serving.crt"), KubeletServingKey: p("kubelet-serving.key"),
	}
}

// CAFile is the cluster CA's certificate (PEM) in stateDir, written by Up. Everything of the
// control plane is signed by it: clients verify the API server's serving certificate with it, the
// API server verifies the virtual node's kubelet serving certificate with it, and the kubelet API
// verifies its clients (the API server's KubeletClientCert) with it: it is the kubelet API's
// client CA.
func CAFile(stateDir string) string { return newPKI(pkiDir(stateDir)).CACert }

// KubeletServingCert is the virtual node's kubelet API serving certificate and key (PEM files) in
// stateDir, written by Up before any extra component starts. SANs: 127.0.0.1, localhost and
// nodeless (the virtual node's name); signed by CAFile(stateDir), which the API server trusts for
// the kubelet API (--kubelet-certificate-authority).
func KubeletServingCert(stateDir string) (certFile, keyFile string) {
	p := newPKI(pkiDir(stateDir))
	return p.KubeletServingCert, p.KubeletServingKey
}

// APIServerKubeletClientCert is the client certificate and key (PEM files) in stateDir that the
// API server presents to the kubelet API (CN=APIServerKubeletClientUser, signed by
// CAFile(stateDir)); tests of a kubelet API use it to call it as the API server does.
func APIServerKubeletClientCert(stateDir string) (certFile, keyFile string) {
	p := newPKI(pkiDir(stateDir))
	return p.KubeletClientCert, p.KubeletClientKey
}

// EnsurePKI loads the certificates under dir, creating the ones that are missing or about to
// expire. The CA is created once and never replaced: replacing it would invalidate every
// kubeconfig handed out before.
func EnsurePKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating pki dir: %w", err)
	}
	p := newPKI(dir)
	ca, err := ensureCA(p.CACert, p.CAKey)
	if err != nil {
		return nil, err
	}
	leaves := []struct {
		cert, key string
		tmpl      *x509.Certificate
	}{
		{p.ServingCert, p.ServingKey, servingTemplate()},
		{p.AdminCert, p.AdminKey, clientTemplate("nodeless-admin", "system:masters")},
		{p.ManagerCert, p.ManagerKey, clientTemplate("system:kube-controller-manager", "system:masters")},
		{p.SchedulerCert, p.SchedulerKey, clientTemplate("system:kube-scheduler")},
		{p.EtcdClientCert, p.EtcdClientKey, clientTemplate("kube-apiserver-etcd-client")},
		{p.KubeletClientCert, p.KubeletClientKey, clientTemplate(APIServerKubeletClientUser)},
		{p.KubeletServingCert, p.KubeletServingKey, kubeletServingTemplate()},
	}
	for _, l := range leaves {
		if err := ensureLeaf(ca, l.cert, l.key, l.tmpl); err != nil {
			return nil, err
		}
	}
	if err := ensureSAKey(p.SAKey, p.SAPub); err != nil {
		return nil, err
	}
	return p, nil
}

// IssueClientCert signs a client certificate for user (CN) in groups (O) with the state dir's CA
// and returns it and its key, PEM-encoded. Tests use it for identities other than the admin.
func (p *PKI) IssueClientCert(user string, groups ...string) (certPEM, keyPEM []byte, err error) {
	ca, err := loadCA(p.CACert, p.CAKey)
	if err != nil {
		return nil, nil, err
	}
	return issue(ca, clientTemplate(user, groups...))
}

type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func ensureCA(certPath, keyPath string) (*authority, error) {
	ca, err := loadCA(certPath, keyPath)
	if err == nil {
		return ca, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	tmpl := baseTemplate("nodeless-ca", caLifetime)
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signing CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing CA: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	if err := writePair(certPath, encodeCert(der), keyPath, keyPEM); err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

func loadCA(certPath, keyPath string) (*authority, error) {
	cert, err := readCert(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading CA key: %w", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM data", keyPath)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", keyPath, err)
	}
	return &authority{cert: cert, key: key}, nil
}

// ensureLeaf keeps a valid certificate signed by ca for the template's identity and names, and
// issues a new one otherwise: missing, unreadable as PEM, a key that is not the certificate's (a
// crash between writing the key and the certificate, see writePair), expiring within renewBefore,
// signed by another CA, or issued from a template that changed (e.g. a new SAN in a newer
// nodeless). It fails only when a file cannot be read or written.
func ensureLeaf(ca *authority, certPath, keyPath string, tmpl *x509.Certificate) error {
	valid, err := validLeaf(ca, certPath, keyPath, tmpl)
	if err != nil || valid {
		return err
	}
	certPEM, keyPEM, err := issue(ca, tmpl)
	if err != nil {
		return err
	}
	return writePair(certPath, certPEM, keyPath, keyPEM)
}

// validLeaf reports whether certPath and keyPath hold a key pair that ensureLeaf keeps. Missing
// or malformed files are not valid; other read errors (permissions) are returned.
func validLeaf(ca *authority, certPath, keyPath string, tmpl *x509.Certificate) (bool, error) {
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("reading certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("reading key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM) // also checks that the key is the certificate's
	if err != nil || pair.Leaf == nil {
		return false, nil //nolint:nilerr // a malformed or mismatched pair is re-issued
	}
	cert := pair.Leaf
	return cert.CheckSignatureFrom(ca.cert) == nil && time.Until(cert.NotAfter) > renewBefore &&
		sameNames(cert, tmpl), nil
}

func issue(ca *authority, tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key for %s: %w", tmpl.Subject.CommonName, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

func ensureSAKey(keyPath, pubPath string) error {
	_, kerr := os.Stat(keyPath)
	_, perr := os.Stat(pubPath)
	if kerr == nil && perr == nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generating service-account key: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("encoding service-account public key: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	return writePair(pubPath, pubPEM, keyPath, keyPEM)
}

func baseTemplate(cn string, lifetime time.Duration) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour), // tolerate a little clock skew
		NotAfter:     now.Add(lifetime),
	}
}

// servingTemplate covers every name a client may use for the API server: the loopback address
// and, for clients inside tasks, the in-cluster service names and the first service IP.
func servingTemplate() *x509.Certificate {
	t := baseTemplate("kube-apiserver", leafLifetime)
	t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	t.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local"}
	t.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, firstServiceIP}
	return t
}

// kubeletServingTemplate is the virtual node's kubelet API serving certificate. The API server
// reaches the node at its InternalIP (--kubelet-preferred-address-types=InternalIP), 127.0.0.1;
// translate.DefaultNodeName is the node's name. CN and O follow the kubelet-serving signer's
// convention (system:node:<name>, system:nodes); it is a server certificate only.
func kubeletServingTemplate() *x509.Certificate {
	t := baseTemplate("system:node:"+translate.DefaultNodeName, leafLifetime)
	t.Subject.Organization = []string{"system:nodes"}
	t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	t.DNSNames = []string{translate.DefaultNodeName, "localhost"}
	t.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	return t
}

// sameNames reports whether cert has tmpl's subject (CN, O), SANs and extended key usages.
func sameNames(cert, tmpl *x509.Certificate) bool {
	return cert.Subject.CommonName == tmpl.Subject.CommonName &&
		slices.Equal(cert.Subject.Organization, tmpl.Subject.Organization) &&
		slices.Equal(cert.DNSNames, tmpl.DNSNames) &&
		slices.EqualFunc(cert.IPAddresses, tmpl.IPAddresses, net.IP.Equal) &&
		slices.Equal(cert.ExtKeyUsage, tmpl.ExtKeyUsage)
}

func clientTemplate(user string, groups ...string) *x509.Certificate {
	t := baseTemplate(user, leafLifetime)
	t.Subject.Organization = groups
	t.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return t
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading certificate: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return cert, nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// writePair writes the key before the certificate: a certificate on disk implies its key is there.
func writePair(certPath string, certPEM []byte, keyPath string, keyPEM []byte) error {
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certPath, certPEM, 0o644)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close() // already failing
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close() // already failing
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
