package virtualnode

import (
	"context"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// NamespaceOptInLabel on a Namespace (value NamespaceOptInValue) sends its new Pods to the
// virtual node of `nodeless controller` on an existing cluster, as a Fargate profile's namespace
// selector does: the MutatingAdmissionPolicy of NamespaceOptInPolicy gives every Pod created
// there the toleration of translate.NodeTaint and the node selector kubernetes.io/hostname=<node>.
const (
	NamespaceOptInLabel = "nodeless.dev/virtual-node"
	NamespaceOptInValue = "enabled"
)

// optInPolicyPrefix names the policy and its binding: "nodeless-opt-in-<node>".
const optInPolicyPrefix = "nodeless-opt-in-"

// NamespaceOptInPolicy returns the MutatingAdmissionPolicy (admissionregistration.k8s.io/v1,
// Kubernetes 1.36+) and its binding that opt the Pods of labelled namespaces in to the node named
// nodeName. On CREATE of a Pod in a Namespace labelled NamespaceOptInLabel=NamespaceOptInValue
// that is not yet bound to a node and not owned by a DaemonSet, it adds (JSON patch; both fields
// are atomic, so an apply configuration would replace what the Pod has):
//   - the toleration virtual-kubelet.io/provider=nodeless:NoSchedule, unless the Pod already
//     tolerates that key;
//   - nodeSelector kubernetes.io/hostname=nodeName, unless the Pod selects a hostname already.
//
// Other tolerations and selectors stay. failurePolicy Fail: a Pod the policy cannot mutate is
// refused with the CEL error, never placed elsewhere silently.
func NamespaceOptInPolicy(nodeName string) (*admissionv1.MutatingAdmissionPolicy, *admissionv1.MutatingAdmissionPolicyBinding) {
	name := optInPolicyPrefix + nodeName
	fail := admissionv1.Fail
	never := admissionv1.NeverReinvocationPolicy
	policy := &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: optInLabels(nodeName)},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceOptInLabel: NamespaceOptInValue}},
				ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				}}},
			},
			MatchConditions: []admissionv1.MatchCondition{
				{Name: "not-bound", Expression: `!has(object.spec.nodeName) || object.spec.nodeName == ""`},
				{Name: "not-a-daemonset-pod", Expression: `!has(object.metadata.ownerReferences) || !object.metadata.ownerReferences.exists(r, r.kind == "DaemonSet")`},
			},
			FailurePolicy:      &fail,
			ReinvocationPolicy: never,
			Mutations: []admissionv1.Mutation{{
				PatchType: admissionv1.PatchTypeJSONPatch,
				JSONPatch: &admissionv1.JSONPatch{Expression: optInPatch(nodeName)},
			}},
		},
	}
	binding := &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: optInLabels(nodeName)},
		Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: name},
	}
	return policy, binding
}

func optInLabels(nodeName string) map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "nodeless", "nodeless.dev/node": nodeName}
}

// optInPatch is the CEL expression of the JSON patch (see NamespaceOptInPolicy).
func optInPatch(nodeName string) string {
	taint := translate.NodeTaint()
	toleration := fmt.Sprintf(`Object.spec.tolerations{key: %q, operator: "Equal", value: %q, effect: %q}`,
		taint.Key, taint.Value, string(taint.Effect))
	hostname := corev1.LabelHostname
	escaped := strings.ReplaceAll(strings.ReplaceAll(hostname, "~", "~0"), "/", "~1")
	return strings.Join([]string{
		`(has(object.spec.tolerations) ?`,
		fmt.Sprintf(`  (object.spec.tolerations.exists(t, has(t.key) && t.key == %q) ? [] :`, taint.Key),
		fmt.Sprintf(`    [JSONPatch{op: "add", path: "/spec/tolerations/-", value: %s}]) :`, toleration),
		fmt.Sprintf(`  [JSONPatch{op: "add", path: "/spec/tolerations", value: [%s]}])`, toleration),
		`+`,
		`(has(object.spec.nodeSelector) ?`,
		fmt.Sprintf(`  (%q in object.spec.nodeSelector ? [] :`, hostname),
		fmt.Sprintf(`    [JSONPatch{op: "add", path: "/spec/nodeSelector/%s", value: %q}]) :`, escaped, nodeName),
		fmt.Sprintf(`  [JSONPatch{op: "add", path: "/spec/nodeSelector", value: {%q: %q}}])`, hostname, nodeName),
	}, "\n")
}

// EnsureNamespaceOptIn creates NamespaceOptInPolicy(nodeName), or updates it to this version's
// spec. The client needs create, get and update on mutatingadmissionpolicies and
// mutatingadmissionpolicybindings. A cluster that does not serve them (before Kubernetes 1.36,
// or with the MutatingAdmissionPolicy feature off) gets an error that says so and what to do.
func EnsureNamespaceOptIn(ctx context.Context, client kubernetes.Interface, nodeName string) error {
	policy, binding := NamespaceOptInPolicy(nodeName)
	policies := client.AdmissionregistrationV1().MutatingAdmissionPolicies()
	err := ensure(
		func() error { _, err := policies.Create(ctx, policy, metav1.CreateOptions{}); return err },
		func() error {
			cur, err := policies.Get(ctx, policy.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Labels, cur.Spec = policy.Labels, policy.Spec
			_, err = policies.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	if err != nil {
		return optInErr("MutatingAdmissionPolicy", policy.Name, err)
	}
	bindings := client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings()
	err = ensure(
		func() error { _, err := bindings.Create(ctx, binding, metav1.CreateOptions{}); return err },
		func() error {
			cur, err := bindings.Get(ctx, binding.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Labels, cur.Spec = binding.Labels, binding.Spec
			_, err = bindings.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	if err != nil {
		return optInErr("MutatingAdmissionPolicyBinding", binding.Name, err)
	}
	return nil
}

// ensure creates, or on AlreadyExists updates (retried once on a conflict).
func ensure(create, update func() error) error {
	err := create()
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := update(); !apierrors.IsConflict(err) {
		return err
	}
	return update()
}

func optInErr(kind, name string, err error) error {
	// The API server answers 404 for a resource it does not serve.
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace opt-in (%s=%s): the cluster does not serve admissionregistration.k8s.io/v1 %s "+
			"(Kubernetes 1.36 or later, feature MutatingAdmissionPolicy): opt Pods in with a toleration and node selector "+
			"instead (docs/virtual-node.md), and turn this off with --namespace-opt-in=false: %w",
			NamespaceOptInLabel, NamespaceOptInValue, kind, err)
	}
	return fmt.Errorf("namespace opt-in: ensuring %s %s: %w", kind, name, err)
}
