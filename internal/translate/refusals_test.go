package translate

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestRefusals covers the values of `checked` fields that are refused (TestEveryRefusedFieldIsRefused
// covers the `refused` fields): each case changes a valid Pod and expects exactly these problems.
func TestRefusals(t *testing.T) {
	type want struct{ path, reason string }
	secretEnv := corev1.EnvVar{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}
	for name, tc := range map[string]struct {
		change func(p *corev1.Pod, c *corev1.Container)
		want   []want
	}{
		"privileged": {func(_ *corev1.Pod, c *corev1.Container) {
			c.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		}, []want{{"spec.containers[0].securityContext.privileged", ReasonPrivileged}}},
		"privileged false is fine": {func(_ *corev1.Pod, c *corev1.Container) {
			c.SecurityContext = &corev1.SecurityContext{Privileged: ptr(false)}
		}, nil},
		"hostPort": {func(_ *corev1.Pod, c *corev1.Container) { c.Ports[0].HostPort = 80 },
			[]want{{"spec.containers[0].ports[0].hostPort", ReasonHostPort}}},
		"hostPort = containerPort is fine": {func(_ *corev1.Pod, c *corev1.Container) { c.Ports[0].HostPort = 8080 }, nil},
		"SCTP": {func(_ *corev1.Pod, c *corev1.Container) { c.Ports[0].Protocol = corev1.ProtocolSCTP },
			[]want{{"spec.containers[0].ports[0].protocol", ReasonValueNotSupported}}},
		"capability": {func(_ *corev1.Pod, c *corev1.Container) {
			c.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE", "NET_ADMIN"}}}
		}, []want{{"spec.containers[0].securityContext.capabilities.add[1]", ReasonCapability}}},
		"runAsGroup alone": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsGroup: ptr(int64(1000))}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
		}, []want{{"spec.securityContext.runAsGroup", ReasonValueNotSupported}}}, // once, not per container
		"runAsNonRoot with uid 0": {func(_ *corev1.Pod, c *corev1.Container) {
			c.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(0))}
		}, []want{{"spec.containers[0].securityContext.runAsUser", ReasonInvalid}}},
		"seccomp Unconfined": {func(p *corev1.Pod, c *corev1.Container) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
			c.SecurityContext = &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost}}
		}, []want{{"spec.securityContext.seccompProfile.type", ReasonValueNotSupported}, {"spec.containers[0].securityContext.appArmorProfile.type", ReasonValueNotSupported}}},
		"seccomp RuntimeDefault is fine": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		}, nil},
		"procMount Unmasked": {func(_ *corev1.Pod, c *corev1.Container) {
			c.SecurityContext = &corev1.SecurityContext{ProcMount: ptr(corev1.UnmaskedProcMount)}
		}, []want{{"spec.containers[0].securityContext.procMount", ReasonValueNotSupported}}},
		"supplementalGroupsPolicy Strict": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SupplementalGroupsPolicy: ptr(corev1.SupplementalGroupsPolicyStrict)}
		}, []want{{"spec.securityContext.supplementalGroupsPolicy", ReasonValueNotSupported}}},
		"windows": {func(p *corev1.Pod, _ *corev1.Container) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} },
			[]want{{"spec.os.name", ReasonValueNotSupported}}},
		"hostUsers false": {func(p *corev1.Pod, _ *corev1.Container) { p.Spec.HostUsers = ptr(false) },
			[]want{{"spec.hostUsers", ReasonValueNotSupported}}},
		"two containers under Never": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "helper", Image: "busybox"})
		}, []want{{"spec.containers", ReasonMultipleContainers}}},
		"two containers under Always are fine": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "helper", Image: "busybox"})
		}, nil},
		"eleven containers": {func(p *corev1.Pod, _ *corev1.Container) {
			for i := range 10 {
				p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "i" + string(rune('a'+i)), Image: "busybox"})
			}
		}, []want{{"spec.containers", ReasonFieldNotSupported}}},
		"restartPolicy on a container": {func(_ *corev1.Pod, c *corev1.Container) { c.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways) },
			[]want{{"spec.containers[0].restartPolicy", ReasonFieldNotSupported}}},
		"init restartPolicy other than Always": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "busybox", RestartPolicy: ptr(corev1.ContainerRestartPolicy("OnFailure"))}}
		}, []want{{"spec.initContainers[0].restartPolicy", ReasonValueNotSupported}}},
		"stopSignal": {func(_ *corev1.Pod, c *corev1.Container) {
			c.Lifecycle = &corev1.Lifecycle{StopSignal: ptr(corev1.SIGQUIT)}
		}, []want{{"spec.containers[0].lifecycle.stopSignal", ReasonValueNotSupported}}},
		"subPath of an emptyDir": {func(p *corev1.Pod, c *corev1.Container) {
			p.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			c.VolumeMounts = []corev1.VolumeMount{{Name: "d", MountPath: "/a", SubPath: "a"}}
		}, []want{{"spec.containers[0].volumeMounts[0].subPath", ReasonValueNotSupported}}},
		"mount propagation and recursive read-only": {func(p *corev1.Pod, c *corev1.Container) {
			p.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			c.VolumeMounts = []corev1.VolumeMount{{Name: "d", MountPath: "/a", MountPropagation: ptr(corev1.MountPropagationBidirectional),
				RecursiveReadOnly: ptr(corev1.RecursiveReadOnlyEnabled), ReadOnly: true}}
		}, []want{{"spec.containers[0].volumeMounts[0].mountPropagation", ReasonValueNotSupported}, {"spec.containers[0].volumeMounts[0].recursiveReadOnly", ReasonValueNotSupported}}},
		"a mount of no volume": {func(_ *corev1.Pod, c *corev1.Container) {
			c.VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/a"}}
		}, []want{{"spec.containers[0].volumeMounts[0].name", ReasonInvalid}}},
		"a mount of a refused volume is refused once": {func(p *corev1.Pod, c *corev1.Container) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}}}
			c.VolumeMounts = []corev1.VolumeMount{{Name: "h", MountPath: "/var/run/docker.sock"}}
		}, []want{{"spec.volumes[0].hostPath", ReasonVolumeType}}},
		"projected cluster trust bundle": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.Volumes = []corev1.Volume{{Name: "ctb", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "ca.pem"}}}}}}}
		}, []want{{"spec.volumes[0].projected.sources[0].clusterTrustBundle", ReasonVolumeType}}},
		"named port not declared": {func(_ *corev1.Pod, c *corev1.Container) {
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("metrics")}}}
			c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("admin")}}}
		}, []want{{"spec.containers[0].readinessProbe.httpGet.port", ReasonNamedPort}, {"spec.containers[0].lifecycle.preStop.httpGet.port", ReasonNamedPort}}},
		"a Secret in args": {func(_ *corev1.Pod, c *corev1.Container) {
			c.Env = []corev1.EnvVar{secretEnv}
			c.Args = []string{"--token=$(TOKEN)"}
		}, []want{{"spec.containers[0].args", ReasonCommandVariable}}},
		"a per-pod executable": {func(_ *corev1.Pod, c *corev1.Container) {
			c.Env = []corev1.EnvVar{{Name: "BIN", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['bin']"}}}}
			c.Command = []string{"$(BIN)"}
		}, []want{{"spec.containers[0].command[0]", ReasonCommandVariable}}},
		"GPU": {func(_ *corev1.Pod, c *corev1.Container) {
			c.Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
		}, []want{{"spec.containers[0].resources.limits[nvidia.com/gpu]", ReasonResources}}},
		"hugepages on the Pod": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{"hugepages-2Mi": resource.MustParse("2Mi")}}
		}, []want{{"spec.resources.limits[hugepages-2Mi]", ReasonResources}}},
		"too big for Fargate": {func(_ *corev1.Pod, c *corev1.Container) {
			c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("200Gi")
		}, []want{{"spec", ReasonResources}}},
		"too much ephemeral storage": {func(_ *corev1.Pod, c *corev1.Container) {
			c.Resources.Limits[corev1.ResourceEphemeralStorage] = resource.MustParse("300Gi")
		}, []want{{"spec", ReasonResources}}},
		"a task definition over 64 KiB": {func(_ *corev1.Pod, c *corev1.Container) {
			c.Env = []corev1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 70000)}}
		}, []want{{"spec", ReasonFieldNotSupported}}},
		"overrides over 8192 characters": {func(p *corev1.Pod, c *corev1.Container) {
			p.Annotations["big"] = strings.Repeat("x", 9000)
			c.Env = []corev1.EnvVar{{Name: "BIG", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['big']"}}}}
		}, []want{{"spec.containers", ReasonFieldNotSupported}}},
		"empty image": {func(_ *corev1.Pod, c *corev1.Container) { c.Image = "" },
			[]want{{"spec.containers[0].image", ReasonInvalid}}},
		"no UID": {func(p *corev1.Pod, _ *corev1.Container) { p.UID = "" },
			[]want{{"metadata.uid", ReasonInvalid}}},
		"bound elsewhere": {func(p *corev1.Pod, _ *corev1.Container) { p.Spec.NodeName = "worker-1" },
			[]want{{"spec.nodeName", ReasonNotOnNode}}},
		"DaemonSet": {func(p *corev1.Pod, _ *corev1.Container) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "fluentbit", Controller: ptr(true)}}
		}, []want{{"metadata.ownerReferences[0]", ReasonDaemonSet}}},
		"nodeSelector": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux", "disktype": "ssd"}
		}, []want{{"spec.nodeSelector", ReasonNodeAffinity}}},
		"nodeSelector the node meets": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux", "type": "virtual-kubelet"}
		}, nil},
		"node affinity": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}}}}}}
		}, []want{{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution", ReasonNodeAffinity}}},
		"node affinity the node meets": {func(p *corev1.Pod, _ *corev1.Container) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{
					{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disktype", Operator: corev1.NodeSelectorOpExists}}},
					{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"nodeless"}}}},
				}}}}
		}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
			tc.change(pod, &pod.Spec.Containers[0])
			_, err := Translate(pod, Options{})
			var got []want
			if err != nil {
				for _, p := range refusal(t, pod) {
					got = append(got, want{p.Path, p.Reason})
					if p.Message == "" || strings.HasSuffix(p.Message, ".") {
						t.Errorf("%s: message %q: say what is wrong and what to do, without a final period", p.Path, p.Message)
					}
				}
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestAllProblemsAtOnce: a Pod with several problems is refused with all of them, in field order.
func TestAllProblemsAtOnce(t *testing.T) {
	pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
	pod.Spec.HostNetwork = true
	pod.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
	pod.Spec.Containers[0].Ports[0].HostPort = 80
	_, err := Translate(pod, Options{})
	var paths []string
	for _, p := range refusal(t, pod) {
		paths = append(paths, p.Path)
	}
	want := []string{"spec.volumes[0].hostPath", "spec.hostNetwork", "spec.containers[0].ports[0].hostPort", "spec.containers[0].securityContext.privileged"}
	if d := cmp.Diff(want, paths); d != "" {
		t.Errorf("paths (-want +got):\n%s", d)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not name %s: %v", w, err)
		}
	}
	var re *RefusedError
	if !asRefused(err, &re) || re.Reason() != ReasonVolumeType || re.Pod != "shop/web-5d8f7c-aaaaa" {
		t.Errorf("refused error %+v", re)
	}
}

func TestEphemeralContainersAreAWarning(t *testing.T) {
	pod := rsPod("p", "u")
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox"}}}
	tr := mustTranslate(t, pod, Options{})
	if len(tr.Warnings) != 1 || tr.Warnings[0].Reason != ReasonEphemeralContainers || len(tr.TaskDefinition.ContainerDefinitions) != 1 {
		t.Errorf("warnings %v, %d containers", tr.Warnings, len(tr.TaskDefinition.ContainerDefinitions))
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Arch: "s390x"}, {FamilyPrefix: "has space"}, {Owner: &Owner{Kind: "Job"}}} {
		if _, err := Translate(rsPod("p", "u"), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestNoStdin: stdin and tty translate into interactive and pseudoTerminal, and are refused,
// naming the field, when the data plane keeps no standard input open (Options.NoStdin).
func TestNoStdin(t *testing.T) {
	type want struct{ path, reason string }
	for name, tc := range map[string]struct {
		stdin, tty, noStdin bool
		want                []want
	}{
		"stdin and tty":                   {stdin: true, tty: true},
		"plain, no stdin":                 {noStdin: true},
		"stdin refused":                   {stdin: true, noStdin: true, want: []want{{"spec.containers[0].stdin", ReasonFieldNotSupported}}},
		"stdin and tty refused, each one": {stdin: true, tty: true, noStdin: true, want: []want{{"spec.containers[0].stdin", ReasonFieldNotSupported}, {"spec.containers[0].tty", ReasonFieldNotSupported}}},
	} {
		t.Run(name, func(t *testing.T) {
			pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
			pod.Spec.Containers[0].Stdin, pod.Spec.Containers[0].TTY = tc.stdin, tc.tty
			tr, err := Translate(pod, Options{NoStdin: tc.noStdin})
			var refused *RefusedError
			var got []want
			switch {
			case errors.As(err, &refused):
				for _, p := range refused.Problems {
					got = append(got, want{p.Path, p.Reason})
					if !strings.Contains(p.Message, "kubectl exec -it") {
						t.Errorf("%s: message %q does not say what to do", p.Path, p.Message)
					}
				}
			case err != nil:
				t.Fatal(err)
			default:
				def := tr.TaskDefinition.ContainerDefinitions[0]
				if aws.ToBool(def.Interactive) != tc.stdin || aws.ToBool(def.PseudoTerminal) != tc.tty {
					t.Errorf("interactive %v, pseudoTerminal %v; want %v, %v", aws.ToBool(def.Interactive), aws.ToBool(def.PseudoTerminal), tc.stdin, tc.tty)
				}
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}
