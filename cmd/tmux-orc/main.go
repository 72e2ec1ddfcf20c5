// Command tmux-orc carries prioritized notifications between AI coding agents in tmux panes,
// their monitors and their project managers over an embedded NATS server.
package main

import (
	"os"

	"github.com/tmux-orc/tmux-orc/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
