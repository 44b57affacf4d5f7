// Package controlplane_test measures `nodeless up --control-plane-only` as a user runs it: time from
// process start to an API that answers /readyz (cold: new state dir, warm: existing state dir),
// time until every component is ready, and resident memory at idle. Results: bench/README.md.
//
//	make build && NODELESS_BIN=bin/nodeless go test -run '^$' -bench . -benchtime 5x ./bench/controlplane
package controlplane_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// idleSettle is how long the control plane idles before its memory is read.
const idleSettle = 30 * time.Second

// ns/op of every benchmark here is meaningless (it includes start-up, waiting or stopping); read
// the named metrics, each a mean over b.N runs.

func BenchmarkUpCold(b *testing.B) {
	var m metrics
	for range b.N {
		u := startUp(b, b.TempDir())
		m.add("s-to-readyz", u.readyz.Seconds())
		m.add("s-to-all-ready", u.allReady.Seconds())
		m.add("s-to-stop", u.stop(b).Seconds())
	}
	m.report(b)
}

func BenchmarkUpWarm(b *testing.B) {
	dir := b.TempDir()
	startUp(b, dir).stop(b) // the first start creates the PKI and etcd data
	var m metrics
	for range b.N {
		u := startUp(b, dir)
		m.add("s-to-readyz", u.readyz.Seconds())
		m.add("s-to-all-ready", u.allReady.Seconds())
		m.add("s-to-stop", u.stop(b).Seconds())
	}
	m.report(b)
}

// BenchmarkUpFull is `nodeless up` with everything nodeless adds (CRDs, local data plane with its
// containerd, controllers) on a new state dir: the newcomer's first start.
func BenchmarkUpFull(b *testing.B) {
	if _, err := exec.LookPath("containerd"); err != nil || os.Geteuid() != 0 {
		b.Skip("the local data plane needs root and containerd")
	}
	var m metrics
	for range b.N {
		u := startUp(b, b.TempDir(), "--control-plane-only=false")
		m.add("s-to-readyz", u.readyz.Seconds())
		m.add("s-to-all-ready", u.allReady.Seconds())
		time.Sleep(idleSettle)
		m.add("MiB-idle-rss", u.rssMiB(b))
		m.add("s-to-stop", u.stop(b).Seconds())
	}
	m.report(b)
}

func BenchmarkIdleRSS(b *testing.B) {
	var m metrics
	for range b.N {
		u := startUp(b, b.TempDir())
		time.Sleep(idleSettle)
		m.add("MiB-idle-rss", u.rssMiB(b))
		u.stop(b)
	}
	m.report(b)
}

// metrics collects samples and reports their means (ReportMetric keeps only the last value).
type metrics struct {
	names []string
	sum   map[string]float64
	n     map[string]int
}

func (m *metrics) add(name string, v float64) {
	if m.sum == nil {
		m.sum, m.n = map[string]float64{}, map[string]int{}
	}
	if m.n[name] == 0 {
		m.names = append(m.names, name)
	}
	m.sum[name] += v
	m.n[name]++
}

func (m *metrics) report(b *testing.B) {
	for _, name := range m.names {
		b.ReportMetric(m.sum[name]/float64(m.n[name]), name)
	}
}

type up struct {
	cmd      *exec.Cmd
	readyz   time.Duration // process start to /readyz ok
	allReady time.Duration // process start to "ready in" (every component ready)
}

// startUp runs `nodeless up --control-plane-only` (unless extraArgs say otherwise) on free ports.
func startUp(b *testing.B, stateDir string, extraArgs ...string) *up {
	b.Helper()
	bin, err := testenv.Binary()
	if err != nil {
		b.Fatal(err)
	}
	ports := freePorts(b)
	args := append([]string{"up", "--control-plane-only", "--state-dir", stateDir,
		"--apiserver-port", ports[0], "--etcd-client-port", ports[1], "--etcd-peer-port", ports[2],
		"--dataplane-address", controlplane.Host + ":" + ports[3]}, extraArgs...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan time.Duration, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready in ") {
				ready <- time.Since(begin)
			}
		}
	}()
	u := &up{cmd: cmd, readyz: waitReadyz(b, stateDir, begin)}
	select {
	case u.allReady = <-ready:
	case <-time.After(2 * time.Minute):
		b.Fatal("nodeless up never printed ready")
	}
	return u
}

// waitReadyz polls /readyz with the admin kubeconfig (written during start-up) until it answers ok.
func waitReadyz(b *testing.B, stateDir string, begin time.Time) time.Duration {
	b.Helper()
	deadline := begin.Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		cfg, err := controlplane.RESTConfigFromKubeconfig(controlplane.KubeconfigPath(stateDir))
		if err != nil {
			continue
		}
		cfg.Timeout = time.Second
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			continue
		}
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		if err == nil && string(body) == "ok" {
			return time.Since(begin)
		}
	}
	b.Fatal("/readyz never ok")
	return 0
}

func (u *up) stop(b *testing.B) time.Duration {
	b.Helper()
	begin := time.Now()
	_ = u.cmd.Process.Signal(syscall.SIGTERM)
	if err := u.cmd.Wait(); err != nil {
		b.Errorf("nodeless up exited with %v", err)
	}
	return time.Since(begin)
}

// rssMiB reads the resident set size of the whole nodeless process.
func (u *up) rssMiB(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", u.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func freePorts(b *testing.B) []string {
	b.Helper()
	var ports []string
	for range 4 {
		l, err := net.Listen("tcp", controlplane.Host+":0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports
}
