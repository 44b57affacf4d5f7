package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// TestClientAliasDNSName: a client alias's dnsName that could never resolve to the alias's
// address (an empty label, a label too long or edged with a hyphen, an IP address, localhost, a
// name of the Kubernetes cluster domain) is refused with an InvalidParameterException naming the
// member and saying what to give; names DNS answers from the alias are accepted.
func TestClientAliasDNSName(t *testing.T) {
	const member = "serviceConnectConfiguration.services[0].clientAliases[0]"
	label63 := strings.Repeat("a", 63)
	for _, tc := range []struct {
		name string   // the dnsName; "" when not given (the default, web.shop)
		def  string   // the default name, when not "web.shop"
		want []string // parts of the message after member+".dnsName: "; none when accepted
	}{
		{name: "web.shop"},
		{name: "WEB.Shop."},
		{name: "_grpc.web-1.shop"},
		{name: "web"},
		{name: label63 + "." + label63},
		{name: ""},
		{name: "a..b", want: []string{`"a..b" has an empty label`, "such as web.local"}},
		{name: "...", want: []string{`"..." has an empty label`}},
		{name: ".web.shop", want: []string{"empty label"}},
		{name: "web.shop..", want: []string{"empty label"}},
		{name: strings.Repeat("a", 64) + ".shop", want: []string{"label of 64 characters", "at most 63 (RFC 1123)"}},
		{name: strings.Repeat("a.", 127), want: []string{"1 to 127"}}, // 254 octets: ECS's 127 refuses it first
		{name: "web-.shop", want: []string{`the label "web-"`, "hyphen"}},
		{name: "web.-shop", want: []string{`the label "-shop"`}},
		{name: "10.0.1.1", want: []string{`"10.0.1.1" is an IP address`, "give a name such as web.local"}},
		{name: "10.0.1.1.", want: []string{"is an IP address"}},
		{name: "10.0.1", want: []string{"is an IP address"}},
		{name: "8080", want: []string{"is an IP address"}},
		{name: "localhost", want: []string{`"localhost" is localhost`, "loopback", "give another name"}},
		{name: "LocalHost.", want: []string{"is localhost"}},
		{name: "web.localhost", want: []string{"is localhost or a name under it"}},
		{name: "kubernetes.default.svc.cluster.local", want: []string{"is in the Kubernetes cluster domain cluster.local", "give a name outside it"}},
		{name: "cluster.local", want: []string{"cluster domain"}},
		{name: "web.shop.Cluster.Local.", want: []string{"cluster domain"}},
		{name: "", def: "web.svc.cluster.local", want: []string{`"web.svc.cluster.local" (not given: the default, discoveryName.namespace) is in the Kubernetes cluster domain`}},
		{name: "localcluster.local"}, // not under cluster.local
		{name: "web.notcluster.local"},
		{name: "-web.shop", want: []string{"not starting with a hyphen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := model.ServiceConnectClientAlias{Port: ptr(int32(80))}
			if tc.name != "" {
				ca.DNSName = ptr(tc.name)
			}
			def := tc.def
			if def == "" {
				def = "web.shop"
			}
			if len(tc.want) == 0 {
				if err := checkAliasDNSName(deref(ca.DNSName, def)); err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			// Refused before the store is read: no transaction needed.
			_, err := checkClientAlias(nil, "owner", member, ca, def)
			var e *apiError
			if !errors.As(err, &e) || e.Type != errInvalidParameter {
				t.Fatalf("error %v, want %s", err, errInvalidParameter)
			}
			if !strings.HasPrefix(e.Message, member+".dnsName: ") {
				t.Errorf("message %q does not begin with the member", e.Message)
			}
			for _, p := range tc.want {
				if !strings.Contains(e.Message, p) {
					t.Errorf("message %q does not say %q", e.Message, p)
				}
			}
		})
	}
}

// TestDiscoveryName: a discoveryName is ECS's (letters, digits, underscores, hyphens, not starting
// with a hyphen) and a DNS label of at most 63, as the Cloud Map service it names needs; the
// Service CRD holds to the same bounds.
func TestDiscoveryName(t *testing.T) {
	for name, want := range map[string]bool{
		"web": true, "_grpc": true, "web_1-a": true, strings.Repeat("d", 63): true,
		"": false, "-web": false, "web.shop": false, "web shop": false, strings.Repeat("d", 64): false,
	} {
		if got := discoveryNameRE.MatchString(name); got != want {
			t.Errorf("discoveryName %q accepted: %v, want %v", name, got, want)
		}
	}
}
