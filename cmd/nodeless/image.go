package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: owned by the helper building 'image'; replaced by the real command.
func newImageCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "image",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("image: not built yet") },
	}
}
