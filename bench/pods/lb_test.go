package pods

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/nodeless-dev/nodeless/internal/dataplane/vpc"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// lbDefaults: each path is loaded for NODELESS_BENCH_LB_SECONDS (5) per round by
// NODELESS_BENCH_LB_WORKERS (8) workers, in NODELESS_BENCH_LB_ROUNDS (3) rounds that alternate
// the paths (so that a change of the machine's load hits both alike).
const (
	lbSeconds = 5
	lbWorkers = 8
	lbRounds  = 3
)

// BenchmarkLoadBalancer measures requests per second and latency (p50, p99) of GET / on one Pod
// of the test image, through the Service's load balancer and straight to the Pod in the same run:
//
//   - direct: a socket made in the VPC's namespace dials the Pod's IP (what the load balancer itself
//     does for every connection);
//   - lb: a client on the host's loopback dials the LoadBalancer Service at 127.0.0.1:port;
//   - clusterip: a socket made in the VPC's namespace dials the Service's ClusterIP:port (where a
//     task's connection to the ClusterIP goes).
//
// Each path runs with a new connection per request ("new") and with kept-alive connections
// ("keepalive"). The ratios lb/direct are reported as metrics; bench/README.md "Load balancing
// (issue 9 item 3)" has the numbers.
func BenchmarkLoadBalancer(b *testing.B) {
	bn := start(b)
	ctx := context.Background()
	ns := bn.env.Namespace
	port := freePort(b)
	d := deployment("lb")
	// The Pod's size: without requests a Pod is the smallest Fargate task, 0.25 vCPU, and the
	// CFS quota that enforces it (25 ms per 100 ms period) throttles the server on every path
	// alike: each path's p99 is then the quota's 75 ms pause, not the path. Two vCPU (4 GiB,
	// Fargate's smallest memory for it) lift the quota to the machine's two cores.
	// NODELESS_BENCH_LB_CPU sets another size ("0.25" measures the default).
	cpu := resource.MustParse(envString("NODELESS_BENCH_LB_CPU", "2"))
	d.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: cpu}
	b.Logf("Pod size: cpu request %s", cpu.String())
	if _, err := bn.kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "lb"},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "lb"},
			Ports: []corev1.ServicePort{{Port: int32(port), TargetPort: intstr.FromInt32(testimage.Port)}},
		},
	}
	created, err := bn.kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	podIP := bn.waitPodIP(b, ns, "app=lb")
	paths := bn.lbPaths(podIP, port, created.Spec.ClusterIP)
	for _, p := range paths {
		bn.waitPath(b, p)
	}
	logLoad(b, "before the load")
	results := map[string]*loadStats{}
	for round := 0; round < envInt("NODELESS_BENCH_LB_ROUNDS", lbRounds); round++ {
		for _, p := range paths {
			s := runLoad(p, envInt("NODELESS_BENCH_LB_WORKERS", lbWorkers), time.Duration(envInt("NODELESS_BENCH_LB_SECONDS", lbSeconds))*time.Second)
			if results[p.name] == nil {
				results[p.name] = &loadStats{}
			}
			results[p.name].add(s)
		}
	}
	logLoad(b, "after the load")
	report(b, results)
	bn.deleteDeployment(b, "lb")
}

// lbPath is one way to reach the Pod.
type lbPath struct {
	name   string
	url    string
	client *http.Client
}

func (bn *bench) lbPaths(podIP string, port int, clusterIP string) []lbPath {
	nsPath := vpc.NamespacePath(bn.env.StateDir)
	inVPC := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return vpc.DialInNamespace(ctx, nsPath, network, addr, nil)
	}
	var host net.Dialer
	client := func(dial func(context.Context, string, string) (net.Conn, error), keepAlive bool) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: dial, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: lbWorkers * 2,
		}}
	}
	direct := "http://" + net.JoinHostPort(podIP, strconv.Itoa(testimage.Port)) + "/"
	lb := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/"
	cip := "http://" + net.JoinHostPort(clusterIP, strconv.Itoa(port)) + "/"
	var out []lbPath
	for _, ka := range []bool{false, true} {
		mode := "new"
		if ka {
			mode = "keepalive"
		}
		out = append(out,
			lbPath{name: "direct/" + mode, url: direct, client: client(inVPC, ka)},
			lbPath{name: "lb/" + mode, url: lb, client: client(host.DialContext, ka)},
			lbPath{name: "clusterip/" + mode, url: cip, client: client(inVPC, ka)},
		)
	}
	return out
}

// waitPodIP waits until one Pod matching selector is Ready and returns its IP.
func (bn *bench) waitPodIP(b *testing.B, ns, selector string) string {
	b.Helper()
	deadline := time.Now().Add(waitTimeout)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list, err := bn.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(list.Items) != 1 {
			continue
		}
		p := list.Items[0]
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.Status.PodIP != "" {
				return p.Status.PodIP
			}
		}
	}
	b.Fatalf("no Ready Pod %s in %s within %s", selector, ns, waitTimeout)
	return ""
}

// waitPath waits until p answers.
func (bn *bench) waitPath(b *testing.B, p lbPath) {
	b.Helper()
	deadline := time.Now().Add(waitTimeout)
	var err error
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = once(context.Background(), p); err == nil {
			return
		}
	}
	b.Fatalf("%s (%s) did not answer within %s: %v", p.name, p.url, waitTimeout, err)
}

// once GETs p's URL and returns how long the request took.
func once(ctx context.Context, p lbPath) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return 0, err
	}
	begin := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return time.Since(begin), err
}

// loadStats are the latencies and errors of a path over its rounds.
type loadStats struct {
	lat     []time.Duration
	errs    int
	elapsed time.Duration
}

func (s *loadStats) add(o *loadStats) {
	s.lat = append(s.lat, o.lat...)
	s.errs += o.errs
	s.elapsed += o.elapsed
}

func (s *loadStats) rps() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

// runLoad runs workers against p for d.
func runLoad(p lbPath, workers int, d time.Duration) *loadStats {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	all := &loadStats{}
	var wg sync.WaitGroup
	begin := time.Now()
	for range workers {
		wg.Go(func() {
			var lat []time.Duration
			errs := 0
			for ctx.Err() == nil {
				l, err := once(ctx, p)
				switch {
				case err == nil:
					lat = append(lat, l)
				case ctx.Err() == nil:
					errs++
				}
			}
			mu.Lock()
			all.lat, all.errs = append(all.lat, lat...), all.errs+errs
			mu.Unlock()
		})
	}
	wg.Wait()
	all.elapsed = time.Since(begin)
	p.client.CloseIdleConnections()
	return all
}

// report logs every path and reports the lb/direct ratios and the p99 the load balancer adds.
func report(b *testing.B, results map[string]*loadStats) {
	b.Helper()
	for _, name := range []string{"direct/new", "lb/new", "clusterip/new", "direct/keepalive", "lb/keepalive", "clusterip/keepalive"} {
		s := results[name]
		b.Logf("%-20s %8.0f req/s  p50 %8s  p99 %8s  errors %d  (%d requests)", name, s.rps(), pct(s.lat, 50), pct(s.lat, 99), s.errs, len(s.lat))
	}
	for _, mode := range []string{"new", "keepalive"} {
		direct, lb, cip := results["direct/"+mode], results["lb/"+mode], results["clusterip/"+mode]
		b.ReportMetric(lb.rps()/direct.rps(), "lb/direct-rps-"+mode)
		b.ReportMetric(cip.rps()/direct.rps(), "clusterip/direct-rps-"+mode)
		b.ReportMetric(float64(pct(lb.lat, 99)-pct(direct.lat, 99))/float64(time.Millisecond), "lb-added-p99-ms-"+mode)
		if lb.errs+direct.errs+cip.errs > 0 {
			b.Errorf("%s: errors: direct %d, lb %d, clusterip %d", mode, direct.errs, lb.errs, cip.errs)
		}
	}
}

// freePort is a TCP port free on 127.0.0.1 now.
func freePort(b *testing.B) int {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
