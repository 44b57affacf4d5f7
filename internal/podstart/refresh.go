package podstart

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// VolumeUpdate is the current content of one files volume of a running task.
type VolumeUpdate struct {
	// Volume is the task volume: runtime.VolumeDir(taskID, Volume) is where it is written.
	Volume  string
	Files   map[string]podfiles.FileProjection
	FSGroup *int64
}

// Refreshed is what Refresh computed.
type Refreshed struct {
	Volumes []VolumeUpdate
	// TokenExpiry is the earliest expiry of the tokens issued (zero: none).
	TokenExpiry time.Time
}

// Refresh computes the current files of the Pod's volumes that follow changes (the kubelet
// updates configMap, secret, downwardAPI and projected volumes, not subPath mounts), for the
// virtual node to write into each task volume's host directory with podfiles.Write — locally,
// where the node reaches the task's volumes (on AWS, files stay as they were at start). It reads
// the objects again and issues new service-account tokens, so the node calls it when an object
// the Pod reads changed (Start.Objects) and before a token expires (Start.TokenExpiry; the kubelet
// renews at 80% of its life).
//
// A missing object or key is a *Waiting, as at start: the node then keeps the files as they are
// (as the kubelet does when a volume's update fails). Nothing is mirrored.
func Refresh(ctx context.Context, pod *corev1.Pod, tr *translate.Translation, deps Deps) (*Refreshed, error) {
	if deps.Reader == nil {
		return nil, errors.New("podstart: Deps needs a Reader")
	}
	r := newResolver(ctx, pod, tr, &deps)
	if err := r.readObjects(); err != nil {
		return nil, err
	}
	if err := r.planFiles(); err != nil {
		return nil, err
	}
	if r.files == nil {
		return &Refreshed{}, nil
	}
	if len(r.refused) > 0 {
		return nil, &translate.RefusedError{Pod: pod.Namespace + "/" + pod.Name, Problems: r.refused}
	}
	if err := r.issueTokens(); err != nil {
		return nil, err
	}
	vars := r.agentVars()
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	out := &Refreshed{TokenExpiry: r.tokenExpiry}
	for i, v := range r.files.manifest.Volumes {
		if !r.tr.Start.Volumes[i].Update {
			continue
		}
		files, err := podfiles.Payload(&r.files.manifest.Volumes[i], lookup)
		if err != nil {
			return nil, mountWaiting(v.Name, err.Error())
		}
		out.Volumes = append(out.Volumes, VolumeUpdate{Volume: v.Name, Files: files, FSGroup: v.FSGroup})
	}
	return out, nil
}

// agentVars are the variables the files container gets: the objects' parts (as the mirror lays
// them out) and the per-pod values.
func (r *resolver) agentVars() map[string]string {
	vars := map[string]string{}
	for k, env := range r.files.objEnv {
		if o := r.objects.byKey[k]; o != nil && o.found {
			for i, part := range podfiles.Pack(o.fileData).Parts {
				vars[podfiles.PartEnv(env, i)] = part
			}
		}
	}
	for k, v := range r.files.values {
		vars[k] = v
	}
	return vars
}
