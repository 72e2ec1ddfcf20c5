// Command agentsimmain runs agentsim.Main; the integration tests build it.
package main

import (
	"os"

	"github.com/tmux-orc/tmux-orc/internal/agentsim"
)

func main() {
	os.Exit(agentsim.Main(os.Args[1:], os.Stdin, os.Stdout))
}
