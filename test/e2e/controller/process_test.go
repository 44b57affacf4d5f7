package controller_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nodeless-dev/nodeless/internal/dataplane/ecsmem"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// controllerProc is one `nodeless controller` process of a test.
type controllerProc struct {
	name                             string
	metricsAddr, healthAddr, kubelet string
	cmd                              *exec.Cmd
	out                              *testenv.SyncBuffer
	done                             chan struct{}
	exitErr                          error
}

// startController runs `nodeless controller` against env's API server and the in-memory ECS e,
// with the ECS credentials in the environment (the SDK's default chain), on free ports of
// 127.0.0.1. It is stopped with SIGTERM when the test ends.
func startController(t *testing.T, env *testenv.Env, e *ecsmem.ECS, name string, extra ...string) *controllerProc {
	t.Helper()
	bin, err := testenv.Binary()
	if err != nil {
		t.Fatal(err)
	}
	p := &controllerProc{name: name, out: &testenv.SyncBuffer{}, done: make(chan struct{})}
	p.metricsAddr, p.healthAddr = freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(freeAddr(t))
	p.kubelet = port
	args := append([]string{"controller", "--kubeconfig", env.Kubeconfig, "--ecs-endpoint", e.Endpoint,
		"--region", e.Region, "--metrics-addr", p.metricsAddr, "--health-addr", p.healthAddr,
		"--kubelet-port", port, "--dev-log"}, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(withoutAWS(os.Environ()),
		"AWS_ACCESS_KEY_ID="+e.Credentials.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+e.Credentials.SecretAccessKey,
		// No shared config or IMDS: the environment's keys are the whole chain.
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting nodeless controller: %v", err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if _, err := p.stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.name, p.out)
		}
	})
	return p
}

// stop sends SIGTERM and waits up to limit for the process to exit (a no-op once it exited). It
// returns how long the exit took.
func (p *controllerProc) stop(limit time.Duration) (time.Duration, error) {
	select {
	case <-p.done:
		return 0, nil
	default:
	}
	begin := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return time.Since(begin), fmt.Errorf("did not exit within %s of SIGTERM; killed", limit)
	}
	took := time.Since(begin)
	if p.exitErr != nil {
		return took, fmt.Errorf("exited with %w after SIGTERM", p.exitErr)
	}
	return took, nil
}

// kill kills the process with SIGKILL, as a node failure or an OOM kill would.
func (p *controllerProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// exited reports whether the process exited, and its error.
func (p *controllerProc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.exitErr
	default:
		return false, nil
	}
}

// get returns the status and body of http://addr/path.
func get(addr, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// ready reports whether the process answers 200 on /readyz.
func (p *controllerProc) ready() bool {
	code, _, err := get(p.healthAddr, "/readyz")
	return err == nil && code == http.StatusOK
}

// leads reports whether the process says it leads (controller-runtime's
// leader_election_master_status gauge at /metrics).
func (p *controllerProc) leads(id string) (bool, error) {
	code, body, err := get(p.metricsAddr, "/metrics")
	if err != nil {
		return false, err
	}
	if code != http.StatusOK {
		return false, fmt.Errorf("/metrics: %d", code)
	}
	want := `leader_election_master_status{name="` + id + `"} 1`
	return strings.Contains(body, want), nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func withoutAWS(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// eventually polls ok every 250 ms until it holds or waitTimeout passes, then fails t with the
// last state ok described.
func eventually(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last string
	for {
		var done bool
		if done, last = ok(); done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, waitTimeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
