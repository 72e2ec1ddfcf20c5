package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

type daemonLogsOptions struct {
	f      *factory
	Follow bool
	Lines  int
}

func newCmdDaemonLogs(f *factory) *cobra.Command {
	opts := &daemonLogsOptions{f: f}
	cmd := &cobra.Command{
		Use:   "logs [-f] [-n N]",
		Short: "Print the daemon's log ($TMUX_ORC_HOME/logs/daemon.log)",
		Args:  argsBetween(0, 0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return daemonLogsRun(cmd.Context(), opts) },
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new lines until interrupted")
	cmd.Flags().IntVarP(&opts.Lines, "lines", "n", 50, "how many of the last lines to print (0: all)")
	return cmd
}

func daemonLogsRun(ctx context.Context, o *daemonLogsOptions) error {
	dir, err := o.f.Home()
	if err != nil {
		return err
	}
	path := dir.LogFile()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !o.Follow {
		return fmt.Errorf("no daemon log yet at %s (has the daemon ever started?)", path)
	}
	var offset int64
	if err == nil {
		var last []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			last = append(last, sc.Text())
			if o.Lines > 0 && len(last) > o.Lines {
				last = last[1:]
			}
		}
		offset, _ = f.Seek(0, io.SeekCurrent)
		f.Close()
		for _, l := range last {
			fmt.Fprintln(o.f.Out, l)
		}
	}
	if !o.Follow {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		if fi.Size() < offset { // rotated or truncated: start from the top of the new file
			offset = 0
		}
		if fi.Size() == offset {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		_, _ = f.Seek(offset, io.SeekStart)
		n, _ := io.Copy(o.f.Out, f)
		offset += n
		f.Close()
	}
}
