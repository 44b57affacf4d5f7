package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
)

const (
	// defaultFileMode is the kubelet's mode for files of a volume without a defaultMode.
	defaultFileMode = 0o644
	// tokenVolumePrefix starts the name of the service-account token volume the ServiceAccount
	// admission plugin adds ("kube-api-access-" and 5 random characters): a different name in
	// every Pod of a ReplicaSet, so its task volume is named tokenVolume instead.
	tokenVolumePrefix = "kube-api-access-"
	tokenVolume       = "kube-api-access"
)

// translateVolumes makes a task volume of every emptyDir, configMap, secret, downwardAPI and
// projected volume, and describes the files of the last four (StartPlan.Volumes). Other volume
// types are refused by their field rules.
func (t *translator) translateVolumes() {
	spec := &t.pod.Spec
	var fsGroup *int64
	if spec.SecurityContext != nil && spec.SecurityContext.FSGroup != nil {
		g := *spec.SecurityContext.FSGroup
		fsGroup = &g
	}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		sources, mode := t.fileSources(fmt.Sprintf("spec.volumes[%d]", i), v)
		if sources == nil && v.EmptyDir == nil {
			continue // refused
		}
		pv := podVolume{task: t.taskVolumeName(v)}
		t.td.Volumes = append(t.td.Volumes, ecstypes.Volume{Name: aws.String(pv.task)})
		if sources != nil {
			if mode == nil {
				m := int32(defaultFileMode)
				mode = &m
			}
			pv.files = &VolumeFiles{Volume: pv.task, Sources: sources, DefaultMode: *mode, FSGroup: fsGroup, Update: true}
			t.start.Volumes = append(t.start.Volumes, *pv.files)
			t.sourceRefs(sources)
		}
		t.volumes[v.Name] = pv
	}
}

// fileSources returns a configMap, secret, downwardAPI or projected volume as projected
// sources, and its default mode; nil for any other volume.
func (t *translator) fileSources(path string, v *corev1.Volume) ([]corev1.VolumeProjection, *int32) {
	switch {
	case v.ConfigMap != nil:
		cm := v.ConfigMap.DeepCopy()
		return []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: cm.LocalObjectReference, Items: cm.Items, Optional: cm.Optional,
		}}}, cm.DefaultMode
	case v.Secret != nil:
		s := v.Secret.DeepCopy()
		return []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.SecretName}, Items: s.Items, Optional: s.Optional,
		}}}, s.DefaultMode
	case v.DownwardAPI != nil:
		d := v.DownwardAPI.DeepCopy()
		return []corev1.VolumeProjection{{DownwardAPI: &corev1.DownwardAPIProjection{Items: d.Items}}}, d.DefaultMode
	case v.Projected != nil:
		p := v.Projected.DeepCopy()
		for j, s := range p.Sources {
			sp := fmt.Sprintf("%s.projected.sources[%d]", path, j)
			if s.ClusterTrustBundle != nil {
				t.ps.refuse(sp+".clusterTrustBundle", ReasonVolumeType, "ClusterTrustBundles are not projected by nodeless yet; put the bundle in a ConfigMap and project that")
			}
			if s.PodCertificate != nil {
				t.ps.refuse(sp+".podCertificate", ReasonVolumeType, "Pod certificates (alpha) are not issued by nodeless; use a Secret")
			}
		}
		if p.Sources == nil {
			p.Sources = []corev1.VolumeProjection{}
		}
		return p.Sources, p.DefaultMode
	}
	return nil, nil
}

// taskVolumeName is a Pod volume's task volume name: its own, except for the service-account
// token volume, whose name is random per Pod.
func (t *translator) taskVolumeName(v *corev1.Volume) string {
	if !strings.HasPrefix(v.Name, tokenVolumePrefix) || v.Projected == nil {
		return v.Name
	}
	for _, s := range v.Projected.Sources {
		if s.ServiceAccountToken == nil {
			continue
		}
		for _, other := range t.pod.Spec.Volumes {
			if other.Name == tokenVolume {
				return v.Name
			}
		}
		if _, taken := t.volumes[tokenVolume]; taken {
			return v.Name
		}
		return tokenVolume
	}
	return v.Name
}

// sourceRefs records the ConfigMaps and Secrets projected sources read.
func (t *translator) sourceRefs(sources []corev1.VolumeProjection) {
	for _, s := range sources {
		switch {
		case s.ConfigMap != nil:
			addItems(&t.objects, "ConfigMap", s.ConfigMap.Name, s.ConfigMap.Items, isTrue(s.ConfigMap.Optional))
		case s.Secret != nil:
			addItems(&t.objects, "Secret", s.Secret.Name, s.Secret.Items, isTrue(s.Secret.Optional))
		}
	}
}

func addItems(o *objectRefs, kind, name string, items []corev1.KeyToPath, optional bool) {
	if len(items) == 0 {
		o.add(kind, name, "", optional)
		return
	}
	for _, it := range items {
		o.add(kind, name, it.Key, optional)
	}
}

// mountPoints mounts the container's volumes. Files volumes are always read-only (as the kubelet
// mounts them); a subPath of one is a task volume of its own, holding only that path and not
// updated later (as the kubelet does not update subPath mounts).
func (t *translator) mountPoints(path string, c *corev1.Container, def *ecstypes.ContainerDefinition) {
	for j, m := range c.VolumeMounts {
		mp := fmt.Sprintf("%s.volumeMounts[%d]", path, j)
		pv, ok := t.volumes[m.Name]
		if !ok {
			if !hasVolume(t.pod, m.Name) {
				t.ps.refuse(mp+".name", ReasonInvalid, "the Pod has no volume %q; add it to spec.volumes", m.Name)
			}
			continue // a refused volume
		}
		if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
			t.ps.refuse(mp+".mountPropagation", ReasonValueNotSupported,
				"%s shares mounts with a node, and a task has none; use None or remove it", *m.MountPropagation)
		}
		if m.RecursiveReadOnly != nil && *m.RecursiveReadOnly == corev1.RecursiveReadOnlyEnabled {
			t.ps.refuse(mp+".recursiveReadOnly", ReasonValueNotSupported, "Enabled cannot be guaranteed on ECS; use IfPossible or remove it")
		}
		source := pv.task
		if m.SubPath != "" {
			if pv.files == nil {
				t.ps.refuse(mp+".subPath", ReasonValueNotSupported,
					"a subPath of an emptyDir shares the directory with the volume's other mounts, which ECS mount points cannot; mount the whole volume, or use one emptyDir per path")
				continue
			}
			source = t.subPathVolume(pv, m.SubPath)
		}
		mount := ecstypes.MountPoint{SourceVolume: aws.String(source), ContainerPath: aws.String(m.MountPath)}
		if m.ReadOnly || pv.files != nil {
			mount.ReadOnly = aws.Bool(true)
		}
		def.MountPoints = append(def.MountPoints, mount)
	}
}

// subPathVolume returns the task volume holding only sub of a files volume, made on first use.
func (t *translator) subPathVolume(pv podVolume, sub string) string {
	sum := sha256.Sum256([]byte(sub))
	name := pv.task + "-sub-" + hex.EncodeToString(sum[:6])
	for _, v := range t.td.Volumes {
		if aws.ToString(v.Name) == name {
			return name
		}
	}
	t.td.Volumes = append(t.td.Volumes, ecstypes.Volume{Name: aws.String(name)})
	f := *pv.files
	f.Volume, f.SubPath, f.Update = name, sub, false
	t.start.Volumes = append(t.start.Volumes, f)
	return name
}

func hasVolume(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}
