package secretstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nodeless-dev/nodeless/internal/dataplane/model"
)

// ReasonPrefix starts the stoppedReason of a task whose secrets cannot be had, as ECS on Fargate
// words it.
const ReasonPrefix = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "

// ContainerSecrets resolves the secrets of every container definition, as the ECS agent does
// before it creates a task's containers: it returns, per container name, the variables in the
// order the definition lists them. When any secret cannot be had, the error (every failure,
// joined by "; ") is the task's stoppedReason, starting with ReasonPrefix; it names the secrets,
// never a value.
func (s *Store) ContainerSecrets(defs []model.ContainerDefinition) (map[string][]model.KeyValuePair, error) {
	var out map[string][]model.KeyValuePair
	var failures []string
	for _, d := range defs {
		for _, sec := range d.Secrets {
			v, err := s.Resolve(sec.ValueFrom)
			if err != nil {
				failures = append(failures, err.Error())
				continue
			}
			if out == nil {
				out = map[string][]model.KeyValuePair{}
			}
			name, value := sec.Name, v
			out[deref(d.Name)] = append(out[deref(d.Name)], model.KeyValuePair{Name: &name, Value: &value})
		}
		failures = append(failures, s.checkLogSecrets(d.LogConfiguration)...)
	}
	if len(failures) > 0 {
		return nil, errors.New(ReasonPrefix + strings.Join(failures, "; "))
	}
	return out, nil
}

// Resolve returns the value ECS gives a container for one secrets[].valueFrom: the secret's
// current string value, or — for arn:...:secret:NAME-XXXXXX:json-key:version-stage:version-id —
// the member json-key of the JSON object the chosen version holds (version-stage and version-id
// may be empty). The error says why not, as the ECS agent does (without ReasonPrefix).
func (s *Store) Resolve(valueFrom string) (string, error) {
	ref, err := s.parseValueFrom(valueFrom)
	if err != nil {
		return "", err
	}
	in := &GetSecretValueInput{SecretID: &ref.secretID}
	if ref.stage != "" {
		in.VersionStage = &ref.stage
	}
	if ref.versionID != "" {
		in.VersionID = &ref.versionID
	}
	out, err := s.GetSecretValue(in)
	if err != nil {
		return "", fmt.Errorf("unable to retrieve secret from asm: failed to fetch secret %s from secrets manager: %w%s",
			ref.secretID, err, s.elsewhere(ref.secretID))
	}
	if ref.jsonKey == "" {
		return deref(out.SecretString), nil
	}
	var members map[string]any
	if err := json.Unmarshal([]byte(deref(out.SecretString)), &members); err != nil {
		return "", fmt.Errorf("unable to retrieve secret from asm: secret %s: its value is not a JSON object, so json key %s cannot be read from it", ref.secretID, ref.jsonKey)
	}
	v, ok := members[ref.jsonKey]
	if !ok {
		return "", fmt.Errorf("unable to retrieve secret from asm: secret %s: retrieved secret from Secrets Manager did not contain json key %s", ref.secretID, ref.jsonKey)
	}
	return fmt.Sprintf("%v", v), nil // as the ECS agent formats a member that is not a string
}

// secretRef is a parsed valueFrom of a Secrets Manager secret.
type secretRef struct {
	secretID, jsonKey, stage, versionID string
}

// parseValueFrom follows the ECS agent: a valueFrom is an ARN; its resource is secret:ID, or
// secret:ID:json-key:version-stage:version-id. A bare name, or an arn:aws:ssm: ARN, names an SSM
// Parameter Store parameter.
func (s *Store) parseValueFrom(valueFrom string) (secretRef, error) {
	parts := strings.SplitN(valueFrom, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return secretRef{}, fmt.Errorf("unable to retrieve secrets from ssm: parameter %s: a valueFrom that is not an ARN names an SSM Parameter Store parameter, "+
			"which the local data plane does not serve; put the value in a Secrets Manager secret (CreateSecret on the data plane's endpoint) and give its full ARN", valueFrom)
	}
	switch parts[2] {
	case "ssm":
		return secretRef{}, fmt.Errorf("unable to retrieve secrets from ssm: parameter %s: SSM Parameter Store is not served by the local data plane; "+
			"put the value in a Secrets Manager secret (CreateSecret on the data plane's endpoint) and give its full ARN", valueFrom)
	case "secretsmanager":
	default:
		return secretRef{}, fmt.Errorf("trying to retrieve secret with value %s resulted in error: the ARN names service %q; give the ARN of a Secrets Manager secret or an SSM parameter", valueFrom, parts[2])
	}
	res := strings.Split(parts[5], ":")
	if res[0] != "secret" || (len(res) != 2 && len(res) != 5) || res[1] == "" {
		return secretRef{}, fmt.Errorf("trying to retrieve secret with value %s resulted in error: an invalid ARN format for the AWS Secrets Manager secret was specified; "+
			"give arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, optionally followed by :json-key:version-stage:version-id", valueFrom)
	}
	id := strings.Join(parts[:5], ":") + ":secret:" + res[1]
	if len(res) == 2 {
		return secretRef{secretID: id}, nil
	}
	return secretRef{secretID: id, jsonKey: res[2], stage: res[3], versionID: res[4]}, nil
}

// elsewhere explains a secret of another region or account than the data plane's.
func (s *Store) elsewhere(id string) string {
	if strings.HasPrefix(id, secretsManagerPrefix+s.arns.Region+":"+s.arns.Account+":") {
		return ""
	}
	return fmt.Sprintf(" (the local data plane's secrets are in region %s, account %s)", s.arns.Region, s.arns.Account)
}

// checkLogSecrets resolves a log configuration's secretOptions, as the ECS agent does before it
// starts the containers, and returns why each cannot be; the values go nowhere (the local data
// plane runs no log driver: every container's output goes to its log files).
func (s *Store) checkLogSecrets(lc *model.LogConfiguration) []string {
	if lc == nil {
		return nil
	}
	var failures []string
	for _, sec := range lc.SecretOptions {
		if _, err := s.Resolve(sec.ValueFrom); err != nil {
			failures = append(failures, "logConfiguration.secretOptions "+sec.Name+": "+err.Error())
		}
	}
	return failures
}

// RegistryAuth resolves the repositoryCredentials of a task's containers when it starts, as the
// ECS agent does before it pulls their images: container name → the username and password of the
// JSON object {"username": ..., "password": ...} the secret holds. The error (ReasonPrefix, then
// each failure) is the task's stoppedReason; it never holds a secret's value.
func (s *Store) RegistryAuth(defs []model.ContainerDefinition) (map[string]model.RegistryAuth, error) {
	var out map[string]model.RegistryAuth
	var failures []string
	for _, d := range defs {
		rc := d.RepositoryCredentials
		if rc == nil {
			continue
		}
		v, err := s.Resolve(rc.CredentialsParameter)
		if err != nil {
			failures = append(failures, "repositoryCredentials of "+deref(d.Name)+": "+err.Error())
			continue
		}
		var creds struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal([]byte(v), &creds); err != nil || creds.Username == "" || creds.Password == "" {
			failures = append(failures, "repositoryCredentials of "+deref(d.Name)+": secret "+rc.CredentialsParameter+
				` must hold a JSON object {"username": ..., "password": ...}`)
			continue
		}
		if out == nil {
			out = map[string]model.RegistryAuth{}
		}
		out[deref(d.Name)] = model.RegistryAuth{Username: creds.Username, Password: creds.Password}
	}
	if len(failures) > 0 {
		return nil, errors.New(ReasonPrefix + strings.Join(failures, "; "))
	}
	return out, nil
}
