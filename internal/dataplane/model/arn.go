package model

import (
	"fmt"
	"strconv"
	"strings"
)

// ARNs builds and parses the ARNs of one region and account, as ECS spells them (long ARN format).
type ARNs struct {
	Region  string
	Account string
}

func (a ARNs) prefix() string { return "arn:aws:ecs:" + a.Region + ":" + a.Account + ":" }

// Cluster is arn:aws:ecs:REGION:ACCOUNT:cluster/NAME.
func (a ARNs) Cluster(name string) string { return a.prefix() + "cluster/" + name }

// TaskDefinition is arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION.
func (a ARNs) TaskDefinition(family string, revision int32) string {
	return fmt.Sprintf("%stask-definition/%s:%d", a.prefix(), family, revision)
}

// Service is arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME.
func (a ARNs) Service(cluster, name string) string {
	return a.prefix() + "service/" + cluster + "/" + name
}

// Task is arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID.
func (a ARNs) Task(cluster, id string) string { return a.prefix() + "task/" + cluster + "/" + id }

// Container is arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASKID/ID.
func (a ARNs) Container(cluster, taskID, id string) string {
	return a.prefix() + "container/" + cluster + "/" + taskID + "/" + id
}

// Resource is a parsed ECS ARN (or a bare name): Type is "cluster", "task-definition", "service" or
// "task"; Parts are the slash-separated parts after the type.
type Resource struct {
	Type  string
	Parts []string
}

// ParseARN splits an ECS ARN into its resource type and parts. ok is false when s is not an ECS ARN.
func ParseARN(s string) (r Resource, ok bool) {
	fields := strings.SplitN(s, ":", 6)
	if len(fields) != 6 || fields[0] != "arn" || fields[2] != "ecs" {
		return Resource{}, false
	}
	typ, rest, found := strings.Cut(fields[5], "/")
	if !found || rest == "" {
		return Resource{}, false
	}
	return Resource{Type: typ, Parts: strings.Split(rest, "/")}, true
}

// ParseFamilyRevision splits "family:revision"; revision is 0 when absent (meaning the latest ACTIVE).
func ParseFamilyRevision(s string) (family string, revision int32, err error) {
	family, rev, found := strings.Cut(s, ":")
	if !found {
		return s, 0, nil
	}
	n, err := strconv.ParseInt(rev, 10, 32)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("revision %q of %q: want a positive integer", rev, s)
	}
	return family, int32(n), nil
}
