package runtime

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

func TestTaskResolvConf(t *testing.T) {
	const host = "# comment\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n"
	clusterFirst := &TaskDNS{Policy: "ClusterFirst", Searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"},
		Options: []string{"ndots:5"}}
	tests := []struct {
		name, host, resolver string
		dns                  *TaskDNS
		want                 string
	}{
		{name: "ECS-native task, no resolver: as before", host: host,
			want: "# comment\nnameserver 10.0.2.3\nsearch corp.example\noptions edns0 trust-ad\n"},
		{name: "ECS-native task, a resolver", host: host, resolver: "10.244.0.1",
			want: "nameserver 10.244.0.1\nsearch corp.example\noptions edns0 trust-ad\n"},
		{name: "ClusterFirst Pod", host: host, resolver: "10.244.0.1", dns: clusterFirst,
			want: "nameserver 10.244.0.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n"},
		{name: "ClusterFirst Pod without a resolver falls back to Default", host: host, dns: clusterFirst,
			want: "nameserver 10.0.2.3\nsearch corp.example shop.svc.cluster.local svc.cluster.local cluster.local\noptions edns0 trust-ad ndots:5\n"},
		{name: "ClusterFirst with dnsConfig", host: host, resolver: "10.244.0.1", dns: &TaskDNS{Policy: "ClusterFirst",
			Nameservers: []string{"192.0.2.53"}, Searches: []string{"a.example", "corp.example"}, Options: []string{"ndots:2", "edns0"}},
			want: "nameserver 10.244.0.1\nnameserver 192.0.2.53\nsearch a.example corp.example\noptions ndots:2 edns0\n"},
		{name: "Default with dnsConfig", host: "nameserver 192.0.2.1\nsearch corp.example\noptions ndots:1 edns0\n", resolver: "10.244.0.1",
			dns:  &TaskDNS{Policy: "Default", Searches: []string{"b.example"}, Options: []string{"ndots:3"}},
			want: "nameserver 10.244.0.1\nsearch corp.example b.example\noptions ndots:3 edns0\n"},
		{name: "None", host: host, resolver: "10.244.0.1", dns: &TaskDNS{Policy: "None",
			Nameservers: []string{"192.0.2.53", "192.0.2.54", "192.0.2.55", "192.0.2.56"}, Searches: []string{"c.example"}},
			want: "nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\nsearch c.example\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(taskResolvConf([]byte(tt.host), "10.0.2.3", tt.resolver, tt.dns))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestDNSFromTags(t *testing.T) {
	tag := func(k, v string) model.Tag { return model.Tag{Key: &k, Value: &v} }
	if got := DNSFromTags([]model.Tag{tag("nodeless.dev/pod-name", "web"), tag(model.TagDNSSearches, "a")}); got != nil {
		t.Errorf("without a policy: %+v, want nil", got)
	}
	got := DNSFromTags([]model.Tag{tag(model.TagDNSPolicy, "ClusterFirst"), tag(model.TagDNSSearches, "a.example  b.example"),
		tag(model.TagDNSOptions, "ndots:5"), tag(model.TagDNSNameservers, "192.0.2.53")})
	want := &TaskDNS{Policy: "ClusterFirst", Nameservers: []string{"192.0.2.53"}, Searches: []string{"a.example", "b.example"}, Options: []string{"ndots:5"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}
