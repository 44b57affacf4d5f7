package containerdproc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
)

func TestConfigIsPrivate(t *testing.T) {
	cfg := configTOML("/state/containerd")
	for _, want := range []string{
		`root = "/state/containerd/root"`,
		`state = "/state/containerd/state"`,
		`address = "/state/containerd/containerd.sock"`,
		`path = "/state/containerd/opt"`,
		`"io.containerd.grpc.v1.cri"`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "/run/containerd") || strings.Contains(cfg, "/var/lib/containerd") {
		t.Errorf("config mentions the host's default paths:\n%s", cfg)
	}
}

type running struct {
	s      *Supervisor
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, dir string) *running {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping a test that runs containerd")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd")
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		t.Skipf("needs containerd on PATH: %v", err)
	}
	s, err := New(Options{Dir: dir, Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(r.stop)
	select {
	case <-s.Ready():
	case err := <-r.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("containerd not ready after 30s")
	}
	return r
}

func (r *running) stop() {
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
		<-r.done
	}
}

func pidOf(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// A second supervisor adopts the running daemon; when it stops that daemon, the first one (still
// supervising) starts a new one, and counts it in its Generation before it runs.
func TestAdoptAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "containerd")
	first := start(t, dir)
	pid1 := pidOf(t, dir)
	if g := first.s.Generation(); g != 1 {
		t.Errorf("Generation after the first start = %d, want 1", g)
	}

	second := start(t, dir)
	if pid := pidOf(t, dir); pid != pid1 {
		t.Fatalf("second supervisor started pid %d instead of adopting %d", pid, pid1)
	}
	second.stop()

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, pidFile)); err == nil {
			if pid, _ := strconv.Atoi(string(b)); pid != 0 && pid != pid1 {
				if _, err := os.Stat(first.s.Address()); err == nil {
					if g := first.s.Generation(); g < 2 {
						t.Errorf("Generation after the restart = %d, want 2 or more", g)
					}
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("first supervisor did not restart containerd after it died")
}

// A daemon that runs without a pid file (nodeless killed between starting containerd and writing
// the file) is adopted, not joined by a second daemon that would wait for its database lock.
func TestAdoptWithoutPidFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "containerd")
	first := start(t, dir)
	pid1 := pidOf(t, dir)
	if err := os.Remove(filepath.Join(dir, pidFile)); err != nil {
		t.Fatal(err)
	}
	second := start(t, dir)
	if pid := pidOf(t, dir); pid != pid1 {
		t.Errorf("second supervisor started pid %d instead of adopting %d", pid, pid1)
	}
	second.stop()
	_ = first
}

// TestKilledDuringFirstStart: a daemon killed before it first answers is started again (nodeless
// exited when its containerd was killed while nodeless started); one that exits on its own then
// still fails Run, naming its log.
func TestKilledDuringFirstStart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that runs containerd")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd")
	}
	real, err := exec.LookPath("containerd")
	if err != nil {
		t.Skipf("needs containerd on PATH: %v", err)
	}
	for _, tc := range []struct {
		name, first string
		wantReady   bool
	}{
		{"killed", "kill -KILL $$", true},
		{"exits", "exit 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// The first start does tc.first; later ones run the real daemon.
			bin := filepath.Join(dir, "containerd-once")
			script := "#!/bin/sh\nif mkdir " + filepath.Join(dir, "started") + " 2>/dev/null; then " + tc.first + "; fi\nexec " + real + " \"$@\"\n"
			if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			s, err := New(Options{Dir: filepath.Join(dir, "containerd"), Binary: bin, Logger: testr.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			defer func() { cancel(); <-done }()
			select {
			case <-s.Ready():
				if !tc.wantReady {
					t.Fatal("ready, want Run to fail")
				}
			case err := <-done:
				done <- err
				if tc.wantReady || err == nil || !strings.Contains(err.Error(), "exited during start-up") {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("neither ready nor failed within a minute")
			}
		})
	}
}
