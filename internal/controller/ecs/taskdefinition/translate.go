package taskdefinition

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// SpecHash is the content hash that decides whether the spec needs a new revision: the hash of
// the whole spec but the members ECS changes in place on a revision, which are only its tags
// (TagResource / UntagResource; every other member of RegisterTaskDefinition is fixed once the
// revision is registered).
func SpecHash(spec *ecsv1alpha1.TaskDefinitionSpec) (string, error) {
	s := spec.DeepCopy()
	s.Tags = nil
	return ecscall.Hash(s)
}

// legacySpecHash is the hash revisions were registered under before tags were left out of it; it
// equals SpecHash for a spec without tags.
func legacySpecHash(spec *ecsv1alpha1.TaskDefinitionSpec) (string, error) {
	return ecscall.Hash(spec)
}

// RegisterInput translates a TaskDefinition into the RegisterTaskDefinition request that
// registers its spec, tagged with the spec's tags and its hash (SpecHash).
func RegisterInput(td *ecsv1alpha1.TaskDefinition, specHash string) *ecs.RegisterTaskDefinitionInput {
	s := &td.Spec
	in := &ecs.RegisterTaskDefinitionInput{
		Family:           aws.String(td.FamilyName()),
		Cpu:              ecscall.OptString(s.Cpu),
		Memory:           ecscall.OptString(s.Memory),
		ExecutionRoleArn: ecscall.OptString(s.ExecutionRoleArn),
		TaskRoleArn:      ecscall.OptString(s.TaskRoleArn),
		Tags:             managed.Tags(s.Tags, ecstypes.Tag{Key: aws.String(ecscall.TagSpecHash), Value: aws.String(specHash)}),
	}
	if s.NetworkMode != "" {
		in.NetworkMode = ecstypes.NetworkMode(s.NetworkMode)
	}
	if s.PidMode != "" {
		in.PidMode = ecstypes.PidMode(s.PidMode)
	}
	for _, c := range s.RequiresCompatibilities {
		in.RequiresCompatibilities = append(in.RequiresCompatibilities, ecstypes.Compatibility(c))
	}
	for i := range s.ContainerDefinitions {
		in.ContainerDefinitions = append(in.ContainerDefinitions, containerDefinition(&s.ContainerDefinitions[i]))
	}
	for i, v := range s.Volumes {
		vol := ecstypes.Volume{Name: aws.String(v.Name)}
		if v.Host != nil {
			vol.Host = &ecstypes.HostVolumeProperties{SourcePath: ecscall.OptString(v.Host.SourcePath)}
		}
		volumeMembers(&s.Volumes[i], &vol)
		in.Volumes = append(in.Volumes, vol)
	}
	if rp := s.RuntimePlatform; rp != nil {
		in.RuntimePlatform = &ecstypes.RuntimePlatform{
			CpuArchitecture:       ecstypes.CPUArchitecture(rp.CpuArchitecture),
			OperatingSystemFamily: ecstypes.OSFamily(rp.OperatingSystemFamily),
		}
	}
	if es := s.EphemeralStorage; es != nil {
		in.EphemeralStorage = &ecstypes.EphemeralStorage{SizeInGiB: es.SizeInGiB}
	}
	registerMembers(s, in)
	return in
}

func containerDefinition(c *ecsv1alpha1.ContainerDefinition) ecstypes.ContainerDefinition {
	out := ecstypes.ContainerDefinition{
		Name:                   aws.String(c.Name),
		Image:                  aws.String(c.Image),
		Cpu:                    c.Cpu,
		Memory:                 c.Memory,
		MemoryReservation:      c.MemoryReservation,
		Essential:              c.Essential,
		EntryPoint:             c.EntryPoint,
		Command:                c.Command,
		WorkingDirectory:       ecscall.OptString(c.WorkingDirectory),
		Environment:            managed.KeyValuePairs(c.Environment),
		StopTimeout:            c.StopTimeout,
		StartTimeout:           c.StartTimeout,
		User:                   ecscall.OptString(c.User),
		ReadonlyRootFilesystem: c.ReadonlyRootFilesystem,
		DockerLabels:           c.DockerLabels,
	}
	if out.Essential == nil {
		out.Essential = aws.Bool(true)
	}
	out.Secrets = managed.Secrets(c.Secrets)
	for _, p := range c.PortMappings {
		out.PortMappings = append(out.PortMappings, portMapping(p))
	}
	if hc := c.HealthCheck; hc != nil {
		out.HealthCheck = &ecstypes.HealthCheck{
			Command: hc.Command, Interval: hc.Interval, Timeout: hc.Timeout, Retries: hc.Retries, StartPeriod: hc.StartPeriod,
		}
	}
	for _, d := range c.DependsOn {
		out.DependsOn = append(out.DependsOn, ecstypes.ContainerDependency{
			ContainerName: aws.String(d.ContainerName), Condition: ecstypes.ContainerCondition(d.Condition),
		})
	}
	for _, m := range c.MountPoints {
		out.MountPoints = append(out.MountPoints, ecstypes.MountPoint{
			SourceVolume: aws.String(m.SourceVolume), ContainerPath: aws.String(m.ContainerPath), ReadOnly: m.ReadOnly,
		})
	}
	if lc := c.LogConfiguration; lc != nil {
		out.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriver(lc.LogDriver), Options: lc.Options}
	}
	containerMembers(c, &out)
	return out
}

func portMapping(p ecsv1alpha1.PortMapping) ecstypes.PortMapping {
	out := ecstypes.PortMapping{ContainerPort: aws.Int32(p.ContainerPort), HostPort: p.HostPort, Name: ecscall.OptString(p.Name)}
	if p.Protocol != "" {
		out.Protocol = ecstypes.TransportProtocol(p.Protocol)
	}
	if p.AppProtocol != "" {
		out.AppProtocol = ecstypes.ApplicationProtocol(p.AppProtocol)
	}
	return out
}
