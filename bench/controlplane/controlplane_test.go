// Package controlplane_test measures `nodeless up --control-plane-only` as a user runs it: time from
// process start to an API that answers /readyz (cold: new state dir, warm: existing state dir),
// time until every component is ready, and resident memory at idle (all of it, and its private
// anonymous part). Results: bench/README.md.
//
//	make build && NODELESS_BIN=$PWD/bin/nodeless go test -run '^$' -bench . -benchtime 5x ./bench/controlplane
//
// With $NODELESS_BASELINE_BIN set to another nodeless binary (e.g. one built from an older commit,
// see docs/upgrading-kubernetes.md), every benchmark runs both binaries in the same run, taking
// turns run by run, and reports the baseline's figures (base-...) and the ratios binary/baseline
// (ratio-...; below 1 means the binary under test is faster or smaller).
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

// baselineEnvVar names the environment variable holding a second nodeless binary to compare with.
const baselineEnvVar = "NODELESS_BASELINE_BIN"

// idleSettle is how long the control plane idles before its memory is read.
const idleSettle = 30 * time.Second

// ns/op of every benchmark here is meaningless (it includes start-up, waiting or stopping); read
// the named metrics, each a mean over b.N runs (per binary).

func BenchmarkUpCold(b *testing.B) {
	var m metrics
	bins := binaries(b)
	for i := range b.N {
		for _, bin := range inTurn(bins, i) {
			u := startUp(b, bin.path, b.TempDir())
			m.add(bin.prefix+"s-to-readyz", u.readyz.Seconds())
			m.add(bin.prefix+"s-to-all-ready", u.allReady.Seconds())
			m.add(bin.prefix+"s-to-stop", u.stop(b).Seconds())
		}
	}
	m.report(b)
}

func BenchmarkUpWarm(b *testing.B) {
	bins := binaries(b)
	dirs := map[string]string{}
	for _, bin := range bins {
		// The first start creates the PKI and etcd data; each binary keeps its own state dir, as
		// etcd's data is not meant to go back to an older etcd.
		dirs[bin.path] = b.TempDir()
		startUp(b, bin.path, dirs[bin.path]).stop(b)
	}
	var m metrics
	for i := range b.N {
		for _, bin := range inTurn(bins, i) {
			u := startUp(b, bin.path, dirs[bin.path])
			m.add(bin.prefix+"s-to-readyz", u.readyz.Seconds())
			m.add(bin.prefix+"s-to-all-ready", u.allReady.Seconds())
			m.add(bin.prefix+"s-to-stop", u.stop(b).Seconds())
		}
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
	bins := binaries(b)
	for i := range b.N {
		for _, bin := range inTurn(bins, i) {
			u := startUp(b, bin.path, b.TempDir(), "--control-plane-only=false")
			m.add(bin.prefix+"s-to-readyz", u.readyz.Seconds())
			m.add(bin.prefix+"s-to-all-ready", u.allReady.Seconds())
			time.Sleep(idleSettle)
			m.addMemory(b, bin.prefix, u)
			m.add(bin.prefix+"s-to-stop", u.stop(b).Seconds())
		}
	}
	m.report(b)
}

func BenchmarkIdleRSS(b *testing.B) {
	var m metrics
	bins := binaries(b)
	for i := range b.N {
		for _, bin := range inTurn(bins, i) {
			u := startUp(b, bin.path, b.TempDir())
			time.Sleep(idleSettle)
			m.addMemory(b, bin.prefix, u)
			u.stop(b)
		}
	}
	m.report(b)
}

// binary is one nodeless binary to measure; prefix starts the names of its metrics.
type binary struct{ prefix, path string }

// basePrefix starts the names of the baseline's metrics; ratioPrefix those of the ratios.
const (
	basePrefix  = "base-"
	ratioPrefix = "ratio-"
)

// binaries is the binary under test ($NODELESS_BIN, or one built from this tree), then the
// baseline when $NODELESS_BASELINE_BIN is set. It logs both binaries' `version` and the load
// average, which the results in bench/README.md quote.
func binaries(b *testing.B) []binary {
	b.Helper()
	bin, err := testenv.Binary()
	if err != nil {
		b.Fatal(err)
	}
	bins := []binary{{path: bin}}
	if base := os.Getenv(baselineEnvVar); base != "" {
		if _, err := os.Stat(base); err != nil {
			b.Fatalf("%s=%s: %v", baselineEnvVar, base, err)
		}
		bins = append(bins, binary{prefix: basePrefix, path: base})
	}
	for _, bin := range bins {
		out, err := exec.Command(bin.path, "version").Output()
		if err != nil {
			b.Fatalf("%s version: %v", bin.path, err)
		}
		role := "under test"
		if bin.prefix == basePrefix {
			role = "baseline"
		}
		b.Logf("%s %s: %s", role, bin.path, strings.Join(strings.Fields(string(out)), " "))
	}
	logLoad(b, "begin")
	b.Cleanup(func() { logLoad(b, "end") })
	return bins
}

// inTurn orders bins for run i: the binary under test first on even runs, the baseline first on
// odd ones, so that neither always starts on a machine the other has just warmed or loaded.
func inTurn(bins []binary, i int) []binary {
	if i%2 == 0 || len(bins) < 2 {
		return bins
	}
	return []binary{bins[1], bins[0]}
}

// logLoad logs the machine's load averages (1, 5 and 15 minutes).
func logLoad(b *testing.B, when string) {
	b.Helper()
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Logf("load average at %s: %v", when, err)
		return
	}
	f := strings.Fields(string(data))
	if len(f) >= 3 {
		b.Logf("load average at %s: %s %s %s", when, f[0], f[1], f[2])
	}
}

// metrics collects samples and reports their means (ReportMetric keeps only the last value).
type metrics struct {
	names []string
	sum   map[string]float64
	n     map[string]int
	all   map[string][]float64
}

func (m *metrics) add(name string, v float64) {
	if m.sum == nil {
		m.sum, m.n, m.all = map[string]float64{}, map[string]int{}, map[string][]float64{}
	}
	if m.n[name] == 0 {
		m.names = append(m.names, name)
	}
	m.sum[name] += v
	m.n[name]++
	m.all[name] = append(m.all[name], v)
}

func (m *metrics) mean(name string) float64 { return m.sum[name] / float64(m.n[name]) }

// report reports every metric's mean, and for each metric that the baseline has too, the ratio
// of the means (binary under test / baseline). Each run's values are logged.
func (m *metrics) report(b *testing.B) {
	for _, name := range m.names {
		b.ReportMetric(m.mean(name), name)
		b.Logf("%s per run: %s", name, formatRuns(m.all[name]))
		if base := basePrefix + name; m.n[base] > 0 && m.mean(base) != 0 {
			b.ReportMetric(m.mean(name)/m.mean(base), ratioPrefix+name)
		}
	}
}

func formatRuns(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strings.Join(s, " ")
}

type up struct {
	cmd      *exec.Cmd
	readyz   time.Duration // process start to /readyz ok
	allReady time.Duration // process start to "ready in" (every component ready)
}

// startUp runs bin's `nodeless up --control-plane-only` (unless extraArgs say otherwise) on free
// ports.
func startUp(b *testing.B, bin, stateDir string, extraArgs ...string) *up {
	b.Helper()
	ports := freePorts(b)
	args := []string{"up", "--control-plane-only", "--state-dir", stateDir,
		"--apiserver-port", ports[0], "--etcd-client-port", ports[1], "--etcd-peer-port", ports[2],
		"--dataplane-address", controlplane.Host + ":" + ports[3]}
	if hasUpFlag(b, bin, "--kubelet-port") {
		// The virtual node's kubelet API (since 2026-11-29) defaults to 10250, which another
		// `nodeless up` on the machine (a test, say) may hold.
		args = append(args, "--kubelet-port", ports[4])
	}
	args = append(args, extraArgs...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	// Its output, for the failure message when it never gets ready (a port another process took
	// between freePorts and the start, say).
	var output testenv.SyncBuffer
	cmd.Stderr = &output
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan time.Duration, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited) // stdout closes when the process exits
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			_, _ = output.Write([]byte(sc.Text() + "\n"))
			if strings.HasPrefix(sc.Text(), "ready in ") {
				ready <- time.Since(begin)
			}
		}
	}()
	readyz, ok := waitReadyz(stateDir, begin, exited)
	if !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.Fatalf("%s up: /readyz never ok; its output:\n%s", bin, output.String())
	}
	u := &up{cmd: cmd, readyz: readyz}
	select {
	case u.allReady = <-ready:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%s up never printed ready; its output:\n%s", bin, output.String())
	}
	return u
}

// hasUpFlag reports whether bin's `up` has flag (older binaries, e.g. a baseline, lack newer flags).
func hasUpFlag(b *testing.B, bin, flag string) bool {
	b.Helper()
	out, err := exec.Command(bin, "up", "--help").CombinedOutput()
	if err != nil {
		b.Fatalf("%s up --help: %v\n%s", bin, err, out)
	}
	return strings.Contains(string(out), flag+" ")
}

// waitReadyz polls /readyz with the admin kubeconfig (written during start-up) until it answers
// ok, and reports how long after begin that was; false when the process exited first or two
// minutes passed.
func waitReadyz(stateDir string, begin time.Time, exited <-chan struct{}) (time.Duration, bool) {
	deadline := begin.Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return 0, false
		case <-time.After(20 * time.Millisecond):
		}
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
			return time.Since(begin), true
		}
	}
	return 0, false
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

// memory is what /proc/<pid>/status says of the whole nodeless process, in MiB: VmRSS (every
// resident page) and RssAnon, its private anonymous part (Go heap, stacks, runtime). The rest of
// VmRSS is mostly the binary's own pages, shared with the page cache, clean, and more or less
// resident depending on the page cache (VmRSS of the same binary varies by tens of MiB between
// runs while RssAnon does not).
type memory struct{ rss, anon float64 }

func (u *up) memory(b *testing.B) memory {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", u.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	var m memory
	fields := map[string]*float64{"VmRSS:": &m.rss, "RssAnon:": &m.anon}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			b.Fatal(err)
		}
		*fields[f[0]] = kb / 1024
	}
	if m.rss == 0 || m.anon == 0 {
		b.Fatalf("no VmRSS or RssAnon in /proc/%d/status", u.cmd.Process.Pid)
	}
	return m
}

// addMemory adds u's memory to m as MiB-idle-rss and MiB-idle-anon.
func (m *metrics) addMemory(b *testing.B, prefix string, u *up) {
	b.Helper()
	mem := u.memory(b)
	m.add(prefix+"MiB-idle-rss", mem.rss)
	m.add(prefix+"MiB-idle-anon", mem.anon)
}

func freePorts(b *testing.B) []string {
	b.Helper()
	var ports []string
	for range 5 {
		l, err := net.Listen("tcp", controlplane.Host+":0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports
}
