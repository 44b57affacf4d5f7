package task

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecs/managed"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// The translation of the RunTask members of api/ecs/v1alpha1/members_service_types.go and
// members_task_types.go.

// runMembers sets the TaskMembers of s, and the override members, on in.
func runMembers(s *ecsv1alpha1.TaskSpec, in *ecs.RunTaskInput) {
	in.CapacityProviderStrategy = managed.CapacityProviderStrategy(s.CapacityProviderStrategy)
	in.PlacementConstraints = managed.PlacementConstraints(s.PlacementConstraints)
	in.PlacementStrategy = managed.PlacementStrategy(s.PlacementStrategy)
	if s.EnableExecuteCommand != nil {
		in.EnableExecuteCommand = *s.EnableExecuteCommand
	}
	if s.EnableECSManagedTags != nil {
		in.EnableECSManagedTags = *s.EnableECSManagedTags
	}
	if s.PropagateTags != "" {
		in.PropagateTags = ecstypes.PropagateTags(s.PropagateTags)
	}
	o := s.Overrides
	if o == nil {
		return
	}
	in.Overrides.ExecutionRoleArn = ecscall.OptString(o.ExecutionRoleArn)
	in.Overrides.TaskRoleArn = ecscall.OptString(o.TaskRoleArn)
	if es := o.EphemeralStorage; es != nil {
		in.Overrides.EphemeralStorage = &ecstypes.EphemeralStorage{SizeInGiB: es.SizeInGiB}
	}
	for i, c := range o.ContainerOverrides {
		out := &in.Overrides.ContainerOverrides[i]
		out.Cpu, out.Memory, out.MemoryReservation = c.Cpu, c.Memory, c.MemoryReservation
		out.EnvironmentFiles = managed.EnvironmentFiles(c.EnvironmentFiles)
	}
}
