package controlplane

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

func TestEnsurePKICreatesThenReuses(t *testing.T) {
	dir := t.TempDir()
	p, err := EnsurePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	ca := mustCert(t, p.CACert)
	if !ca.IsCA {
		t.Errorf("ca.crt is not a CA")
	}
	admin := mustCert(t, p.AdminCert)
	if err := admin.CheckSignatureFrom(ca); err != nil {
		t.Errorf("admin certificate not signed by the CA: %v", err)
	}
	if !slices.Equal(admin.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("admin groups = %v, want [system:masters]", admin.Subject.Organization)
	}
	serving := mustCert(t, p.ServingCert)
	if err := serving.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	if err := serving.VerifyHostname("kubernetes.default.svc"); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	for _, f := range []string{p.CAKey, p.AdminKey, p.SAKey} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (err %v), want 0600", f, fi.Mode().Perm(), err)
		}
	}

	before := mustRead(t, p.AdminCert)
	if _, err := EnsurePKI(dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, mustRead(t, p.AdminCert)) {
		t.Errorf("second EnsurePKI replaced a valid admin certificate")
	}
}

func TestEnsurePKIRenewsExpiringLeaf(t *testing.T) {
	dir := t.TempDir()
	p, err := EnsurePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := loadCA(p.CACert, p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := clientTemplate("nodeless-admin", "system:masters")
	tmpl.NotAfter = time.Now().Add(24 * time.Hour) // inside renewBefore
	certPEM, keyPEM, err := issue(ca, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := writePair(p.AdminCert, certPEM, p.AdminKey, keyPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsurePKI(dir); err != nil {
		t.Fatal(err)
	}
	if left := time.Until(mustCert(t, p.AdminCert).NotAfter); left < renewBefore {
		t.Errorf("expiring admin certificate not renewed: %s left", left)
	}
	caAfter := mustCert(t, p.CACert)
	if !caAfter.Equal(ca.cert) {
		t.Errorf("the CA was replaced")
	}
}

// TestKubeletAPICertificates: the virtual node's serving certificate is valid for the names the
// API server reaches it by, the API server's kubelet client certificate is a client certificate
// of its own user, both chain to the cluster CA, and the exported functions name the files.
func TestKubeletAPICertificates(t *testing.T) {
	stateDir := t.TempDir()
	if _, err := EnsurePKI(pkiDir(stateDir)); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(mustCert(t, CAFile(stateDir)))

	servingCert, servingKey := KubeletServingCert(stateDir)
	serving := mustCert(t, servingCert)
	for _, name := range []string{"127.0.0.1", "localhost", translate.DefaultNodeName} {
		opts := x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := serving.Verify(opts); err != nil {
			t.Errorf("kubelet serving certificate for %s: %v", name, err)
		}
	}
	if _, err := serving.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Errorf("kubelet serving certificate is also a client certificate")
	}

	clientCert, clientKey := APIServerKubeletClientCert(stateDir)
	client := mustCert(t, clientCert)
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("API server's kubelet client certificate: %v", err)
	}
	if client.Subject.CommonName != APIServerKubeletClientUser || len(client.Subject.Organization) != 0 {
		t.Errorf("API server's kubelet client certificate: subject %v, want CN=%s and no group (its rights come from a ClusterRoleBinding)",
			client.Subject, APIServerKubeletClientUser)
	}
	for _, pair := range [][2]string{{servingCert, servingKey}, {clientCert, clientKey}} {
		if _, err := tls.LoadX509KeyPair(pair[0], pair[1]); err != nil {
			t.Errorf("key pair %s: %v", pair[0], err)
		}
	}
}

// TestEnsurePKIKeepsOrReissuesTheKubeletServingCert: the kubelet serving certificate is kept in
// the state dir and reused on the next start while it is valid, and re-issued when it is not;
// a state dir from an older nodeless gets the SANs of this one without waiting for expiry.
func TestEnsurePKIKeepsOrReissuesTheKubeletServingCert(t *testing.T) {
	other := func(t *testing.T, p *PKI, ca *authority) {
		t.Helper()
		otherCA, err := ensureCA(t.TempDir()+"/ca.crt", t.TempDir()+"/ca.key")
		if err != nil {
			t.Fatal(err)
		}
		writeIssued(t, otherCA, kubeletServingTemplate(), p)
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, p *PKI, ca *authority)
		reissue bool
	}{
		{name: "valid", damage: func(*testing.T, *PKI, *authority) {}},
		{name: "certificate missing", reissue: true, damage: func(t *testing.T, p *PKI, _ *authority) {
			mustRemove(t, p.KubeletServingCert)
		}},
		{name: "key missing", reissue: true, damage: func(t *testing.T, p *PKI, _ *authority) {
			mustRemove(t, p.KubeletServingKey)
		}},
		{name: "certificate not PEM", reissue: true, damage: func(t *testing.T, p *PKI, _ *authority) {
			mustWrite(t, p.KubeletServingCert, []byte("garbage"))
		}},
		{name: "certificate empty", reissue: true, damage: func(t *testing.T, p *PKI, _ *authority) {
			mustWrite(t, p.KubeletServingCert, nil)
		}},
		{name: "key of another certificate", reissue: true, damage: func(t *testing.T, p *PKI, ca *authority) {
			_, keyPEM, err := issue(ca, kubeletServingTemplate())
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, p.KubeletServingKey, keyPEM)
		}},
		{name: "signed by another CA", reissue: true, damage: other},
		{name: "expiring", reissue: true, damage: func(t *testing.T, p *PKI, ca *authority) {
			tmpl := kubeletServingTemplate()
			tmpl.NotAfter = time.Now().Add(renewBefore - time.Hour)
			writeIssued(t, ca, tmpl, p)
		}},
		{name: "expired", reissue: true, damage: func(t *testing.T, p *PKI, ca *authority) {
			tmpl := kubeletServingTemplate()
			tmpl.NotAfter = time.Now().Add(-time.Minute)
			writeIssued(t, ca, tmpl, p)
		}},
		{name: "names of an older nodeless", reissue: true, damage: func(t *testing.T, p *PKI, ca *authority) {
			tmpl := kubeletServingTemplate()
			tmpl.DNSNames = []string{"localhost"}
			writeIssued(t, ca, tmpl, p)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := t.TempDir()
			p, err := EnsurePKI(pkiDir(stateDir))
			if err != nil {
				t.Fatal(err)
			}
			ca, err := loadCA(p.CACert, p.CAKey)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, p, ca)
			before, _ := os.ReadFile(p.KubeletServingCert) // missing in some cases
			if _, err := EnsurePKI(pkiDir(stateDir)); err != nil {
				t.Fatalf("EnsurePKI: %v", err)
			}
			after := mustRead(t, p.KubeletServingCert)
			if reissued := !bytes.Equal(before, after); reissued != tt.reissue {
				t.Errorf("re-issued = %v, want %v", reissued, tt.reissue)
			}
			pair, err := tls.LoadX509KeyPair(p.KubeletServingCert, p.KubeletServingKey)
			if err != nil {
				t.Fatalf("key pair after EnsurePKI: %v", err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca.cert)
			opts := x509.VerifyOptions{DNSName: translate.DefaultNodeName, Roots: roots,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			if _, err := pair.Leaf.Verify(opts); err != nil {
				t.Errorf("kubelet serving certificate after EnsurePKI: %v", err)
			}
			if left := time.Until(pair.Leaf.NotAfter); left < renewBefore {
				t.Errorf("kubelet serving certificate after EnsurePKI expires in %s", left)
			}
		})
	}
}

func writeIssued(t *testing.T, ca *authority, tmpl *x509.Certificate, p *PKI) {
	t.Helper()
	certPEM, keyPEM, err := issue(ca, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := writePair(p.KubeletServingCert, certPEM, p.KubeletServingKey, keyPEM); err != nil {
		t.Fatal(err)
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIssueClientCert(t *testing.T) {
	p, err := EnsurePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := p.IssueClientCert("alice", "dev")
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/alice.crt"
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustCert(t, path)
	if c.Subject.CommonName != "alice" || !slices.Equal(c.Subject.Organization, []string{"dev"}) {
		t.Errorf("subject = %v, want CN=alice O=dev", c.Subject)
	}
}

func mustCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	c, err := readCert(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
