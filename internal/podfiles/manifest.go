package podfiles

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Environment of the nodeless-files init container.
const (
	// ManifestEnv holds the Manifest as JSON (in the task definition: it is the same for every Pod
	// of a template).
	ManifestEnv = "NODELESS_FILES_MANIFEST"
	// AgentCommand is the agent's subcommand that writes the files.
	AgentCommand = "files"
	// VolumesDir is where the init container mounts each files volume: VolumesDir/<volume>.
	VolumesDir = "/nodeless/volumes"
)

// Manifest tells the files agent what to write: which object's keys, and which values, become
// which files of which volume, with which modes and group. It is derived from the Pod spec alone,
// so it belongs in the task definition; the values come through the container's environment
// (ECS secrets for ConfigMap and Secret data, RunTask overrides for per-pod values).
type Manifest struct {
	Volumes []Volume `json:"volumes"`
}

// Volume is one task volume to fill, as the kubelet fills a configMap, secret, downwardAPI or
// projected volume.
type Volume struct {
	// Name is the task volume's name; Dir where the agent finds it (VolumesDir/Name).
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// DefaultMode is the mode of files without one of their own.
	DefaultMode int32 `json:"defaultMode"`
	// FSGroup, when set, owns the volume's files and directories (group-readable, setgid
	// directories), as the kubelet's fsGroup ownership does.
	FSGroup *int64 `json:"fsGroup,omitempty"`
	// SubPath, when set, is the directory of the sources written (at the volume's root): a
	// volumeMounts subPath.
	SubPath string `json:"subPath,omitempty"`
	// Sources are written in order; a later source's file replaces an earlier one's.
	Sources []Source `json:"sources"`
}

// Source is one projected source: a ConfigMap's or Secret's keys, or files with given content.
type Source struct {
	Object *ObjectSource `json:"object,omitempty"`
	Files  []File        `json:"files,omitempty"`
}

// ObjectSource is a ConfigMap's or Secret's data: its parts (Pack) are in the variables
// Env_0, Env_1, ... (none when the object does not exist).
type ObjectSource struct {
	// Kind and Name name the object in messages.
	Kind string `json:"kind"`
	Name string `json:"name"`
	Env  string `json:"env"`
	// Items choose keys and their paths; nil writes every key under its own name.
	Items []Item `json:"items,omitempty"`
	// Optional: a missing object, or key, writes nothing instead of failing.
	Optional bool `json:"optional,omitempty"`
}

// Item is a key written to a path.
type Item struct {
	Key  string `json:"key"`
	Path string `json:"path"`
	Mode *int32 `json:"mode,omitempty"`
}

// File is a file whose content the manifest gives (Content: the same for every Pod of the
// template) or a variable holds (Env: a per-pod value, from RunTask overrides).
type File struct {
	Path    string `json:"path"`
	Mode    *int32 `json:"mode,omitempty"`
	Env     string `json:"env,omitempty"`
	Content string `json:"content,omitempty"`
}

// PartEnv is the variable holding part i of the object whose ObjectSource.Env is env.
func PartEnv(env string, i int) string { return env + "_" + strconv.Itoa(i) }

// FileProjection is a file to write: its content and mode (as the kubelet's
// volume/util.FileProjection).
type FileProjection struct {
	Data []byte
	Mode int32
}

// Lookup returns an environment variable of the agent (os.LookupEnv).
type Lookup func(name string) (string, bool)

// ParseManifest decodes the manifest of the agent's environment.
func ParseManifest(lookup Lookup) (*Manifest, error) {
	raw, ok := lookup(ManifestEnv)
	if !ok {
		return nil, fmt.Errorf("%s is not set: the files agent runs as the nodeless-files init container of a task nodeless made", ManifestEnv)
	}
	var m Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestEnv, err)
	}
	return &m, nil
}

// Payload computes the files of v, as the kubelet's projected volume does: every source in order,
// a ConfigMap's or Secret's keys (all of them, or the items), and the given files, each with its
// mode (else DefaultMode). A missing object or key fails unless the source is optional. With a
// SubPath, only what lies under it is kept, relative to it.
func Payload(v *Volume, lookup Lookup) (map[string]FileProjection, error) {
	out := map[string]FileProjection{}
	for i := range v.Sources {
		s := &v.Sources[i]
		if s.Object != nil {
			if err := objectFiles(s.Object, v.DefaultMode, lookup, out); err != nil {
				return nil, err
			}
		}
		for _, f := range s.Files {
			data := f.Content
			if f.Env != "" {
				var ok bool
				if data, ok = lookup(f.Env); !ok {
					return nil, fmt.Errorf("file %s: its value (%s) was not given to the task", f.Path, f.Env)
				}
			}
			out[f.Path] = FileProjection{Data: []byte(data), Mode: modeOr(f.Mode, v.DefaultMode)}
		}
	}
	if v.SubPath == "" {
		return out, nil
	}
	return underSubPath(out, v.SubPath)
}

func objectFiles(o *ObjectSource, defaultMode int32, lookup Lookup, out map[string]FileProjection) error {
	var parts []string
	for i := 0; ; i++ {
		p, ok := lookup(PartEnv(o.Env, i))
		if !ok {
			break
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		if o.Optional {
			return nil
		}
		return fmt.Errorf("%s %q not found", strings.ToLower(o.Kind), o.Name)
	}
	data, err := Unpack(parts)
	if err != nil {
		return fmt.Errorf("%s %q: %w", strings.ToLower(o.Kind), o.Name, err)
	}
	if o.Items == nil {
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out[k] = FileProjection{Data: data[k], Mode: defaultMode}
		}
		return nil
	}
	for _, it := range o.Items {
		v, ok := data[it.Key]
		if !ok {
			if o.Optional {
				continue
			}
			return fmt.Errorf("%s %q references non-existent key %s", strings.ToLower(o.Kind), o.Name, it.Key)
		}
		out[it.Path] = FileProjection{Data: v, Mode: modeOr(it.Mode, defaultMode)}
	}
	return nil
}

func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}

// underSubPath keeps the files under dir, relative to it.
func underSubPath(files map[string]FileProjection, sub string) (map[string]FileProjection, error) {
	sub = path.Clean(sub)
	if _, ok := files[sub]; ok {
		return nil, fmt.Errorf("subPath %s is a file, and a task's mount points are directories; mount the volume without subPath and read %s in it", sub, sub)
	}
	out := map[string]FileProjection{}
	for p, f := range files {
		if rel, ok := strings.CutPrefix(p, sub+"/"); ok {
			out[rel] = f
		}
	}
	return out, nil
}
