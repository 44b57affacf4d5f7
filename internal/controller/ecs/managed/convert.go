package managed

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
)

// KeyValuePairs translates name/value pairs.
func KeyValuePairs(in []ecsv1alpha1.KeyValuePair) []ecstypes.KeyValuePair {
	var out []ecstypes.KeyValuePair
	for _, kv := range in {
		out = append(out, ecstypes.KeyValuePair{Name: aws.String(kv.Name), Value: aws.String(kv.Value)})
	}
	return out
}

// Tags translates tags and appends extra ones.
func Tags(in []ecsv1alpha1.Tag, extra ...ecstypes.Tag) []ecstypes.Tag {
	var out []ecstypes.Tag
	for _, t := range in {
		out = append(out, ecstypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	return append(out, extra...)
}
