package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/controller/awsservice"
)

func TestServiceFlags(t *testing.T) {
	pods := podFlags{cluster: "prod", subnets: []string{"subnet-p"}, securityGroups: []string{"sg-p"}}
	tests := []struct {
		name string
		args []string
		want *awsservice.Options
	}{
		{name: "off by default", args: nil, want: nil},
		{name: "load balancers in the Pods' subnets", args: []string{"--service-load-balancers"},
			want: &awsservice.Options{LoadBalancers: true, LoadBalancerClass: awsservice.DefaultLoadBalancerClass, Subnets: []string{"subnet-p"},
				SecurityGroups: []string{"sg-p"}, Cluster: "prod", DeregistrationDelay: awsservice.DefaultDeregistrationDelay}},
		{name: "names only, own subnets and delay", args: []string{"--service-discovery-namespace-id=ns-1", "--service-subnets=subnet-a,subnet-b", "--service-deregistration-delay=2m"},
			want: &awsservice.Options{NamespaceID: "ns-1", LoadBalancerClass: awsservice.DefaultLoadBalancerClass, Subnets: []string{"subnet-a", "subnet-b"},
				SecurityGroups: []string{"sg-p"}, Cluster: "prod", DeregistrationDelay: 120e9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f serviceFlags
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			f.add(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, f.options(pods)); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}
