package pods_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/testimage"
)

// demoChart is the chart both Helm versions install.
var demoChart = filepath.Join("..", "testdata", "charts", "demo")

// TestHelm installs the demo chart (Deployment, Service, ConfigMap, Secret, Job) with `helm
// install --wait` of Helm 3 and of Helm 4 (whose wait uses kstatus), checks what it made, then
// uninstalls it and waits until every task of it stopped.
func TestHelm(t *testing.T) {
	helms := []struct {
		name, bin string
		wait      []string
	}{
		{name: "helm3", bin: testenv.Helm(t, "HELM3_BIN", "helm3"), wait: []string{"--wait", "--wait-for-jobs"}},
		{name: "helm4", bin: testenv.Helm(t, "HELM4_BIN", "helm4"), wait: []string{"--wait=watcher", "--wait-for-jobs"}},
	}
	c := startCluster(t)
	c.loadImage(t, testimage.Tarball(t, webV1))
	for _, h := range helms {
		t.Run(h.name, func(t *testing.T) { checkHelm(t, c, h.bin, h.wait) })
	}
}

func checkHelm(t *testing.T, c *cluster, bin string, wait []string) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	ns := "t-helm-" + hex.EncodeToString(b[:]) // t-: deleted by the cluster's clean-up
	home := t.TempDir()
	helm := func(args ...string) (string, error) {
		args = append(args, "--kubeconfig", c.env.Kubeconfig, "--namespace", ns)
		out, stderr, err := runEnv([]string{"HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
			"HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_DATA_HOME=" + filepath.Join(home, "data")}, "", bin, args...)
		if err != nil {
			return out, fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return out, nil
	}
	install := append([]string{"install", "demo", demoChart, "--create-namespace", "--timeout", kubectlWait}, wait...)
	if _, err := helm(install...); err != nil {
		t.Fatal(err)
	}
	if out, err := helm("status", "demo"); err != nil || !strings.Contains(out, "STATUS: deployed") {
		t.Errorf("helm status after install --wait: %v\n%s", err, out)
	}
	// --wait returned: everything is ready now, without waiting further.
	pods := c.pods(t, ns, "app.kubernetes.io/instance=demo,app.kubernetes.io/name=demo")
	ready := slices.DeleteFunc(slices.Clone(pods), func(p corev1.Pod) bool { return p.DeletionTimestamp != nil || !isReady(&p) })
	if len(ready) != 2 {
		t.Errorf("after helm install --wait, %d Ready Pods of the Deployment, want 2:%s", len(ready), describePods(pods))
	}
	c.expectPodAnswers(t, ready, map[string]string{"/env?name=GREETING": "hello from helm", "/env?name=PASSWORD": "s3cret-from-helm"})
	if got := c.kubectl(t, "-n", ns, "get", "job/demo-setup", "-o", "jsonpath={.status.succeeded}"); got != "1" {
		t.Errorf("after helm install --wait-for-jobs, Job demo-setup succeeded %q, want 1", got)
	}
	checkEndpoints(t, c, ns, "demo-web", ready)

	if _, err := helm("uninstall", "demo", "--wait", "--timeout", kubectlWait); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every task of the release STOPPED after helm uninstall", func() (bool, string) {
		left := notStopped(inNamespace(c.mustTasks(t), ns))
		pods := c.pods(t, ns, "")
		return len(left) == 0 && len(pods) == 0, fmt.Sprintf("tasks %v, Pods:%s", left, describePods(pods))
	})
}

// checkEndpoints waits until the Service's EndpointSlices hold exactly the Ready Pods' addresses,
// ready (kube-controller-manager's endpointslice controller).
func checkEndpoints(t *testing.T, c *cluster, ns, service string, pods []corev1.Pod) {
	t.Helper()
	var want []string
	for _, p := range pods {
		want = append(want, p.Status.PodIP)
	}
	slices.Sort(want)
	eventually(t, "the Service's EndpointSlices list its Ready Pods", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := c.kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					got = append(got, e.Addresses...)
				}
			}
		}
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprintf("ready addresses %v, want %v", got, want)
	})
}
