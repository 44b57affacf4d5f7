package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nodeless version and the versions it embeds",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "nodeless %s\n", version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, dep := range bi.Deps {
					switch dep.Path {
					case "k8s.io/kubernetes", "github.com/containerd/containerd", "go.etcd.io/etcd/server/v3",
						"github.com/aws/aws-sdk-go-v2/service/ecs", "sigs.k8s.io/controller-runtime":
						fmt.Fprintf(cmd.OutOrStdout(), "  %s %s\n", dep.Path, dep.Version)
					}
				}
			}
			return nil
		},
	}
}
