package fargate

import (
	"fmt"
	"regexp"
	"slices"
)

// Launch holds the members of a RunTask, CreateService or UpdateService request that Fargate's
// rules read, in ECS's JSON spelling.
type Launch struct {
	LaunchType           *string               `json:"launchType"`
	PlatformVersion      *string               `json:"platformVersion"`
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration"`
}

// NetworkConfiguration is an awsvpc task's network configuration.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration"`
}

// AwsVpcConfiguration places an awsvpc task's network interface.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups"`
	AssignPublicIp string   `json:"assignPublicIp,omitempty"`
}

// PlatformVersions are the Fargate platform versions a Linux task may ask for: LATEST (today
// 1.4.0) and the versions AWS still runs ("Fargate platform versions" of the ECS Developer Guide).
var platformVersions = []string{"LATEST", "1.4.0", "1.3.0"}

// PlatformVersions returns the platform versions Fargate accepts for Linux tasks.
func PlatformVersions() []string { return slices.Clone(platformVersions) }

// The identifiers EC2 gives subnets and security groups: the prefix and 8 or 17 hex digits.
var (
	subnetID        = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)
	securityGroupID = regexp.MustCompile(`^sg-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

// LaunchRules say how strictly a launch is checked.
type LaunchRules struct {
	// RequireNetworkConfiguration refuses an awsvpc task or service without
	// networkConfiguration, as ECS does. Off, the caller supplies one (the local data plane's own
	// subnet).
	RequireNetworkConfiguration bool
	// CheckIdentifiers refuses subnet and security group identifiers that are not in EC2's form
	// (ECS looks them up in EC2, which refuses malformed ones). Off, any name is taken.
	CheckIdentifiers bool
	// Update checks an UpdateService request: networkConfiguration may be left out (the service
	// keeps its own).
	Update bool
}

// CheckLaunch applies the rules RunTask, CreateService and UpdateService apply to the task
// definition td (nil: unknown; then only the request's own members are checked) launched as l:
// a FARGATE launch needs a task definition that requires FARGATE compatibility, and a platform
// version Fargate has; an EC2 launch takes no platform version; an awsvpc task definition needs
// networkConfiguration.awsvpcConfiguration with 1 to 16 subnets and at most 5 security groups
// (well-formed EC2 identifiers), and any other network mode none. It returns the first refusal
// (an *Error, InvalidParameterException), nil when ECS would accept it.
func CheckLaunch(l *Launch, td *TaskDefinition, rules LaunchRules) error {
	if err := checkPlatform(l, td); err != nil {
		return err
	}
	if err := checkNetwork(l, td, rules); err != nil {
		return err
	}
	return nil
}

func checkPlatform(l *Launch, td *TaskDefinition) *Error {
	lt := deref(l.LaunchType)
	if lt != "" && lt != LaunchTypeFargate {
		if l.PlatformVersion != nil {
			return invalidParameter("platformVersion", "remove platformVersion, or launch on FARGATE",
				"The platform version must be null when specifying an %s launch type.", lt)
		}
		return nil
	}
	if lt == LaunchTypeFargate && td != nil && !td.IsFargate() {
		return invalidParameter("taskDefinition", "register a revision with requiresCompatibilities [FARGATE]",
			"Task definition does not support launch_type FARGATE.")
	}
	if l.PlatformVersion != nil && !slices.Contains(platformVersions, *l.PlatformVersion) {
		return invalidParameter("platformVersion", fmt.Sprintf("use one of %v or leave it out", platformVersions),
			"The specified platform does not exist.")
	}
	return nil
}

func checkNetwork(l *Launch, td *TaskDefinition, rules LaunchRules) *Error {
	nc := l.NetworkConfiguration
	if td != nil && !td.IsAwsvpc() {
		if nc != nil {
			return invalidParameter("networkConfiguration", "remove networkConfiguration, or register the task definition with networkMode awsvpc",
				"Network Configuration is not valid for the given networkMode of this task definition.")
		}
		return nil
	}
	if nc == nil || nc.AwsvpcConfiguration == nil {
		if td != nil && rules.RequireNetworkConfiguration && !rules.Update {
			return invalidParameter("networkConfiguration.awsvpcConfiguration", "give subnets (and security groups) here or in the Cluster's defaults",
				"Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
		return nil
	}
	const p = "networkConfiguration.awsvpcConfiguration"
	if err := checkAwsVpcCounts(p, nc.AwsvpcConfiguration); err != nil {
		return err
	}
	if rules.CheckIdentifiers {
		return checkAwsVpcIdentifiers(p, nc.AwsvpcConfiguration)
	}
	return nil
}

// CheckAwsVpcConfiguration checks an awsvpcConfiguration as ECS does before it looks the subnets
// and security groups up in EC2: 1 to 16 subnets, at most 5 security groups, identifiers in EC2's
// form, assignPublicIp ENABLED or DISABLED. p is its path, prefixed to the refusal's field.
func CheckAwsVpcConfiguration(p string, a *AwsVpcConfiguration) error {
	if err := checkAwsVpcCounts(p, a); err != nil {
		return err
	}
	if err := checkAwsVpcIdentifiers(p, a); err != nil {
		return err
	}
	return nil
}

func checkAwsVpcCounts(p string, a *AwsVpcConfiguration) *Error {
	switch {
	case len(a.Subnets) == 0:
		return invalidParameter(p+".subnets", "give at least one subnet, here or in the Cluster's defaults", "subnets can not be empty.")
	case len(a.Subnets) > maxSubnets:
		return invalidParameter(p+".subnets", "give at most 16", "subnets can have at most %d items.", maxSubnets)
	case len(a.SecurityGroups) > maxSecurityGroups:
		return invalidParameter(p+".securityGroups", "give at most 5", "securityGroups can have at most %d items.", maxSecurityGroups)
	case a.AssignPublicIp != "" && a.AssignPublicIp != assignPublicIPOn && a.AssignPublicIp != assignPublicIPOff:
		return invalidParameter(p+".assignPublicIp", "use ENABLED or DISABLED", "assignPublicIp must be ENABLED or DISABLED.")
	}
	return nil
}

func checkAwsVpcIdentifiers(p string, a *AwsVpcConfiguration) *Error {
	for i, s := range a.Subnets {
		if !subnetID.MatchString(s) {
			return invalidParameter(fmt.Sprintf("%s.subnets[%d]", p, i), "give a subnet ID, subnet-0123456789abcdef0",
				"Error retrieving subnet information for [%s]: The subnet ID '%s' is malformed (ErrorCode: InvalidSubnetID.Malformed)", s, s)
		}
	}
	for i, g := range a.SecurityGroups {
		if !securityGroupID.MatchString(g) {
			return invalidParameter(fmt.Sprintf("%s.securityGroups[%d]", p, i), "give a security group ID, sg-0123456789abcdef0",
				"Error retrieving security group information for [%s]: The security group '%s' is malformed (ErrorCode: InvalidGroupId.Malformed)", g, g)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
