package podstart

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
	"github.com/nodeless-dev/nodeless/internal/translate"
)

// Variables of the files container (besides podfiles.ManifestEnv).
const (
	objectEnvPrefix = "NODELESS_OBJ_"
	valueEnvPrefix  = "NODELESS_VAL_"
	tokenEnvPrefix  = "NODELESS_TOKEN_"
	// defaultTokenExpiration is a serviceAccountToken projection's expirationSeconds when it
	// gives none (the API's default).
	defaultTokenExpiration = 3600
)

// filesPlan is what the files container needs.
type filesPlan struct {
	manifest podfiles.Manifest
	// objects are the objects ("Kind/name") whose entries it reads, in order; objEnv their
	// variables' prefix.
	objects []string
	objEnv  map[string]string
	// values are the per-pod values it gets through RunTask overrides, by variable.
	values map[string]string
	tokens []tokenNeed
}

type tokenNeed struct {
	env, audience string
	expiration    int64
}

// planFiles describes the files of every volume of the StartPlan for the files container, and
// checks them as the agent will (so a missing object or key makes the Pod wait, before the task
// starts).
func (r *resolver) planFiles() error {
	if len(r.tr.Start.Volumes) == 0 {
		return nil
	}
	p := &filesPlan{objEnv: map[string]string{}, values: map[string]string{}}
	r.files = p
	for i := range r.tr.Start.Volumes {
		vf := &r.tr.Start.Volumes[i]
		v := podfiles.Volume{
			Name: vf.Volume, Dir: path.Join(podfiles.VolumesDir, vf.Volume), DefaultMode: vf.DefaultMode, FSGroup: vf.FSGroup, SubPath: vf.SubPath,
		}
		for j := range vf.Sources {
			src, err := r.fileSource(vf.Volume, &vf.Sources[j])
			if err != nil {
				return err
			}
			v.Sources = append(v.Sources, src)
		}
		if err := r.checkPayload(&v); err != nil {
			return err
		}
		p.manifest.Volumes = append(p.manifest.Volumes, v)
	}
	return nil
}

// fileSource is one projected source as the manifest says it.
func (r *resolver) fileSource(volume string, s *corev1.VolumeProjection) (podfiles.Source, error) {
	switch {
	case s.ConfigMap != nil:
		return r.objectSource(volume, kindConfigMap, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional)
	case s.Secret != nil:
		return r.objectSource(volume, kindSecret, s.Secret.Name, s.Secret.Items, s.Secret.Optional)
	case s.DownwardAPI != nil:
		return r.downwardSource(s.DownwardAPI.Items)
	case s.ServiceAccountToken != nil:
		return r.tokenSource(volume, s.ServiceAccountToken), nil
	}
	return podfiles.Source{}, nil // refused by translate (cluster trust bundles, Pod certificates)
}

func (r *resolver) objectSource(volume, kind, name string, items []corev1.KeyToPath, optional *bool) (podfiles.Source, error) {
	k := objKey(kind, name)
	p := r.files
	env, ok := p.objEnv[k]
	if !ok {
		env = objectEnvPrefix + strconv.Itoa(len(p.objEnv))
		p.objEnv[k] = env
	}
	opt := optional != nil && *optional
	src := &podfiles.ObjectSource{Kind: kind, Name: name, Env: env, Optional: opt}
	for _, it := range items {
		src.Items = append(src.Items, podfiles.Item{Key: it.Key, Path: it.Path, Mode: it.Mode})
	}
	o := r.objects.byKey[k]
	if o == nil || !o.found {
		if opt {
			return podfiles.Source{Object: src}, nil
		}
		return podfiles.Source{}, mountWaiting(volume, fmt.Sprintf("%s %q not found", strings.ToLower(kind), name))
	}
	for _, it := range items {
		if _, has := o.fileData[it.Key]; !has && !opt {
			what := "secret"
			if kind == kindConfigMap {
				what = "config"
			}
			return podfiles.Source{}, mountWaiting(volume, fmt.Sprintf("%s references non-existent %s key: %s", strings.ToLower(kind), what, it.Key))
		}
	}
	if !contains(p.objects, k) {
		p.objects = append(p.objects, k)
	}
	return podfiles.Source{Object: src}, nil
}

func mountWaiting(volume, msg string) *Waiting {
	return &Waiting{Reason: ReasonContainerCreating, EventReason: EventFailedMount,
		EventMessage: fmt.Sprintf("MountVolume.SetUp failed for volume %q : %s", volume, msg)}
}

// downwardSource: metadata files are per pod (RunTask overrides), resources the template's.
func (r *resolver) downwardSource(items []corev1.DownwardAPIVolumeFile) (podfiles.Source, error) {
	var src podfiles.Source
	for i := range items {
		it := &items[i]
		content, perPod, err := translate.DownwardAPIFile(r.pod, it)
		if err != nil {
			return podfiles.Source{}, fmt.Errorf("downwardAPI file %s: %w", it.Path, err)
		}
		f := podfiles.File{Path: it.Path, Mode: it.Mode}
		if perPod {
			f.Env = valueEnvPrefix + strconv.Itoa(len(r.files.values))
			r.files.values[f.Env] = content
		} else {
			f.Content = content
		}
		src.Files = append(src.Files, f)
	}
	return src, nil
}

func (r *resolver) tokenSource(volume string, t *corev1.ServiceAccountTokenProjection) podfiles.Source {
	if r.deps.Tokens == nil {
		r.refuse(r.volumePath(volume), ReasonNoTokens,
			"mounts a service-account token, and nodeless was started without a token source; give the Pod controller one, or set automountServiceAccountToken: false")
	}
	exp := int64(defaultTokenExpiration)
	if t.ExpirationSeconds != nil {
		exp = *t.ExpirationSeconds
	}
	env := tokenEnvPrefix + strconv.Itoa(len(r.files.tokens))
	r.files.tokens = append(r.files.tokens, tokenNeed{env: env, audience: t.Audience, expiration: exp})
	return podfiles.Source{Files: []podfiles.File{{Path: t.Path, Env: env}}}
}

// checkPayload computes the volume's files as the agent will, from the values it will get.
func (r *resolver) checkPayload(v *podfiles.Volume) error {
	vars := r.agentVars()
	for _, t := range r.files.tokens {
		vars[t.env] = "token" // issued once nothing stops the task from starting
	}
	_, err := podfiles.Payload(v, func(n string) (string, bool) { s, ok := vars[n]; return s, ok })
	if err != nil && v.SubPath != "" && strings.Contains(err.Error(), "is a file") {
		r.refuse(r.subPathMount(v.Name), ReasonSubPathFile, "%v", err)
		return nil
	}
	if err != nil {
		return mountWaiting(v.Name, err.Error())
	}
	return nil
}

// subPathMount is the path of the first volumeMount whose subPath made volume.
func (r *resolver) subPathMount(volume string) string {
	for _, vf := range r.tr.Start.Volumes {
		if vf.Volume != volume {
			continue
		}
		for _, list := range []struct {
			field string
			cs    []corev1.Container
		}{{"initContainers", r.pod.Spec.InitContainers}, {"containers", r.pod.Spec.Containers}} {
			for i, c := range list.cs {
				for j, m := range c.VolumeMounts {
					if m.SubPath == vf.SubPath {
						return fmt.Sprintf("spec.%s[%d].volumeMounts[%d].subPath", list.field, i, j)
					}
				}
			}
		}
	}
	return "spec.volumes"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// issueTokens asks for the service-account tokens the files hold.
func (r *resolver) issueTokens() error {
	if r.files == nil || r.deps.Tokens == nil {
		return nil
	}
	for _, t := range r.files.tokens {
		tok, err := r.deps.Tokens.Token(r.ctx, r.pod, t.audience, t.expiration)
		if err != nil {
			return fmt.Errorf("requesting a token for service account %s/%s: %w", r.pod.Namespace, r.pod.Spec.ServiceAccountName, err)
		}
		r.files.values[t.env] = tok.Value
		if r.tokenExpiry.IsZero() || tok.Expiry.Before(r.tokenExpiry) {
			r.tokenExpiry = tok.Expiry
		}
	}
	return nil
}

// volumePath is the path of the Pod volume a task volume was made of (the service-account
// token's task volume drops the random suffix of the Pod volume's name).
func (r *resolver) volumePath(taskVolume string) string {
	for i, v := range r.pod.Spec.Volumes {
		if v.Name == taskVolume || strings.HasPrefix(v.Name, taskVolume+"-") {
			return fmt.Sprintf("spec.volumes[%d]", i)
		}
	}
	return "spec.volumes"
}
