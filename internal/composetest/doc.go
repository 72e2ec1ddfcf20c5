// Package composetest tests docker-compose.yml for real: it builds the image with
// deploy/docker/build.sh, brings the three-node cluster up under a project name of its own,
// and drives it from the host with the tmux-orc binary, a host bridge and a private tmux
// server: status, publish and read through different nodes, delivery into a pane, docker
// kill under load, a network partition, a rolling restart and what `down` keeps. Docker is
// installed (Debian's docker.io and docker-compose) and started when missing; under CI
// ($CI set) a Docker that cannot be set up fails the tests instead of skipping them.
// Its only code is tests.
package composetest
