package podfiles

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The kubelet's names in a volume written atomically (k8s.io/kubernetes/pkg/volume/util
// AtomicWriter): the visible files are symlinks into ..data, itself a symlink to a timestamped
// directory that every update replaces.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
	maxFileName    = 255
	maxPath        = 4096
)

// The kubelet's fsGroup ownership masks for read-only volumes (pkg/volume/volume_linux.go).
const (
	readOnlyMask = 0o440
	execMask     = 0o110
)

// Write projects files into dir as the kubelet's AtomicWriter does, so an application watching
// ..data sees one change per update and never a half-written volume:
//
//  1. nothing is written when the files are what ..data already holds (it only makes sure the
//     visible symlinks exist);
//  2. otherwise the files go into a new directory ..YYYY_MM_DD_HH_MM_SS.NNNN (mode 0755), with
//     their modes; with fsGroup, every file and directory of the volume is then group-owned by it,
//     files gain 0440 and directories 0550 and setgid (the kubelet's ownership of read-only
//     volumes);
//  3. ..data_tmp points to it and is renamed to ..data (atomic), a symlink name → ..data/name is
//     made for each top-level name, the names no longer in files are removed, and so is the old
//     timestamped directory.
//
// It reports whether it wrote. dir must exist. Paths must be relative, without "..", and not start
// with "..".
func Write(dir string, files map[string]FileProjection, fsGroup *int64) (bool, error) {
	clean := make(map[string]FileProjection, len(files))
	for p, f := range files {
		if err := checkPath(p); err != nil {
			return false, err
		}
		clean[path.Clean(p)] = f
	}
	dataDir := filepath.Join(dir, dataDirName)
	oldTs, err := os.Readlink(dataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("reading %s: %w", dataDir, err)
	}
	var remove []string
	if oldTs != "" {
		if remove, err = pathsToRemove(filepath.Join(dir, oldTs), clean); err != nil {
			return false, err
		}
		same, err := sameFiles(filepath.Join(dir, oldTs), clean)
		if err != nil {
			return false, err
		}
		if same && len(remove) == 0 {
			return false, visibleLinks(dir, clean)
		}
	}
	if err := publish(dir, clean, fsGroup); err != nil {
		return false, err
	}
	if err := visibleLinks(dir, clean); err != nil {
		return true, err
	}
	for _, p := range remove {
		if strings.Contains(p, "/") {
			continue // only top-level names are visible links
		}
		if err := os.Remove(filepath.Join(dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true, fmt.Errorf("removing %s: %w", p, err)
		}
	}
	if oldTs != "" {
		if err := os.RemoveAll(filepath.Join(dir, oldTs)); err != nil {
			return true, fmt.Errorf("removing the previous files %s: %w", oldTs, err)
		}
	}
	return true, nil
}

// publish writes files into a new timestamped directory and points ..data to it.
func publish(dir string, files map[string]FileProjection, fsGroup *int64) error {
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return fmt.Errorf("creating the files' directory: %w", err)
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	for p, f := range files {
		full := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("creating the directory of %s: %w", p, err)
		}
		if err := os.WriteFile(full, f.Data, fs.FileMode(f.Mode)); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		if err := os.Chmod(full, fs.FileMode(f.Mode)); err != nil { // WriteFile's mode is masked by the umask
			return fmt.Errorf("setting the mode of %s: %w", p, err)
		}
	}
	if fsGroup != nil {
		if err := setOwnership(dir, int(*fsGroup)); err != nil {
			_ = os.RemoveAll(ts)
			return err
		}
	}
	tmp := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmp) // left by an interrupted write
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		_ = os.RemoveAll(ts)
		return fmt.Errorf("linking the new files: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataDirName)); err != nil {
		_ = os.Remove(tmp)
		_ = os.RemoveAll(ts)
		return fmt.Errorf("publishing the new files: %w", err)
	}
	return nil
}

// setOwnership gives the volume to group gid as the kubelet does for fsGroup.
func setOwnership(dir string, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, gid); err != nil {
			return fmt.Errorf("giving %s to group %d: %w", p, gid, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode() | readOnlyMask
		if d.IsDir() {
			mode |= fs.ModeSetgid | execMask
		}
		return os.Chmod(p, mode)
	})
}

func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("invalid path: must not be empty")
	case path.IsAbs(p):
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	case len(p) > maxPath:
		return fmt.Errorf("invalid path: must be less than or equal to %d characters", maxPath)
	}
	items := strings.Split(p, "/")
	for _, item := range items {
		if item == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
		if len(item) > maxFileName {
			return fmt.Errorf("invalid path: filenames must be less than or equal to %d characters", maxFileName)
		}
	}
	if strings.HasPrefix(items[0], "..") && len(items[0]) > 2 {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}

// sameFiles reports whether the old directory holds every file with the same content.
func sameFiles(old string, files map[string]FileProjection) (bool, error) {
	for p, f := range files {
		b, err := os.ReadFile(filepath.Join(old, p))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !bytes.Equal(b, f.Data) {
			return false, nil
		}
	}
	return true, nil
}

// pathsToRemove are the paths of the old directory that files no longer have (directories that
// still hold a file kept).
func pathsToRemove(old string, files map[string]FileProjection) ([]string, error) {
	keep := map[string]bool{}
	for p := range files {
		for q := p; q != "." && q != ""; q = path.Dir(q) {
			keep[q] = true
		}
	}
	var out []string
	err := filepath.WalkDir(old, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(old, p)
		if rel != "." && !keep[filepath.ToSlash(rel)] {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

// visibleLinks makes name → ..data/name for every top-level name of files that has none.
func visibleLinks(dir string, files map[string]FileProjection) error {
	for p := range files {
		top, _, _ := strings.Cut(p, "/")
		link := filepath.Join(dir, top)
		if _, err := os.Readlink(link); !errors.Is(err, fs.ErrNotExist) {
			continue // there (or not a link, which the kubelet leaves alone too)
		}
		if err := os.Symlink(filepath.Join(dataDirName, top), link); err != nil {
			return fmt.Errorf("linking %s: %w", top, err)
		}
	}
	return nil
}
