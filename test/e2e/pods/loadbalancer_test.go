package pods_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lbManifest is the Deployment lb (3 replicas of image, maxSurge 1, maxUnavailable 0, a readiness
// probe, 2 s of graceful shutdown on SIGTERM) behind the Service lb of type LoadBalancer at port.
func lbManifest(image string, port int) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: lb}
spec:
  replicas: 3
  selector: {matchLabels: {app: lb}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: lb}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: web
        image: ` + image + `
        args: ["-listen", ":8080", "-term-delay", "2s", "-udp-echo", ":5353"]
        ports: [{name: http, containerPort: 8080}, {name: echo, containerPort: 5353, protocol: UDP}]
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  selector: {app: lb}
  ports:
  - {name: http, port: ` + strconv.Itoa(port) + `, targetPort: http}
  - {name: echo, port: ` + strconv.Itoa(port) + `, targetPort: echo, protocol: UDP}
`
}

// TestLoadBalancer checks issue 9's load balancing on `nodeless up` with real containers: a
// LoadBalancer Service gets a listener on 127.0.0.1 written to its status; a bounded load loop
// through it sees zero failed requests while the Deployment rolls to a new image and scales
// 3 → 1 → 3 (the requests each ReplicaSet answered are reported); a task reaches the Service at
// its ClusterIP; the nodePort and `kubectl port-forward svc/...` work; and the listener and the
// status go when the Service stops being a LoadBalancer.
func TestLoadBalancer(t *testing.T) {
	c := startCluster(t)
	c.loadImages(t)
	ns := c.env.Namespace
	port := freePort(t)
	c.apply(t, ns, lbManifest(webV1, port))
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/lb", "--timeout="+kubectlWait)
	c.readyPods(t, ns, "app=lb", 3)
	lbURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/env?name=POD_NAME"
	svc := c.waitIngress(t, ns, "lb", port)
	eventually(t, "an answer through the load balancer", func() (bool, string) {
		body, err := getLocal(lbURL)
		return err == nil && strings.HasPrefix(body, "lb-"), fmt.Sprintf("%q %v", body, err)
	})

	load := startLoad(lbURL, 4)
	c.kubectl(t, "-n", ns, "set", "image", "deployment/lb", "web="+webV2)
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/lb", "--timeout="+kubectlWait)
	c.kubectl(t, "-n", ns, "scale", "deployment/lb", "--replicas=1")
	c.readyPods(t, ns, "app=lb", 1)
	c.kubectl(t, "-n", ns, "scale", "deployment/lb", "--replicas=3")
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/lb", "--timeout="+kubectlWait)
	c.readyPods(t, ns, "app=lb", 3)
	res := load.stop()
	t.Logf("through the load balancer during the rollout and 3 → 1 → 3: %d requests, %d failed; by ReplicaSet: %v", res.total(), len(res.failures), res.byReplicaSet)
	if len(res.failures) > 0 {
		t.Errorf("%d of %d requests failed; first ones: %v", len(res.failures), res.total(), res.failures[:min(len(res.failures), 10)])
	}
	if len(res.byReplicaSet) < 2 {
		t.Errorf("requests were answered by ReplicaSets %v, want the old and the new one", res.byReplicaSet)
	}

	t.Run("ClusterIP from a task", func(t *testing.T) { checkClusterIP(t, c, ns, svc) })
	t.Run("kubernetes Service from a task", func(t *testing.T) { checkKubernetesService(t, c, ns) })
	t.Run("nodePort", func(t *testing.T) {
		np := svc.Spec.Ports[0].NodePort
		if body, err := getLocal(fmt.Sprintf("http://127.0.0.1:%d/env?name=POD_NAME", np)); err != nil || !strings.HasPrefix(body, "lb-") {
			t.Errorf("through the nodePort %d: %q, %v", np, body, err)
		}
	})
	t.Run("UDP", func(t *testing.T) { checkUDP(t, port) })
	t.Run("port-forward svc", func(t *testing.T) { checkPortForwardService(t, c, ns, port) })
	t.Run("type ClusterIP again", func(t *testing.T) { checkNoLongerLoadBalancer(t, c, ns, port) })
}

// freePort is a TCP port free on 127.0.0.1 now (for the Service's port, so that the test does
// not depend on a well-known port being free on the machine).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// waitIngress waits until the Service's status.loadBalancer.ingress is 127.0.0.1 with port, and
// returns the Service.
func (c *cluster) waitIngress(t *testing.T, ns, name string, port int) *corev1.Service {
	t.Helper()
	var svc *corev1.Service
	eventually(t, "status.loadBalancer.ingress of Service "+name, func() (bool, string) {
		var err error
		svc, err = c.kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		in := svc.Status.LoadBalancer.Ingress
		ok := len(in) == 1 && in[0].IP == "127.0.0.1" && len(in[0].Ports) == 2 &&
			int(in[0].Ports[0].Port) == port && in[0].Ports[0].Error == nil && in[0].Ports[1].Error == nil
		return ok, fmt.Sprintf("%+v", in)
	})
	return svc
}

// checkClusterIP asks two Pods (tasks in the VPC) to fetch from the Service's ClusterIP. (The test
// server's fetch keeps its connection alive, so one Pod's fetches all go to one endpoint, as they
// would through kube-proxy.)
func checkClusterIP(t *testing.T, c *cluster, ns string, svc *corev1.Service) {
	pods := c.readyPods(t, ns, "app=lb", 3)
	names := map[string]bool{}
	for _, p := range pods {
		names[p.Name] = true
	}
	target := url.URL{Scheme: "http", Host: net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(svc.Spec.Ports[0].Port))), Path: "/env", RawQuery: "name=POD_NAME"}
	for _, p := range pods[:2] {
		body, err := c.podGet(p.Status.PodIP, "/fetch?url="+url.QueryEscape(target.String()))
		if err != nil {
			t.Errorf("Pod %s fetching %s: %v", p.Name, target.String(), err)
			continue
		}
		if !names[strings.TrimSpace(body)] {
			t.Errorf("Pod %s fetching %s got %q, want the name of one of the Service's Pods %v", p.Name, target.String(), body, names)
		}
	}
}

// checkUDP sends a datagram to the LoadBalancer's UDP port and expects the test server's echo.
func checkUDP(t *testing.T, port int) {
	c, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	buf := make([]byte, 512)
	eventually(t, "a UDP echo through the load balancer", func() (bool, string) {
		if _, err := c.Write([]byte("ping")); err != nil {
			return false, err.Error()
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return false, err.Error()
		}
		return string(buf[:n]) == "echo:ping", fmt.Sprintf("%q", buf[:n])
	})
}

// checkKubernetesService asks a Pod to fetch https://10.0.0.1/ (the kubernetes Service, whose
// endpoint is the API server on the host's 127.0.0.1): the TLS handshake reaching the API server
// is enough (the test server does not trust the cluster's CA, so its fetch reports the unknown
// authority).
func checkKubernetesService(t *testing.T, c *cluster, ns string) {
	pods := c.readyPods(t, ns, "app=lb", 3)
	_, err := c.podGet(pods[0].Status.PodIP, "/fetch?url="+url.QueryEscape("https://10.0.0.1/"))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Pod %s fetching https://10.0.0.1/: %v; want the API server's TLS handshake (an unknown-authority error)", pods[0].Name, err)
	}
}

// checkPortForwardService forwards a local port to the Service (kubectl picks one of its Pods and
// forwards through the virtual node's kubelet API).
func checkPortForwardService(t *testing.T, c *cluster, ns string, port int) {
	pf := start(t, c.bin, c.kubectlArgs([]string{"-n", ns, "port-forward", "--address", "127.0.0.1", "svc/lb", ":" + strconv.Itoa(port)})...)
	pf.waitOutput(t, "kubectl port-forward listens", "Forwarding from 127.0.0.1:")
	m := forwarding.FindStringSubmatch(pf.out.String())
	if m == nil {
		t.Fatalf("kubectl port-forward printed no port: %s", pf.out)
	}
	body, err := getLocal("http://127.0.0.1:" + m[1] + "/env?name=POD_NAME")
	if err != nil || !strings.HasPrefix(body, "lb-") {
		t.Errorf("through kubectl port-forward svc/lb: %q, %v\n%s", body, err, pf.out)
	}
}

// checkNoLongerLoadBalancer changes the Service to type ClusterIP: its ingress and its listener go.
func checkNoLongerLoadBalancer(t *testing.T, c *cluster, ns string, port int) {
	c.kubectl(t, "-n", ns, "patch", "service", "lb", "-p", `{"spec":{"type":"ClusterIP"}}`)
	eventually(t, "status.loadBalancer emptied", func() (bool, string) {
		svc, err := c.kube.CoreV1().Services(ns).Get(context.Background(), "lb", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(svc.Status.LoadBalancer.Ingress) == 0, fmt.Sprintf("%+v", svc.Status.LoadBalancer.Ingress)
	})
	eventually(t, "the listener on 127.0.0.1 closed", func() (bool, string) {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
		if err == nil {
			_ = conn.Close()
			return false, "still accepts"
		}
		return true, ""
	})
}

// load is a bounded load loop: workers GET a URL one request per connection (so every request is
// balanced anew) until stopped, or until maxRequests in all.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	res    loadResult
}

type loadResult struct {
	// byReplicaSet counts the answers by ReplicaSet (the answering Pod's name without its suffix).
	byReplicaSet map[string]int
	failures     []string
}

func (r loadResult) total() int {
	n := len(r.failures)
	for _, v := range r.byReplicaSet {
		n += v
	}
	return n
}

// maxRequests bounds the load loop whatever happens.
const maxRequests = 200000

func startLoad(u string, workers int) *load {
	ctx, cancel := context.WithTimeout(context.Background(), 2*commandTimeout)
	l := &load{cancel: cancel, res: loadResult{byReplicaSet: map[string]int{}}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range workers {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				body, err := get(ctx, client, u)
				if !l.record(ctx, body, err) {
					return
				}
			}
		})
	}
	return l
}

// get GETs u and returns the body, or an error.
func get(ctx context.Context, client *http.Client, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return strings.TrimSpace(string(b)), nil
}

// record counts one answer (a request cut short by the loop's end is none); false once
// maxRequests were made.
func (l *load) record(ctx context.Context, body string, err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil && ctx.Err() == nil:
		l.res.failures = append(l.res.failures, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
	case err == nil:
		rs := body
		if i := strings.LastIndex(body, "-"); i > 0 {
			rs = body[:i]
		}
		l.res.byReplicaSet[rs]++
	}
	return l.res.total() < maxRequests
}

// stop ends the loop and returns what it saw.
func (l *load) stop() loadResult {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	sort.Strings(l.res.failures)
	return l.res
}
