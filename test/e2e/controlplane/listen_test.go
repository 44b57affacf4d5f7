package controlplane_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// TestListensOnLoopbackOnly checks that every TCP socket `nodeless up` listens on is bound to
// 127.0.0.1: the API server, etcd's client and peer ports, and nothing else on another address.
func TestListensOnLoopbackOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodeless up")
	}
	env := testenv.Start(t, testenv.WithBinary())
	inodes := socketInodes(t, env.PID())
	var listening []string
	for _, table := range []string{"tcp", "tcp6"} {
		for _, l := range listeners(t, filepath.Join("/proc", fmt.Sprint(env.PID()), "net", table)) {
			if !inodes[l.inode] {
				continue
			}
			listening = append(listening, l.local)
			if table == "tcp6" || !strings.HasPrefix(l.local, "0100007F:") {
				t.Errorf("nodeless up listens on %s %s, want 127.0.0.1 only", table, l.local)
			}
		}
	}
	if len(listening) < 3 {
		t.Errorf("found %d listening sockets (%v), want at least the API server's and etcd's", len(listening), listening)
	}
}

// socketInodes returns the inodes of the sockets open in process pid.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	dir := filepath.Join("/proc", fmt.Sprint(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	return inodes
}

type listener struct{ local, inode string }

// listeners parses a /proc/net/tcp{,6} table and returns its LISTEN sockets (state 0A), with the
// local address as the kernel prints it (hex address:port).
func listeners(t *testing.T, path string) []listener {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []listener
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[3] == "0A" {
			out = append(out, listener{local: f[1], inode: f[9]})
		}
	}
	return out
}
