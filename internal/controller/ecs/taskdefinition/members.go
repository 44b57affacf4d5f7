package taskdefinition

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// The translation of the members of api/ecs/v1alpha1/members_taskdefinition_types.go.

// registerMembers sets the TaskDefinitionMembers of s on in.
func registerMembers(s *ecsv1alpha1.TaskDefinitionSpec, in *ecs.RegisterTaskDefinitionInput) {
	if pc := s.ProxyConfiguration; pc != nil {
		in.ProxyConfiguration = &ecstypes.ProxyConfiguration{
			Type: ecstypes.ProxyConfigurationType(pc.Type), ContainerName: aws.String(pc.ContainerName),
			Properties: managed.KeyValuePairs(pc.Properties),
		}
	}
	for _, c := range s.PlacementConstraints {
		in.PlacementConstraints = append(in.PlacementConstraints, ecstypes.TaskDefinitionPlacementConstraint{
			Type: ecstypes.TaskDefinitionPlacementConstraintType(c.Type), Expression: ecscall.OptString(c.Expression),
		})
	}
}

// containerMembers sets the ContainerMembers of c (and its logConfiguration's secretOptions) on out.
func containerMembers(c *ecsv1alpha1.ContainerDefinition, out *ecstypes.ContainerDefinition) {
	if rc := c.RepositoryCredentials; rc != nil {
		out.RepositoryCredentials = &ecstypes.RepositoryCredentials{CredentialsParameter: aws.String(rc.CredentialsParameter)}
	}
	if fc := c.FirelensConfiguration; fc != nil {
		out.FirelensConfiguration = &ecstypes.FirelensConfiguration{Type: ecstypes.FirelensConfigurationType(fc.Type), Options: fc.Options}
	}
	if lp := c.LinuxParameters; lp != nil {
		out.LinuxParameters = &ecstypes.LinuxParameters{InitProcessEnabled: lp.InitProcessEnabled}
		if caps := lp.Capabilities; caps != nil {
			out.LinuxParameters.Capabilities = &ecstypes.KernelCapabilities{Add: caps.Add, Drop: caps.Drop}
		}
	}
	for _, sc := range c.SystemControls {
		out.SystemControls = append(out.SystemControls, ecstypes.SystemControl{Namespace: ecscall.OptString(sc.Namespace), Value: ecscall.OptString(sc.Value)})
	}
	out.EnvironmentFiles = managed.EnvironmentFiles(c.EnvironmentFiles)
	if rp := c.RestartPolicy; rp != nil {
		out.RestartPolicy = &ecstypes.ContainerRestartPolicy{Enabled: aws.Bool(rp.Enabled), IgnoredExitCodes: rp.IgnoredExitCodes, RestartAttemptPeriod: rp.RestartAttemptPeriod}
	}
	out.Interactive, out.PseudoTerminal = c.Interactive, c.PseudoTerminal
	for _, u := range c.Ulimits {
		out.Ulimits = append(out.Ulimits, ecstypes.Ulimit{Name: ecstypes.UlimitName(u.Name), SoftLimit: u.SoftLimit, HardLimit: u.HardLimit})
	}
	if lc := c.LogConfiguration; lc != nil && out.LogConfiguration != nil {
		out.LogConfiguration.SecretOptions = managed.Secrets(lc.SecretOptions)
	}
}

// volumeMembers sets the VolumeMembers of v on out.
func volumeMembers(v *ecsv1alpha1.Volume, out *ecstypes.Volume) {
	efs := v.EfsVolumeConfiguration
	if efs == nil {
		return
	}
	out.EfsVolumeConfiguration = &ecstypes.EFSVolumeConfiguration{
		FileSystemId: aws.String(efs.FileSystemId), RootDirectory: ecscall.OptString(efs.RootDirectory),
		TransitEncryption: ecstypes.EFSTransitEncryption(efs.TransitEncryption), TransitEncryptionPort: efs.TransitEncryptionPort,
	}
	if ac := efs.AuthorizationConfig; ac != nil {
		out.EfsVolumeConfiguration.AuthorizationConfig = &ecstypes.EFSAuthorizationConfig{
			AccessPointId: ecscall.OptString(ac.AccessPointId), Iam: ecstypes.EFSAuthorizationConfigIAM(ac.IAM),
		}
	}
}
