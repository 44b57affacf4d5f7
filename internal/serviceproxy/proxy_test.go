package serviceproxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestProxyOnAPIServer runs the Proxy against the real kube-apiserver (internal/testenv) with real
// TCP on 127.0.0.1: a selector-less LoadBalancer Service whose EndpointSlice names two Pod
// addresses of the VPC, which the test's Dial maps to backends on 127.0.0.1 (the API server
// refuses loopback endpoint addresses). It checks the status, the balancing, Drained, the listen
// error of a port in use, and the type change.
func TestProxyOnAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver; skipped with -short")
	}
	env := testenv.Start(t)
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	a, b := startBackend(t, "a"), startBackend(t, "b")
	routes := map[string]string{"10.244.0.5:8080": a.l.Addr().String(), "10.244.0.6:8080": b.l.Addr().String()}
	var d net.Dialer
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		if to, ok := routes[address]; ok {
			address = to
		}
		return d.DialContext(ctx, network, address)
	}
	p, err := New(Options{Client: kube, Dial: dial, Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	ns := env.Namespace
	port := freePort(t)
	lbAddr := "127.0.0.1:" + strconv.Itoa(port)
	createService(t, kube, ns, "web", port)
	createSlice(t, kube, ns, "web", map[string]discoveryv1.EndpointConditions{"10.244.0.5": {}, "10.244.0.6": {}})
	mode := corev1.LoadBalancerIPModeProxy
	waitIngress(t, kube, ns, "web", []corev1.LoadBalancerIngress{{IP: "127.0.0.1", IPMode: &mode, Ports: []corev1.PortStatus{{Port: int32(port), Protocol: corev1.ProtocolTCP}}}})
	waitAnswers(t, lbAddr, map[string]bool{"a": true, "b": true})

	// Pod a is being deleted: no new connection goes to it, and Drained says so.
	podA := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "uid-10.244.0.5"}}
	if p.Drained(podA) {
		t.Errorf("Drained(a) = true while a is Ready")
	}
	updateSlice(t, kube, ns, "web", map[string]discoveryv1.EndpointConditions{
		"10.244.0.5": {Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}, "10.244.0.6": {}})
	waitFor(t, "Drained(a)", func() bool { return p.Drained(podA) })
	for range 4 {
		if _, name := connect(t, lbAddr); name != "b" {
			t.Errorf("after a began terminating a connection was answered by %q, want b", name)
		}
	}

	// A second LoadBalancer Service on the same port cannot listen: its status says so.
	createService(t, kube, ns, "clash", port)
	waitIngress(t, kube, ns, "clash", []corev1.LoadBalancerIngress{{IP: "127.0.0.1", IPMode: &mode,
		Ports: []corev1.PortStatus{{Port: int32(port), Protocol: corev1.ProtocolTCP, Error: ptr.To(PortInUse)}}}})

	testwait.For(t, waitTimeout, 50*time.Millisecond, "a ListenFailed Event of Service clash", func() (bool, string) {
		evs, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=clash,reason=" + reasonListenFailed})
		if err != nil {
			return false, err.Error()
		}
		return len(evs.Items) > 0, fmt.Sprintf("%d Events", len(evs.Items))
	})

	// Type ClusterIP: the ingress and the listener go.
	svc, err := kube.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range svc.Spec.Ports {
		svc.Spec.Ports[i].NodePort = 0
	}
	if _, err := kube.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress(t, kube, ns, "web", nil)
	// The port is free again: the clashing Service gets it.
	waitIngress(t, kube, ns, "clash", []corev1.LoadBalancerIngress{{IP: "127.0.0.1", IPMode: &mode, Ports: []corev1.PortStatus{{Port: int32(port), Protocol: corev1.ProtocolTCP}}}})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func createService(t *testing.T, kube kubernetes.Interface, ns, name string, port int) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{
			{Name: "http", Port: int32(port), TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP},
		}},
	}
	if _, err := kube.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func sliceOf(ns, svc string, eps map[string]discoveryv1.EndpointConditions) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for ip, c := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: c,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "pod-" + ip, UID: types.UID("uid-" + ip)}})
	}
	return s
}

func createSlice(t *testing.T, kube kubernetes.Interface, ns, svc string, eps map[string]discoveryv1.EndpointConditions) {
	t.Helper()
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(context.Background(), sliceOf(ns, svc, eps), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func updateSlice(t *testing.T, kube kubernetes.Interface, ns, svc string, eps map[string]discoveryv1.EndpointConditions) {
	t.Helper()
	ctx := context.Background()
	cur, err := kube.DiscoveryV1().EndpointSlices(ns).Get(ctx, svc+"-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := sliceOf(ns, svc, eps)
	s.ResourceVersion = cur.ResourceVersion
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, waitTimeout, 20*time.Millisecond, what, func() (bool, string) { return cond(), "not yet" })
}

func waitIngress(t *testing.T, kube kubernetes.Interface, ns, name string, want []corev1.LoadBalancerIngress) {
	t.Helper()
	testwait.For(t, waitTimeout, 50*time.Millisecond, "status.loadBalancer.ingress of "+name, func() (bool, string) {
		svc, err := kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		diff := cmp.Diff(want, svc.Status.LoadBalancer.Ingress)
		return diff == "" || (len(want) == 0 && len(svc.Status.LoadBalancer.Ingress) == 0), "(-want +got):\n" + diff
	})
}

// waitAnswers connects until every backend in want answered.
func waitAnswers(t *testing.T, addr string, want map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(waitTimeout)
	for len(seen) < len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("through %s: answers from %v, want %v", addr, seen, want)
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		_ = c.SetDeadline(time.Now().Add(waitTimeout))
		buf := make([]byte, 16)
		n, _ := c.Read(buf)
		_ = c.Close()
		if name := string(buf[:max(n-1, 0)]); want[name] {
			seen[name] = true
		} else if n > 0 {
			t.Errorf("answer %q from an unknown backend", fmt.Sprint(name))
		}
	}
}
