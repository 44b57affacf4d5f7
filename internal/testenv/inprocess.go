package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
)

// inProcess is the control plane shared by every in-process Start of this test binary.
type inProcess struct {
	once     sync.Once
	err      error
	cfg      *rest.Config
	stateDir string
	cancel   context.CancelFunc
	done     chan error
}

// theControlPlane is process-wide because the embedded kube-apiserver is (see package doc).
var theControlPlane inProcess

// shared starts the in-process control plane on first use and returns an Env on it.
func shared() (*Env, error) {
	cp := &theControlPlane
	cp.once.Do(cp.start)
	if cp.err != nil {
		return nil, cp.err
	}
	return &Env{
		Config:     rest.CopyConfig(cp.cfg),
		StateDir:   cp.stateDir,
		Kubeconfig: controlplane.KubeconfigPath(cp.stateDir),
	}, nil
}

func (cp *inProcess) start() {
	dir, err := os.MkdirTemp("", "nodeless-testenv-")
	if err != nil {
		cp.err = fmt.Errorf("state dir: %w", err)
		return
	}
	cp.stateDir = dir
	ports, err := freePorts(3)
	if err != nil {
		cp.err = err
		return
	}
	ready := make(chan *rest.Config, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cp.cancel = cancel
	cp.done = make(chan error, 1)
	go func() {
		cp.done <- controlplane.Up(ctx, controlplane.UpOptions{
			Config: controlplane.Config{StateDir: dir, APIServerPort: ports[0],
				EtcdClientPort: ports[1], EtcdPeerPort: ports[2]},
			OnReady: func(cfg *rest.Config) { ready <- cfg },
		})
	}()
	select {
	case cp.cfg = <-ready:
	case err := <-cp.done:
		cp.err = fmt.Errorf("control plane stopped while starting (logs: %s): %w", controlplane.LogPath(dir), err)
		cp.done <- err
	case <-time.After(startTimeout):
		cp.err = fmt.Errorf("control plane not ready after %s (logs: %s)", startTimeout, controlplane.LogPath(dir))
	}
}

// stop stops the shared control plane, if it ever started, and removes its state dir.
func (cp *inProcess) stop() error {
	cp.once.Do(func() { cp.err = errors.New("testenv: the control plane was stopped") })
	if cp.cancel == nil {
		return nil
	}
	cp.cancel()
	select {
	case err := <-cp.done:
		if err != nil {
			return err
		}
	case <-time.After(30 * time.Second):
		return errors.New("control plane did not stop within 30s")
	}
	return os.RemoveAll(cp.stateDir)
}

// Main runs the tests of m, then stops the shared in-process control plane and removes what
// testenv created (state dir, a binary built for WithBinary). Use it as
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if err := theControlPlane.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: stopping the control plane:", err)
		if code == 0 {
			code = 1
		}
	}
	removeBuiltBinary()
	return code
}
