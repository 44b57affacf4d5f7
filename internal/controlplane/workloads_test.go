package controlplane_test

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// TestWorkloadControllersRun: the upstream controllers of kube-controller-manager that `nodeless
// up` runs do their work on the real API server: each check waits for the object or status only
// that controller writes. No node is needed: the Pods they create stay Pending.
func TestWorkloadControllersRun(t *testing.T) {
	env := testenv.Start(t)
	c := client(t, env)
	ctx := t.Context()
	ns := env.Namespace
	labels := map[string]string{"app": "web"}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	}
	selector := &metav1.LabelSelector{MatchLabels: labels}
	create := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: selector, Template: template},
	}, metav1.CreateOptions{})
	create(err)
	jobTemplate := *template.DeepCopy()
	jobTemplate.Labels = nil
	jobTemplate.Spec.RestartPolicy = corev1.RestartPolicyNever
	_, err = c.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "once"},
		Spec:       batchv1.JobSpec{Template: jobTemplate},
	}, metav1.CreateOptions{})
	create(err)
	_, err = c.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), ServiceName: "db",
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}}, Spec: template.Spec}},
	}, metav1.CreateOptions{})
	create(err)
	_, err = c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	create(err)
	_, err = c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: selector},
	}, metav1.CreateOptions{})
	create(err)
	_, err = c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 3,
		},
	}, metav1.CreateOptions{})
	create(err)

	checks := []struct {
		what string // the controller's work, as the failure reads
		done func() (bool, error)
	}{
		{"serviceaccount-controller: ServiceAccount default", func() (bool, error) {
			_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, ignoreNotFound(err)
		}},
		{"root-ca-certificate-publisher-controller: ConfigMap kube-root-ca.crt", func() (bool, error) {
			cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err == nil && cm.Data["ca.crt"] != "", ignoreNotFound(err)
		}},
		{"deployment- and replicaset-controller: 2 Pods of Deployment web", func() (bool, error) {
			return countPods(ctx, c, ns, "app=web", 2)
		}},
		{"job-controller: the Pod of Job once", func() (bool, error) {
			return countPods(ctx, c, ns, "batch.kubernetes.io/job-name=once", 1)
		}},
		{"statefulset-controller: Pod db-0", func() (bool, error) {
			_, err := c.CoreV1().Pods(ns).Get(ctx, "db-0", metav1.GetOptions{})
			return err == nil, ignoreNotFound(err)
		}},
		{"endpointslice-controller: an EndpointSlice of Service web", func() (bool, error) {
			list, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			return err == nil && len(list.Items) > 0, err
		}},
		{"disruption-controller: status of PodDisruptionBudget web", func() (bool, error) {
			pdb, err := c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
			return err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.ExpectedPods == 2, err
		}},
		{"horizontal-pod-autoscaler-controller: conditions of HPA web", func() (bool, error) {
			hpa, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
			return err == nil && len(hpa.Status.Conditions) > 0, err
		}},
	}
	for _, check := range checks {
		waitFor(ctx, t, check.what, check.done)
	}

	// garbage-collector-controller: the ReplicaSet and its Pods go with the Deployment.
	if err := c.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "garbage-collector-controller: ReplicaSets and Pods of the deleted Deployment gone", func() (bool, error) {
		rs, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		if len(rs.Items) > 0 {
			return false, fmt.Errorf("%d ReplicaSets left", len(rs.Items))
		}
		return countPods(ctx, c, ns, "app=web", 0)
	})
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// countPods reports whether exactly n Pods of ns match selector, not counting those being deleted.
func countPods(ctx context.Context, c kubernetes.Interface, ns, selector string, n int) (bool, error) {
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return false, err
	}
	live := 0
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			live++
		}
	}
	if live != n {
		return false, fmt.Errorf("%d Pods match %s", live, selector)
	}
	return true, nil
}
