package fargate

import "slices"

// Defaults are what an awsvpc task takes from its cluster when its own request leaves it out:
// where its network interface goes (subnets, security groups, assignPublicIp), the task execution
// role of its task definition, and the CloudWatch Logs group of its containers' awslogs output.
//
// They come from three places, the first that sets a member wins, member by member:
// the manifest itself (a Service's or Task's networkConfiguration, a TaskDefinition's
// executionRoleArn or logConfiguration), then the Cluster object the manifest names
// (spec.defaults), then the controller's flags (--default-subnets, ...). A manifest that gives
// subnets but no security groups takes the security groups of the Cluster (or the flags).
type Defaults struct {
	Subnets          []string
	SecurityGroups   []string
	AssignPublicIp   string
	ExecutionRoleArn string
	LogGroup         string
}

// Or returns d with every member d leaves empty taken from next: d takes precedence.
func (d Defaults) Or(next Defaults) Defaults {
	out := d
	if len(out.Subnets) == 0 {
		out.Subnets = slices.Clone(next.Subnets)
	}
	if len(out.SecurityGroups) == 0 {
		out.SecurityGroups = slices.Clone(next.SecurityGroups)
	}
	if out.AssignPublicIp == "" {
		out.AssignPublicIp = next.AssignPublicIp
	}
	if out.ExecutionRoleArn == "" {
		out.ExecutionRoleArn = next.ExecutionRoleArn
	}
	if out.LogGroup == "" {
		out.LogGroup = next.LogGroup
	}
	return out
}

// IsZero reports defaults that set nothing.
func (d Defaults) IsZero() bool {
	return len(d.Subnets) == 0 && len(d.SecurityGroups) == 0 && d.AssignPublicIp == "" && d.ExecutionRoleArn == "" && d.LogGroup == ""
}

// Network returns the awsvpcConfiguration of a task whose manifest gave a (nil: none): a's own
// members, the defaults' where a leaves them out. It returns nil when neither gives a subnet, so
// that the refusal names the missing subnets instead of sending an incomplete configuration.
func (d Defaults) Network(a *AwsVpcConfiguration) *AwsVpcConfiguration {
	var own Defaults
	if a != nil {
		own = Defaults{Subnets: a.Subnets, SecurityGroups: a.SecurityGroups, AssignPublicIp: a.AssignPublicIp}
	}
	m := own.Or(d)
	if len(m.Subnets) == 0 {
		if a != nil {
			return &AwsVpcConfiguration{Subnets: slices.Clone(a.Subnets), SecurityGroups: slices.Clone(a.SecurityGroups), AssignPublicIp: a.AssignPublicIp}
		}
		return nil
	}
	return &AwsVpcConfiguration{Subnets: m.Subnets, SecurityGroups: m.SecurityGroups, AssignPublicIp: m.AssignPublicIp}
}
