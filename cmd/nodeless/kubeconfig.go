package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: owned by the helper building 'kubeconfig'; replaced by the real command.
func newKubeconfigCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "kubeconfig",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("kubeconfig: not built yet") },
	}
}
