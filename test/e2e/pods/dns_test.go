package pods_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// namesManifest is a backend Deployment of 2 behind a ClusterIP Service (backend, named port http)
// and a headless one (backend-pods), a StatefulSet db of 2 behind its headless Service db, and a
// frontend Pod that looks names up (the test image's /lookup). Backend Pods wait 10 s after
// SIGTERM, so that a deleted one is still there while the test looks.
func namesManifest(image string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: backend}
spec:
  replicas: 2
  selector: {matchLabels: {app: backend}}
  template:
    metadata: {labels: {app: backend}}
    spec:
      terminationGracePeriodSeconds: 15
      containers:
      - name: web
        image: ` + image + `
        args: ["-listen", ":8080", "-term-delay", "10s"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: backend-pods}
spec:
  clusterIP: None
  selector: {app: backend}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: db
        image: ` + image + `
        args: ["-listen", ":8080"]
        ports: [{name: http, containerPort: 8080}]
` + clientPodManifest("frontend", image)
}

// TestServiceNames (issue 9, item 2): a frontend Pod resolves a ClusterIP Service by its three
// spellings, a headless Service to its ready Pods, StatefulSet Pods by hostname, SRV of a named
// port; its resolv.conf is a kubelet's; scaling the backend changes the answers; a Pod failing
// readiness, and a Pod being deleted, leave the answers (the deleted one while it still runs).
func TestServiceNames(t *testing.T) {
	c := startCluster(t)
	c.loadImages(t)
	ns := c.env.Namespace
	c.apply(t, ns, namesManifest(webV1))
	frontend := c.readyPods(t, ns, "app=frontend", 1)[0].Status.PodIP
	backends := c.readyPods(t, ns, "app=backend", 2)
	dbs := c.readyPods(t, ns, "app=db", 2)
	clusterIP := c.kubectl(t, "-n", ns, "get", "svc", "backend", "-o", "jsonpath={.spec.clusterIP}")
	lookup := func(query string) (string, error) { return c.podGet(frontend, "/lookup?"+query) }
	expect := func(what, query, want string) {
		t.Helper()
		eventually(t, what, func() (bool, string) {
			got, err := lookup(query)
			if err != nil {
				return false, err.Error()
			}
			return got == want, fmt.Sprintf("%q, want %q", got, want)
		})
	}

	resolv, err := c.podGet(frontend, "/file?path=/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the frontend's resolv.conf:\n%s", resolv)
	for _, line := range []string{"nameserver 10.244.0.1\n", "search " + ns + ".svc.cluster.local svc.cluster.local cluster.local", "options ndots:5\n"} {
		if !strings.Contains(resolv, line) {
			t.Errorf("the frontend's resolv.conf lacks %q:\n%s", line, resolv)
		}
	}

	for _, name := range []string{"backend", "backend." + ns, "backend." + ns + ".svc.cluster.local", "backend." + ns + ".svc.cluster.local."} {
		expect("the ClusterIP Service as "+name, "host="+name, clusterIP)
	}
	expect("the API server's Service from another namespace", "host=kubernetes.default",
		c.kubectl(t, "-n", "default", "get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"))
	expect("SRV of the named port", "srv=_http._tcp.backend", "backend."+ns+".svc.cluster.local. 80")
	expect("the headless Service", "host=backend-pods", ips(backends...))
	expect("StatefulSet Pods by hostname", "host=db-0.db", ips(podNamed(t, dbs, "db-0")))
	expect("StatefulSet Pods by hostname, fully", "host=db-1.db."+ns+".svc.cluster.local", ips(podNamed(t, dbs, "db-1")))
	expect("the StatefulSet's headless Service", "host=db", ips(dbs...))
	if got, err := lookup("host=nothere"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a name no Service has: %q, %v; want 404 not found", got, err)
	}

	t.Run("scaling", func(t *testing.T) {
		c.kubectl(t, "-n", ns, "scale", "deployment/backend", "--replicas=3")
		backends = c.readyPods(t, ns, "app=backend", 3)
		expect("the headless Service after scaling to 3", "host=backend-pods", ips(backends...))
	})

	t.Run("readiness", func(t *testing.T) {
		sick := backends[0]
		if _, err := c.podGet(sick.Status.PodIP, "/sethealth?ok=false"); err != nil {
			t.Fatal(err)
		}
		expect("the headless Service without the Pod failing readiness", "host=backend-pods", ips(backends[1:]...))
		if _, err := c.podGet(sick.Status.PodIP, "/sethealth?ok=true"); err != nil {
			t.Fatal(err)
		}
		expect("the headless Service with the Pod ready again", "host=backend-pods", ips(backends...))
	})

	t.Run("deletion", func(t *testing.T) {
		if len(backends) < 3 {
			t.Skip("needs the 3 backends of the scaling step")
		}
		gone := backends[2]
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := c.kube.CoreV1().Pods(ns).Delete(ctx, gone.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The ReplicaSet's replacement may join the answers at any moment (it starts in well under
		// a second), so the answers are checked for the deleted Pod's absence and the others'
		// presence, not for one exact set.
		eventually(t, "the headless Service without the deleted Pod", func() (bool, string) {
			got, err := lookup("host=backend-pods")
			if err != nil {
				return false, err.Error()
			}
			answers := strings.Split(got, "\n")
			ok := !slices.Contains(answers, gone.Status.PodIP)
			for _, p := range backends[:2] {
				ok = ok && slices.Contains(answers, p.Status.PodIP)
			}
			return ok, fmt.Sprintf("%q, want %s and %s without %s", got, backends[0].Status.PodIP, backends[1].Status.PodIP, gone.Status.PodIP)
		})
		// The Pod's container waits 10 s after SIGTERM: it is still there.
		p, err := c.kube.CoreV1().Pods(ns).Get(ctx, gone.Name, metav1.GetOptions{})
		if err != nil || p.UID != gone.UID {
			t.Errorf("the deleted Pod left the answers only once it was gone (%v); want while it terminates", err)
		}
	})
}

// ips are the Pods' addresses, sorted, one per line (as /lookup answers).
func ips(pods ...corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Status.PodIP)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func podNamed(t *testing.T, pods []corev1.Pod, name string) corev1.Pod {
	t.Helper()
	for _, p := range pods {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no Pod %s among %s", name, describePods(pods))
	return corev1.Pod{}
}
