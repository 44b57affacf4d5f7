package translate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestTranslateDeploymentPod translates a Pod as a Deployment's ReplicaSet and the API server
// make it (with the service-account token volume admission adds) and checks every part.
func TestTranslateDeploymentPod(t *testing.T) {
	pod := withTokenVolume(rsPod("web-5d8f7c-x7k2p", "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"), "q8z4n")
	tr := mustTranslate(t, pod, Options{})

	wantTD := &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("shop_deploy_web"),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		RuntimePlatform:         &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitectureX8664, OperatingSystemFamily: ecstypes.OSFamilyLinux},
		Volumes:                 []ecstypes.Volume{{Name: aws.String("kube-api-access")}},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("nodeless.local/hello:v1"), Essential: aws.Bool(true),
			Cpu: 256, Memory: aws.Int32(512), MemoryReservation: aws.Int32(256), StopTimeout: aws.Int32(30),
			RestartPolicy: &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(true), RestartAttemptPeriod: aws.Int32(60)},
			PortMappings: []ecstypes.PortMapping{{
				ContainerPort: aws.Int32(8080), HostPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp, Name: aws.String("http"),
			}},
			MountPoints: []ecstypes.MountPoint{{
				SourceVolume: aws.String("kube-api-access"), ContainerPath: aws.String("/var/run/secrets/kubernetes.io/serviceaccount"), ReadOnly: aws.Bool(true),
			}},
		}},
		Tags: []ecstypes.Tag{{Key: aws.String(TagSpecHash), Value: aws.String(tr.Revision.Hash)}},
	}
	if d := diffJSON(t, wantTD, tr.TaskDefinition); d != "" {
		t.Errorf("task definition (-want +got):\n%s", d)
	}
	if tr.Revision.Family != "shop_deploy_web" || len(tr.Revision.Hash) != 20 {
		t.Errorf("revision %+v", tr.Revision)
	}

	wantRun := &ecs.RunTaskInput{
		TaskDefinition: aws.String("shop_deploy_web"),
		Count:          aws.Int32(1),
		ClientToken:    aws.String("0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"),
		StartedBy:      aws.String("nodeless/0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f"),
		Tags: []ecstypes.Tag{
			{Key: aws.String(TagOwner), Value: aws.String("0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f")},
			{Key: aws.String(TagPodNamespace), Value: aws.String("shop")},
			{Key: aws.String(TagPodName), Value: aws.String("web-5d8f7c-x7k2p")},
			{Key: aws.String(TagDNSPolicy), Value: aws.String("ClusterFirst")},
			{Key: aws.String(TagDNSSearches), Value: aws.String("shop.svc.cluster.local svc.cluster.local cluster.local")},
			{Key: aws.String(TagDNSOptions), Value: aws.String("ndots:5")},
		},
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
			Name: aws.String("app"), Environment: []ecstypes.KeyValuePair{keyValue("HOSTNAME", "web-5d8f7c-x7k2p")},
		}}},
	}
	if d := diffJSON(t, wantRun, tr.RunTask); d != "" {
		t.Errorf("run task (-want +got):\n%s", d)
	}

	wantStart := StartPlan{
		Objects: []ObjectRef{{Kind: "ConfigMap", Name: "kube-root-ca.crt", Keys: []string{"ca.crt"}}},
		Volumes: []VolumeFiles{{
			Volume: "kube-api-access", Sources: pod.Spec.Volumes[0].Projected.Sources, DefaultMode: 0o644, Update: true,
		}},
		ServiceLinks: true,
	}
	if d := cmp.Diff(wantStart, tr.Start); d != "" {
		t.Errorf("start plan (-want +got):\n%s", d)
	}
	wantNode := NodePlan{
		RestartPolicy: corev1.RestartPolicyAlways,
		Containers: []ContainerNode{{
			Name: "app", TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}},
		TerminationGracePeriodSeconds: 30,
		Hostname:                      "web-5d8f7c-x7k2p",
		DNSPolicy:                     corev1.DNSClusterFirst,
	}
	if d := cmp.Diff(wantNode, tr.Node); d != "" {
		t.Errorf("node plan (-want +got):\n%s", d)
	}
	if len(tr.Warnings) != 0 {
		t.Errorf("warnings: %v", tr.Warnings)
	}
}

// TestContentAddressing: the Pods of one ReplicaSet share a byte-identical task definition
// whatever differs between them (name, UID, the token volume's random suffix, per-pod labels and
// annotations, hostname); a template change makes another revision; per-pod values are only in
// RunTask.
func TestContentAddressing(t *testing.T) {
	indexEnv := corev1.EnvVar{Name: "INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		FieldPath: "metadata.labels['apps.kubernetes.io/pod-index']"}}}
	nameEnv := corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}
	podOf := func(name, uid, suffix, index string) *corev1.Pod {
		p := withTokenVolume(rsPod(name, types.UID("uid-"+uidOf(uid))), suffix)
		p.Labels["apps.kubernetes.io/pod-index"] = index
		p.Annotations["per-pod"] = name
		p.Spec.Hostname = name
		p.Spec.Containers[0].Env = []corev1.EnvVar{nameEnv, indexEnv, {Name: "GREETING", Value: "hello $(POD_NAME)"}}
		p.Spec.Containers[0].Args = []string{"--id=$(POD_NAME)", "--index", "$(INDEX)"}
		return p
	}
	a := mustTranslate(t, podOf("web-5d8f7c-aaaaa", "a", "abcde", "0"), Options{})
	b := mustTranslate(t, podOf("web-5d8f7c-bbbbb", "b", "fghij", "1"), Options{})
	ja, _ := json.Marshal(a.TaskDefinition)
	jb, _ := json.Marshal(b.TaskDefinition)
	if string(ja) != string(jb) {
		t.Errorf("task definitions of one ReplicaSet differ:\n%s\n%s", ja, jb)
	}
	if a.Revision != b.Revision {
		t.Errorf("revisions differ: %+v %+v", a.Revision, b.Revision)
	}
	for _, perPod := range []string{"web-5d8f7c-aaaaa", "uid-", "abcde", "hello web"} {
		if strings.Contains(string(ja), perPod) {
			t.Errorf("the task definition holds the per-pod value %q: %s", perPod, ja)
		}
	}
	wantOv := []ecstypes.ContainerOverride{{
		Name:    aws.String("app"),
		Command: []string{"--id=web-5d8f7c-bbbbb", "--index", "1"},
		Environment: []ecstypes.KeyValuePair{
			keyValue("GREETING", "hello web-5d8f7c-bbbbb"), keyValue("HOSTNAME", "web-5d8f7c-bbbbb"),
			keyValue("INDEX", "1"), keyValue("POD_NAME", "web-5d8f7c-bbbbb"),
		},
	}}
	if d := diffJSON(t, wantOv, b.RunTask.Overrides.ContainerOverrides); d != "" {
		t.Errorf("overrides (-want +got):\n%s", d)
	}

	changed := podOf("web-5d8f7c-aaaaa", "a", "abcde", "0")
	changed.Spec.Containers[0].Image = "nodeless.local/hello:v2"
	if c := mustTranslate(t, changed, Options{}); c.Revision.Hash == a.Revision.Hash || c.Revision.Family != a.Revision.Family {
		t.Errorf("an image change: revision %+v, was %+v; want the same family and another hash", c.Revision, a.Revision)
	}
	changed = podOf("web-5d8f7c-aaaaa", "a", "abcde", "0")
	changed.Spec.Containers[0].Env = append(changed.Spec.Containers[0].Env, corev1.EnvVar{Name: "NEW", Value: "1"})
	if c := mustTranslate(t, changed, Options{}); c.Revision.Hash == a.Revision.Hash {
		t.Error("an env change kept the hash")
	}
}

func uidOf(s string) string { return strings.Repeat(s, 8) }

// TestNoSecretValueInTheTaskDefinition: a Secret (directly, through envFrom, or expanded into
// another variable) reaches neither the task definition nor RunTask; ResolveContainer gives it
// at start, marked Secret.
func TestNoSecretValueInTheTaskDefinition(t *testing.T) {
	pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
	c := &pod.Spec.Containers[0]
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}}
	c.Env = []corev1.EnvVar{
		{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
		{Name: "DSN", Value: "postgres://app:$(PASSWORD)@db/shop"},
		{Name: "FROM_ENVFROM", Value: "$(DB_user)"},
		{Name: "PLAIN", Value: "x"},
	}
	tr := mustTranslate(t, pod, Options{})
	all, _ := json.Marshal(tr)
	for _, leak := range []string{"postgres://", "PASSWORD\"", "FROM_ENVFROM"} {
		if strings.Contains(string(all[:strings.Index(string(all), `"Start"`)]), leak) {
			t.Errorf("%q is in the task definition or RunTask", leak)
		}
	}
	want := []ContainerStart{{Name: "app", Env: []string{"DSN", "FROM_ENVFROM", "PASSWORD"}, SecretEnv: []string{"DSN", "FROM_ENVFROM", "PASSWORD"}, EnvFrom: true}}
	if d := cmp.Diff(want, tr.Start.Containers); d != "" {
		t.Errorf("start containers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]ObjectRef{{Kind: "Secret", Name: "db"}}, tr.Start.Objects); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
	rc, err := ResolveContainer(pod, "app", Options{}, StartValues{Secrets: map[string]map[string][]byte{
		"db": {"password": []byte("s3cr3t"), "user": []byte("app")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := []EnvVar{
		{Name: "DB_password", Value: "s3cr3t", Delivery: AtStart, Secret: true},
		{Name: "DB_user", Value: "app", Delivery: AtStart, Secret: true},
		{Name: "DSN", Value: "postgres://app:s3cr3t@db/shop", Delivery: AtStart, Secret: true},
		{Name: "FROM_ENVFROM", Value: "app", Delivery: AtStart, Secret: true},
		{Name: "PASSWORD", Value: "s3cr3t", Delivery: AtStart, Secret: true},
		{Name: "PLAIN", Value: "x", Delivery: InTaskDefinition},
	}
	if d := cmp.Diff(wantEnv, rc.Env); d != "" {
		t.Errorf("resolved env (-want +got):\n%s", d)
	}
}

// TestContainers covers ordering, dependencies, restart policies and the per-container members.
func TestContainers(t *testing.T) {
	pod := rsPod("job-abc", "uid-j")
	pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "migrate", Controller: ptr(true)}}
	pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	pod.Spec.ShareProcessNamespace = ptr(true)
	pod.Spec.TerminationGracePeriodSeconds = ptr(int64(600))
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "wait", Image: "busybox", Command: []string{"sh", "-c", "until nc -z db 5432; do sleep 1; done"},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}},
		{Name: "proxy", Image: "envoy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
			Ports:     []corev1.ContainerPort{{Name: "http", ContainerPort: 15000}, {ContainerPort: 8080}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}},
		{Name: "schema", Image: "migrate", WorkingDir: "/work"},
	}
	c := &pod.Spec.Containers[0]
	c.Stdin, c.TTY = true, true
	c.SecurityContext = &corev1.SecurityContext{
		RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(3000)), ReadOnlyRootFilesystem: ptr(true),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE", "CAP_SYS_PTRACE"}},
	}
	tr := mustTranslate(t, pod, Options{Arch: "arm64"})
	td := tr.TaskDefinition
	if got := aws.ToString(td.Family); got != "shop_job_migrate" {
		t.Errorf("family %s", got)
	}
	if td.PidMode != ecstypes.PidModeTask || td.RuntimePlatform.CpuArchitecture != ecstypes.CPUArchitectureArm64 {
		t.Errorf("pidMode %q, runtimePlatform %+v", td.PidMode, td.RuntimePlatform)
	}
	// The task holds the largest of wait (2Gi), schema + proxy, app + proxy (350m cpu, 576Mi).
	if aws.ToString(td.Cpu) != "512" || aws.ToString(td.Memory) != "2048" {
		t.Errorf("size %s/%s, want 512/2048", aws.ToString(td.Cpu), aws.ToString(td.Memory))
	}
	restart := func(ignored ...int32) *ecstypes.ContainerRestartPolicy {
		return &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: ignored, RestartAttemptPeriod: aws.Int32(60)}
	}
	dep := func(name string, cond ecstypes.ContainerCondition) []ecstypes.ContainerDependency {
		return []ecstypes.ContainerDependency{{ContainerName: aws.String(name), Condition: cond}}
	}
	want := []ecstypes.ContainerDefinition{
		{Name: aws.String("wait"), Image: aws.String("busybox"), Essential: aws.Bool(false), StopTimeout: aws.Int32(120),
			EntryPoint: []string{"sh", "-c", "until nc -z db 5432; do sleep 1; done"}},
		{Name: aws.String("proxy"), Image: aws.String("envoy"), Essential: aws.Bool(false), StopTimeout: aws.Int32(120),
			Cpu: 103, MemoryReservation: aws.Int32(64), RestartPolicy: restart(), DependsOn: dep("wait", ecstypes.ContainerConditionSuccess),
			PortMappings: []ecstypes.PortMapping{
				{ContainerPort: aws.Int32(15000), HostPort: aws.Int32(15000), Protocol: ecstypes.TransportProtocolTcp, Name: aws.String("proxy-http")},
				{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp},
			}},
		{Name: aws.String("schema"), Image: aws.String("migrate"), Essential: aws.Bool(false), StopTimeout: aws.Int32(120),
			WorkingDirectory: aws.String("/work"), DependsOn: dep("proxy", ecstypes.ContainerConditionStart)},
		{Name: aws.String("app"), Image: aws.String("nodeless.local/hello:v1"), Essential: aws.Bool(true), StopTimeout: aws.Int32(120),
			Cpu: 256, Memory: aws.Int32(512), MemoryReservation: aws.Int32(256), RestartPolicy: restart(0),
			DependsOn: dep("schema", ecstypes.ContainerConditionSuccess), Interactive: aws.Bool(true), PseudoTerminal: aws.Bool(true),
			User: aws.String("1000:3000"), ReadonlyRootFilesystem: aws.Bool(true),
			LinuxParameters: &ecstypes.LinuxParameters{Capabilities: &ecstypes.KernelCapabilities{
				Add:  []string{"SYS_PTRACE"},
				Drop: []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"},
			}},
			// 8080 is the sidecar's already; app's "http" is renamed as proxy's was.
			PortMappings: []ecstypes.PortMapping{},
		},
	}
	if d := diffJSON(t, want, td.ContainerDefinitions); d != "" {
		t.Errorf("container definitions (-want +got):\n%s", d)
	}
	wantWarn := []Problem{{Path: "spec.terminationGracePeriodSeconds", Reason: ReasonGracePeriodClamped,
		Message: "600 seconds is outside the 2..120 ECS allows for stopTimeout; containers get SIGKILL 120 seconds after SIGTERM"}}
	if d := cmp.Diff(wantWarn, tr.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
	if n := tr.Node; n.TerminationGracePeriodSeconds != 600 || len(n.Containers) != 4 || !n.Containers[1].Sidecar || !n.Containers[0].Init {
		t.Errorf("node plan %+v", n)
	}
}

// TestCommand: where Kubernetes command and args go, by what they expand.
func TestCommand(t *testing.T) {
	podName := corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}
	cm := corev1.EnvVar{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}}
	for name, tc := range map[string]struct {
		env                   []corev1.EnvVar
		command, args         []string
		entryPoint, tdCommand []string
		override              []string
		atStart               bool
	}{
		"literal": {
			env: []corev1.EnvVar{{Name: "A", Value: "1"}}, command: []string{"app", "--a=$(A)", "$$(A)", "$(UNSET)"}, args: []string{"x"},
			entryPoint: []string{"app", "--a=1", "$(A)", "$(UNSET)"}, tdCommand: []string{"x"},
		},
		"args per pod": {
			env: []corev1.EnvVar{podName}, command: []string{"app"}, args: []string{"--name", "$(POD_NAME)"},
			entryPoint: []string{"app"}, override: []string{"--name", "p-1"},
		},
		"args only, per pod": {
			env: []corev1.EnvVar{podName}, args: []string{"--name=$(POD_NAME)"},
			override: []string{"--name=p-1"},
		},
		"shell per pod": {
			env: []corev1.EnvVar{podName}, command: []string{"sh", "-c", "exec app --id=$(POD_NAME)"}, args: []string{"--v"},
			entryPoint: []string{"sh", "-c"}, override: []string{"exec app --id=p-1", "--v"},
		},
		"configmap at start": {
			env: []corev1.EnvVar{cm}, command: []string{"app"}, args: []string{"--mode=$(MODE)"},
			entryPoint: []string{"app"}, atStart: true,
		},
		"service link at start": {
			command:    []string{"app", "--db=$(DB_SERVICE_HOST)"},
			entryPoint: []string{"app"}, atStart: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			pod := rsPod("p-1", "uid-1")
			c := &pod.Spec.Containers[0]
			c.Env, c.Command, c.Args = tc.env, tc.command, tc.args
			tr := mustTranslate(t, pod, Options{})
			def := tr.TaskDefinition.ContainerDefinitions[0]
			if d := cmp.Diff(tc.entryPoint, def.EntryPoint); d != "" {
				t.Errorf("entryPoint (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.tdCommand, def.Command); d != "" {
				t.Errorf("command (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.override, tr.RunTask.Overrides.ContainerOverrides[0].Command); d != "" {
				t.Errorf("command override (-want +got):\n%s", d)
			}
			gotStart := len(tr.Start.Containers) > 0 && tr.Start.Containers[0].Command
			if gotStart != tc.atStart {
				t.Errorf("command at start: %v, want %v", gotStart, tc.atStart)
			}
		})
	}
}

// TestEnvironment: the kubelet's semantics of env, and which delivery each value gets.
func TestEnvironment(t *testing.T) {
	pod := rsPod("web-1", "uid-1")
	pod.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("500m")
	pod.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "A", Value: "a"},
		{Name: "B", Value: "$(A)-$(A)"},
		{Name: "ESC", Value: "$$(A) $$$(A) $(A"},
		{Name: "LATER", Value: "$(C)"}, // C is defined after: stays literal
		{Name: "C", Value: "c"},
		{Name: "EMPTY"},
		{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
		{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "URL", Value: "http://$(IP):8080"},
		{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
		{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		{Name: "MEMREQ", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.memory"}}},
		{Name: "OPT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "missing", Optional: ptr(true)}}},
		{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
	}
	tr := mustTranslate(t, pod, Options{})
	wantTD := []ecstypes.KeyValuePair{
		keyValue("A", "a"), keyValue("B", "a-a"), keyValue("C", "c"), keyValue("CPU", "500"), keyValue("EMPTY", ""),
		keyValue("ESC", "$(A) $a $(A"), keyValue("LATER", "$(C)"), keyValue("MEM", "512"), keyValue("MEMREQ", "268435456"),
	}
	if d := diffJSON(t, wantTD, tr.TaskDefinition.ContainerDefinitions[0].Environment); d != "" {
		t.Errorf("task definition environment (-want +got):\n%s", d)
	}
	wantOv := []ecstypes.KeyValuePair{
		keyValue("APP", "web"), keyValue("HOSTNAME", "web-1"), keyValue("NODE", "nodeless"), keyValue("NS", "shop"), keyValue("SA", "default"),
	}
	if d := diffJSON(t, wantOv, tr.RunTask.Overrides.ContainerOverrides[0].Environment); d != "" {
		t.Errorf("override environment (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]ContainerStart{{Name: "app", Env: []string{"IP", "MODE", "OPT", "URL"}}}, tr.Start.Containers); d != "" {
		t.Errorf("start (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]ObjectRef{{Kind: "ConfigMap", Name: "cfg", Keys: []string{"missing", "mode"}}}, tr.Start.Objects); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}

	rc, err := ResolveContainer(pod, "app", Options{}, StartValues{PodIPs: []string{"10.0.0.7"}, ConfigMaps: map[string]map[string]string{"cfg": {"mode": "fast"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range rc.Env {
		if v.Delivery == AtStart {
			got[v.Name] = v.Value
		}
	}
	if d := cmp.Diff(map[string]string{"IP": "10.0.0.7", "MODE": "fast", "URL": "http://10.0.0.7:8080"}, got); d != "" {
		t.Errorf("resolved at start (-want +got):\n%s", d)
	}
	if _, err := ResolveContainer(pod, "app", Options{}, StartValues{}); err == nil || !strings.Contains(err.Error(), `configmap "cfg" not found`) {
		t.Errorf("a missing ConfigMap: %v", err)
	}
}

// TestResources: container cpu/memory and the task's Fargate size.
func TestResources(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	for name, tc := range map[string]struct {
		requests, limits  corev1.ResourceList
		pod               *corev1.ResourceRequirements
		overhead          corev1.ResourceList
		emptyDirLimit     string
		cpu, mem          string
		ephemeral         int32
		containerCPU      int32
		containerMem, res *int32
	}{
		"best effort":           {cpu: "256", mem: "512"},
		"small":                 {requests: rl("cpu", "100m", "memory", "100Mi"), cpu: "256", mem: "512", containerCPU: 103, res: aws.Int32(100)},
		"memory picks the cpu":  {requests: rl("cpu", "250m"), limits: rl("memory", "5Gi"), cpu: "1024", mem: "5120", containerCPU: 256, containerMem: aws.Int32(5120)},
		"cpu limit sizes":       {requests: rl("cpu", "1"), limits: rl("cpu", "2", "memory", "3Gi"), cpu: "2048", mem: "4096", containerCPU: 1024, containerMem: aws.Int32(3072)},
		"rounded up":            {limits: rl("memory", "1000M"), cpu: "256", mem: "1024", containerMem: aws.Int32(954)},
		"overhead":              {requests: rl("cpu", "250m"), overhead: rl("cpu", "10m"), cpu: "512", mem: "1024", containerCPU: 256},
		"pod-level":             {pod: &corev1.ResourceRequirements{Limits: rl("cpu", "4", "memory", "8Gi")}, cpu: "4096", mem: "8192"},
		"ephemeral":             {limits: rl("ephemeral-storage", "30Gi"), emptyDirLimit: "5Gi", cpu: "256", mem: "512", ephemeral: 35},
		"ephemeral within free": {limits: rl("ephemeral-storage", "19Gi"), cpu: "256", mem: "512"},
	} {
		t.Run(name, func(t *testing.T) {
			pod := rsPod("p", "u")
			c := &pod.Spec.Containers[0]
			c.Resources = corev1.ResourceRequirements{Requests: tc.requests, Limits: tc.limits}
			pod.Spec.Resources, pod.Spec.Overhead = tc.pod, tc.overhead
			if tc.emptyDirLimit != "" {
				q := resource.MustParse(tc.emptyDirLimit)
				pod.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &q}}}}
			}
			td := mustTranslate(t, pod, Options{}).TaskDefinition
			if aws.ToString(td.Cpu) != tc.cpu || aws.ToString(td.Memory) != tc.mem {
				t.Errorf("task %s/%s, want %s/%s", aws.ToString(td.Cpu), aws.ToString(td.Memory), tc.cpu, tc.mem)
			}
			var eph int32
			if td.EphemeralStorage != nil {
				eph = td.EphemeralStorage.SizeInGiB
			}
			if eph != tc.ephemeral {
				t.Errorf("ephemeral storage %d GiB, want %d", eph, tc.ephemeral)
			}
			def := td.ContainerDefinitions[0]
			if def.Cpu != tc.containerCPU || !cmp.Equal(def.Memory, tc.containerMem) || !cmp.Equal(def.MemoryReservation, tc.res) {
				t.Errorf("container cpu %d memory %v reservation %v, want %d %v %v", def.Cpu, aws.ToInt32(def.Memory), aws.ToInt32(def.MemoryReservation),
					tc.containerCPU, aws.ToInt32(tc.containerMem), aws.ToInt32(tc.res))
			}
		})
	}
}

func TestMemoryBelowTheECSMinimumIsRaisedWithAWarning(t *testing.T) {
	pod := rsPod("p", "u")
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Mi")}}
	tr := mustTranslate(t, pod, Options{})
	if got := aws.ToInt32(tr.TaskDefinition.ContainerDefinitions[0].MemoryReservation); got != 6 {
		t.Errorf("memoryReservation %d, want 6", got)
	}
	if len(tr.Warnings) != 1 || tr.Warnings[0].Path != "spec.containers[0].resources.requests.memory" || tr.Warnings[0].Reason != ReasonMemoryRaised {
		t.Errorf("warnings %v", tr.Warnings)
	}
}

// TestVolumes: task volumes, mounts, files described for the start, subPath volumes.
func TestVolumes(t *testing.T) {
	pod := rsPod("p", "u")
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(2000))}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "nginx"}, Items: []corev1.KeyToPath{{Key: "nginx.conf", Path: "nginx.conf"}}}}},
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls", DefaultMode: ptr(int32(0o400)), Optional: ptr(true)}}},
		{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
	}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "scratch", MountPath: "/tmp"},
		{Name: "conf", MountPath: "/etc/nginx/nginx.conf", SubPath: "nginx.conf"},
		{Name: "conf", MountPath: "/etc/nginx/conf.d"},
		{Name: "tls", MountPath: "/tls"},
		{Name: "info", MountPath: "/etc/podinfo", ReadOnly: true},
	}
	tr := mustTranslate(t, pod, Options{})
	td := tr.TaskDefinition
	wantVolumes := []ecstypes.Volume{{Name: aws.String("scratch")}, {Name: aws.String("conf")}, {Name: aws.String("tls")}, {Name: aws.String("info")},
		{Name: aws.String("conf-sub-" + subHash("nginx.conf"))}}
	if d := diffJSON(t, wantVolumes, td.Volumes); d != "" {
		t.Errorf("volumes (-want +got):\n%s", d)
	}
	ro := aws.Bool(true)
	wantMounts := []ecstypes.MountPoint{
		{SourceVolume: aws.String("scratch"), ContainerPath: aws.String("/tmp")},
		{SourceVolume: aws.String("conf-sub-" + subHash("nginx.conf")), ContainerPath: aws.String("/etc/nginx/nginx.conf"), ReadOnly: ro},
		{SourceVolume: aws.String("conf"), ContainerPath: aws.String("/etc/nginx/conf.d"), ReadOnly: ro},
		{SourceVolume: aws.String("tls"), ContainerPath: aws.String("/tls"), ReadOnly: ro},
		{SourceVolume: aws.String("info"), ContainerPath: aws.String("/etc/podinfo"), ReadOnly: ro},
	}
	if d := diffJSON(t, wantMounts, td.ContainerDefinitions[0].MountPoints); d != "" {
		t.Errorf("mount points (-want +got):\n%s", d)
	}
	conf := []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "nginx"},
		Items: []corev1.KeyToPath{{Key: "nginx.conf", Path: "nginx.conf"}}}}}
	g := ptr(int64(2000))
	wantFiles := []VolumeFiles{
		{Volume: "conf", Sources: conf, DefaultMode: 0o644, FSGroup: g, Update: true},
		{Volume: "tls", Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "tls"}, Optional: ptr(true)}}},
			DefaultMode: 0o400, FSGroup: g, Update: true},
		{Volume: "info", Sources: []corev1.VolumeProjection{{DownwardAPI: &corev1.DownwardAPIProjection{Items: pod.Spec.Volumes[3].DownwardAPI.Items}}},
			DefaultMode: 0o644, FSGroup: g, Update: true},
		{Volume: "conf-sub-" + subHash("nginx.conf"), Sources: conf, DefaultMode: 0o644, FSGroup: g, SubPath: "nginx.conf"},
	}
	if d := cmp.Diff(wantFiles, tr.Start.Volumes); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	wantObjects := []ObjectRef{{Kind: "ConfigMap", Name: "nginx", Keys: []string{"nginx.conf"}}, {Kind: "Secret", Name: "tls", Optional: true}}
	if d := cmp.Diff(wantObjects, tr.Start.Objects); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
}

func subHash(s string) string {
	pv := podVolume{task: "x", files: &VolumeFiles{}}
	tr := &translator{td: &ecs.RegisterTaskDefinitionInput{}}
	return strings.TrimPrefix(tr.subPathVolume(pv, s), "x-sub-")
}

// TestProbesAndHooks: probes and hooks are described for the node, named ports resolved and the
// Kubernetes defaults applied.
func TestProbesAndHooks(t *testing.T) {
	pod := rsPod("p", "u")
	c := &pod.Spec.Containers[0]
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 5, FailureThreshold: 6}
	c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/ready"}}}}
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}},
		PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/warm", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTPS}}}
	c.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr(true)}
	tr := mustTranslate(t, pod, Options{})
	want := ContainerNode{
		Name:                     "app",
		Readiness:                &Probe{Handler: Handler{HTTPGet: &HTTPGet{Scheme: corev1.URISchemeHTTP, Port: 8080, Path: "/ready"}}, TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
		Liveness:                 &Probe{Handler: Handler{TCPSocket: &TCPSocket{Port: 8080}}, TimeoutSeconds: 1, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 6},
		Startup:                  &Probe{Handler: Handler{Exec: []string{"cat", "/ready"}}, TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
		PostStart:                &Handler{HTTPGet: &HTTPGet{Scheme: corev1.URISchemeHTTPS, Port: 8080, Path: "/warm"}},
		PreStop:                  &Handler{SleepSeconds: ptr(int64(5))},
		RequireNonRoot:           true,
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
	if d := cmp.Diff(want, tr.Node.Containers[0]); d != "" {
		t.Errorf("node container (-want +got):\n%s", d)
	}
	if tr.TaskDefinition.ContainerDefinitions[0].HealthCheck != nil {
		t.Error("probes must not become an ECS healthCheck (the node runs them)")
	}
}

// TestFamilyName: families name the namespace and the owner, within ECS's rules.
func TestFamilyName(t *testing.T) {
	long := strings.Repeat("a", 253)
	for name, tc := range map[string]struct {
		prefix, ns string
		owner      Owner
		want       string
	}{
		"deployment": {ns: "shop", owner: Owner{"Deployment", "web"}, want: "shop_deploy_web"},
		"dots":       {ns: "shop", owner: Owner{"Job", "db.migrate"}, want: "shop_job_db_migrate"},
		"prefix":     {prefix: "c1-", ns: "default", owner: Owner{"Pod", "x"}, want: "c1-default_pod_x"},
		"other kind": {ns: "a", owner: Owner{"Workflow", "w"}, want: "a_workflow_w"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := FamilyName(tc.prefix, tc.ns, tc.owner); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	a, b := FamilyName("", "ns", Owner{"Job", long}), FamilyName("", "ns", Owner{"Job", long + "b"})
	if len(a) != 255 || len(b) != 255 || a == b || !strings.HasPrefix(a, "ns_job_aaa") {
		t.Errorf("long names: %s (%d), %s (%d)", a, len(a), b, len(b))
	}
}

func TestFamilyOwner(t *testing.T) {
	pod := rsPod("p", "u")
	if got := familyOwner(pod, &Options{}); got != (Owner{"Deployment", "web"}) {
		t.Errorf("a Deployment's Pod: %+v", got)
	}
	pod.Labels["pod-template-hash"] = "other"
	if got := familyOwner(pod, &Options{}); got != (Owner{"ReplicaSet", "web-5d8f7c"}) {
		t.Errorf("a bare ReplicaSet's Pod: %+v", got)
	}
	if got := familyOwner(pod, &Options{Owner: &Owner{"CronJob", "nightly"}}); got != (Owner{"CronJob", "nightly"}) {
		t.Errorf("with an owner: %+v", got)
	}
	pod.OwnerReferences = nil
	if got := familyOwner(pod, &Options{}); got != (Owner{"Pod", "p"}) {
		t.Errorf("a bare Pod: %+v", got)
	}
}

func TestClientToken(t *testing.T) {
	if got := ClientToken("0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f", 0); got != "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f" {
		t.Errorf("attempt 0: %s", got)
	}
	if got := ClientToken("0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f", 3); got != "0f3c6d1e-8a7b-4c1d-9e2f-3a4b5c6d7e8f-3" {
		t.Errorf("attempt 3: %s", got)
	}
	if got := ClientToken(types.UID(strings.Repeat("x", 70)), 0); len(got) != MaxClientToken {
		t.Errorf("a long UID: %s", got)
	}
}

// TestMaybeSecretCommandIsDecidedAtStart: a command that expands a name a Secret's envFrom might
// define is not refused (the name may come from elsewhere); it is completed at start, where
// ResolveContainer knows.
func TestMaybeSecretCommandIsDecidedAtStart(t *testing.T) {
	pod := rsPod("p", "u")
	c := &pod.Spec.Containers[0]
	c.EnvFrom = []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
	}
	c.Args = []string{"--port=$(PORT)"}
	tr := mustTranslate(t, pod, Options{})
	if len(tr.Start.Containers) != 1 || !tr.Start.Containers[0].Command || !tr.Start.Containers[0].EnvFrom {
		t.Fatalf("start %+v", tr.Start.Containers)
	}
	for _, tc := range []struct {
		values     StartValues
		wantSecret bool
	}{
		{StartValues{ConfigMaps: map[string]map[string]string{"cfg": {"PORT": "8080"}}, Secrets: map[string]map[string][]byte{"creds": {}}}, false},
		{StartValues{ConfigMaps: map[string]map[string]string{"cfg": {}}, Secrets: map[string]map[string][]byte{"creds": {"PORT": []byte("1")}}}, true},
	} {
		rc, err := ResolveContainer(pod, "app", Options{}, tc.values)
		if err != nil {
			t.Fatal(err)
		}
		if rc.ArgsSecret != tc.wantSecret || rc.ArgsDelivery != AtStart {
			t.Errorf("%+v: args secret %v (delivery %s), want %v", tc.values, rc.ArgsSecret, rc.ArgsDelivery, tc.wantSecret)
		}
	}
}

// TestPodLevelResourcesBelowTheContainersSum: Kubernetes lets containers' limits add up beyond
// the Pod-level limit (they share it); ECS wants them within the task, so the task holds them.
func TestPodLevelResourcesBelowTheContainersSum(t *testing.T) {
	pod := rsPod("p", "u")
	mem := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("768Mi")}
	pod.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: mem}
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "helper", Image: "busybox", Resources: corev1.ResourceRequirements{Limits: mem}})
	td := mustTranslate(t, pod, Options{}).TaskDefinition
	if aws.ToString(td.Cpu) != "1024" || aws.ToString(td.Memory) != "2048" {
		t.Errorf("size %s/%s, want 1024/2048", aws.ToString(td.Cpu), aws.ToString(td.Memory))
	}
}
