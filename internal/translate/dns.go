package translate

import (
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	corev1 "k8s.io/api/core/v1"
)

// Tags that carry a Pod's resolv.conf settings on its task (ADR 0010): ECS has no member for them
// in awsvpc mode (a container's dnsServers and dnsSearchDomains are refused there), and the local
// data plane writes the task's resolv.conf from them as a kubelet writes a Pod's, with the VPC's
// nameserver as the cluster DNS. Each is set only when not empty; values are space-separated.
// The data plane spells them in internal/dataplane/model (a test holds them equal). On AWS they
// are tags and nothing more.
const (
	// TagDNSPolicy is the Pod's dnsPolicy: ClusterFirst (also for ClusterFirstWithHostNet: a
	// Pod on nodeless never has the host's network), Default or None.
	TagDNSPolicy = "nodeless.dev/dns-policy"
	// TagDNSNameservers are dnsConfig.nameservers.
	TagDNSNameservers = "nodeless.dev/dns-nameservers"
	// TagDNSSearches are the Pod's own search domains, before the host's: for ClusterFirst the
	// kubelet's three (NAMESPACE.svc.DOMAIN svc.DOMAIN DOMAIN), then dnsConfig.searches.
	TagDNSSearches = "nodeless.dev/dns-searches"
	// TagDNSOptions are the Pod's resolver options (name or name:value): for ClusterFirst the
	// kubelet's ndots:5, merged by name with dnsConfig.options (the Pod's value wins).
	TagDNSOptions = "nodeless.dev/dns-options"
)

// DefaultClusterDomain is the cluster domain of Service names (Options.ClusterDomain).
const DefaultClusterDomain = "cluster.local"

// maxTagValue is the longest tag value ECS takes.
const maxTagValue = 256

// tagValueChars are the characters ECS allows in a tag value (the ECS model's TagValue pattern).
var tagValueChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// dnsTags are the Pod's resolv.conf tags, from NodePlan.DNSPolicy and DNSConfig; what cannot be
// carried (longer than a tag value, or characters tags do not allow) is refused naming the field.
func (t *translator) dnsTags() []ecstypes.Tag {
	policy := t.node.DNSPolicy
	var searches, options []string
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		policy = corev1.DNSClusterFirst
		d := t.opts.ClusterDomain
		searches = []string{t.pod.Namespace + ".svc." + d, "svc." + d, d}
		options = []string{"ndots:5"}
	case corev1.DNSDefault, corev1.DNSNone:
	default:
		t.ps.refuse("spec.dnsPolicy", ReasonValueNotSupported,
			"%q is not a DNS policy; use ClusterFirst, ClusterFirstWithHostNet, Default or None", policy)
		return nil
	}
	var nameservers []string
	if c := t.node.DNSConfig; c != nil {
		nameservers = c.Nameservers
		searches = appendNew(searches, c.Searches...)
		options = mergeOptions(options, c.Options)
	}
	tags := []ecstypes.Tag{{Key: aws.String(TagDNSPolicy), Value: aws.String(string(policy))}}
	for _, v := range []struct {
		key, path string
		values    []string
	}{
		{TagDNSNameservers, "spec.dnsConfig.nameservers", nameservers},
		{TagDNSSearches, "spec.dnsConfig.searches", searches},
		{TagDNSOptions, "spec.dnsConfig.options", options},
	} {
		if len(v.values) == 0 {
			continue
		}
		value := strings.Join(v.values, " ")
		switch {
		case len(value) > maxTagValue:
			t.ps.refuse(v.path, ReasonValueNotSupported,
				"the Pod's resolv.conf %s take %d characters and nodeless carries at most %d (as a task tag); use fewer or shorter ones",
				tagField(v.key), len(value), maxTagValue)
		case !tagValueChars.MatchString(value):
			t.ps.refuse(v.path, ReasonValueNotSupported,
				"%q has characters nodeless cannot carry to the task (as a tag: letters, numbers, spaces and _ . : / = + - @)", value)
		default:
			tags = append(tags, ecstypes.Tag{Key: aws.String(v.key), Value: aws.String(value)})
		}
	}
	return tags
}

func tagField(key string) string { return strings.TrimPrefix(key, "nodeless.dev/dns-") }

// appendNew appends the values of add that list does not hold yet (the kubelet drops duplicate
// search domains).
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// mergeOptions merges the Pod's dnsConfig.options into base by name, as the kubelet does: a name
// the Pod gives replaces base's, new names are appended in order.
func mergeOptions(base []string, pod []corev1.PodDNSConfigOption) []string {
	out := append([]string(nil), base...)
	for _, o := range pod {
		s := o.Name
		if o.Value != nil {
			s += ":" + *o.Value
		}
		replaced := false
		for i, b := range out {
			if name, _, _ := strings.Cut(b, ":"); name == o.Name {
				out[i], replaced = s, true
			}
		}
		if !replaced {
			out = append(out, s)
		}
	}
	return out
}
