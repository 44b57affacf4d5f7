package podstart

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// maxContainers is the most container definitions an ECS task definition holds.
const maxContainers = 10

// assemble makes the Start: the task definition with the additions, re-hashed, and the RunTask
// request with the overrides completed, both checked against ECS's sizes.
func (r *resolver) assemble() (*Start, error) {
	td := *r.tr.TaskDefinition
	td.ContainerDefinitions = append([]ecstypes.ContainerDefinition(nil), r.tr.TaskDefinition.ContainerDefinitions...)
	for i := range td.ContainerDefinitions {
		if err := r.completeContainer(&td.ContainerDefinitions[i]); err != nil {
			return nil, err
		}
	}
	if r.files != nil {
		files, err := r.filesContainer()
		if err != nil {
			return nil, err
		}
		r.dependOnFiles(&td)
		td.ContainerDefinitions = append([]ecstypes.ContainerDefinition{files}, td.ContainerDefinitions...)
	}
	run := *r.tr.RunTask
	run.Overrides = r.overrides()
	r.checkSizes(&td, run.Overrides)
	if len(r.refused) > 0 {
		return nil, &translate.RefusedError{Pod: r.pod.Namespace + "/" + r.pod.Name, Problems: r.refused}
	}
	td.Tags = nil
	hash, err := translate.SpecHash(&td)
	if err != nil {
		return nil, err
	}
	td.Tags = []ecstypes.Tag{{Key: aws.String(translate.TagSpecHash), Value: aws.String(hash)}}
	st := &Start{
		TaskDefinition: &td, Revision: translate.Revision{Family: aws.ToString(td.Family), Hash: hash}, RunTask: &run,
		Objects: r.seen(), TokenExpiry: r.tokenExpiry, Warnings: r.warnings,
	}
	if r.files != nil {
		st.Files = &r.files.manifest
	}
	return st, nil
}

// completeContainer adds a Pod container's Service link variables and secrets.
func (r *resolver) completeContainer(d *ecstypes.ContainerDefinition) error {
	name := aws.ToString(d.Name)
	if name == FilesContainer {
		r.refuse(r.containerPath(name)+".name", ReasonFilesContainer,
			"%s is the name of nodeless's files container in the task; rename the container", FilesContainer)
		return nil
	}
	a := r.add[name]
	if a == nil {
		return nil
	}
	if len(a.serviceEnv) > 0 {
		env := append(append([]ecstypes.KeyValuePair(nil), d.Environment...), a.serviceEnv...)
		sort.SliceStable(env, func(i, j int) bool { return aws.ToString(env[i].Name) < aws.ToString(env[j].Name) })
		d.Environment = env
	}
	names := make([]string, 0, len(a.secretVars))
	for n := range a.secretVars {
		names = append(names, n)
	}
	sort.Strings(names)
	secrets := append([]ecstypes.Secret(nil), d.Secrets...)
	for _, n := range names {
		vf, err := r.valueFrom(a.secretVars[n])
		if err != nil {
			return err
		}
		secrets = append(secrets, ecstypes.Secret{Name: aws.String(n), ValueFrom: aws.String(vf)})
	}
	if len(secrets) > 0 {
		d.Secrets = secrets
	}
	return nil
}

// filesContainer is the init container that writes the volumes' files.
func (r *resolver) filesContainer() (ecstypes.ContainerDefinition, error) {
	manifest, err := json.Marshal(r.files.manifest)
	if err != nil {
		return ecstypes.ContainerDefinition{}, fmt.Errorf("encoding the files manifest: %w", err)
	}
	def := ecstypes.ContainerDefinition{
		Name: aws.String(FilesContainer), Image: aws.String(r.deps.AgentImage), Essential: aws.Bool(false),
		Command: []string{podfiles.AgentCommand}, User: aws.String("0"), ReadonlyRootFilesystem: aws.Bool(true),
		Environment: []ecstypes.KeyValuePair{{Name: aws.String(podfiles.ManifestEnv), Value: aws.String(string(manifest))}},
		// Its output goes where the Pod's containers' goes (awslogs on AWS).
		LogConfiguration: translate.LogConfiguration(r.deps.Options, r.pod.Namespace),
	}
	for _, k := range r.files.objects {
		e, err := r.entry(k)
		if err != nil {
			return ecstypes.ContainerDefinition{}, err
		}
		for i, arn := range e.ARNs {
			def.Secrets = append(def.Secrets, ecstypes.Secret{Name: aws.String(podfiles.PartEnv(r.files.objEnv[k], i)), ValueFrom: aws.String(arn)})
		}
	}
	sort.Slice(def.Secrets, func(i, j int) bool { return aws.ToString(def.Secrets[i].Name) < aws.ToString(def.Secrets[j].Name) })
	for _, v := range r.files.manifest.Volumes {
		def.MountPoints = append(def.MountPoints, ecstypes.MountPoint{SourceVolume: aws.String(v.Name), ContainerPath: aws.String(v.Dir), ReadOnly: aws.Bool(false)})
	}
	return def, nil
}

// dependOnFiles makes every container that waited for nothing wait for the files container.
func (r *resolver) dependOnFiles(td *ecs.RegisterTaskDefinitionInput) {
	if n := len(td.ContainerDefinitions) + 1; n > maxContainers {
		r.refuse("spec.containers", ReasonFilesContainer,
			"with nodeless's files container the task would have %d containers and ECS runs at most %d; use fewer containers, or no configMap, secret, downwardAPI or projected volume", n, maxContainers)
	}
	for i := range td.ContainerDefinitions {
		d := &td.ContainerDefinitions[i]
		if len(d.DependsOn) == 0 {
			d.DependsOn = []ecstypes.ContainerDependency{{ContainerName: aws.String(FilesContainer), Condition: ecstypes.ContainerConditionSuccess}}
		}
	}
}

// overrides are the Translation's containerOverrides with the start-time variables, command
// overrides and the files container's per-pod values.
func (r *resolver) overrides() *ecstypes.TaskOverride {
	out := &ecstypes.TaskOverride{}
	if o := r.tr.RunTask.Overrides; o != nil {
		*out = *o
		out.ContainerOverrides = append([]ecstypes.ContainerOverride(nil), o.ContainerOverrides...)
	}
	for _, name := range r.containerOrder() {
		a := r.add[name]
		if a == nil || (len(a.env) == 0 && a.command == nil) {
			continue
		}
		co := findOverride(out, name)
		co.Environment = append(append([]ecstypes.KeyValuePair(nil), co.Environment...), sortedPairs(a.env)...)
		sort.SliceStable(co.Environment, func(i, j int) bool {
			return aws.ToString(co.Environment[i].Name) < aws.ToString(co.Environment[j].Name)
		})
		if a.command != nil {
			co.Command = a.command
		}
	}
	if r.files != nil && len(r.files.values) > 0 {
		co := findOverride(out, FilesContainer)
		co.Environment = sortedPairs(r.files.values)
	}
	if len(out.ContainerOverrides) == 0 && out.Cpu == nil && out.Memory == nil {
		return r.tr.RunTask.Overrides
	}
	return out
}

// containerOrder is the Pod's containers in task order.
func (r *resolver) containerOrder() []string {
	var out []string
	for _, c := range r.pod.Spec.InitContainers {
		out = append(out, c.Name)
	}
	for _, c := range r.pod.Spec.Containers {
		out = append(out, c.Name)
	}
	return out
}

// findOverride returns the container's override in o, added when o has none.
func findOverride(o *ecstypes.TaskOverride, name string) *ecstypes.ContainerOverride {
	for i := range o.ContainerOverrides {
		if aws.ToString(o.ContainerOverrides[i].Name) == name {
			return &o.ContainerOverrides[i]
		}
	}
	o.ContainerOverrides = append(o.ContainerOverrides, ecstypes.ContainerOverride{Name: aws.String(name)})
	return &o.ContainerOverrides[len(o.ContainerOverrides)-1]
}

func sortedPairs(m map[string]string) []ecstypes.KeyValuePair {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]ecstypes.KeyValuePair, 0, len(names))
	for _, n := range names {
		out = append(out, ecstypes.KeyValuePair{Name: aws.String(n), Value: aws.String(m[n])})
	}
	return out
}

// checkSizes refuses a task definition or overrides larger than ECS takes.
func (r *resolver) checkSizes(td *ecs.RegisterTaskDefinitionInput, o *ecstypes.TaskOverride) {
	cp := *td
	cp.Tags = nil
	if n, err := translate.CanonicalLength(&cp); err == nil && n > translate.MaxTaskDefinitionBytes {
		r.refuse("spec", translate.ReasonFieldNotSupported,
			"with the values resolved at start the task definition would be %d bytes and ECS registers at most %d; use fewer Service link variables (enableServiceLinks: false) or smaller literal values",
			n, translate.MaxTaskDefinitionBytes)
	}
	if o == nil {
		return
	}
	if n, err := translate.CanonicalLength(o); err == nil && n > translate.MaxOverrides {
		r.refuse("spec.containers", ReasonOverridesTooLarge,
			"the values resolved at start (ConfigMap variables, the Pod's labels and annotations in downwardAPI files, the service-account token) need %d characters of RunTask overrides and ECS takes at most %d; "+
				"read large ConfigMaps as files (a configMap volume) rather than variables",
			n, translate.MaxOverrides)
	}
}
