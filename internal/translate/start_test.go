package translate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// TestPerPodSecret: a Secret-derived value that also expands one of the Pod's own fields is
// marked PerPod; one that does not, is not.
func TestPerPodSecret(t *testing.T) {
	pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
	c := &pod.Spec.Containers[0]
	c.Env = []corev1.EnvVar{
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "pw"}}},
		{Name: "DSN", Value: "u:$(PW)@db"},
		{Name: "ID", Value: "$(POD):$(PW)"},
	}
	rc, err := ResolveContainer(pod, "app", Options{}, StartValues{Secrets: map[string]map[string][]byte{"db": {"pw": []byte("s")}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]bool{}
	for _, v := range rc.Env {
		got[v.Name] = [2]bool{v.Secret, v.PerPod}
	}
	want := map[string][2]bool{"POD": {false, true}, "PW": {true, false}, "DSN": {true, false}, "ID": {true, true}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("[Secret, PerPod] by variable (-want +got):\n%s", d)
	}
}

// TestDownwardAPIFile: files of a downwardAPI volume as the kubelet writes them.
func TestDownwardAPIFile(t *testing.T) {
	pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
	type out struct {
		Content string
		PerPod  bool
	}
	for _, tc := range []struct {
		name string
		f    corev1.DownwardAPIVolumeFile
		want out
	}{
		{"name", corev1.DownwardAPIVolumeFile{Path: "n", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}, out{"web-5d8f7c-aaaaa", true}},
		{"labels", corev1.DownwardAPIVolumeFile{Path: "l", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}, out{"app=\"web\"\npod-template-hash=\"5d8f7c\"", true}},
		{"memory limit", corev1.DownwardAPIVolumeFile{Path: "m", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory"}}, out{"536870912", false}},
	} {
		content, perPod, err := DownwardAPIFile(pod, &tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, out{content, perPod}); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	if _, _, err := DownwardAPIFile(pod, &corev1.DownwardAPIVolumeFile{Path: "x", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "nope", Resource: "limits.cpu"}}); err == nil {
		t.Error("a resourceFieldRef of a missing container succeeded")
	}
}
