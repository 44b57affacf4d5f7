// Package awspolicy is the least-privilege IAM policy `nodeless controller` needs on AWS, derived
// from the calls it makes: every operation of the ECS seam (package ecsapi, as its counting
// decorator names them) and of the Secrets Manager, CloudWatch Logs, ELBv2, Cloud Map and EC2
// seams (packages secretsapi, logsapi, elbv2api, cloudmapapi, ec2api) maps to the IAM
// actions that authorize it, and the policy holds exactly those actions, grouped into statements
// by resource scope and condition. The test walks the seams and fails when a call has no action
// or an action no call needs; docs/iam-policy.json is the generated document
// (`nodeless controller --print-iam-policy`), held equal to it by the same test.
//
// Sources: the Service Authorization Reference for Amazon ECS, AWS Secrets Manager, Elastic Load
// Balancing v2, AWS Cloud Map, Amazon EC2 and IAM; the AWS Cloud Map API permissions reference
// (the Route 53 actions of RegisterInstance and DeregisterInstance)
// (https://docs.aws.amazon.com/service-authorization/latest/reference/), and the ECS developer
// guide on tag-on-create (ecs:TagResource is checked when a create call carries tags), on passing
// task and execution roles (iam:PassRole to ecs-tasks.amazonaws.com) and on the ECS
// service-linked role (created by the first CreateCluster of an account).
package awspolicy
