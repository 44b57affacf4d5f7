package managed

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
)

// Translations of the members of api/ecs/v1alpha1/members_*_types.go that several kinds share.

// Secrets translates secrets (a container's secrets, a log configuration's secretOptions).
func Secrets(in []ecsv1alpha1.Secret) []ecstypes.Secret {
	var out []ecstypes.Secret
	for _, s := range in {
		out = append(out, ecstypes.Secret{Name: aws.String(s.Name), ValueFrom: aws.String(s.ValueFrom)})
	}
	return out
}

// CapacityProviderStrategy translates a capacity provider strategy (nil when empty); weight and
// base left out are ECS's default 0.
func CapacityProviderStrategy(in []ecsv1alpha1.CapacityProviderStrategyItem) []ecstypes.CapacityProviderStrategyItem {
	var out []ecstypes.CapacityProviderStrategyItem
	for _, it := range in {
		out = append(out, ecstypes.CapacityProviderStrategyItem{
			CapacityProvider: aws.String(it.CapacityProvider), Weight: aws.ToInt32(it.Weight), Base: aws.ToInt32(it.Base),
		})
	}
	return out
}

// PlacementConstraints translates placement constraints (nil when empty).
func PlacementConstraints(in []ecsv1alpha1.PlacementConstraint) []ecstypes.PlacementConstraint {
	var out []ecstypes.PlacementConstraint
	for _, c := range in {
		out = append(out, ecstypes.PlacementConstraint{Type: ecstypes.PlacementConstraintType(c.Type), Expression: ecscall.OptString(c.Expression)})
	}
	return out
}

// PlacementStrategy translates placement strategy rules (nil when empty).
func PlacementStrategy(in []ecsv1alpha1.PlacementStrategy) []ecstypes.PlacementStrategy {
	var out []ecstypes.PlacementStrategy
	for _, p := range in {
		out = append(out, ecstypes.PlacementStrategy{Type: ecstypes.PlacementStrategyType(p.Type), Field: ecscall.OptString(p.Field)})
	}
	return out
}

// EnvironmentFiles translates environment files (nil when empty).
func EnvironmentFiles(in []ecsv1alpha1.EnvironmentFile) []ecstypes.EnvironmentFile {
	var out []ecstypes.EnvironmentFile
	for _, f := range in {
		out = append(out, ecstypes.EnvironmentFile{Value: aws.String(f.Value), Type: ecstypes.EnvironmentFileType(f.Type)})
	}
	return out
}
