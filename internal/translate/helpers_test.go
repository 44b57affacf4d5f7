package translate

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func ptr[T any](v T) *T { return &v }

// rsPod is a Pod of ReplicaSet web-5d8f7c (of Deployment web), bound to the virtual node, with
// one container, as the API server returns it.
func rsPod(name string, uid types.UID) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: uid, GenerateName: "web-5d8f7c-",
			Labels:      map[string]string{"app": "web", "pod-template-hash": "5d8f7c"},
			Annotations: map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7c", UID: "rs-uid", Controller: ptr(true),
			}},
		},
		Spec: corev1.PodSpec{
			NodeName:                      DefaultNodeName,
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr(int64(30)),
			DNSPolicy:                     corev1.DNSClusterFirst,
			ServiceAccountName:            "default",
			SchedulerName:                 "default-scheduler",
			EnableServiceLinks:            ptr(true),
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "nodeless.local/hello:v1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
				},
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy:          corev1.PullIfNotPresent,
			}},
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))}},
		},
	}
}

// tokenVolume is the service-account token volume the ServiceAccount admission plugin adds,
// with its per-pod random name suffix.
func withTokenVolume(pod *corev1.Pod, suffix string) *corev1.Pod {
	name := "kube-api-access-" + suffix
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr(int32(0o644)), Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr(int64(3607)), Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		}},
	}})
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].VolumeMounts = append(pod.Spec.Containers[i].VolumeMounts, corev1.VolumeMount{
			Name: name, ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"})
	}
	return pod
}

func mustTranslate(t *testing.T, pod *corev1.Pod, opts Options) *Translation {
	t.Helper()
	tr, err := Translate(pod, opts)
	if err != nil {
		t.Fatalf("Translate: %v", err)
	}
	return tr
}

// refusal returns the problems Translate refuses pod with; it fails t when pod translates.
func refusal(t *testing.T, pod *corev1.Pod) []Problem {
	t.Helper()
	_, err := Translate(pod, Options{})
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("want a *RefusedError, got %v", err)
	}
	return re.Problems
}

// canonical is v as the ECS wire sees it, for comparisons: its JSON with null and empty members
// dropped (the SDK types carry unexported members cmp cannot compare).
func canonical(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return prune(out)
}

// diffJSON is cmp.Diff of want and got as canonical JSON, "-want +got".
func diffJSON(t *testing.T, want, got any) string {
	t.Helper()
	return cmp.Diff(canonical(t, want), canonical(t, got))
}

func asRefused(err error, re **RefusedError) bool { return errors.As(err, re) }
