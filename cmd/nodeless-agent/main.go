// Command nodeless-agent is the small static program nodeless runs inside tasks, in its own image
// (nodeless.local/nodeless-agent:<version> locally, a configured image on AWS). It depends on the
// standard library, internal/podfiles, internal/dataplane/runtime/crilog and containerd's
// logging-binary helper (runtime/v2/logging) only.
//
//	nodeless-agent files     write the files of the task's configMap, secret, downwardAPI and
//	                         projected volumes, as the kubelet writes them (the nodeless-files
//	                         init container: podfiles.Manifest in NODELESS_FILES_MANIFEST, the
//	                         ConfigMaps' and Secrets' data and the per-pod values in its
//	                         environment)
//	nodeless-agent log PATH  the local data plane's logging binary: the containerd shim runs it
//	                         for each container process and hands it the process's stdout and
//	                         stderr; it appends them to PATH in the CRI log format (crilog)
//	nodeless-agent version   print the version
//
// It never prints a value: only volume names, paths and counts.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/nodeless-dev/nodeless/internal/podfiles"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

func main() {
	if len(os.Args) == 3 && os.Args[1] == logCommand {
		runLogger(os.Args[2]) // exits
	}
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

func run(args []string, lookup podfiles.Lookup, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: nodeless-agent files | log PATH | version")
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	case podfiles.AgentCommand:
		if err := writeFiles(lookup, stdout); err != nil {
			fmt.Fprintln(stderr, "nodeless-agent files:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q: use files or version\n", args[0])
	return 2
}

// writeFiles fills every volume of the manifest.
func writeFiles(lookup podfiles.Lookup, stdout io.Writer) error {
	m, err := podfiles.ParseManifest(lookup)
	if err != nil {
		return err
	}
	for i := range m.Volumes {
		v := &m.Volumes[i]
		files, err := podfiles.Payload(v, lookup)
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if _, err := podfiles.Write(v.Dir, files, v.FSGroup); err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		fmt.Fprintf(stdout, "volume %s: %d files\n", v.Name, len(files))
	}
	return nil
}
