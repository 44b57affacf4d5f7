package controlplane_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/controlplane"
	"github.com/nodeless-dev/nodeless/internal/testenv"
)

func TestMain(m *testing.M) {
	code := testenv.Main(m)
	controlplane.RemoveBuiltOptions()
	os.Exit(code)
}

// waitTimeout bounds the waits for a controller or the scheduler; nothing here is a timing
// assertion.
const waitTimeout = time.Minute

func client(t *testing.T, env *testenv.Env) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDaemonSetsAreRefused: Up is ready only once a DaemonSet is refused, with the message that
// says what to do; other workloads are not affected.
func TestDaemonSetsAreRefused(t *testing.T) {
	env := testenv.Start(t)
	c := client(t, env)
	ctx := t.Context()
	labels := map[string]string{"app": "agent"}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "agent"}}},
	}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	}
	_, err := c.AppsV1().DaemonSets(env.Namespace).Create(ctx, ds, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), controlplane.DaemonSetRefusal) {
		t.Errorf("creating a DaemonSet: err = %v, want Forbidden with %q", err, controlplane.DaemonSetRefusal)
	}
	// As `kubectl apply --server-side` sends it.
	apply := appsv1ac.DaemonSet("agent-applied", env.Namespace).WithSpec(appsv1ac.DaemonSetSpec().
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
		WithTemplate(corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(corev1ac.PodSpec().
			WithContainers(corev1ac.Container().WithName("agent").WithImage("agent")))))
	_, err = c.AppsV1().DaemonSets(env.Namespace).Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "test"})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), controlplane.DaemonSetRefusal) {
		t.Errorf("server-side apply of a DaemonSet: err = %v, want Forbidden with %q", err, controlplane.DaemonSetRefusal)
	}
	t.Run("kubectl apply", func(t *testing.T) {
		manifest := fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent-kubectl, namespace: %s}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: agent}]}
`, env.Namespace)
		out, err := kubectl(t, env, manifest, "apply", "-f", "-")
		if err == nil || !strings.Contains(out, controlplane.DaemonSetRefusal) {
			t.Errorf("kubectl apply of a DaemonSet: %v, output %q; want a failure that says %q", err, out, controlplane.DaemonSetRefusal)
		}
		t.Logf("kubectl apply says: %s", strings.TrimSpace(out))
	})
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	}
	if _, err := c.AppsV1().Deployments(env.Namespace).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Errorf("creating a Deployment: %v", err)
	}
}

// TestClusterObjectsConverge: applying the cluster objects again (every start does) writes
// nothing when nothing changed, and puts back what a user changed or deleted.
func TestClusterObjectsConverge(t *testing.T) {
	env := testenv.Start(t)
	c := client(t, env)
	ctx := t.Context()
	policies := c.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	bindings := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	// Once first: the first apply after another manager (here the policy's status controller)
	// wrote may reorder the managedFields entries, which is one write (kubernetes#88031).
	if err := controlplane.ApplyClusterObjects(ctx, c); err != nil {
		t.Fatalf("applying again: %v", err)
	}
	before := resourceVersions(ctx, t, c)
	if err := controlplane.ApplyClusterObjects(ctx, c); err != nil {
		t.Fatalf("applying again: %v", err)
	}
	if diff := cmp.Diff(before, resourceVersions(ctx, t, c)); diff != "" {
		t.Errorf("applying unchanged objects wrote them (resourceVersions -before +after):\n%s", diff)
	}
	policy, err := policies.Get(ctx, controlplane.DaemonSetPolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	patch := `{"spec":{"validations":[{"expression":"true","message":"changed"}]}}`
	if _, err := policies.Patch(ctx, controlplane.DaemonSetPolicyName, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := bindings.Delete(ctx, controlplane.DaemonSetPolicyName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := controlplane.ApplyClusterObjects(ctx, c); err != nil {
		t.Fatalf("applying after a change: %v", err)
	}
	after, err := policies.Get(ctx, controlplane.DaemonSetPolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(policy.Spec.Validations, after.Spec.Validations); diff != "" {
		t.Errorf("validations not restored (-want +got):\n%s", diff)
	}
	if _, err := bindings.Get(ctx, controlplane.DaemonSetPolicyName, metav1.GetOptions{}); err != nil {
		t.Errorf("binding not restored: %v", err)
	}
}

// TestSchedulerBindsToARegisteredNode: the real kube-scheduler runs. A Pod waits with
// FailedScheduling while no node fits; once a node like the virtual node on an existing cluster is
// registered (tainted NoSchedule), the scheduler binds the Pod that tolerates the taint to it and
// keeps the one that does not Pending, saying why.
func TestSchedulerBindsToARegisteredNode(t *testing.T) {
	env := testenv.Start(t)
	c := client(t, env)
	ctx := t.Context()
	// Only the test's node fits: other tests of this binary may register nodes too.
	selector := map[string]string{"nodeless.dev/test": env.Namespace}
	taint := corev1.Taint{Key: "nodeless.dev/test", Value: env.Namespace, Effect: corev1.TaintEffectNoSchedule}
	pod := func(name string, tolerations ...corev1.Toleration) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{
				NodeSelector: selector, Tolerations: tolerations,
				Containers: []corev1.Container{{Name: "app", Image: "app"}},
			},
		}
		if _, err := c.CoreV1().Pods(env.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tolerates := pod("tolerates", corev1.Toleration{Key: taint.Key, Operator: corev1.TolerationOpEqual,
		Value: taint.Value, Effect: taint.Effect})
	waitFailedScheduling(ctx, t, c, env.Namespace, tolerates.Name, "no nodes available to schedule pods")

	node := registerNode(ctx, t, c, "test-"+env.Namespace, selector, taint)
	intolerant := pod("intolerant")
	waitFor(ctx, t, "the Pod bound to "+node, func() (bool, error) {
		got, err := c.CoreV1().Pods(env.Namespace).Get(ctx, tolerates.Name, metav1.GetOptions{})
		if err != nil || got.Spec.NodeName == node {
			return err == nil, err
		}
		return false, fmt.Errorf("pod on node %q, conditions %+v", got.Spec.NodeName, got.Status.Conditions)
	})
	waitFailedScheduling(ctx, t, c, env.Namespace, intolerant.Name, "untolerated taint")
	got, err := c.CoreV1().Pods(env.Namespace).Get(ctx, intolerant.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "" {
		t.Errorf("a Pod that does not tolerate the node's taint was bound to %s", got.Spec.NodeName)
	}
}

// waitFailedScheduling waits for a FailedScheduling event of default-scheduler about Pod name
// whose note contains message.
func waitFailedScheduling(ctx context.Context, t *testing.T, c kubernetes.Interface, namespace, name, message string) {
	t.Helper()
	var last string
	waitFor(ctx, t, "a FailedScheduling event from default-scheduler saying "+message+" about "+name, func() (bool, error) {
		events, err := c.EventsV1().Events(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Regarding.Name != name || e.Reason != "FailedScheduling" || e.ReportingController != "default-scheduler" {
				continue
			}
			if strings.Contains(e.Note, message) {
				return true, nil
			}
			last = e.Note
		}
		return false, fmt.Errorf("last FailedScheduling: %q", last)
	})
}

// resourceVersions are those of the objects ApplyClusterObjects applies, by kind.
func resourceVersions(ctx context.Context, t *testing.T, c kubernetes.Interface) map[string]string {
	t.Helper()
	ar := c.AdmissionregistrationV1()
	policy, err := ar.ValidatingAdmissionPolicies().Get(ctx, controlplane.DaemonSetPolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	binding, err := ar.ValidatingAdmissionPolicyBindings().Get(ctx, controlplane.DaemonSetPolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rbac, err := c.RbacV1().ClusterRoleBindings().Get(ctx, controlplane.KubeletClientBinding, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"ValidatingAdmissionPolicy":        policy.ResourceVersion,
		"ValidatingAdmissionPolicyBinding": binding.ResourceVersion,
		"ClusterRoleBinding":               rbac.ResourceVersion,
	}
}

// registerNode creates a Ready Node object with room for Pods, the labels and the taints (no
// kubelet behind it), checks that it keeps exactly the taints it was created with, and deletes it
// when the test ends. The API server must not add TaintNodesByCondition's not-ready taint:
// nothing would remove it, node-lifecycle is off.
func registerNode(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, labels map[string]string, taints ...corev1.Taint) string {
	t.Helper()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints},
	}
	created, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	if diff := cmp.Diff(taints, created.Spec.Taints); diff != "" {
		t.Errorf("taints of a registered node (-want +got):\n%s", diff)
	}
	room := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods: resource.MustParse("10"),
	}
	created.Status = corev1.NodeStatus{
		Capacity: room, Allocatable: room,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
	}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("no %s after %s (last error: %v)", what, waitTimeout, lastErr)
}

// TestTaintEvictionEvictsFromATaintedNode: taint-eviction-controller runs as on any cluster: a
// NoExecute taint put on a node evicts (deletes) the Pods bound to it that do not tolerate it and
// keeps the one that does (kubectl taint node nodeless key=value:NoExecute). It finds a node's
// Pods through the informer index node-lifecycle-controller adds upstream, which `nodeless up`
// does not run.
func TestTaintEvictionEvictsFromATaintedNode(t *testing.T) {
	env := testenv.Start(t)
	c := client(t, env)
	ctx := t.Context()
	node := registerNode(ctx, t, c, "evict-"+env.Namespace, nil)
	intolerant := podOn(ctx, t, c, env.Namespace, "intolerant", node)
	taint := corev1.Taint{Key: "nodeless.dev/test-evict", Value: env.Namespace, Effect: corev1.TaintEffectNoExecute}
	tolerant := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "tolerant"},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "app"}},
			Tolerations: []corev1.Toleration{{Key: taint.Key, Operator: corev1.TolerationOpExists, Effect: taint.Effect}}},
	}
	if _, err := c.CoreV1().Pods(env.Namespace).Create(ctx, tolerant, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Taints = append(n.Spec.Taints, taint)
	if _, err := c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the intolerant Pod evicted", func() (bool, error) {
		p, err := c.CoreV1().Pods(env.Namespace).Get(ctx, intolerant, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil) {
			return true, nil
		}
		return false, err
	})
	p, err := c.CoreV1().Pods(env.Namespace).Get(ctx, tolerant.Name, metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the Pod that tolerates the taint: %v, deletionTimestamp %v; want it kept", err, p.GetDeletionTimestamp())
	}
}
