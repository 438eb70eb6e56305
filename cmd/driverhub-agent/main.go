// Command driverhub-agent is the edge agent alone, for gateways: the same
// `driverhub agent`, without the server, console or CLI. Build it with
// CGO_ENABLED=0 for the gateway's architecture.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/driverhub/driverhub/internal/agentcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := agentcmd.Main(ctx, "driverhub-agent", os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "driverhub-agent:", err)
		os.Exit(1)
	}
}
