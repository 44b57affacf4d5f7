package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	admissionregistrationv1ac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
)

// DaemonSetRefusal is the message of the admission policy that refuses DaemonSets under `nodeless
// up` (DESIGN.md §4.2 and §6): what `kubectl apply` of a DaemonSet prints.
const DaemonSetRefusal = "nodeless has no nodes: a DaemonSet cannot run; use a Deployment, or sidecar containers in the Pods that need them"

// Names of the objects Up applies on every start (server-side apply, field manager
// fieldManager): the same objects each time, so a start after a crash or an upgrade converges.
const (
	// daemonSetPolicyName names both the ValidatingAdmissionPolicy and its binding.
	daemonSetPolicyName = "nodeless-no-daemonsets"
	// kubeletClientBinding binds APIServerKubeletClientUser to ClusterRole kubeletAPIAdminRole.
	kubeletClientBinding = "nodeless:kube-apiserver-kubelet-client"
	// kubeletAPIAdminRole is the bootstrap ClusterRole of the kubelet API's callers (nodes/proxy,
	// nodes/log, nodes/stats, nodes/metrics, ...).
	kubeletAPIAdminRole = "system:kubelet-api-admin"
	fieldManager        = "nodeless"
)

// policyEnforcedTimeout bounds the wait for the API server to enforce a policy just applied: it
// reloads policies once a second (the admission plugin's refresh interval).
const policyEnforcedTimeout = 30 * time.Second

// applyClusterObjects applies what the control plane needs in the API besides the bootstrap
// objects of the API server itself:
//   - the ValidatingAdmissionPolicy (CEL) and binding that refuse creating a DaemonSet, with
//     DaemonSetRefusal as the message; only CREATE, so an update or deletion of a DaemonSet made
//     before the policy (foreground deletion updates its finalizers) still works;
//   - the ClusterRoleBinding that gives the API server's kubelet client its rights on the
//     kubelet API (ClusterRole system:kubelet-api-admin), as kubeadm does.
func applyClusterObjects(ctx context.Context, client kubernetes.Interface) error {
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	ar := client.AdmissionregistrationV1()
	if _, err := ar.ValidatingAdmissionPolicies().Apply(ctx, daemonSetPolicy(), opts); err != nil {
		return fmt.Errorf("applying ValidatingAdmissionPolicy %s: %w", daemonSetPolicyName, err)
	}
	if _, err := ar.ValidatingAdmissionPolicyBindings().Apply(ctx, daemonSetPolicyBinding(), opts); err != nil {
		return fmt.Errorf("applying ValidatingAdmissionPolicyBinding %s: %w", daemonSetPolicyName, err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Apply(ctx, kubeletClientRoleBinding(), opts); err != nil {
		return fmt.Errorf("applying ClusterRoleBinding %s: %w", kubeletClientBinding, err)
	}
	return nil
}

func managedLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "nodeless"}
}

func daemonSetPolicy() *admissionregistrationv1ac.ValidatingAdmissionPolicyApplyConfiguration {
	return admissionregistrationv1ac.ValidatingAdmissionPolicy(daemonSetPolicyName).
		WithLabels(managedLabels()).
		WithSpec(admissionregistrationv1ac.ValidatingAdmissionPolicySpec().
			WithFailurePolicy(admissionregistrationv1.Fail).
			WithMatchConstraints(admissionregistrationv1ac.MatchResources().
				WithResourceRules(admissionregistrationv1ac.NamedRuleWithOperations().
					WithOperations(admissionregistrationv1.Create).
					WithAPIGroups(appsv1.GroupName).
					WithAPIVersions("*").
					WithResources("daemonsets"))).
			WithValidations(admissionregistrationv1ac.Validation().
				WithExpression("false").
				WithMessage(DaemonSetRefusal).
				WithReason(metav1.StatusReasonForbidden)))
}

func daemonSetPolicyBinding() *admissionregistrationv1ac.ValidatingAdmissionPolicyBindingApplyConfiguration {
	return admissionregistrationv1ac.ValidatingAdmissionPolicyBinding(daemonSetPolicyName).
		WithLabels(managedLabels()).
		WithSpec(admissionregistrationv1ac.ValidatingAdmissionPolicyBindingSpec().
			WithPolicyName(daemonSetPolicyName).
			WithValidationActions(admissionregistrationv1.Deny))
}

func kubeletClientRoleBinding() *rbacv1ac.ClusterRoleBindingApplyConfiguration {
	const rbacGroup = "rbac.authorization.k8s.io"
	return rbacv1ac.ClusterRoleBinding(kubeletClientBinding).
		WithLabels(managedLabels()).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacGroup).WithKind("ClusterRole").WithName(kubeletAPIAdminRole)).
		WithSubjects(rbacv1ac.Subject().WithAPIGroup(rbacGroup).WithKind("User").WithName(APIServerKubeletClientUser))
}

// waitDaemonSetsRefused returns once the API server refuses a DaemonSet with DaemonSetRefusal,
// tried as a server-side dry run (nothing is stored), so that a DaemonSet applied after Up is
// ready is refused. It fails after policyEnforcedTimeout with the last answer.
func waitDaemonSetsRefused(ctx context.Context, client kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, policyEnforcedTimeout)
	defer cancel()
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	for {
		err := dryRunDaemonSet(ctx, client)
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), DaemonSetRefusal) {
			return nil
		}
		if err == nil {
			err = errors.New("a DaemonSet was admitted")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ValidatingAdmissionPolicy %s not in force after %s: %w", daemonSetPolicyName, policyEnforcedTimeout, err)
		case <-ticker.C:
		}
	}
}

func dryRunDaemonSet(ctx context.Context, client kubernetes.Interface) error {
	labels := map[string]string{"app": "nodeless-policy-check"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "nodeless-policy-check", Namespace: metav1.NamespaceSystem},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "check", Image: "check"}}},
			},
		},
	}
	_, err := client.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}
