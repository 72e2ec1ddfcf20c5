// Package deploy holds the deployment files of a tmux-orc cluster: systemd units, example
// cluster configurations, rolling-restart.sh and the container image (docker/). It has no Go
// code; its tests check that the scripts behave as documented without a cluster
// (internal/composetest runs the image and docker-compose.yml for real).
package deploy
