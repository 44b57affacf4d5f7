package up_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
)

// TestInterruptWhileStarting: Ctrl-C (SIGINT) to `nodeless up` while kube-apiserver starts — etcd
// ready, kube-apiserver running its post-start hooks — stops it quietly, as a Ctrl-C once it is
// ready does: exit status 0, no stack traces, no failed post-start hook in the log. (Before, a
// hook failed on the ended context and kube-apiserver exited the process with klog.Fatalf:
// status 255 and every goroutine's stack.)
func TestInterruptWhileStarting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nodeless up; skipped with -short")
	}
	bin := mustBinary(t)
	dir := t.TempDir()
	var ports []string
	var held []net.Listener // held only to pick distinct free ports
	for range 3 {
		l, err := net.Listen("tcp", controlplane.Host+":0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range held {
		_ = l.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "up", "--control-plane-only", "--state-dir", dir,
		"--apiserver-port", ports[0], "--etcd-client-port", ports[1], "--etcd-peer-port", ports[2])
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lines := bufio.NewScanner(stdout)
	signalled := false
	for lines.Scan() {
		line := lines.Text()
		out.WriteString(line + "\n")
		if !signalled && strings.Contains(line, "etcd") && strings.Contains(line, "ready in") {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	err = cmd.Wait()
	t.Logf("nodeless up printed:\n%s", out.String())
	if !signalled {
		t.Fatalf("etcd never became ready: %v\n%s", err, stderr.String())
	}
	if strings.Contains(out.String(), "kube-apiserver") && strings.Contains(out.String(), "ready in") &&
		!strings.Contains(out.String(), "interrupted while starting") {
		t.Log("kube-apiserver was ready before the signal arrived: this run did not interrupt its start")
	}
	if err != nil {
		t.Errorf("nodeless up exited with %v after SIGINT while starting, want status 0; stderr:\n%s", err, tail(stderr.String()))
	}
	if strings.Contains(stderr.String(), "goroutine ") {
		t.Errorf("stack traces on stderr:\n%s", tail(stderr.String()))
	}
	logged, err := os.ReadFile(controlplane.LogPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(logged, []byte("PostStartHook")); i >= 0 {
		t.Errorf("a post-start hook failed: %s", tail(string(logged[i:])))
	}
}

// tail is the end of s, enough to read an error without a whole dump of stacks.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
