package podstart

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/translate"
)

// TestRefresh: the files of the volumes that follow changes, from the objects as they are now,
// with a new token; subPath volumes stay as they were at start.
func TestRefresh(t *testing.T) {
	objs := testObjects()
	f := newFixture(objs...)
	pod := withFiles(rsPod("web-5d8f7c-aaaaa", "uid-a"))
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "cfgdir", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "app.yaml", Path: "d/app.yaml"}}}}})
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "cfgdir", MountPath: "/d", SubPath: "d"})
	tr, err := translate.Translate(pod, f.deps.Options)
	if err != nil {
		t.Fatal(err)
	}
	objs[0].(*corev1.Secret).Data["password"] = []byte("rotated")
	got, err := Refresh(context.Background(), pod, tr, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range got.Volumes {
		names = append(names, v.Volume)
		if v.Volume == "creds" && string(v.Files["password"].Data) != "rotated" {
			t.Errorf("creds/password = %q", v.Files["password"].Data)
		}
	}
	if d := cmp.Diff([]string{"creds", "conf", "info", "kube-api-access", "cfgdir"}, names); d != "" {
		t.Errorf("volumes refreshed (-want +got):\n%s", d)
	}
	if f.tokens.n != 1 || got.TokenExpiry.IsZero() {
		t.Errorf("%d tokens issued, expiry %v", f.tokens.n, got.TokenExpiry)
	}
	if len(f.mirror.called()) != 0 {
		t.Errorf("Refresh mirrored: %v", f.mirror.called())
	}
	objs[0].(*corev1.Secret).Name = "gone"
	if _, err := Refresh(context.Background(), pod, tr, f.deps); !errors.As(err, new(*Waiting)) {
		t.Errorf("Refresh with the Secret gone: %v, want *Waiting", err)
	}
}
