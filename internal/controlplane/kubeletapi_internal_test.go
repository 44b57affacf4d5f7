package controlplane

import (
	"context"
	"crypto/tls"
	"os"
	"testing"
	"time"
)

// TestCertRenewerReissuesWhileRunning: a kubelet API certificate that becomes invalid while
// nodeless runs (here: removed, and replaced by one about to expire) is re-issued at the next
// check, without a restart.
func TestCertRenewerReissuesWhileRunning(t *testing.T) {
	p, err := EnsurePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := loadCA(p.CACert, p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	mustRemove(t, p.KubeletClientCert)
	tmpl := kubeletServingTemplate()
	tmpl.NotAfter = time.Now().Add(time.Hour)
	writeIssued(t, ca, tmpl, p)

	r := newCertRenewer(p)
	r.interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-r.Ready()
	deadline := time.Now().Add(time.Minute)
	for {
		serving, serr := tls.LoadX509KeyPair(p.KubeletServingCert, p.KubeletServingKey)
		_, cerr := os.Stat(p.KubeletClientCert)
		if serr == nil && cerr == nil && time.Until(serving.Leaf.NotAfter) > renewBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubelet API certificates not renewed after a minute (serving: %v, client: %v)", serr, cerr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v, want nil", err)
	}
}
