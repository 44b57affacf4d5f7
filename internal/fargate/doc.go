// Package fargate holds the rules Fargate applies to ECS requests, once, for every part of
// nodeless: the local data plane's API refuses with them what ECS on Fargate refuses (with the
// same error type: ClientException or InvalidParameterException), and the controllers check a
// manifest with them before they call ECS, so that a refusal names the Kubernetes field and
// comes before any ECS call.
//
// The rules read the requests in ECS's own JSON spelling (RegisterTaskDefinition's members,
// RunTask's and CreateService's), decoded leniently into the small structs of this package: the
// data plane decodes a request body into them before its own decoding (so that a member the data
// plane does not serve, such as links, is refused as Fargate refuses it), and the controllers
// marshal their CRD specs, which spell members as ECS does, into them.
//
// Sources: the ECS API reference (RegisterTaskDefinition, RunTask, CreateService, UpdateService,
// AwsVpcConfiguration; the service model in service-2.json), the ECS Developer Guide pages
// "Amazon ECS task definition differences for Fargate", "Fargate platform versions" and "Task
// size", and ECS's own answers as users report them (the messages below are ECS's where known).
//
// It also merges the cluster-level defaults of awsvpc tasks (subnets, security groups,
// assignPublicIp, execution role, log group) with the precedence manifest > Cluster object >
// controller flag (Defaults, Merge).
//
// It depends only on the standard library and package tasksize.
package fargate
