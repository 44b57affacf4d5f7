package controllers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/config/crd"
	"github.com/nodeless-dev/nodeless/internal/controller"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/dataplane/dataplanetest"
	"github.com/nodeless-dev/nodeless/internal/ecsapi"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// The benchmark runs the controllers in a child process (this test binary again, in controller
// mode) so that their memory is measured apart from the API server and the data plane.
const childEnv = "NODELESS_BENCH_CONTROLLER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "controller child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(testenv.Main(m))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envIntOrZero(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// runChild runs the controllers against the kubeconfig and data plane named in the environment
// and serves their ECS call counts on 127.0.0.1 (GET /calls, POST /reset).
func runChild() error {
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	cfg, err := controlplane.RESTConfigFromKubeconfig(os.Getenv("KUBECONFIG"))
	if err != nil {
		return err
	}
	ctx := context.Background()
	raw, err := ecsapi.NewClient(ctx, ecsapi.Options{
		Endpoint: os.Getenv("BENCH_ENDPOINT"), Region: os.Getenv("BENCH_REGION"),
		AccessKeyID: os.Getenv("BENCH_KEY"), SecretAccessKey: os.Getenv("BENCH_SECRET"),
	})
	if err != nil {
		return err
	}
	api := ecsapi.NewCounting(raw)
	m, err := controller.New(ctx, controller.Config{
		RestConfig: cfg, ECS: api, Limits: controller.NoRateLimit(),
		SyncPeriod:  time.Duration(envInt("BENCH_SYNC_SECONDS", 10)) * time.Second,
		Controllers: managed.Options{Workers: envInt("BENCH_WORKERS", 8)},
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/calls", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(api.Calls()) })
	mux.HandleFunc("/reset", func(http.ResponseWriter, *http.Request) { api.Reset() })
	mux.HandleFunc("/heap", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprint(w, ms.HeapInuse>>20)
	})
	go func() { _ = http.Serve(l, mux) }() //nolint:gosec // benchmark-only local endpoint
	fmt.Printf("calls http://%s\n", l.Addr())
	return m.Run(ctx)
}

type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(b *testing.B, env *testenv.Env, dp *dataplanetest.Env) *child {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "KUBECONFIG="+env.Kubeconfig,
		"BENCH_ENDPOINT="+dp.Endpoint, "BENCH_REGION="+dp.Region,
		"BENCH_KEY="+dp.Credentials.AccessKeyID, "BENCH_SECRET="+dp.Credentials.SecretAccessKey)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("controller child: %v", err)
	}
	return &child{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "calls "))}
}

func (c *child) calls(b *testing.B) map[string]int {
	resp, err := http.Get(c.addr + "/calls") //nolint:noctx // local benchmark endpoint
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var m map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		b.Fatal(err)
	}
	return m
}

func (c *child) reset(b *testing.B) {
	resp, err := http.Post(c.addr+"/reset", "", nil) //nolint:noctx // local benchmark endpoint
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
}

// rss returns the child's current and peak resident memory in MiB.
func (c *child) rss(b *testing.B) (cur, peak int) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			kb, _ := strconv.Atoi(f[1])
			if f[0] == "VmRSS:" {
				cur = kb / 1024
			} else {
				peak = kb / 1024
			}
		}
	}
	return cur, peak
}

// heap returns the child's live Go heap in MiB after a GC.
func (c *child) heap(b *testing.B) int {
	resp, err := http.Get(c.addr + "/heap") //nolint:noctx // local benchmark endpoint
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var mib int
	if _, err := fmt.Fscan(resp.Body, &mib); err != nil {
		b.Fatal(err)
	}
	return mib
}

func sum(m map[string]int, writes bool) int {
	n := 0
	for op, c := range m {
		if ecsapi.IsWrite(op) == writes {
			n += c
		}
	}
	return n
}

// BenchmarkServices: NODELESS_BENCH_SERVICES (default 1000) Services, each with its own
// TaskDefinition and desiredCount NODELESS_BENCH_DESIRED (default 1), on the local data plane
// with real containers.
func BenchmarkServices(b *testing.B) {
	n := envInt("NODELESS_BENCH_SERVICES", 1000)
	manifests, err := crd.Manifests()
	if err != nil {
		b.Fatal(err)
	}
	env := testenv.Start(b, testenv.WithCRDs(manifests...))
	dp := dataplanetest.Start(b)
	image := dp.LoadTestImage(b)
	scheme, err := controller.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	rc := env.Config
	rc.QPS, rc.Burst = 200, 400
	c, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	ch := startChild(b, env, dp)
	ns := env.Namespace
	time.Sleep(2 * time.Second)
	idle, _ := ch.rss(b)
	b.ResetTimer()

	start := time.Now()
	create(b, c, ns, image, n)
	created := time.Since(start)
	waitReady(b, c, ns, n, 30*time.Minute)
	ready := time.Since(start)
	converge := ch.calls(b)
	b.ReportMetric(ready.Seconds(), "s-to-ready")
	b.ReportMetric(float64(sum(converge, false)+sum(converge, true))/float64(n), "calls/svc-converge")
	b.Logf("%d services: objects created in %v, all Ready after %v; calls to converge %v", n, created, ready, converge)

	// Steady state: 6 resyncs (sync period 10 s).
	ch.reset(b)
	window := time.Minute
	time.Sleep(window)
	steady := ch.calls(b)
	resyncs := window.Seconds() / float64(envInt("BENCH_SYNC_SECONDS", 10))
	readsPer := float64(sum(steady, false)) / float64(n) / resyncs
	b.ReportMetric(readsPer, "reads/svc/resync")
	b.ReportMetric(float64(sum(steady, true)), "writes-steady")
	cur, peak := ch.rss(b)
	b.ReportMetric(float64(cur), "MiB-rss")
	b.ReportMetric(float64(peak), "MiB-rss-peak")
	b.ReportMetric(float64(idle), "MiB-rss-idle")
	heap := ch.heap(b)
	b.ReportMetric(float64(heap), "MiB-heap")
	b.Logf("steady state over %v (%.0f resyncs): %v; controller RSS %d MiB (peak %d MiB), Go heap in use %d MiB", window, resyncs, steady, cur, peak, heap)
}

func create(b *testing.B, c client.Client, ns, image string, n int) {
	ctx := context.Background()
	cl := &ecsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: ns}}
	if err := c.Create(ctx, cl); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, n)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name := fmt.Sprintf("svc-%04d", i)
				td := &ecsv1alpha1.TaskDefinition{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
					Spec: ecsv1alpha1.TaskDefinitionSpec{
						Family: ns + "-" + name, Cpu: "256", Memory: "512", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"},
						ContainerDefinitions: []ecsv1alpha1.ContainerDefinition{{Name: "app", Image: image}},
					}}
				svc := &ecsv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
					Spec: ecsv1alpha1.ServiceSpec{
						ClusterRef:        &ecsv1alpha1.LocalObjectReference{Name: "bench"},
						TaskDefinitionRef: &ecsv1alpha1.LocalObjectReference{Name: name},
						DesiredCount:      aws.Int32(int32(envIntOrZero("NODELESS_BENCH_DESIRED", 1))), LaunchType: "FARGATE",
					}}
				for _, obj := range []client.Object{td, svc} {
					if err := c.Create(ctx, obj); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func waitReady(b *testing.B, c client.Client, ns string, n int, timeout time.Duration) time.Duration {
	start := time.Now()
	last := 0
	for {
		var list ecsv1alpha1.ServiceList
		if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if reconciler.IsReady(list.Items[i].Status.Conditions) {
				ready++
			}
		}
		if ready == n {
			return time.Since(start)
		}
		if ready/100 != last/100 {
			b.Logf("%v: %d of %d Ready", time.Since(start).Round(time.Second), ready, n)
			last = ready
		}
		if time.Since(start) > timeout {
			b.Fatalf("only %d of %d Services Ready after %v", ready, n, timeout)
		}
		time.Sleep(2 * time.Second)
	}
}
