// Package secretsapi is nodeless's seam to Secrets Manager: the narrow interface holding only the
// calls nodeless makes (satisfied by *secretsmanager.Client from aws-sdk-go-v2), the typed error
// vocabulary, client construction from the same endpoint and credential options as the ECS client
// (package ecsapi), and the Mirror that keeps Kubernetes ConfigMaps and Secrets as Secrets Manager
// secrets nodeless owns, for ECS secrets[].valueFrom to name.
//
// The same calls reach AWS Secrets Manager or the local data plane's own store (package
// dataplane/secretstore), which serves this subset on the data plane's endpoint.
//
// Contract of the calls, as the Secrets Manager API reference documents them:
//   - CreateSecret and PutSecretValue are idempotent by ClientRequestToken (the SDK fills one in
//     per call and reuses it on retries): the same token with the same value is ignored, with
//     another value it fails with ResourceExistsException. CreateSecret of a name that exists fails
//     with ResourceExistsException.
//   - GetSecretValue and DescribeSecret report a missing secret as ResourceNotFoundException
//     (KindNotFound); every call but DescribeSecret and DeleteSecret refuses a secret scheduled for
//     deletion with InvalidRequestException (KindScheduledForDeletion).
//   - DeleteSecret with ForceDeleteWithoutRecovery deletes at once and succeeds for a missing
//     secret; on AWS the name may stay taken for a short while after.
//   - ListSecrets filters by name (prefix, case-sensitive) and tag-key/tag-value, at most 100 per
//     page with NextToken.
//   - TagResource sets tags (at most 50 per secret); UntagResource removes the keys it names.
//   - No call blocks beyond its HTTP round trip.
package secretsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// API holds the Secrets Manager calls nodeless makes. *secretsmanager.Client satisfies it.
type API interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	TagResource(ctx context.Context, in *secretsmanager.TagResourceInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *secretsmanager.UntagResourceInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.UntagResourceOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)
