package runtime

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

func TestProcessArgs(t *testing.T) {
	img := struct{ ep, cmd []string }{[]string{"/app"}, []string{"--serve"}}
	tests := []struct {
		name            string
		entryPoint, cmd []string
		want            []string
	}{
		{name: "image defaults", want: []string{"/app", "--serve"}},
		{name: "command replaces CMD", cmd: []string{"--once"}, want: []string{"/app", "--once"}},
		{name: "entryPoint replaces ENTRYPOINT and drops CMD", entryPoint: []string{"/bin/other"}, want: []string{"/bin/other"}},
		{name: "both", entryPoint: []string{"/bin/sh", "-c"}, cmd: []string{"echo hi"}, want: []string{"/bin/sh", "-c", "echo hi"}},
		{name: "empty command clears CMD", cmd: []string{}, want: []string{"/app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, processArgs(img.ep, img.cmd, tt.entryPoint, tt.cmd)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=image"}, []model.KeyValuePair{
		{Name: ptr("A"), Value: ptr("def")}, {Name: ptr("B"), Value: ptr("1")}, {Name: ptr("A"), Value: ptr("override")}, {Name: ptr("")},
	})
	if diff := cmp.Diff([]string{"PATH=/bin", "A=override", "B=1"}, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

func TestHealthFromDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   model.HealthCheck
		want healthSpec
	}{
		{
			name: "CMD-SHELL with ECS defaults",
			in:   model.HealthCheck{Command: []string{"CMD-SHELL", "curl -f", "http://x/"}},
			want: healthSpec{Argv: []string{"/bin/sh", "-c", "curl -f http://x/"}, Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3},
		},
		{
			name: "CMD with values",
			in:   model.HealthCheck{Command: []string{"CMD", "/probe", "x"}, Interval: ptr(int32(5)), Timeout: ptr(int32(2)), Retries: ptr(int32(1)), StartPeriod: ptr(int32(10))},
			want: healthSpec{Argv: []string{"/probe", "x"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, Retries: 1, StartPeriod: 10 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, *healthFrom(&tt.in)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestParseMemoryAndCPU(t *testing.T) {
	// The grammar itself is tasksize's (its tests); here: empty means none.
	for in, want := range map[string]int64{"": 0, "512": 512, "1 GB": 1024, "2GB": 2048, "0.5GB": 512} {
		if got, err := parseMemory(in); err != nil || got != want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]int64{"": 0, "256": 256, "1 vCPU": 1024, ".5 vcpu": 512} {
		if got, err := parseCPU(in); err != nil || got != want {
			t.Errorf("parseCPU(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"lots", "256 MB"} {
		if _, err := parseMemory(in); err == nil {
			t.Errorf("parseMemory(%q) succeeded", in)
		}
	}
}

func TestContainerSpecsOverrides(t *testing.T) {
	spec := TaskSpec{TaskID: "t1", Definition: model.TaskDefinition{
		Memory: ptr("1024"),
		ContainerDefinitions: []model.ContainerDefinition{
			{Name: ptr("a"), Image: ptr("img"), Command: []string{"x"}, Essential: ptr(false), StopTimeout: ptr(int32(7))},
			{Name: ptr("b"), Image: ptr("img"), Memory: ptr(int32(128)), Cpu: 128, DockerLabels: map[string]string{"team": "a"}},
		},
	}, Overrides: &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{Name: ptr("a"), Command: []string{"y"}, Memory: ptr(int32(64)), Cpu: ptr(int32(256))}}}}
	got, err := containerSpecs(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Essential || got[0].MemoryMiB != 64 || got[0].CPU != 256 || got[0].StopTimeout != 7*time.Second || !cmp.Equal(got[0].Command, []string{"y"}) {
		t.Errorf("a = %+v", got[0])
	}
	if !got[1].Essential || got[1].MemoryMiB != 128 || got[1].CPU != 128 || got[1].StopTimeout != defaultStopTimeout ||
		!cmp.Equal(got[1].Labels, map[string]string{"team": "a"}) {
		t.Errorf("b = %+v", got[1])
	}
	spec.Definition.ContainerDefinitions[1].Name = ptr("a")
	if _, err := containerSpecs(spec, true); err == nil {
		t.Error("repeated container name accepted")
	}
}

// TestContainerSpecsSecrets: resolved secrets join the environment after the overrides; a secret
// nobody resolved fails a Start, and does not matter to an Attach (the containers exist).
func TestContainerSpecsSecrets(t *testing.T) {
	kv := func(n, v string) model.KeyValuePair { return model.KeyValuePair{Name: ptr(n), Value: ptr(v)} }
	spec := TaskSpec{TaskID: "t1", Definition: model.TaskDefinition{
		ContainerDefinitions: []model.ContainerDefinition{{
			Name: ptr("a"), Image: ptr("img"), Environment: []model.KeyValuePair{kv("A", "1"), kv("PASSWORD", "template")},
			Secrets: []model.Secret{{Name: "PASSWORD", ValueFrom: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-abcdef:password::"}},
		}},
	}, Overrides: &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{Name: ptr("a"), Environment: []model.KeyValuePair{kv("B", "2")}}}},
		Secrets: map[string][]model.KeyValuePair{"a": {kv("PASSWORD", "s3cret")}},
	}
	got, err := containerSpecs(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "PASSWORD=s3cret", "B=2"}
	if diff := cmp.Diff(want, mergeEnv(nil, got[0].Env)); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	if def := spec.Definition.ContainerDefinitions[0].Environment; len(def) != 2 {
		t.Errorf("the definition's environment was changed: %v", def)
	}
	spec.Secrets = nil
	_, err = containerSpecs(spec, true)
	if err == nil || !strings.HasPrefix(err.Error(), "ResourceInitializationError: ") || !strings.Contains(err.Error(), "PASSWORD") {
		t.Errorf("unresolved secret at Start: %v", err)
	}
	if _, err := containerSpecs(spec, false); err != nil {
		t.Errorf("unresolved secret at Attach: %v", err)
	}
}

func TestValidateDependencies(t *testing.T) {
	dep := func(name, cond string) []model.ContainerDependency {
		return []model.ContainerDependency{{ContainerName: name, Condition: cond}}
	}
	tests := []struct {
		name    string
		specs   []containerSpec
		wantErr string
	}{
		{name: "ok", specs: []containerSpec{{Name: "a"}, {Name: "b", DependsOn: dep("a", "SUCCESS")}}},
		{name: "unknown", specs: []containerSpec{{Name: "b", DependsOn: dep("a", "START")}}, wantErr: "unknown container"},
		{name: "cycle", specs: []containerSpec{{Name: "a", DependsOn: dep("b", "START")}, {Name: "b", DependsOn: dep("a", "START")}}, wantErr: "cycle"},
		{name: "healthy without check", specs: []containerSpec{{Name: "a"}, {Name: "b", DependsOn: dep("a", "HEALTHY")}}, wantErr: "no healthCheck"},
		{name: "bad condition", specs: []containerSpec{{Name: "a"}, {Name: "b", DependsOn: dep("a", "SOON")}}, wantErr: "unknown dependsOn condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateDependencies(tt.specs)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestContainerIDIsStableAndValid(t *testing.T) {
	id := containerID("0123456789abcdef0123456789abcdef", "web")
	if id != "0123456789abcdef0123456789abcdef-web" {
		t.Errorf("id = %s", id)
	}
	long := containerID("0123456789abcdef0123456789abcdef", strings.Repeat("x", 100))
	if len(long) > 76 || long != containerID("0123456789abcdef0123456789abcdef", strings.Repeat("x", 100)) {
		t.Errorf("long id = %s", long)
	}
}

func TestResolvConf(t *testing.T) {
	tests := []struct {
		name, host, vpcDNS, want string
	}{
		{name: "loopback dropped off the VPC", host: "search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n",
			want: "search example.com\nnameserver 10.0.0.2\n"},
		{name: "only loopback, off the VPC", host: "nameserver 127.0.0.1\n", want: "nameserver 1.1.1.1\nnameserver 8.8.8.8\n"},
		{name: "loopback becomes the VPC's forwarder", host: "search example.com\nnameserver 127.0.0.53\nnameserver 127.0.0.1\n",
			vpcDNS: "10.0.2.3", want: "search example.com\nnameserver 10.0.2.3\n"},
		{name: "reachable servers kept on the VPC", host: "nameserver 192.0.2.53\nnameserver 127.0.0.53\n",
			vpcDNS: "10.0.2.3", want: "nameserver 192.0.2.53\n"},
		{name: "no resolv.conf on the VPC", host: "", vpcDNS: "10.0.2.3", want: "nameserver 10.0.2.3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, string(resolvConf([]byte(tt.host), tt.vpcDNS))); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestHostsFile(t *testing.T) {
	if diff := cmp.Diff("127.0.0.1\tlocalhost\n10.244.0.5\tip-abc\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		string(hostsFile("ip-abc", "10.244.0.5"))); diff != "" {
		t.Errorf("on the VPC (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("127.0.0.1\tlocalhost ip-abc\n::1\tlocalhost ip6-localhost ip6-loopback ip-abc\n",
		string(hostsFile("ip-abc", ""))); diff != "" {
		t.Errorf("off the VPC (-want +got):\n%s", diff)
	}
}

func TestVolumeValidation(t *testing.T) {
	base := func() TaskSpec {
		return TaskSpec{TaskID: "t1", Definition: model.TaskDefinition{
			Volumes: []model.Volume{{Name: ptr("data")}},
			ContainerDefinitions: []model.ContainerDefinition{{
				Name: ptr("a"), Image: ptr("img"),
				MountPoints: []model.MountPoint{{SourceVolume: ptr("data"), ContainerPath: ptr("/data")}},
			}},
		}}
	}
	if _, err := containerSpecs(base(), true); err != nil {
		t.Fatalf("valid volumes rejected: %v", err)
	}
	tests := map[string]func(*TaskSpec){
		"unknown volume": func(s *TaskSpec) { s.Definition.ContainerDefinitions[0].MountPoints[0].SourceVolume = ptr("other") },
		"relative path":  func(s *TaskSpec) { s.Definition.ContainerDefinitions[0].MountPoints[0].ContainerPath = ptr("data") },
		"traversal name": func(s *TaskSpec) { s.Definition.Volumes[0].Name = ptr("../etc") },
		"repeated": func(s *TaskSpec) {
			s.Definition.Volumes = append(s.Definition.Volumes, model.Volume{Name: ptr("data")})
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			s := base()
			mutate(&s)
			if _, err := containerSpecs(s, true); err == nil {
				t.Error("accepted")
			}
		})
	}
}
