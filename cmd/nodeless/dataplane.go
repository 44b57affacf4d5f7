package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: owned by the helper building 'dataplane'; replaced by the real command.
func newDataplaneCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "dataplane",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("dataplane: not built yet") },
	}
}
