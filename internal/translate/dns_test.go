package translate

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// TestDNSTags: the resolv.conf tags of a Pod's task, as a kubelet would make its resolv.conf
// (pkg/kubelet/network/dns: ClusterFirst's three search domains and ndots:5, dnsConfig appended
// and merged by name), and the refusals of what a tag cannot carry.
func TestDNSTags(t *testing.T) {
	long := strings.Repeat("a", 60)
	cases := []struct {
		name    string
		policy  corev1.DNSPolicy
		config  *corev1.PodDNSConfig
		domain  string
		want    map[string]string
		refused string // the path of the problem
	}{
		{name: "cluster first", policy: corev1.DNSClusterFirst, want: map[string]string{
			TagDNSPolicy: "ClusterFirst", TagDNSSearches: "shop.svc.cluster.local svc.cluster.local cluster.local", TagDNSOptions: "ndots:5"}},
		{name: "unset is cluster first, other domain", domain: "corp.example", want: map[string]string{
			TagDNSPolicy: "ClusterFirst", TagDNSSearches: "shop.svc.corp.example svc.corp.example corp.example", TagDNSOptions: "ndots:5"}},
		{name: "with host net", policy: corev1.DNSClusterFirstWithHostNet, want: map[string]string{
			TagDNSPolicy: "ClusterFirst", TagDNSSearches: "shop.svc.cluster.local svc.cluster.local cluster.local", TagDNSOptions: "ndots:5"}},
		{name: "cluster first with config", policy: corev1.DNSClusterFirst, config: &corev1.PodDNSConfig{
			Nameservers: []string{"192.0.2.53"},
			Searches:    []string{"example.com", "svc.cluster.local"},
			Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}, {Name: "edns0"}},
		}, want: map[string]string{
			TagDNSPolicy: "ClusterFirst", TagDNSNameservers: "192.0.2.53",
			TagDNSSearches: "shop.svc.cluster.local svc.cluster.local cluster.local example.com", TagDNSOptions: "ndots:2 edns0"}},
		{name: "default", policy: corev1.DNSDefault, want: map[string]string{TagDNSPolicy: "Default"}},
		{name: "none", policy: corev1.DNSNone, config: &corev1.PodDNSConfig{
			Nameservers: []string{"192.0.2.53", "192.0.2.54"}, Searches: []string{"example.com"},
			Options: []corev1.PodDNSConfigOption{{Name: "timeout", Value: ptr("1")}},
		}, want: map[string]string{
			TagDNSPolicy: "None", TagDNSNameservers: "192.0.2.53 192.0.2.54", TagDNSSearches: "example.com", TagDNSOptions: "timeout:1"}},
		{name: "searches too long", policy: corev1.DNSClusterFirst, config: &corev1.PodDNSConfig{
			Searches: []string{long + ".a", long + ".b", long + ".c", long + ".d"},
		}, refused: "spec.dnsConfig.searches"},
		{name: "option a tag cannot carry", policy: corev1.DNSDefault, config: &corev1.PodDNSConfig{
			Options: []corev1.PodDNSConfigOption{{Name: "weird", Value: ptr("a,b")}},
		}, refused: "spec.dnsConfig.options"},
		{name: "unknown policy", policy: "Sometimes", refused: "spec.dnsPolicy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := rsPod("web-1", "uid-1")
			pod.Spec.DNSPolicy, pod.Spec.DNSConfig = tc.policy, tc.config
			tr, err := Translate(pod, Options{ClusterDomain: tc.domain})
			if tc.refused != "" {
				var bad *RefusedError
				if !errors.As(err, &bad) || bad.Problems[0].Path != tc.refused {
					t.Fatalf("got %v, want a refusal of %s", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, tag := range tr.RunTask.Tags {
				if k := aws.ToString(tag.Key); strings.HasPrefix(k, "nodeless.dev/dns-") {
					got[k] = aws.ToString(tag.Value)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDNSTagKeysMatchTheDataPlane: the data plane reads the keys translate writes.
func TestDNSTagKeysMatchTheDataPlane(t *testing.T) {
	got := []string{TagDNSPolicy, TagDNSNameservers, TagDNSSearches, TagDNSOptions}
	want := []string{model.TagDNSPolicy, model.TagDNSNameservers, model.TagDNSSearches, model.TagDNSOptions}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tag keys (-data plane +translate):\n%s", diff)
	}
}
