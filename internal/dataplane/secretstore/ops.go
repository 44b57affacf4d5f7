package secretstore

import (
	"bytes"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
	"github.com/nodeless-dev/nodeless/internal/dataplane/store"
)

// CreateSecret creates a secret, with a first version (AWSCURRENT) when a value is given.
func (s *Store) CreateSecret(in *CreateSecretInput) (*CreateSecretOutput, error) {
	if err := checkCreate(in); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	token := versionToken(in.ClientRequestToken)
	var out *CreateSecretOutput
	err = s.db.Update(func(tx *store.Tx) error {
		r, err := s.find(tx, *in.Name, true)
		if err != nil {
			return err
		}
		if r != nil {
			out, err = repeatedCreate(r, in, token)
			return err
		}
		suffix, err := randomSuffix()
		if err != nil {
			return err
		}
		now := s.now()
		r = &store.SecretRecord{
			ARN: s.ARN(*in.Name, suffix), Name: *in.Name, Description: deref(in.Description), KmsKeyID: deref(in.KmsKeyID),
			CreatedDate: now, LastChangedDate: now,
		}
		if err := mergeTags(r, tags); err != nil {
			return err
		}
		out = &CreateSecretOutput{ARN: r.ARN, Name: r.Name}
		if in.SecretString != nil || in.SecretBinary != nil {
			r.Versions = []store.SecretVersion{{
				ID: token, String: in.SecretString, Binary: in.SecretBinary, Stages: []string{StageCurrent}, CreatedDate: *now,
			}}
			out.VersionID = &token
		}
		return tx.PutSecret(r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func checkCreate(in *CreateSecretInput) error {
	if err := checkName(in.Name); err != nil {
		return err
	}
	switch {
	case len(in.AddReplicaRegions) > 0:
		return invalidParameter("AddReplicaRegions: the local data plane serves one region and does not replicate secrets; remove it")
	case in.ForceOverwriteReplicaSecret != nil && *in.ForceOverwriteReplicaSecret:
		return invalidParameter("ForceOverwriteReplicaSecret: the local data plane does not replicate secrets; remove it")
	case in.Type != nil:
		return invalidParameter("Type: managed external secrets are not served by the local data plane; remove it")
	case len(deref(in.Description)) > maxDescription:
		return invalidParameter("Description: %d characters; the most is %d", len(deref(in.Description)), maxDescription)
	}
	if err := checkToken(in.ClientRequestToken); err != nil {
		return err
	}
	return checkValue(in.SecretString, in.SecretBinary, false)
}

// repeatedCreate answers CreateSecret for a name that exists: the same request again (same token,
// same value) returns what the first returned; anything else fails.
func repeatedCreate(r *store.SecretRecord, in *CreateSecretInput, token string) (*CreateSecretOutput, error) {
	if r.DeletedDate != nil {
		return nil, newError(CodeInvalidRequest,
			"You can't create this secret because a secret with this name is already scheduled for deletion.")
	}
	if in.ClientRequestToken != nil {
		if v := version(r, token); v != nil {
			if !sameValue(v, in.SecretString, in.SecretBinary) {
				return nil, newError(CodeResourceExists, "%s", msgModifyVersion)
			}
			return &CreateSecretOutput{ARN: r.ARN, Name: r.Name, VersionID: &v.ID}, nil
		}
	}
	return nil, newError(CodeResourceExists, "The operation failed because the secret %s already exists.", r.Name)
}

// PutSecretValue adds a version to a secret; it becomes AWSCURRENT unless VersionStages say
// otherwise.
func (s *Store) PutSecretValue(in *PutSecretValueInput) (*PutSecretValueOutput, error) {
	if err := checkPut(in); err != nil {
		return nil, err
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{StageCurrent}
	}
	token := versionToken(in.ClientRequestToken)
	var out *PutSecretValueOutput
	err := s.db.Update(func(tx *store.Tx) error {
		r, err := s.mustFind(tx, in.SecretID, true, true)
		if err != nil {
			return err
		}
		if v := version(r, token); v != nil {
			if !sameValue(v, in.SecretString, in.SecretBinary) {
				return newError(CodeResourceExists, "%s", msgModifyVersion)
			}
			out = &PutSecretValueOutput{ARN: r.ARN, Name: r.Name, VersionID: v.ID, VersionStages: v.Stages}
			return nil
		}
		now := s.now()
		r.Versions = append(r.Versions, store.SecretVersion{ID: token, String: in.SecretString, Binary: in.SecretBinary, CreatedDate: *now})
		moveStages(r, len(r.Versions)-1, stages)
		prune(r)
		r.LastChangedDate = now
		v := r.Versions[len(r.Versions)-1]
		out = &PutSecretValueOutput{ARN: r.ARN, Name: r.Name, VersionID: v.ID, VersionStages: v.Stages}
		return tx.PutSecret(r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func checkPut(in *PutSecretValueInput) error {
	if in.RotationToken != nil {
		return invalidParameter("RotationToken: rotation is not served by the local data plane; remove it")
	}
	if len(in.VersionStages) > maxStagesPerVersion {
		return invalidParameter("VersionStages: %d labels; a version has at most %d", len(in.VersionStages), maxStagesPerVersion)
	}
	for i, st := range in.VersionStages {
		if st == "" || len(st) > 256 {
			return invalidParameter("VersionStages[%d]: %d characters; use 1 to 256", i, len(st))
		}
	}
	if err := checkToken(in.ClientRequestToken); err != nil {
		return err
	}
	return checkValue(in.SecretString, in.SecretBinary, true)
}

// moveStages attaches stages to version i, taking them from the versions that had them; the
// version that held AWSCURRENT gets AWSPREVIOUS.
func moveStages(r *store.SecretRecord, i int, stages []string) {
	for _, st := range stages {
		if slices.Contains(r.Versions[i].Stages, st) {
			continue
		}
		for j := range r.Versions {
			if j == i || !slices.Contains(r.Versions[j].Stages, st) {
				continue
			}
			r.Versions[j].Stages = slices.DeleteFunc(r.Versions[j].Stages, func(x string) bool { return x == st })
			if st == StageCurrent {
				for k := range r.Versions {
					r.Versions[k].Stages = slices.DeleteFunc(r.Versions[k].Stages, func(x string) bool { return x == StagePrevious })
				}
				r.Versions[j].Stages = append(r.Versions[j].Stages, StagePrevious)
			}
		}
		r.Versions[i].Stages = append(r.Versions[i].Stages, st)
	}
}

// prune drops the oldest versions without staging labels (deprecated) beyond 100 versions.
func prune(r *store.SecretRecord) {
	for len(r.Versions) > maxVersions {
		i := slices.IndexFunc(r.Versions, func(v store.SecretVersion) bool { return len(v.Stages) == 0 })
		if i < 0 {
			return
		}
		r.Versions = slices.Delete(r.Versions, i, i+1)
	}
}

// GetSecretValue returns a version's value: VersionId, else VersionStage, else AWSCURRENT.
func (s *Store) GetSecretValue(in *GetSecretValueInput) (*GetSecretValueOutput, error) {
	var out *GetSecretValueOutput
	var accessed bool
	err := s.db.View(func(tx *store.Tx) error {
		r, err := s.mustFind(tx, in.SecretID, true, false)
		if err != nil {
			return err
		}
		v, err := pickVersion(r, in.VersionID, in.VersionStage)
		if err != nil {
			return err
		}
		out = &GetSecretValueOutput{
			ARN: r.ARN, Name: r.Name, VersionID: v.ID, SecretString: v.String, SecretBinary: v.Binary,
			VersionStages: v.Stages, CreatedDate: &model.Time{Time: v.CreatedDate.Time},
		}
		accessed = r.LastAccessedDate == nil || !r.LastAccessedDate.Equal(s.today())
		return nil
	})
	if err != nil {
		return nil, err
	}
	if accessed {
		s.recordAccess(out.Name)
	}
	return out, nil
}

func pickVersion(r *store.SecretRecord, id, stage *string) (*store.SecretVersion, error) {
	if id != nil {
		v := version(r, *id)
		if v == nil {
			return nil, newError(CodeResourceNotFound, "Secrets Manager can't find the specified secret value for VersionId: %s", *id)
		}
		if stage != nil && !slices.Contains(v.Stages, *stage) {
			return nil, newError(CodeInvalidRequest, "%s", msgStageVersionDiffer)
		}
		return v, nil
	}
	label := StageCurrent
	if stage != nil {
		label = *stage
	}
	for i := range r.Versions {
		if slices.Contains(r.Versions[i].Stages, label) {
			return &r.Versions[i], nil
		}
	}
	return nil, newError(CodeResourceNotFound, "Secrets Manager can't find the specified secret value for staging label: %s", label)
}

func (s *Store) today() time.Time {
	return s.clock.Now().UTC().Truncate(24 * time.Hour)
}

// recordAccess sets LastAccessedDate to today (one write a day per secret at most); a failure
// only loses the date.
func (s *Store) recordAccess(name string) {
	_ = s.db.Update(func(tx *store.Tx) error {
		r, err := tx.GetSecret(name)
		if err != nil {
			return err
		}
		r.LastAccessedDate = &model.Time{Time: s.today()}
		return tx.PutSecret(r)
	})
}

// DescribeSecret returns a secret's metadata (never its value); it describes a secret scheduled
// for deletion too.
func (s *Store) DescribeSecret(in *SecretIDInput) (*DescribeSecretOutput, error) {
	var out *DescribeSecretOutput
	err := s.db.View(func(tx *store.Tx) error {
		r, err := s.mustFind(tx, in.SecretID, false, false)
		if err != nil {
			return err
		}
		d := describe(r)
		d.VersionIdsToStages, d.SecretVersionsToStages = d.SecretVersionsToStages, nil
		out = &d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// describe is a secret's metadata as ListSecrets shows it.
func describe(r *store.SecretRecord) DescribeSecretOutput {
	d := DescribeSecretOutput{
		ARN: r.ARN, Name: r.Name, CreatedDate: r.CreatedDate, LastChangedDate: r.LastChangedDate,
		LastAccessedDate: r.LastAccessedDate, DeletedDate: r.DeletedDate,
	}
	if r.Description != "" {
		d.Description = &r.Description
	}
	if r.KmsKeyID != "" {
		d.KmsKeyID = &r.KmsKeyID
	}
	for _, t := range r.Tags {
		d.Tags = append(d.Tags, Tag{Key: &t.Key, Value: &t.Value})
	}
	for _, v := range r.Versions {
		if len(v.Stages) == 0 {
			continue // deprecated
		}
		if d.SecretVersionsToStages == nil {
			d.SecretVersionsToStages = map[string][]string{}
		}
		d.SecretVersionsToStages[v.ID] = v.Stages
	}
	return d
}

// DeleteSecret schedules a secret's deletion after its recovery window, or deletes it at once.
func (s *Store) DeleteSecret(in *DeleteSecretInput) (*DeleteSecretOutput, error) {
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	days := int64(defaultRecoveryDays)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if force {
			return nil, invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		}
		if days < minRecoveryDays || days > maxRecoveryDays {
			return nil, invalidParameter("The RecoveryWindowInDays value must be between %d and %d days (inclusive).", minRecoveryDays, maxRecoveryDays)
		}
	}
	if in.SecretID == nil || *in.SecretID == "" {
		return nil, invalidParameter("SecretId is required: give the secret's name or ARN")
	}
	var out *DeleteSecretOutput
	err := s.db.Update(func(tx *store.Tx) error {
		r, err := s.find(tx, *in.SecretID, true)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case r == nil && force:
			// Forcing the deletion of a missing secret succeeds, so that a retry does too.
			out = &DeleteSecretOutput{Name: *in.SecretID, DeletionDate: now}
			return nil
		case r == nil:
			return notFound()
		case force:
			out = &DeleteSecretOutput{ARN: &r.ARN, Name: r.Name, DeletionDate: now}
			return tx.DeleteSecret(r.Name)
		case r.DeletedDate != nil:
			return markedForDeletion()
		}
		r.DeletedDate = &model.Time{Time: now.Add(time.Duration(days) * 24 * time.Hour)}
		out = &DeleteSecretOutput{ARN: &r.ARN, Name: r.Name, DeletionDate: r.DeletedDate}
		return tx.PutSecret(r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TagResource adds tags to a secret, or sets the values of keys it has.
func (s *Store) TagResource(in *TagResourceInput) (*Empty, error) {
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, invalidParameter("Tags is required: give at least one tag")
	}
	return &Empty{}, s.change(in.SecretID, func(r *store.SecretRecord) error { return mergeTags(r, tags) })
}

// UntagResource removes the tags with the given keys from a secret (a key it lacks is no error).
func (s *Store) UntagResource(in *UntagResourceInput) (*Empty, error) {
	if len(in.TagKeys) == 0 {
		return nil, invalidParameter("TagKeys is required: give at least one key")
	}
	return &Empty{}, s.change(in.SecretID, func(r *store.SecretRecord) error {
		r.Tags = slices.DeleteFunc(r.Tags, func(t store.SecretTag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
}

// change applies fn to a live secret in one transaction.
func (s *Store) change(id *string, fn func(*store.SecretRecord) error) error {
	return s.db.Update(func(tx *store.Tx) error {
		r, err := s.mustFind(tx, id, true, true)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		return tx.PutSecret(r)
	})
}

func version(r *store.SecretRecord, id string) *store.SecretVersion {
	for i := range r.Versions {
		if r.Versions[i].ID == id {
			return &r.Versions[i]
		}
	}
	return nil
}

func sameValue(v *store.SecretVersion, s *string, b []byte) bool {
	if (v.String == nil) != (s == nil) {
		return false
	}
	if s != nil {
		return *v.String == *s
	}
	return bytes.Equal(v.Binary, b)
}

// versionToken is the new version's ID: the client's token, else a random UUID (what the SDKs
// send when the caller gives none).
func versionToken(tok *string) string {
	if tok != nil {
		return *tok
	}
	return uuid.NewString()
}
