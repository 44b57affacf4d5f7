package podstart

import (
	"context"
	"encoding/json"
	"errors"
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
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

const arnPrefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:nodeless/c1/shop/"

func ptr[T any](v T) *T { return &v }

// rsPod is a Pod of ReplicaSet web-5d8f7c (Deployment web), bound to the virtual node.
func rsPod(name string, uid types.UID) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: uid, Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f7c"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7c", UID: "rs-uid", Controller: ptr(true)}},
		},
		Spec: corev1.PodSpec{
			NodeName: translate.DefaultNodeName, RestartPolicy: corev1.RestartPolicyAlways, ServiceAccountName: "default",
			Containers: []corev1.Container{{
				Name: "app", Image: "nodeless.local/hello:v1",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}},
			}},
		},
	}
}

func testObjects() []client.Object {
	return []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db", UID: "db-uid"},
			Data: map[string][]byte{"password": []byte("s3cret"), "user": []byte("app"), "bin": {0xff, 0xfe}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "plain", UID: "plain-uid"},
			Data: map[string][]byte{"password": []byte("s3cret"), "user": []byte("app")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cfg", UID: "cfg-uid"},
			Data: map[string]string{"mode": "fast", "app.yaml": "a: 1\n"}, BinaryData: map[string][]byte{"logo.png": {0x89, 'P'}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "kube-root-ca.crt", UID: "ca-uid"}, Data: map[string]string{"ca.crt": "CA"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"}, Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.5", Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}},
	}
}

type fixture struct {
	mirror *mirror
	tokens *tokens
	deps   Deps
}

func newFixture(objs ...client.Object) *fixture {
	if objs == nil {
		objs = testObjects()
	}
	f := &fixture{mirror: &mirror{}, tokens: &tokens{}}
	f.deps = Deps{Reader: &reader{objs: objs}, Mirror: f.mirror, AgentImage: "nodeless.local/nodeless-agent:test", Tokens: f.tokens}
	return f
}

func (f *fixture) resolve(t *testing.T, pod *corev1.Pod) (*Start, error) {
	t.Helper()
	tr, err := translate.Translate(pod, f.deps.Options)
	if err != nil {
		t.Fatalf("Translate: %v", err)
	}
	before, _ := json.Marshal(tr)
	st, err := Resolve(context.Background(), pod, tr, f.deps)
	if after, _ := json.Marshal(tr); string(after) != string(before) {
		t.Errorf("Resolve changed the Translation")
	}
	return st, err
}

func container(td *ecs.RegisterTaskDefinitionInput, name string) *ecstypes.ContainerDefinition {
	for i := range td.ContainerDefinitions {
		if aws.ToString(td.ContainerDefinitions[i].Name) == name {
			return &td.ContainerDefinitions[i]
		}
	}
	return nil
}

func secretsOf(d *ecstypes.ContainerDefinition) map[string]string {
	out := map[string]string{}
	for _, s := range d.Secrets {
		out[aws.ToString(s.Name)] = aws.ToString(s.ValueFrom)
	}
	return out
}

func pairs(kv []ecstypes.KeyValuePair) map[string]string {
	out := map[string]string{}
	for _, p := range kv {
		out[aws.ToString(p.Name)] = aws.ToString(p.Value)
	}
	return out
}

func overrideOf(run *ecs.RunTaskInput, name string) *ecstypes.ContainerOverride {
	if run.Overrides == nil {
		return nil
	}
	for i := range run.Overrides.ContainerOverrides {
		if aws.ToString(run.Overrides.ContainerOverrides[i].Name) == name {
			return &run.Overrides.ContainerOverrides[i]
		}
	}
	return nil
}

func envFrom(kind, name, prefix string) corev1.EnvFromSource {
	ref := corev1.LocalObjectReference{Name: name}
	if kind == "Secret" {
		return corev1.EnvFromSource{Prefix: prefix, SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref}}
	}
	return corev1.EnvFromSource{Prefix: prefix, ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: ref}}
}

func secretKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: &optional}}
}

func configKey(name, key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
}

// TestEnv: how each start-time variable reaches the container.
func TestEnv(t *testing.T) {
	dbARN := arnPrefix + "secret/db-abcdef"
	tmplARN := arnPrefix + "env/shop_deploy_web."
	for _, tc := range []struct {
		name        string
		env         []corev1.EnvVar
		envFrom     []corev1.EnvFromSource
		wantSecrets map[string]string // name → valueFrom (template entries: prefix only)
		wantEnv     map[string]string // in RunTask overrides (besides HOSTNAME)
		wantMirror  []string
	}{
		{
			name:        "secretKeyRef is an ECS secret with json-key",
			env:         []corev1.EnvVar{{Name: "PASSWORD", ValueFrom: secretKey("db", "password", false)}},
			wantSecrets: map[string]string{"PASSWORD": dbARN + ":password::"},
			wantMirror:  []string{"nodeless/c1/shop/secret/db owner=Secret/db"},
		},
		{
			name:    "configMapKeyRef goes into RunTask overrides",
			env:     []corev1.EnvVar{{Name: "MODE", ValueFrom: configKey("cfg", "mode")}},
			wantEnv: map[string]string{"MODE": "fast"},
		},
		{
			name:        "envFrom: a Secret's keys as secrets, a ConfigMap's in overrides; a later env wins",
			envFrom:     []corev1.EnvFromSource{envFrom("Secret", "plain", "DB_"), envFrom("ConfigMap", "cfg", "")},
			env:         []corev1.EnvVar{{Name: "DB_user", Value: "literal"}},
			wantSecrets: map[string]string{"DB_password": arnPrefix + "secret/plain-abcdef:password::"},
			wantEnv:     map[string]string{"mode": "fast", "app.yaml": "a: 1\n"},
			wantMirror:  []string{"nodeless/c1/shop/secret/plain owner=Secret/plain"},
		},
		{
			name: "a Secret expanded into a larger value is in the template's Env entry",
			env: []corev1.EnvVar{{Name: "PW", ValueFrom: secretKey("db", "password", false)},
				{Name: "DSN", Value: "postgres://app:$(PW)@db/shop"}},
			wantSecrets: map[string]string{"PW": dbARN + ":password::", "DSN": tmplARN},
			wantMirror:  []string{"nodeless/c1/shop/env/shop_deploy_web." + "HASH owner=ReplicaSet/web-5d8f7c", "nodeless/c1/shop/secret/db owner=Secret/db"},
		},
		{
			name: "a Secret expanded with the Pod's name is in the Pod's Env entry",
			env: []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "PW", ValueFrom: secretKey("db", "password", false)}, {Name: "ID", Value: "$(POD):$(PW)"}},
			wantSecrets: map[string]string{"PW": dbARN + ":password::", "ID": arnPrefix + "env/web-5d8f7c-aaaaa-abcdef:app."},
			wantEnv:     map[string]string{"POD": "web-5d8f7c-aaaaa"}, // per pod, from Translate
			wantMirror:  []string{"nodeless/c1/shop/env/web-5d8f7c-aaaaa owner=Pod/web-5d8f7c-aaaaa", "nodeless/c1/shop/secret/db owner=Secret/db"},
		},
		{
			name:    "a missing optional Secret leaves the variable unset, and writes nothing",
			env:     []corev1.EnvVar{{Name: "X", ValueFrom: secretKey("nope", "k", true)}},
			wantEnv: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
			pod.Spec.Containers[0].Env, pod.Spec.Containers[0].EnvFrom = tc.env, tc.envFrom
			st, err := f.resolve(t, pod)
			if err != nil {
				t.Fatal(err)
			}
			got := secretsOf(container(st.TaskDefinition, "app"))
			for n, want := range tc.wantSecrets {
				if g := got[n]; !strings.HasPrefix(g, want) {
					t.Errorf("secret %s valueFrom %q, want %q…", n, g, want)
				}
				delete(got, n)
			}
			if len(got) > 0 {
				t.Errorf("unexpected secrets %v", got)
			}
			env := map[string]string{}
			if o := overrideOf(st.RunTask, "app"); o != nil {
				env = pairs(o.Environment)
				delete(env, "HOSTNAME")
			}
			if tc.wantEnv == nil {
				tc.wantEnv = map[string]string{}
			}
			if d := cmp.Diff(tc.wantEnv, env); d != "" {
				t.Errorf("overrides environment (-want +got):\n%s", d)
			}
			calls := f.mirror.called()
			for i := range calls {
				if strings.Contains(calls[i], "env/shop_deploy_web.") {
					calls[i] = "nodeless/c1/shop/env/shop_deploy_web.HASH owner=ReplicaSet/web-5d8f7c"
				}
			}
			if d := cmp.Diff(tc.wantMirror, calls); d != "" {
				t.Errorf("mirror calls (-want +got):\n%s", d)
			}
			noSecretInClear(t, st)
			if c := container(st.TaskDefinition, FilesContainer); c != nil {
				t.Errorf("a files container without files volumes")
			}
		})
	}
}

// noSecretInClear fails when a Secret's value is in the task definition or RunTask request.
func noSecretInClear(t *testing.T, st *Start) {
	t.Helper()
	raw, _ := json.Marshal([]any{st.TaskDefinition, st.RunTask})
	for _, v := range []string{"s3cret", "postgres://app:"} {
		if strings.Contains(string(raw), v) {
			t.Errorf("%q is in clear in the task definition or RunTask", v)
		}
	}
}

// TestTemplateShared: two Pods of one ReplicaSet get byte-identical task definitions with every
// kind of addition, and differ only in RunTask.
func TestTemplateShared(t *testing.T) {
	var starts []*Start
	for _, p := range []struct {
		name string
		uid  types.UID
	}{{"web-5d8f7c-aaaaa", "uid-a"}, {"web-5d8f7c-bbbbb", "uid-b"}} {
		f := newFixture()
		pod := withFiles(rsPod(p.name, p.uid))
		pod.Spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "PW", ValueFrom: secretKey("db", "password", false)}, {Name: "DSN", Value: "u:$(PW)@db"},
			{Name: "MODE", ValueFrom: configKey("cfg", "mode")},
		}
		st, err := f.resolve(t, pod)
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, st)
	}
	a, _ := json.Marshal(starts[0].TaskDefinition)
	b, _ := json.Marshal(starts[1].TaskDefinition)
	if string(a) != string(b) {
		t.Errorf("the Pods' task definitions differ:\n%s\n%s", a, b)
	}
	if starts[0].Revision != starts[1].Revision || starts[0].Revision.Hash == "" {
		t.Errorf("revisions %v, %v", starts[0].Revision, starts[1].Revision)
	}
	if tag := aws.ToString(starts[0].TaskDefinition.Tags[0].Value); tag != starts[0].Revision.Hash {
		t.Errorf("spec-hash tag %s, revision %s", tag, starts[0].Revision.Hash)
	}
	fa := pairs(overrideOf(starts[0].RunTask, FilesContainer).Environment)
	if !strings.Contains(strings.Join(values(fa), " "), "token-for-web-5d8f7c-aaaaa") {
		t.Errorf("the files container's overrides lack the Pod's token: %v", fa)
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// withFiles gives the Pod a secret volume, a configMap volume (with items and a binary key), a
// downwardAPI volume and the service-account token volume.
func withFiles(pod *corev1.Pod) *corev1.Pod {
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(2000))}
	pod.Spec.Volumes = append(pod.Spec.Volumes,
		corev1.Volume{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db", DefaultMode: ptr(int32(0o400))}}},
		corev1.Volume{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
			Items:                []corev1.KeyToPath{{Key: "app.yaml", Path: "etc/app.yaml"}, {Key: "logo.png", Path: "logo.png", Mode: ptr(int32(0o444))}},
		}}},
		corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory"}},
		}}}},
		corev1.Volume{Name: "kube-api-access-x1y2z", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: ptr(int32(0o644)), Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr(int64(3607)), Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			}}}},
	)
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: "creds", MountPath: "/etc/creds"}, corev1.VolumeMount{Name: "conf", MountPath: "/etc/conf"},
		corev1.VolumeMount{Name: "info", MountPath: "/etc/info"},
		corev1.VolumeMount{Name: "kube-api-access-x1y2z", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true})
	return pod
}

// TestFiles: the files container, its inputs and what it writes.
func TestFiles(t *testing.T) {
	f := newFixture()
	pod := withFiles(rsPod("web-5d8f7c-aaaaa", "uid-a"))
	pod.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "nodeless.local/hello:v1"}}
	st, err := f.resolve(t, pod)
	if err != nil {
		t.Fatal(err)
	}
	td := st.TaskDefinition
	if got := aws.ToString(td.ContainerDefinitions[0].Name); got != FilesContainer {
		t.Fatalf("first container %s, want %s", got, FilesContainer)
	}
	files := td.ContainerDefinitions[0]
	if aws.ToBool(files.Essential) || aws.ToString(files.Image) != f.deps.AgentImage || !cmp.Equal(files.Command, []string{"files"}) {
		t.Errorf("files container %+v", files)
	}
	wantDeps := map[string]string{"migrate": FilesContainer + "/SUCCESS", "app": "migrate/SUCCESS"}
	for name, want := range wantDeps {
		d := container(td, name).DependsOn
		if len(d) != 1 || aws.ToString(d[0].ContainerName)+"/"+string(d[0].Condition) != want {
			t.Errorf("%s dependsOn %+v, want %s", name, d, want)
		}
	}
	wantSecrets := map[string]string{
		"NODELESS_OBJ_0_0": arnPrefix + "secret/db-abcdef",
		"NODELESS_OBJ_1_0": arnPrefix + "configmap/cfg-abcdef",
		"NODELESS_OBJ_2_0": arnPrefix + "configmap/kube-root-ca.crt-abcdef",
	}
	if d := cmp.Diff(wantSecrets, secretsOf(&files)); d != "" {
		t.Errorf("files container secrets (-want +got):\n%s", d)
	}
	var mounts []string
	for _, m := range files.MountPoints {
		mounts = append(mounts, aws.ToString(m.SourceVolume)+"="+aws.ToString(m.ContainerPath))
	}
	if d := cmp.Diff([]string{"creds=/nodeless/volumes/creds", "conf=/nodeless/volumes/conf", "info=/nodeless/volumes/info",
		"kube-api-access=/nodeless/volumes/kube-api-access"}, mounts); d != "" {
		t.Errorf("files container mounts (-want +got):\n%s", d)
	}
	// What the agent writes, from what the task gives it.
	env := pairs(files.Environment)
	vars := pairs(overrideOf(st.RunTask, FilesContainer).Environment)
	for name, vf := range secretsOf(&files) {
		entry := strings.TrimSuffix(strings.TrimPrefix(vf, "arn:aws:secretsmanager:us-east-1:000000000000:secret:"), "-abcdef")
		vars[name] = podfiles.Pack(f.mirror.data[entry]).Parts[0]
	}
	m, err := podfiles.ParseManifest(func(n string) (string, bool) { v, ok := env[n]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for i := range m.Volumes {
		p, err := podfiles.Payload(&m.Volumes[i], func(n string) (string, bool) { v, ok := vars[n]; return v, ok })
		if err != nil {
			t.Fatalf("volume %s: %v", m.Volumes[i].Name, err)
		}
		got[m.Volumes[i].Name] = map[string]string{}
		for path, fp := range p {
			got[m.Volumes[i].Name][path] = string(fp.Data) + " " + modeString(fp.Mode)
		}
		if m.Volumes[i].FSGroup == nil || *m.Volumes[i].FSGroup != 2000 {
			t.Errorf("volume %s: fsGroup %v", m.Volumes[i].Name, m.Volumes[i].FSGroup)
		}
	}
	want := map[string]map[string]string{
		"creds":           {"password": "s3cret 0400", "user": "app 0400", "bin": "\xff\xfe 0400"},
		"conf":            {"etc/app.yaml": "a: 1\n 0644", "logo.png": "\x89P 0444"},
		"info":            {"name": "web-5d8f7c-aaaaa 0644", "mem": "536870912 0644"},
		"kube-api-access": {"token": "token-for-web-5d8f7c-aaaaa- 0644", "ca.crt": "CA 0644", "namespace": "shop 0644"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if st.TokenExpiry.IsZero() || st.Files == nil || len(st.Files.Volumes) != 4 {
		t.Errorf("token expiry %v, files %v", st.TokenExpiry, st.Files)
	}
	noSecretInClear(t, st)
	if strings.Contains(env[podfiles.ManifestEnv], "web-5d8f7c-aaaaa") {
		t.Errorf("the manifest (in the task definition) holds a per-pod value: %s", env[podfiles.ManifestEnv])
	}
}

func modeString(m int32) string { return "0" + pad8(m) }

func pad8(m int32) string {
	s := itoa8(m)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

func itoa8(m int32) string {
	if m == 0 {
		return "0"
	}
	var b []byte
	for m > 0 {
		b = append([]byte{byte('0' + m%8)}, b...)
		m /= 8
	}
	return string(b)
}

// TestWaiting: a missing object or key keeps the Pod Pending with the kubelet's words, and writes
// nothing.
func TestWaiting(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  func(*corev1.Pod)
		want Waiting
	}{
		{"missing Secret in env", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: secretKey("nope", "k", false)}}
		}, Waiting{Container: "app", Reason: ReasonCreateContainerConfigError, Message: `secret "nope" not found`, EventReason: EventFailed, EventMessage: `Error: secret "nope" not found`}},
		{"missing key in env", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: secretKey("db", "nokey", false)}}
		}, Waiting{Container: "app", Reason: ReasonCreateContainerConfigError, Message: "couldn't find key nokey in Secret shop/db", EventReason: EventFailed, EventMessage: "Error: couldn't find key nokey in Secret shop/db"}},
		{"missing ConfigMap of envFrom", func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{envFrom("ConfigMap", "nope", "")}
		}, Waiting{Container: "app", Reason: ReasonCreateContainerConfigError, Message: `configmap "nope" not found`, EventReason: EventFailed, EventMessage: `Error: configmap "nope" not found`}},
		{"missing Secret of a volume", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope"}}}}
		}, Waiting{Reason: ReasonContainerCreating, EventReason: EventFailedMount, EventMessage: `MountVolume.SetUp failed for volume "v" : secret "nope" not found`}},
		{"missing key of a volume's items", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "nokey", Path: "x"}}}}}}
		}, Waiting{Reason: ReasonContainerCreating, EventReason: EventFailedMount, EventMessage: `MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: nokey`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
			tc.pod(pod)
			_, err := f.resolve(t, pod)
			var w *Waiting
			if !errors.As(err, &w) {
				t.Fatalf("error %v, want *Waiting", err)
			}
			if d := cmp.Diff(tc.want, *w); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if calls := f.mirror.called(); len(calls) > 0 || f.tokens.n > 0 {
				t.Errorf("a waiting Pod wrote: mirror %v, %d tokens", calls, f.tokens.n)
			}
		})
	}
	// Optional objects and keys missing: no waiting.
	f := newFixture()
	pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
	pod.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope", Optional: ptr(true)}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/v"}}
	if _, err := f.resolve(t, pod); err != nil {
		t.Errorf("an optional missing Secret volume: %v", err)
	}
}

// TestRefused: what ECS cannot deliver fails the Pod, naming the field.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pod      func(*corev1.Pod)
		deps     func(*Deps)
		wantPath string
		want     string
	}{
		{"a command expanding a Secret's envFrom key", func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{envFrom("Secret", "plain", "")}
			p.Spec.Containers[0].Command = []string{"app", "--password=$(password)"}
		}, nil, "spec.containers[0].command", translate.ReasonCommandVariable},
		{"a subPath that is a file", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: "/etc/app.yaml", SubPath: "app.yaml"}}
		}, nil, "spec.containers[0].volumeMounts[0].subPath", ReasonSubPathFile},
		{"a token without a token source", func(p *corev1.Pod) { withFiles(p) }, func(d *Deps) { d.Tokens = nil }, "spec.volumes[3]", ReasonNoTokens},
		{"a container named like the files container", func(p *corev1.Pod) {
			withFiles(p)
			p.Spec.InitContainers = []corev1.Container{{Name: FilesContainer, Image: "x"}}
		}, nil, "spec.initContainers[0].name", ReasonFilesContainer},
		{"ten containers and the files container", func(p *corev1.Pod) {
			withFiles(p)
			for i := range 9 {
				p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "i" + itoa8(int32(i)), Image: "x"})
			}
		}, nil, "spec.containers", ReasonFilesContainer},
		{"ConfigMap variables beyond RunTask's 8192 characters", func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{envFrom("ConfigMap", "big", "")}
		}, nil, "spec.containers", ReasonOverridesTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := append(testObjects(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "big"}, Data: map[string]string{"big": strings.Repeat("x", 9000)}})
			f := newFixture(objs...)
			if tc.deps != nil {
				tc.deps(&f.deps)
			}
			pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
			tc.pod(pod)
			_, err := f.resolve(t, pod)
			var re *translate.RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("error %v, want *translate.RefusedError", err)
			}
			if re.Problems[0].Path != tc.wantPath || re.Problems[0].Reason != tc.want {
				t.Errorf("problems %v, want %s at %s", re.Problems, tc.want, tc.wantPath)
			}
		})
	}
}

// TestBinarySecretInEnv: a Secret's bytes that are not UTF-8 cannot be an environment variable.
func TestBinarySecretInEnv(t *testing.T) {
	pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "B", ValueFrom: secretKey("db", "bin", false)}}
	_, err := newFixture().resolve(t, pod)
	var w *Waiting
	if !errors.As(err, &w) || w.Reason != ReasonCreateContainerConfigError || !strings.Contains(w.Message, "not UTF-8") {
		t.Errorf("error %v", err)
	}
}

// TestServiceLinksAndCommand: Service link variables in the task definition (the container's own
// variable wins); a command that expands a ConfigMap value is an override computed at start.
func TestServiceLinksAndCommand(t *testing.T) {
	f := newFixture()
	pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
	c := &pod.Spec.Containers[0]
	c.Env = []corev1.EnvVar{{Name: "MODE", ValueFrom: configKey("cfg", "mode")}, {Name: "API_SERVICE_PORT", Value: "mine"}}
	c.Command = []string{"app", "--mode=$(MODE)"}
	c.Args = []string{"--api=$(API_SERVICE_HOST)"}
	st, err := f.resolve(t, pod)
	if err != nil {
		t.Fatal(err)
	}
	env := pairs(container(st.TaskDefinition, "app").Environment)
	for name, want := range map[string]string{"API_SERVICE_HOST": "10.0.0.5", "API_SERVICE_PORT": "mine", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT_HTTPS": "443"} {
		if env[name] != want {
			t.Errorf("task definition %s = %q, want %q", name, env[name], want)
		}
	}
	if ep := container(st.TaskDefinition, "app").EntryPoint; !cmp.Equal(ep, []string{"app"}) {
		t.Errorf("entryPoint %v", ep)
	}
	if cmd := overrideOf(st.RunTask, "app").Command; !cmp.Equal(cmd, []string{"--mode=fast", "--api=10.0.0.5"}) {
		t.Errorf("command override %v", cmd)
	}
	pod.Spec.EnableServiceLinks = ptr(false)
	c.Args = nil
	st, err = f.resolve(t, pod)
	if err != nil {
		t.Fatal(err)
	}
	env = pairs(container(st.TaskDefinition, "app").Environment)
	if _, ok := env["API_SERVICE_HOST"]; ok || env["KUBERNETES_SERVICE_HOST"] != "10.0.0.1" {
		t.Errorf("enableServiceLinks false: %v", env)
	}
}
