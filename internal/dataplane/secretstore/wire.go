package secretstore

import "github.com/nodeless-dev/nodeless/internal/dataplane/model"

// The requests and responses of the operations served, with the members of the Secrets Manager
// API (awsJson1_1: member names as the API spells them, blobs base64, timestamps epoch seconds).
// Members Secrets Manager has and the local store cannot honour are decoded so that they can be
// refused by name.

// Tag is a secret's tag.
type Tag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

// CreateSecretInput is CreateSecret's request.
type CreateSecretInput struct {
	Name                        *string `json:"Name,omitempty"`
	ClientRequestToken          *string `json:"ClientRequestToken,omitempty"`
	Description                 *string `json:"Description,omitempty"`
	KmsKeyID                    *string `json:"KmsKeyId,omitempty"`
	SecretBinary                []byte  `json:"SecretBinary,omitempty"`
	SecretString                *string `json:"SecretString,omitempty"`
	Tags                        []Tag   `json:"Tags,omitempty"`
	AddReplicaRegions           []any   `json:"AddReplicaRegions,omitempty"`
	ForceOverwriteReplicaSecret *bool   `json:"ForceOverwriteReplicaSecret,omitempty"`
	Type                        *string `json:"Type,omitempty"`
}

// CreateSecretOutput is CreateSecret's response.
type CreateSecretOutput struct {
	ARN       string  `json:"ARN"`
	Name      string  `json:"Name"`
	VersionID *string `json:"VersionId,omitempty"`
}

// PutSecretValueInput is PutSecretValue's request.
type PutSecretValueInput struct {
	SecretID           *string  `json:"SecretId,omitempty"`
	ClientRequestToken *string  `json:"ClientRequestToken,omitempty"`
	SecretBinary       []byte   `json:"SecretBinary,omitempty"`
	SecretString       *string  `json:"SecretString,omitempty"`
	VersionStages      []string `json:"VersionStages,omitempty"`
	RotationToken      *string  `json:"RotationToken,omitempty"`
}

// PutSecretValueOutput is PutSecretValue's response.
type PutSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

// GetSecretValueInput is GetSecretValue's request.
type GetSecretValueInput struct {
	SecretID     *string `json:"SecretId,omitempty"`
	VersionID    *string `json:"VersionId,omitempty"`
	VersionStage *string `json:"VersionStage,omitempty"`
}

// GetSecretValueOutput is GetSecretValue's response.
type GetSecretValueOutput struct {
	ARN           string      `json:"ARN"`
	Name          string      `json:"Name"`
	VersionID     string      `json:"VersionId"`
	SecretBinary  []byte      `json:"SecretBinary,omitempty"`
	SecretString  *string     `json:"SecretString,omitempty"`
	VersionStages []string    `json:"VersionStages,omitempty"`
	CreatedDate   *model.Time `json:"CreatedDate,omitempty"`
}

// SecretIDInput is the request of DescribeSecret: the secret's name or ARN.
type SecretIDInput struct {
	SecretID *string `json:"SecretId,omitempty"`
}

// DescribeSecretOutput is DescribeSecret's response; ListSecrets' entries have the same members
// (SecretVersionsToStages there, VersionIdsToStages here).
type DescribeSecretOutput struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            *string             `json:"Description,omitempty"`
	KmsKeyID               *string             `json:"KmsKeyId,omitempty"`
	Tags                   []Tag               `json:"Tags,omitempty"`
	VersionIdsToStages     map[string][]string `json:"VersionIdsToStages,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
	CreatedDate            *model.Time         `json:"CreatedDate,omitempty"`
	LastChangedDate        *model.Time         `json:"LastChangedDate,omitempty"`
	LastAccessedDate       *model.Time         `json:"LastAccessedDate,omitempty"`
	DeletedDate            *model.Time         `json:"DeletedDate,omitempty"`
}

// DeleteSecretInput is DeleteSecret's request.
type DeleteSecretInput struct {
	SecretID                   *string `json:"SecretId,omitempty"`
	RecoveryWindowInDays       *int64  `json:"RecoveryWindowInDays,omitempty"`
	ForceDeleteWithoutRecovery *bool   `json:"ForceDeleteWithoutRecovery,omitempty"`
}

// DeleteSecretOutput is DeleteSecret's response.
type DeleteSecretOutput struct {
	ARN          *string     `json:"ARN,omitempty"`
	Name         string      `json:"Name"`
	DeletionDate *model.Time `json:"DeletionDate,omitempty"`
}

// Filter is a ListSecrets filter.
type Filter struct {
	Key    *string  `json:"Key,omitempty"`
	Values []string `json:"Values,omitempty"`
}

// ListSecretsInput is ListSecrets' request.
type ListSecretsInput struct {
	Filters                []Filter `json:"Filters,omitempty"`
	IncludePlannedDeletion *bool    `json:"IncludePlannedDeletion,omitempty"`
	MaxResults             *int32   `json:"MaxResults,omitempty"`
	NextToken              *string  `json:"NextToken,omitempty"`
	SortBy                 *string  `json:"SortBy,omitempty"`
	SortOrder              *string  `json:"SortOrder,omitempty"`
}

// ListSecretsOutput is ListSecrets' response.
type ListSecretsOutput struct {
	SecretList []DescribeSecretOutput `json:"SecretList"`
	NextToken  *string                `json:"NextToken,omitempty"`
}

// TagResourceInput is TagResource's request.
type TagResourceInput struct {
	SecretID *string `json:"SecretId,omitempty"`
	Tags     []Tag   `json:"Tags,omitempty"`
}

// UntagResourceInput is UntagResource's request.
type UntagResourceInput struct {
	SecretID *string  `json:"SecretId,omitempty"`
	TagKeys  []string `json:"TagKeys,omitempty"`
}

// Empty is the response of TagResource and UntagResource.
type Empty struct{}
