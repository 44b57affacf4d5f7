package controlplane

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPreflightNamesTheCause(t *testing.T) {
	busy, err := net.Listen("tcp", Host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"api server port in use", Config{StateDir: t.TempDir(), APIServerPort: busyPort},
			[]string{"port", "in use", "--apiserver-port"}},
		{"etcd port in use", Config{StateDir: t.TempDir(), EtcdClientPort: busyPort},
			[]string{"in use", "--etcd-client-port"}},
		{"state dir under a file", Config{StateDir: filepath.Join(file, "state")},
			[]string{"state dir", "--state-dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lock, err := preflight(tt.cfg.withDefaultsFreePorts(t))
			if err == nil {
				lock.Close()
				t.Fatal("preflight succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestStateDirLockedOnce(t *testing.T) {
	dir := t.TempDir()
	first, err := lockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockStateDir(dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another nodeless up") {
		t.Errorf("second lock: got %v, want in use", err)
	}
	first.Close()
	again, err := lockStateDir(dir)
	if err != nil {
		t.Errorf("lock after release: %v", err)
	} else {
		again.Close()
	}
}

// withDefaultsFreePorts fills unset ports with free ones, so tests never depend on 6443 & co.
func (c Config) withDefaultsFreePorts(t *testing.T) Config {
	t.Helper()
	for _, p := range []*int{&c.APIServerPort, &c.EtcdClientPort, &c.EtcdPeerPort} {
		if *p != 0 {
			continue
		}
		l, err := net.Listen("tcp", Host+":0")
		if err != nil {
			t.Fatal(err)
		}
		*p = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	return c.withDefaults()
}
