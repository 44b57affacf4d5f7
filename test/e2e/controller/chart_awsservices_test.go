package controller_test

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/nodeless-dev/nodeless/internal/testenv"
)

// TestChartRendersAWSServices: with awsServices enabled the chart passes its flags to the
// controller and grants what the AWS service controller reads and writes; without, neither.
func TestChartRendersAWSServices(t *testing.T) {
	bin := testenv.Helm(t, "HELM4_BIN", "helm4")
	grants := func(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
		return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
		})
	}
	for _, tt := range []struct {
		name string
		set  []string
		args []string
	}{
		{"off", nil, nil},
		{"on", []string{"--set", "awsServices.loadBalancers=true", "--set", "awsServices.subnets={subnet-lb}",
			"--set", "awsServices.discoveryNamespaceId=ns-1"},
			[]string{"--service-load-balancers", "--service-load-balancer-class=nodeless.dev/aws", "--service-load-balancer-default=false",
				"--service-deregistration-delay=30s", "--service-subnets=subnet-lb", "--service-discovery-namespace-id=ns-1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := helm(t, bin, append([]string{"template", "nl", chart, "--namespace", "nodeless-system",
				"--set", "aws.region=eu-west-1", "--set", "pods.subnets={subnet-1}"}, tt.set...)...)
			if err != nil {
				t.Fatal(err)
			}
			r := parseRendered(t, out)
			var got []string
			for _, a := range r.deployment.Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--service-") {
					got = append(got, a)
				}
			}
			if !slices.Equal(got, tt.args) {
				t.Errorf("--service-* args %v, want %v", got, tt.args)
			}
			on := tt.args != nil
			rules := r.clusterRole.Rules
			for _, g := range []struct{ group, resource, verb string }{
				{"", "services", "patch"}, {"", "services/status", "patch"}, {"discovery.k8s.io", "endpointslices", "watch"},
			} {
				if grants(rules, g.group, g.resource, g.verb) != on {
					t.Errorf("%s %s/%s granted: %v, want %v", g.verb, g.group, g.resource, !on, on)
				}
			}
		})
	}
}
