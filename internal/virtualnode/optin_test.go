package virtualnode_test

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/testenv"
	"github.com/nodeless-dev/nodeless/internal/translate"
	"github.com/nodeless-dev/nodeless/internal/virtualnode"
)

// TestOptIn: on an existing cluster (Options.Taint) a Pod reaches the virtual node by a toleration
// and a node selector, written by hand or added by the namespace opt-in policy; other Pods do not.
// The scheduler's own checks decide (Toleration.ToleratesTaint, the node selector against the
// registered Node's labels).
func TestOptIn(t *testing.T) {
	env := testenv.Start(t)
	client := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	name := "nodeless-" + randomHex(4)
	runNode(t, client, virtualnode.Options{NodeName: name, Taint: true})
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}) })
	for range 2 { // a second start finds the policy and keeps it
		if err := virtualnode.EnsureNamespaceOptIn(ctx, client, name); err != nil {
			t.Fatal(err)
		}
	}
	policy, binding := virtualnode.NamespaceOptInPolicy(name)
	t.Cleanup(func() {
		_ = client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = client.AdmissionregistrationV1().MutatingAdmissionPolicies().Delete(ctx, policy.Name, metav1.DeleteOptions{})
	})
	optedIn := namespace(t, client, map[string]string{virtualnode.NamespaceOptInLabel: virtualnode.NamespaceOptInValue})
	other := namespace(t, client, nil)
	waitPolicy(t, client, optedIn)

	ours := corev1.Toleration{Key: translate.TaintKey, Operator: corev1.TolerationOpEqual, Value: translate.TaintValue, Effect: corev1.TaintEffectNoSchedule}
	theirs := corev1.Toleration{Key: "example.com/gpu", Operator: corev1.TolerationOpExists}
	hostname := map[string]string{corev1.LabelHostname: name}
	tests := []struct {
		name          string
		namespace     string
		pod           corev1.PodSpec
		owner         string
		wantTolerate  []corev1.Toleration
		wantSelector  map[string]string
		wantOnTheNode bool
	}{
		{name: "opted-in namespace", namespace: optedIn, wantTolerate: []corev1.Toleration{ours}, wantSelector: hostname, wantOnTheNode: true},
		{
			name: "opted-in namespace keeps the Pod's own", namespace: optedIn,
			pod:          corev1.PodSpec{Tolerations: []corev1.Toleration{theirs}, NodeSelector: map[string]string{corev1.LabelOSStable: "linux"}},
			wantTolerate: []corev1.Toleration{theirs, ours}, wantSelector: map[string]string{corev1.LabelOSStable: "linux", corev1.LabelHostname: name},
			wantOnTheNode: true,
		},
		{
			name: "opted-in namespace, already tolerating", namespace: optedIn,
			pod:          corev1.PodSpec{Tolerations: []corev1.Toleration{{Key: translate.TaintKey, Operator: corev1.TolerationOpExists}}},
			wantTolerate: []corev1.Toleration{{Key: translate.TaintKey, Operator: corev1.TolerationOpExists}}, wantSelector: hostname,
			wantOnTheNode: true,
		},
		{
			name: "opted-in namespace, already bound", namespace: optedIn,
			pod: corev1.PodSpec{NodeName: "elsewhere"},
		},
		{name: "opted-in namespace, DaemonSet Pod", namespace: optedIn, owner: "DaemonSet"},
		{name: "other namespace", namespace: other},
		{
			name: "by hand", namespace: other,
			pod:          corev1.PodSpec{Tolerations: []corev1.Toleration{ours}, NodeSelector: map[string]string{translate.LabelType: translate.LabelTypeValue}},
			wantTolerate: []corev1.Toleration{ours}, wantSelector: map[string]string{translate.LabelType: translate.LabelTypeValue},
			wantOnTheNode: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Namespace: tt.namespace}, Spec: tt.pod}
			pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "nodeless.local/hello:v1"}}
			if tt.owner != "" {
				pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: tt.owner, Name: "x", UID: "1"}}
			}
			got, err := client.CoreV1().Pods(tt.namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				t.Fatal(err)
			}
			// The API server adds its own tolerations (DefaultTolerationSeconds): compare ours only.
			var tolerations []corev1.Toleration
			for _, tol := range got.Spec.Tolerations {
				if tol.TolerationSeconds == nil {
					tolerations = append(tolerations, tol)
				}
			}
			if diff := cmp.Diff(tt.wantTolerate, tolerations, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("tolerations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSelector, got.Spec.NodeSelector, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("nodeSelector (-want +got):\n%s", diff)
			}
			if on := schedulable(got, node); on != tt.wantOnTheNode && got.Spec.NodeName == "" {
				t.Errorf("schedulable to the virtual node: %v, want %v", on, tt.wantOnTheNode)
			}
		})
	}
}

// schedulable is the scheduler's TaintToleration and NodeAffinity (nodeSelector) filters for pod
// on node.
func schedulable(pod *corev1.Pod, node *corev1.Node) bool {
	for _, taint := range node.Spec.Taints {
		if taint.Effect != corev1.TaintEffectNoSchedule && taint.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if taint.Key == corev1.TaintNodeNotReady {
			continue // the node lifecycle controller's, gone once the node is Ready
		}
		tolerated := false
		for _, tol := range pod.Spec.Tolerations {
			if tol.ToleratesTaint(logr.Discard(), &taint, false) {
				tolerated = true
			}
		}
		if !tolerated {
			return false
		}
	}
	return labels.SelectorFromSet(pod.Spec.NodeSelector).Matches(labels.Set(node.Labels))
}

// namespace creates a namespace with labels and its default ServiceAccount.
func namespace(t *testing.T, client kubernetes.Interface, l map[string]string) string {
	t.Helper()
	ctx := context.Background()
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "optin-", Labels: l}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}) })
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
	if _, err := client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return ns.Name
}

// waitPolicy waits until the API server applies the new policy (its informers are behind the write).
func waitPolicy(t *testing.T, client kubernetes.Interface, namespace string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Namespace: namespace},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nodeless.local/hello:v1"}}}}
	eventually(t, "the opt-in policy applies", func() (bool, string) {
		got, err := client.CoreV1().Pods(namespace).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, err.Error()
		}
		return len(got.Spec.NodeSelector) > 0, "no nodeSelector yet"
	})
}
