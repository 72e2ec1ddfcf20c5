package tmux

import (
	"context"
	"fmt"
	"strings"
)

// Names of the user options that tag panes (or whole windows) for tmux-orc.
const (
	// OptionRole is the user option holding an agent's role.
	OptionRole = "@orc-role"
	// OptionGroup is the user option holding an agent's group.
	OptionGroup = "@orc-group"
)

// PaneOption returns the value of option name set on pane paneID itself,
// not inherited; "" when it is unset there.
func PaneOption(ctx context.Context, r Runner, paneID, name string) (string, error) {
	v, err := showOption(ctx, r, "-p", paneID, name)
	if err != nil {
		return "", fmt.Errorf("reading pane option %s of %s: %w", name, paneID, err)
	}
	return v, nil
}

// WindowOption returns the value of option name set on the window of pane
// paneID, not inherited; "" when it is unset there.
func WindowOption(ctx context.Context, r Runner, paneID, name string) (string, error) {
	v, err := showOption(ctx, r, "-w", paneID, name)
	if err != nil {
		return "", fmt.Errorf("reading window option %s of %s: %w", name, paneID, err)
	}
	return v, nil
}

// SetPaneOption sets option name on pane paneID.
func SetPaneOption(ctx context.Context, r Runner, paneID, name, value string) error {
	if err := setOption(ctx, r, "-p", paneID, name, value); err != nil {
		return fmt.Errorf("setting pane option %s of %s: %w", name, paneID, err)
	}
	return nil
}

// SetWindowOption sets option name on the window of pane paneID.
func SetWindowOption(ctx context.Context, r Runner, paneID, name, value string) error {
	if err := setOption(ctx, r, "-w", paneID, name, value); err != nil {
		return fmt.Errorf("setting window option %s of %s: %w", name, paneID, err)
	}
	return nil
}

func showOption(ctx context.Context, r Runner, scope, paneID, name string) (string, error) {
	if !validPaneID(paneID) {
		return "", ErrInvalidPane
	}
	lines, err := r.Run(ctx, Cmd{"show-options", scope, "-q", "-v", "-t", paneID, name})
	if err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

func setOption(ctx context.Context, r Runner, scope, paneID, name, value string) error {
	if !validPaneID(paneID) {
		return ErrInvalidPane
	}
	_, err := r.Run(ctx, Cmd{"set-option", scope, "-t", paneID, "--", name, value})
	return err
}
