package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// TestDefaultsFlags: --default-* become the controllers' defaults, and fill the --pod-* flags the
// user left out (the Pods' own flags win).
func TestDefaultsFlags(t *testing.T) {
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	var d defaultsFlags
	var pods podFlags
	d.add(fs)
	pods.add(fs)
	err := fs.Parse([]string{
		"--default-subnets", "subnet-0123456789abcdef0,subnet-0123456789abcdef1", "--default-security-groups", "sg-0123456789abcdef0",
		"--default-assign-public-ip", "ENABLED", "--default-execution-role-arn", "arn:aws:iam::1:role/exec", "--default-log-group", "/team",
		"--pod-subnets", "subnet-0aaaaaaaaaaaaaaaa",
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.defaults()
	if err != nil {
		t.Fatal(err)
	}
	want := fargate.Defaults{
		Subnets: []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}, SecurityGroups: []string{"sg-0123456789abcdef0"},
		AssignPublicIp: "ENABLED", ExecutionRoleArn: "arn:aws:iam::1:role/exec", LogGroup: "/team",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	pods.fallBackTo(got)
	if pods.subnets[0] != "subnet-0aaaaaaaaaaaaaaaa" || len(pods.subnets) != 1 {
		t.Errorf("--pod-subnets lost to the defaults: %v", pods.subnets)
	}
	if pods.securityGroups[0] != "sg-0123456789abcdef0" || !pods.assignPublicIP || pods.logs.executionRoleArn != "arn:aws:iam::1:role/exec" || pods.logs.group != "/team" {
		t.Errorf("the Pods did not take the defaults: %+v", pods)
	}
	for _, bad := range []defaultsFlags{{assignPublicIP: "yes"}, {subnets: make([]string, 17)}} {
		if _, err := bad.defaults(); err == nil || !strings.Contains(err.Error(), "--default-") {
			t.Errorf("%+v: %v, want an error naming the flag", bad, err)
		}
	}
}
