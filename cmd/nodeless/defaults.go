package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nodeless-dev/nodeless/internal/fargate"
)

// defaultsFlags are the controller's defaults of awsvpc launches (fargate.Defaults): what a
// Service, Task or TaskDefinition takes when neither its manifest nor its Cluster's
// spec.defaults sets it, and what the Pods' tasks take when the --pod-* flags leave it out.
type defaultsFlags struct {
	subnets          []string
	securityGroups   []string
	assignPublicIP   string
	executionRoleArn string
	logGroup         string
}

func (f *defaultsFlags) add(fs *pflag.FlagSet) {
	fs.StringSliceVar(&f.subnets, "default-subnets", nil, "awsvpc subnets of Services and Tasks that name none (nor does their Cluster's spec.defaults), and of the Pods' tasks without --pod-subnets")
	fs.StringSliceVar(&f.securityGroups, "default-security-groups", nil, "awsvpc security groups of Services and Tasks that name none (nor does their Cluster), and of the Pods' tasks without --pod-security-groups")
	fs.StringVar(&f.assignPublicIP, "default-assign-public-ip", "", "assignPublicIp (ENABLED or DISABLED) of Services and Tasks that leave it out (nor does their Cluster), and of the Pods' tasks without --pod-assign-public-ip")
	fs.StringVar(&f.executionRoleArn, "default-execution-role-arn", "", "executionRoleArn of TaskDefinitions that leave it out, and of the Pods' task definitions without --pod-execution-role-arn")
	fs.StringVar(&f.logGroup, "default-log-group", "", "awslogs-group of TaskDefinition containers that log with awslogs and name no group, and of the Pods' containers without --pod-log-group")
}

// defaults are the flags' defaults, or an error naming the flag to fix.
func (f *defaultsFlags) defaults() (fargate.Defaults, error) {
	switch f.assignPublicIP {
	case "", "ENABLED", "DISABLED":
	default:
		return fargate.Defaults{}, fmt.Errorf("--default-assign-public-ip must be ENABLED or DISABLED, not %q", f.assignPublicIP)
	}
	d := fargate.Defaults{
		Subnets: f.subnets, SecurityGroups: f.securityGroups, AssignPublicIp: f.assignPublicIP,
		ExecutionRoleArn: f.executionRoleArn, LogGroup: f.logGroup,
	}
	if len(d.Subnets) > 0 {
		if err := fargate.CheckAwsVpcConfiguration("--default-subnets/--default-security-groups", &fargate.AwsVpcConfiguration{
			Subnets: d.Subnets, SecurityGroups: d.SecurityGroups, AssignPublicIp: d.AssignPublicIp,
		}); err != nil {
			return fargate.Defaults{}, err
		}
	}
	return d, nil
}

// fallBackTo fills the --pod-* flags left empty from the controller's defaults (--default-*):
// the Pods' own flags win.
func (f *podFlags) fallBackTo(d fargate.Defaults) {
	if len(f.subnets) == 0 {
		f.subnets = d.Subnets
	}
	if len(f.securityGroups) == 0 {
		f.securityGroups = d.SecurityGroups
	}
	if !f.assignPublicIP {
		f.assignPublicIP = d.AssignPublicIp == "ENABLED"
	}
	if f.logs.executionRoleArn == "" {
		f.logs.executionRoleArn = d.ExecutionRoleArn
	}
	if f.logs.group == "" {
		f.logs.group = d.LogGroup
	}
}
