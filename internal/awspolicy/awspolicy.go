package awspolicy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/nodeless-dev/nodeless/internal/logsapi"
)

// Service names of the calls, as IAM prefixes them.
const (
	ServiceECS            = "ecs"
	ServiceSecretsManager = "secretsmanager"
	ServiceLogs           = "logs"
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
	return out
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
