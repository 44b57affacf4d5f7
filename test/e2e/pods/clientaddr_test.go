package pods_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// proxyProtocolAnnotation is the AWS annotation the local load balancer honours
// (serviceproxy.ProxyProtocolAnnotation, spelled out as a user writes it).
const proxyProtocolAnnotation = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol"

// clientAddrManifest is one Pod of the test server reading optional PROXY protocol headers, behind
// three LoadBalancer Services: addr-pp with the annotation "*", addr-plain without it, addr-bad
// with a value no load balancer accepts.
func clientAddrManifest(image string, pp, plain, bad int) string {
	svc := func(name string, port int, annotation string) string {
		s := "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\n"
		if annotation != "" {
			s += "  annotations: {" + proxyProtocolAnnotation + ": " + strconv.Quote(annotation) + "}\n"
		}
		return s + "spec:\n  type: LoadBalancer\n  selector: {app: addr}\n  ports:\n  - {name: http, port: " + strconv.Itoa(port) + ", targetPort: 8080}\n"
	}
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: addr}
spec:
  replicas: 1
  selector: {matchLabels: {app: addr}}
  template:
    metadata: {labels: {app: addr}}
    spec:
      containers:
      - name: web
        image: ` + image + `
        args: ["-listen", ":8080", "-proxy-protocol"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
` + svc("addr-pp", pp, "*") + svc("addr-plain", plain, "") + svc("addr-bad", bad, "true")
}

// TestLoadBalancerClientAddress checks the client's address through the local load balancer with
// real containers: a LoadBalancer Service annotated with the AWS PROXY protocol annotation gives
// the task a PROXY protocol v2 header carrying the client's own address and port; without the
// annotation nothing changes (the task sees the VPC's gateway); the ClusterIP of the annotated
// Service sends no header (as kube-proxy); an annotation value the load balancer cannot honour is
// refused by name in the status and a Warning Event.
func TestLoadBalancerClientAddress(t *testing.T) {
	c := startCluster(t)
	c.loadImages(t)
	ns := c.env.Namespace
	pp, plain, bad := freePort(t), freePort(t), freePort(t)
	c.apply(t, ns, clientAddrManifest(webV1, pp, plain, bad))
	c.kubectl(t, "-n", ns, "rollout", "status", "deployment/addr", "--timeout="+kubectlWait)
	pods := c.readyPods(t, ns, "app=addr", 1)

	var local, seen string
	eventually(t, "the client's own address through the annotated load balancer", func() (bool, string) {
		var err error
		local, seen, err = remoteThrough(pp)
		return err == nil && seen == local, fmt.Sprintf("the task saw %q, the client is %s (%v)", seen, local, err)
	})
	t.Logf("through addr-pp the task saw %s, the client's address", seen)

	eventually(t, "the gateway's address through the load balancer without the annotation", func() (bool, string) {
		_, seen, err := remoteThrough(plain)
		host, _, _ := net.SplitHostPort(seen)
		return err == nil && host == "10.244.0.1", fmt.Sprintf("the task saw %q (%v), want the VPC's gateway 10.244.0.1", seen, err)
	})

	svc, err := c.kube.CoreV1().Services(ns).Get(context.Background(), "addr-pp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := url.URL{Scheme: "http", Host: net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(pp)), Path: "/remote"}
	body, err := c.podGet(pods[0].Status.PodIP, "/fetch?url="+url.QueryEscape(target.String()))
	if host, _, _ := net.SplitHostPort(body); err != nil || host != "10.244.0.1" {
		t.Errorf("through the ClusterIP of addr-pp the task saw %q (%v), want the VPC's gateway 10.244.0.1 (no PROXY header off the load balancer)", body, err)
	}

	eventually(t, "addr-bad refused by name", func() (bool, string) {
		s, err := c.kube.CoreV1().Services(ns).Get(context.Background(), "addr-bad", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		in := s.Status.LoadBalancer.Ingress
		ok := len(in) == 1 && len(in[0].Ports) == 1 && in[0].Ports[0].Error != nil && *in[0].Ports[0].Error == "nodeless.dev/InvalidAnnotation"
		return ok, fmt.Sprintf("%+v", in)
	})
	eventually(t, "a Warning Event InvalidAnnotation on addr-bad naming the annotation", func() (bool, string) {
		evs, err := c.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=addr-bad,reason=InvalidAnnotation"})
		if err != nil || len(evs.Items) == 0 {
			return false, fmt.Sprint(err)
		}
		e := evs.Items[0]
		return e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, proxyProtocolAnnotation), e.Message
	})
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(bad)), 5*time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("addr-bad's port %d accepts connections although its annotation was refused", bad)
	}
}

// remoteThrough GETs /remote through 127.0.0.1:port on one connection and returns the
// connection's own address and the body: the client's address as the task saw it.
func remoteThrough(port int) (local, seen string, err error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET /remote HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n"); err != nil {
		return "", "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return conn.LocalAddr().String(), strings.TrimSpace(string(b)), nil
}
