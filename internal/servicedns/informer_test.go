package servicedns

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testwait"
)

// TestFromAPIServer: the server answers from the Services and EndpointSlices of a real API server,
// and follows their changes (a selectorless Service with its own slice, so that no controller
// writes slices beside the test).
func TestFromAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded control plane")
	}
	env := testenv.Start(t)
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := env.Namespace
	pc, l := listenUDPAndTCP(t)
	s, err := New(kube, Options{
		Upstreams:    []string{"127.0.0.1:1"},
		ListenPacket: func() (net.PacketConn, error) { return pc, nil },
		Listen:       func() (net.Listener, error) { return l, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testwait.For(t, time.Minute, 100*time.Millisecond, "the server ready", func() (bool, string) {
		select {
		case <-s.Ready():
			return true, ""
		default:
			return false, "not ready"
		}
	})
	addr := pc.LocalAddr().String()
	expect := func(what, name string, want ...string) {
		t.Helper()
		testwait.For(t, time.Minute, 100*time.Millisecond, what, func() (bool, string) {
			m := new(dns.Msg)
			m.SetQuestion(name, dns.TypeA)
			resp, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
			if err != nil {
				return false, err.Error()
			}
			got := []string{dns.RcodeToString[resp.Rcode]}
			for _, rr := range resp.Answer {
				got = append(got, rr.(*dns.A).A.String())
			}
			return cmp.Equal(want, got), cmp.Diff(want, got)
		})
	}

	name := "db." + ns + ".svc.cluster.local."
	expect("no Service yet", name, "NXDOMAIN")
	if _, err := kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("a headless Service without endpoints", name, "NOERROR")
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "db-1", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.244.0.8"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
		},
	}
	es, err = kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expect("the ready endpoint", name, "NOERROR", "10.244.0.7")
	es.Endpoints[1].Conditions.Ready = ptr.To(true)
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("both endpoints once ready", name, "NOERROR", "10.244.0.7", "10.244.0.8")
	if err := kube.DiscoveryV1().EndpointSlices(ns).Delete(ctx, es.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("no endpoint once the slice is deleted", name, "NOERROR")
	if err := kube.CoreV1().Services(ns).Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("no name once the Service is deleted", name, "NXDOMAIN")
}
