package translate

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
)

// localSysctlsRefusal is the local data plane's answer to a task definition with systemControls
// (internal/dataplane/api/unsupported.go), as ecsapi.Message renders it.
const localSysctlsRefusal = "InvalidParameterException: containerDefinitions[0].systemControls: not supported by the nodeless " +
	"local data plane (namespaced kernel parameters are not applied to local tasks); remove it"

// TestDataPlaneRefusal: a refusal naming an ECS member made from a Pod field names the field and
// what to do, and quotes ECS; any other refusal stays ECS's.
func TestDataPlaneRefusal(t *testing.T) {
	tests := []struct {
		name     string
		message  string
		wantPath string // "" for no Problem
		wantSays []string
	}{
		{"local data plane, systemControls", localSysctlsRefusal, "spec.securityContext.sysctls", []string{
			"task definition's systemControls", "remove spec.securityContext.sysctls",
			"the local data plane does not apply namespaced kernel parameters", "ECS said: " + localSysctlsRefusal}},
		{"a refusal that quotes the member", "ClientException: 'systemControls' value kernel.sem is not supported.", "spec.securityContext.sysctls",
			[]string{"ECS said: ClientException: 'systemControls' value kernel.sem"}},
		{"a member made from no Pod field", "InvalidParameterException: containerDefinitions[0].firelensConfiguration: not supported by the nodeless local data plane", "", nil},
		{"a longer word", "InvalidParameterException: systemControlsFoo: unknown member", "", nil},
		{"no member", "ClientException: Too many containers.", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := DataPlaneRefusal(tt.message)
			if ok != (tt.wantPath != "") || p.Path != tt.wantPath {
				t.Fatalf("DataPlaneRefusal: %+v %v, want path %q", p, ok, tt.wantPath)
			}
			if !ok {
				return
			}
			if p.Reason != ReasonFieldNotSupported {
				t.Errorf("reason %s, want %s", p.Reason, ReasonFieldNotSupported)
			}
			for _, w := range tt.wantSays {
				if !strings.Contains(p.Message, w) {
					t.Errorf("message %q, want it to say %q", p.Message, w)
				}
			}
		})
	}
}

// TestMemberOriginsAreTheirFields: each member of memberOrigins is what Translate makes of the
// field it names, so that a refusal of the member is about that field.
func TestMemberOriginsAreTheirFields(t *testing.T) {
	cases := map[string]struct {
		set  func(*corev1.Pod)
		made func(*Translation) bool
	}{
		"systemControls": {
			set: func(p *corev1.Pod) {
				p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}}
			},
			made: func(tr *Translation) bool {
				sc := tr.TaskDefinition.ContainerDefinitions[0].SystemControls
				return len(sc) == 1 && aws.ToString(sc[0].Namespace) == "net.core.somaxconn" && aws.ToString(sc[0].Value) == "1024"
			},
		},
	}
	for member, origin := range memberOrigins {
		t.Run(member, func(t *testing.T) {
			c, ok := cases[member]
			if !ok {
				t.Fatalf("no case for %s: add one that sets %s", member, origin.path)
			}
			pod := rsPod("web-5d8f7c-aaaaa", "uid-a")
			if c.made(mustTranslate(t, pod, Options{})) {
				t.Errorf("%s is made without %s", member, origin.path)
			}
			c.set(pod)
			if !c.made(mustTranslate(t, pod, Options{})) {
				t.Errorf("%s is not made from %s", member, origin.path)
			}
		})
	}
}
