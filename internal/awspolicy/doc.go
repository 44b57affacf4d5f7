// Package awspolicy is the least-privilege IAM policy `nodeless controller` needs on AWS, derived
// from the calls it makes: every operation of the ECS seam (package ecsapi, as its counting
// decorator names them) and of the Secrets Manager seam (package secretsapi) maps to the IAM
// actions that authorize it, and the policy holds exactly those actions, grouped into statements
// by resource scope and condition. The test walks both seams and fails when a call has no action
// or an action no call needs; docs/iam-policy.json is the generated document
// (`nodeless controller --print-iam-policy`), held equal to it by the same test.
//
// Sources: the Service Authorization Reference for Amazon ECS, AWS Secrets Manager and IAM
// (https://docs.aws.amazon.com/service-authorization/latest/reference/), and the ECS developer
// guide on tag-on-create (ecs:TagResource is checked when a create call carries tags), on passing
// task and execution roles (iam:PassRole to ecs-tasks.amazonaws.com) and on the ECS
// service-linked role (created by the first CreateCluster of an account).
package awspolicy
