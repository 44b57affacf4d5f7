package runtime

import (
	"bufio"
	"bytes"
	"slices"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// Limits of a written resolv.conf: glibc reads at most 3 nameservers (MAXNS); the kubelet keeps
// at most 32 search domains of at most 2048 characters in all.
const (
	maxNameservers  = 3
	maxSearches     = 32
	maxSearchLength = 2048
)

// TaskDNS is how a task's resolv.conf departs from the host's: the task's model.TagDNS* tags
// (nodeless sets them on a Pod's task; ADR 0010).
type TaskDNS struct {
	// Policy is ClusterFirst, Default or None (a Pod's dnsPolicy).
	Policy                         string
	Nameservers, Searches, Options []string
}

// DNSFromTags reads a task's resolv.conf tags; nil when it has no model.TagDNSPolicy (the task
// gets the host's resolv.conf with the VPC's nameserver, as an ECS-native task).
func DNSFromTags(tags []model.Tag) *TaskDNS {
	get := func(key string) string {
		for _, t := range tags {
			if t.Key != nil && *t.Key == key && t.Value != nil {
				return *t.Value
			}
		}
		return ""
	}
	policy := get(model.TagDNSPolicy)
	if policy == "" {
		return nil
	}
	return &TaskDNS{
		Policy:      policy,
		Nameservers: strings.Fields(get(model.TagDNSNameservers)),
		Searches:    strings.Fields(get(model.TagDNSSearches)),
		Options:     strings.Fields(get(model.TagDNSOptions)),
	}
}

// resolv is the part of a resolv.conf the runtime writes.
type resolv struct {
	nameservers, searches, options []string
}

// parseResolv reads nameserver, search (or domain: the last of them wins, resolv.conf(5)) and
// options lines.
func parseResolv(b []byte) resolv {
	var r resolv
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				r.nameservers = append(r.nameservers, f[1])
			}
		case "search", "domain":
			r.searches = f[1:]
		case "options":
			r.options = mergeResolvOptions(r.options, f[1:])
		}
	}
	return r
}

func (r resolv) bytes() []byte {
	var b bytes.Buffer
	for _, ns := range first(dedupe(r.nameservers), maxNameservers) {
		b.WriteString("nameserver " + ns + "\n")
	}
	if s := limitSearches(dedupe(r.searches)); len(s) > 0 {
		b.WriteString("search " + strings.Join(s, " ") + "\n")
	}
	if len(r.options) > 0 {
		b.WriteString("options " + strings.Join(r.options, " ") + "\n")
	}
	return b.Bytes()
}

// taskResolvConf is a task's resolv.conf, from the host's (host), the VPC's slirp4netns forwarder
// (vpcDNS, "" off the VPC), nodeless's resolver in the VPC (resolver, "" when none runs) and the
// task's own settings (d, nil for none):
//   - no settings, no resolver: the host's file, loopback nameservers replaced by vpcDNS
//     (resolvConf);
//   - no settings, a resolver: the host's search and options, and the resolver as the only
//     nameserver (it forwards what it does not answer to the host's resolvers);
//   - ClusterFirst (with a resolver; without one it falls back to Default, as a kubelet without
//     cluster DNS does): the resolver and d's nameservers, d's searches then the host's, d's options;
//   - Default: the nameservers of the first two cases then d's, the host's searches then d's, the
//     host's options merged with d's by name;
//   - None: d's only.
func taskResolvConf(host []byte, vpcDNS, resolver string, d *TaskDNS) []byte {
	if d == nil && resolver == "" {
		return resolvConf(host, vpcDNS)
	}
	h := parseResolv(host)
	base := []string{resolver}
	if resolver == "" {
		base = parseResolv(resolvConf(host, vpcDNS)).nameservers
	}
	if d == nil {
		return resolv{nameservers: base, searches: h.searches, options: h.options}.bytes()
	}
	switch {
	case d.Policy == "None":
		return resolv{nameservers: d.Nameservers, searches: d.Searches, options: d.Options}.bytes()
	case d.Policy == "ClusterFirst" && resolver != "":
		return resolv{
			nameservers: append([]string{resolver}, d.Nameservers...),
			searches:    append(slices.Clone(d.Searches), h.searches...),
			options:     d.Options,
		}.bytes()
	}
	return resolv{
		nameservers: append(base, d.Nameservers...),
		searches:    append(slices.Clone(h.searches), d.Searches...),
		options:     mergeResolvOptions(h.options, d.Options),
	}.bytes()
}

// mergeResolvOptions merges options (name or name:value) into base by name: a name already there
// is replaced in place, a new one appended.
func mergeResolvOptions(base, add []string) []string {
	out := slices.Clone(base)
	for _, o := range add {
		name, _, _ := strings.Cut(o, ":")
		i := slices.IndexFunc(out, func(b string) bool { n, _, _ := strings.Cut(b, ":"); return n == name })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func first(list []string, n int) []string { return list[:min(len(list), n)] }

// limitSearches keeps the first search domains within the kubelet's limits.
func limitSearches(list []string) []string {
	n := 0
	for i, s := range first(list, maxSearches) {
		n += len(s) + 1
		if n > maxSearchLength+1 {
			return list[:i]
		}
	}
	return first(list, maxSearches)
}
