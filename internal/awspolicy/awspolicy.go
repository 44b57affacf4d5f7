package awspolicy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/nodeless-dev/nodeless/internal/cloudmapapi"
	"github.com/nodeless-dev/nodeless/internal/ec2api"
	"github.com/nodeless-dev/nodeless/internal/elbv2api"
	"github.com/nodeless-dev/nodeless/internal/logsapi"
)

// Service names of the calls, as IAM prefixes them.
const (
	ServiceECS            = "ecs"
	ServiceSecretsManager = "secretsmanager"
	ServiceLogs           = "logs"
	ServiceELBv2          = elbv2api.IAMService
	ServiceCloudMap       = cloudmapapi.IAMService
	ServiceEC2            = ec2api.IAMService
)

// Statement ids of the policy; each says what its actions are scoped to.
const (
	// SidECS: every ECS action nodeless calls, on any ECS resource of the account ("*": several
	// of them, such as RegisterTaskDefinition and ListTaskDefinitions, take no resource ARN).
	SidECS = "ECS"
	// SidPassTaskRoles: iam:PassRole of the task and execution roles that task definitions and
	// RunTask overrides name, only to ECS tasks.
	SidPassTaskRoles = "PassTaskRolesToECS"
	// SidServiceLinkedRole: the ECS service-linked role, created by ECS on the first CreateCluster
	// of an account (a no-op once it exists).
	SidServiceLinkedRole = "ECSServiceLinkedRole"
	// SidOwnedSecrets: the Secrets Manager secrets nodeless owns (named nodeless/<cluster>/...,
	// package secretsapi's Mirror).
	SidOwnedSecrets = "OwnedSecrets"
	// SidListSecrets: ListSecrets, which takes no resource ARN.
	SidListSecrets = "ListSecrets"
	// SidReadPodLogs: reading the Pods' container output (kubectl logs, nodeless logs --aws) from
	// the streams of the log groups under /nodeless/ (--pod-log-group's default is
	// /nodeless/<pod-cluster>; another group needs its own ARN here).
	SidReadPodLogs = "ReadPodLogs"
	// SidLoadBalancers: the load balancers, target groups and listeners of Services of type
	// LoadBalancer (package controller/awsservice; "*": CreateLoadBalancer and CreateTargetGroup
	// name no existing resource, and nodeless's are recognised by their tags, not their names).
	SidLoadBalancers = "LoadBalancers"
	// SidELBServiceLinkedRole: the Elastic Load Balancing service-linked role, created by the
	// first CreateLoadBalancer of an account (a no-op once it exists).
	SidELBServiceLinkedRole = "ELBServiceLinkedRole"
	// SidServiceDiscovery: the Cloud Map services and instances of Services, and the Route 53
	// records and health checks Cloud Map changes on the caller's behalf when instances are
	// registered and deregistered (AWS Cloud Map API permissions reference).
	SidServiceDiscovery = "ServiceDiscovery"
	// SidDescribeNetwork: EC2 reads that take no resource ARN: the load balancers' subnets (for
	// their VPC), and the instances Cloud Map's RegisterInstance looks at.
	SidDescribeNetwork = "DescribeNetwork"
)

// Requirement is one IAM action a call needs, and the statement that grants it.
type Requirement struct {
	Sid    string
	Action string
}

// Requirements maps each call nodeless makes ("ecs:CreateCluster", "secretsmanager:ListSecrets";
// the operation as the seam's counting decorator names it) to the IAM actions it needs.
func Requirements() map[string][]Requirement {
	out := map[string][]Requirement{}
	for _, op := range []string{
		"CreateCluster", "DescribeClusters", "UpdateCluster", "DeleteCluster", "PutClusterCapacityProviders",
		"RegisterTaskDefinition", "DescribeTaskDefinition", "DeregisterTaskDefinition", "ListTaskDefinitions",
		"CreateService", "DescribeServices", "UpdateService", "DeleteService",
		"RunTask", "DescribeTasks", "StopTask", "ListTasks", "ExecuteCommand",
		"TagResource", "UntagResource", "ListTagsForResource",
	} {
		out[ServiceECS+":"+op] = []Requirement{{Sid: SidECS, Action: "ecs:" + op}}
	}
	// Create calls carry nodeless's owner tags: ECS authorizes them with ecs:TagResource too.
	for _, op := range []string{"CreateCluster", "RegisterTaskDefinition", "CreateService", "RunTask"} {
		out[ServiceECS+":"+op] = append(out[ServiceECS+":"+op], Requirement{Sid: SidECS, Action: "ecs:TagResource"})
	}
	// Task definitions name taskRoleArn and executionRoleArn; RunTask overrides may too.
	for _, op := range []string{"RegisterTaskDefinition", "RunTask"} {
		out[ServiceECS+":"+op] = append(out[ServiceECS+":"+op], Requirement{Sid: SidPassTaskRoles, Action: "iam:PassRole"})
	}
	out[ServiceECS+":CreateCluster"] = append(out[ServiceECS+":CreateCluster"],
		Requirement{Sid: SidServiceLinkedRole, Action: "iam:CreateServiceLinkedRole"})
	for _, op := range []string{"CreateSecret", "GetSecretValue", "PutSecretValue", "DescribeSecret", "DeleteSecret", "TagResource", "UntagResource"} {
		out[ServiceSecretsManager+":"+op] = []Requirement{{Sid: SidOwnedSecrets, Action: "secretsmanager:" + op}}
	}
	// Secrets are created with their owner tags.
	out[ServiceSecretsManager+":CreateSecret"] = append(out[ServiceSecretsManager+":CreateSecret"],
		Requirement{Sid: SidOwnedSecrets, Action: "secretsmanager:TagResource"})
	out[ServiceSecretsManager+":ListSecrets"] = []Requirement{{Sid: SidListSecrets, Action: "secretsmanager:ListSecrets"}}
	for _, a := range logsapi.Actions() {
		out[a] = []Requirement{{Sid: SidReadPodLogs, Action: a}}
	}
	addNetworking(out)
	return out
}

// addNetworking adds the calls of the ELBv2, Cloud Map and EC2 seams (Kubernetes Services on AWS).
func addNetworking(out map[string][]Requirement) {
	for _, op := range []string{
		"CreateLoadBalancer", "DescribeLoadBalancers", "DeleteLoadBalancer",
		"CreateTargetGroup", "DescribeTargetGroups", "ModifyTargetGroup", "DeleteTargetGroup",
		"DescribeTargetGroupAttributes", "ModifyTargetGroupAttributes",
		"RegisterTargets", "DeregisterTargets", "DescribeTargetHealth",
		"CreateListener", "DescribeListeners", "ModifyListener", "DeleteListener", "DescribeTags",
	} {
		out[ServiceELBv2+":"+op] = []Requirement{{Sid: SidLoadBalancers, Action: ServiceELBv2 + ":" + op}}
	}
	// Creates carry the owner tags: ELBv2 authorizes them with AddTags too.
	for _, op := range []string{"CreateLoadBalancer", "CreateTargetGroup", "CreateListener"} {
		out[ServiceELBv2+":"+op] = append(out[ServiceELBv2+":"+op], Requirement{Sid: SidLoadBalancers, Action: ServiceELBv2 + ":AddTags"})
	}
	out[ServiceELBv2+":CreateLoadBalancer"] = append(out[ServiceELBv2+":CreateLoadBalancer"],
		Requirement{Sid: SidELBServiceLinkedRole, Action: "iam:CreateServiceLinkedRole"})
	for _, op := range []string{
		"GetNamespace", "CreateService", "GetService", "ListServices", "DeleteService",
		"RegisterInstance", "DeregisterInstance", "ListInstances", "ListTagsForResource",
	} {
		out[ServiceCloudMap+":"+op] = []Requirement{{Sid: SidServiceDiscovery, Action: ServiceCloudMap + ":" + op}}
	}
	out[ServiceCloudMap+":CreateService"] = append(out[ServiceCloudMap+":CreateService"],
		Requirement{Sid: SidServiceDiscovery, Action: ServiceCloudMap + ":TagResource"})
	for _, a := range []string{"route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListHostedZonesByName",
		"route53:CreateHealthCheck", "route53:GetHealthCheck", "route53:UpdateHealthCheck"} {
		out[ServiceCloudMap+":RegisterInstance"] = append(out[ServiceCloudMap+":RegisterInstance"], Requirement{Sid: SidServiceDiscovery, Action: a})
	}
	out[ServiceCloudMap+":RegisterInstance"] = append(out[ServiceCloudMap+":RegisterInstance"],
		Requirement{Sid: SidDescribeNetwork, Action: "ec2:DescribeInstances"})
	for _, a := range []string{"route53:ChangeResourceRecordSets", "route53:GetHealthCheck", "route53:DeleteHealthCheck", "route53:UpdateHealthCheck"} {
		out[ServiceCloudMap+":DeregisterInstance"] = append(out[ServiceCloudMap+":DeregisterInstance"], Requirement{Sid: SidServiceDiscovery, Action: a})
	}
	out[ServiceEC2+":DescribeSubnets"] = []Requirement{{Sid: SidDescribeNetwork, Action: "ec2:DescribeSubnets"}}
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document.
type Statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Action    []string                     `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// scope is the resource and condition of each statement id, in the order of the document.
func scopes() []Statement {
	return []Statement{
		{Sid: SidECS, Resource: "*"},
		{Sid: SidPassTaskRoles, Resource: "*", Condition: map[string]map[string]string{
			"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
		}},
		{Sid: SidServiceLinkedRole, Resource: "arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
			Condition: map[string]map[string]string{"StringEquals": {"iam:AWSServiceName": "ecs.amazonaws.com"}}},
		{Sid: SidOwnedSecrets, Resource: "arn:aws:secretsmanager:*:*:secret:nodeless/*"},
		{Sid: SidListSecrets, Resource: "*"},
		{Sid: SidReadPodLogs, Resource: "arn:aws:logs:*:*:log-group:/nodeless/*:log-stream:*"},
		{Sid: SidLoadBalancers, Resource: "*"},
		{Sid: SidELBServiceLinkedRole, Resource: "arn:aws:iam::*:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
			Condition: map[string]map[string]string{"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
		{Sid: SidServiceDiscovery, Resource: "*"},
		{Sid: SidDescribeNetwork, Resource: "*"},
	}
}

// Policy is the least-privilege policy of Requirements: one statement per scope, each with the
// sorted actions the calls need there.
func Policy() (Document, error) {
	actions := map[string]map[string]bool{}
	for call, reqs := range Requirements() {
		for _, r := range reqs {
			if actions[r.Sid] == nil {
				actions[r.Sid] = map[string]bool{}
			}
			actions[r.Sid][r.Action] = true
			if !slices.ContainsFunc(scopes(), func(s Statement) bool { return s.Sid == r.Sid }) {
				return Document{}, fmt.Errorf("%s: requirement %s names no statement %q", call, r.Action, r.Sid)
			}
		}
	}
	doc := Document{Version: "2012-10-17"}
	for _, s := range scopes() {
		if len(actions[s.Sid]) == 0 {
			continue
		}
		s.Effect = "Allow"
		s.Action = slices.Collect(maps.Keys(actions[s.Sid]))
		sort.Strings(s.Action)
		doc.Statement = append(doc.Statement, s)
	}
	return doc, nil
}

// JSON is the policy as IAM takes it (indented, ending in a newline).
func JSON() ([]byte, error) {
	doc, err := Policy()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the IAM policy: %w", err)
	}
	return append(b, '\n'), nil
}
