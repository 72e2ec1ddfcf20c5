// Package deploy holds the deployment files of a tmux-orc cluster: systemd units, example
// cluster configurations and rolling-restart.sh. It has no Go code; its tests check that the
// script behaves as documented without a cluster.
package deploy
