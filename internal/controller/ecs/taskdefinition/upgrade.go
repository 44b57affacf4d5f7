package taskdefinition

import (
	"context"
	"strconv"
	"strings"

	ecsv1alpha1 "github.com/nodeless-dev/nodeless/api/ecs/v1alpha1"
	"github.com/nodeless-dev/nodeless/internal/controller/ecscall"
	"github.com/nodeless-dev/nodeless/internal/controller/reconciler"
	"github.com/nodeless-dev/nodeless/internal/controller/revision"
)

// restoreArns gives back the revision ARNs of a status written by a nodeless that spelled them
// taskDefinitionARN: the API server prunes those members as unknown since they are spelled
// taskDefinitionArn, but the rest of the status (family, revisions, spec hashes) is intact.
// Without the ARNs the object would never be Ready (its Services would wait for a first revision
// that exists) and could neither tag nor deregister its revisions; registering again instead would
// duplicate the newest revision. A revision's ARN is the family's ARN prefix and its number
// (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION); the prefix is read from the family's
// newest ACTIVE revision (one DescribeTaskDefinition, once). When the family has none left, the
// status is dropped and the spec registered anew, as for an object seen for the first time.
func (r *Reconciler) restoreArns(ctx context.Context, td *ecsv1alpha1.TaskDefinition) *reconciler.Problem {
	st := &td.Status
	if !lostArns(st) {
		return nil
	}
	family := st.Family
	if family == "" {
		family = td.FamilyName()
	}
	latest, err := revision.Latest(ctx, r.ECS, family)
	if err != nil {
		return ecscall.FromECS("describing task definition family "+family, err)
	}
	if latest == nil {
		st.SpecHash, st.Revision, st.ActiveRevisions = "", 0, nil
		return nil
	}
	arn := latest.ARN()
	prefix := arn[:strings.LastIndexByte(arn, ':')+1]
	st.TaskDefinitionArn = prefix + strconv.Itoa(int(st.Revision))
	for i := range st.ActiveRevisions {
		if st.ActiveRevisions[i].TaskDefinitionArn == "" {
			st.ActiveRevisions[i].TaskDefinitionArn = prefix + strconv.Itoa(int(st.ActiveRevisions[i].Revision))
		}
	}
	return nil
}

// lostArns reports whether st records registered revisions without their ARNs.
func lostArns(st *ecsv1alpha1.TaskDefinitionStatus) bool {
	if st.SpecHash == "" || st.Revision == 0 {
		return false
	}
	if st.TaskDefinitionArn == "" {
		return true
	}
	for _, rev := range st.ActiveRevisions {
		if rev.TaskDefinitionArn == "" {
			return true
		}
	}
	return false
}
