package virtualnode

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// SelfSignedCertificate makes a serving certificate for the kubelet API at ip, named name, valid
// for a year and kept in memory only: for an existing cluster where nodeless has no PKI of its
// own. The API server does not verify kubelet serving certificates unless it runs with
// --kubelet-certificate-authority; where it does, give the kubelet API a certificate of that CA.
func SelfSignedCertificate(ip, name string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kubelet API certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("kubelet API certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{name}, IPAddresses: []net.IP{net.ParseIP(ip)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("kubelet API certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// ClusterClientCA reads the CA that signs the cluster's client certificates from the ConfigMap
// kube-system/extension-apiserver-authentication (key client-ca-file), which the API server
// publishes for servers that authenticate its clients (the kubelet API's x509 authentication).
func ClusterClientCA(ctx context.Context, client kubernetes.Interface) ([]byte, error) {
	cm, err := client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the cluster's client CA (kube-system/extension-apiserver-authentication): %w", err)
	}
	ca := cm.Data["client-ca-file"]
	if ca == "" {
		return nil, errors.New("kube-system/extension-apiserver-authentication has no client-ca-file: give the cluster's client CA with --kubelet-client-ca-file")
	}
	return []byte(ca), nil
}
