package main

import (
	"crypto/tls"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestNodeFlagsServing(t *testing.T) {
	cert := &tls.Certificate{}
	tests := []struct {
		name     string
		f        nodeFlags
		wantErr  string
		wantFile string
		wantMem  bool
	}{
		{name: "none"},
		{name: "files", f: nodeFlags{certFile: "k.crt", keyFile: "k.key"}, wantFile: "k.crt"},
		{name: "cert without key", f: nodeFlags{certFile: "k.crt"}, wantErr: "--kubelet-cert-file and --kubelet-key-file go together"},
		{name: "in memory", f: nodeFlags{wiring: nodeWiring{ServingCert: cert}}, wantMem: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so, err := tt.f.serving()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if so.CertFile != tt.wantFile || (so.Certificate != nil) != tt.wantMem {
				t.Errorf("serving %+v, want file %q, in memory %v", so, tt.wantFile, tt.wantMem)
			}
		})
	}
}

func TestNodeFlagsCapacity(t *testing.T) {
	f := nodeFlags{pods: "10", cpu: "40"}
	got, err := f.capacity()
	if err != nil {
		t.Fatal(err)
	}
	cpu, mem, pods := got[corev1.ResourceCPU], got[corev1.ResourceMemory], got[corev1.ResourcePods]
	if cpu.String() != "40" || mem.String() != "1200Gi" || pods.Value() != 10 {
		t.Errorf("capacity cpu %s memory %s pods %s, want 40, 1200Gi (10 × 120Gi), 10", cpu.String(), mem.String(), pods.String())
	}
	for _, bad := range []nodeFlags{{pods: "0"}, {pods: "x"}, {pods: "1", memory: "lots"}} {
		if _, err := bad.capacity(); err == nil {
			t.Errorf("capacity of %+v: no error", bad)
		}
	}
}
