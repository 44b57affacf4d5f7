package store

import "github.com/nodeless-dev/nodeless/internal/dataplane/model"

// SecretRecord is a Secrets Manager secret of the data plane's own store (package secretstore
// owns its meaning), keyed by its name.
type SecretRecord struct {
	ARN         string      `json:"arn"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	KmsKeyID    string      `json:"kmsKeyId,omitempty"`
	Tags        []SecretTag `json:"tags,omitempty"`
	// Versions in the order they were created; each carries its staging labels.
	Versions        []SecretVersion `json:"versions,omitempty"`
	CreatedDate     *model.Time     `json:"createdDate,omitempty"`
	LastChangedDate *model.Time     `json:"lastChangedDate,omitempty"`
	// LastAccessedDate is the day GetSecretValue last read the secret (truncated to the day, as
	// Secrets Manager reports it).
	LastAccessedDate *model.Time `json:"lastAccessedDate,omitempty"`
	// DeletedDate is set while the secret is scheduled for deletion: when the recovery window
	// ends and the secret is removed for good.
	DeletedDate *model.Time `json:"deletedDate,omitempty"`
}

// SecretTag is a tag of a secret.
type SecretTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SecretVersion is one version of a secret's value: exactly one of String and Binary is set.
type SecretVersion struct {
	ID          string     `json:"id"`
	String      *string    `json:"string,omitempty"`
	Binary      []byte     `json:"binary,omitempty"`
	Stages      []string   `json:"stages,omitempty"`
	CreatedDate model.Time `json:"createdDate"`
}

// GetSecret returns the secret named name, or ErrNotFound.
func (tx *Tx) GetSecret(name string) (*SecretRecord, error) {
	return get[SecretRecord](tx, bucketSecrets, name)
}

// PutSecret creates or replaces a secret.
func (tx *Tx) PutSecret(r *SecretRecord) error { return put(tx, bucketSecrets, r.Name, r) }

// DeleteSecret removes a secret for good.
func (tx *Tx) DeleteSecret(name string) error { return del(tx, bucketSecrets, name) }

// Secrets returns every secret, ordered by name.
func (tx *Tx) Secrets() ([]*SecretRecord, error) {
	var out []*SecretRecord
	err := each(tx, bucketSecrets, "", func(_ string, r *SecretRecord) bool { out = append(out, r); return true })
	return out, err
}
