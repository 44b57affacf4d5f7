// Package secretstore is the local data plane's Secrets Manager: the subset of the AWS Secrets
// Manager API that nodeless uses (CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret,
// DeleteSecret, ListSecrets, TagResource, UntagResource) over the data plane's own store, and the
// resolution of ECS container secrets (secrets[].valueFrom) against it when a task starts.
//
// The same code path runs locally and on AWS: nodeless mirrors Kubernetes Secrets into Secrets
// Manager secrets and names them in task definitions; on AWS the ECS agent reads them from Secrets
// Manager, locally the scheduler reads them from this store (Resolve) with the semantics the ECS
// agent has (full ARN, or an ARN with the json-key:version-stage:version-id suffix; a bare name or
// an arn:aws:ssm: ARN names an SSM parameter, which the local data plane does not serve).
//
// What the API does, as the Secrets Manager API reference documents it:
//   - ARNs are arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX (six random characters);
//     a secret is named by its name, its ARN, or a partial ARN (without the six characters).
//   - Versions carry staging labels: a new value becomes AWSCURRENT unless told otherwise, and the
//     version that held AWSCURRENT gets AWSPREVIOUS. ClientRequestToken (32–64 characters) is the
//     new version's ID and makes CreateSecret and PutSecretValue idempotent: the same token with
//     the same value is ignored, with another value it fails with ResourceExistsException.
//   - DeleteSecret schedules the deletion after RecoveryWindowInDays (7–30, default 30) or deletes
//     at once with ForceDeleteWithoutRecovery (never both); a secret scheduled for deletion refuses
//     every call but DescribeSecret and DeleteSecret with InvalidRequestException, is left out of
//     ListSecrets unless IncludePlannedDeletion, and is removed for good when its window ends.
//   - ListSecrets filters by name, description, tag-key and tag-value (prefix match; "!" negates;
//     values of one filter are alternatives, filters all apply); the filters primary-region,
//     owning-service and all are refused by name, as are replication, rotation and external
//     secrets: nothing a client asks for is silently ignored.
//   - Errors are spelled as Secrets Manager spells them: ResourceNotFoundException,
//     ResourceExistsException, InvalidParameterException, InvalidRequestException.
//
// Values are kept in the data plane's bbolt file (mode 0600 under the state dir) and never logged;
// error messages name secrets, never values.
package secretstore
