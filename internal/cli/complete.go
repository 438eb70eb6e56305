package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
)

// addCompletions gives every command under cmd shell completion of the
// driver and instance names its usage line asks for (DRIVER, INSTANCE),
// read from the server with the usual settings.
func (a *app) addCompletions(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		a.addCompletions(sub)
	}
	if cmd.Args == nil || cmd.ValidArgsFunction != nil {
		return
	}
	var kinds []string
	for _, f := range strings.Fields(cmd.Use)[1:] {
		f = strings.Trim(f, "[]().")
		if f == "" || strings.HasPrefix(f, "-") || strings.ToUpper(f) != f {
			break // flags follow the arguments
		}
		kinds = append(kinds, f)
	}
	if len(kinds) == 0 {
		return
	}
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(kinds) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		switch kinds[len(args)] {
		case "DRIVER":
			return a.names(cmd, "driver"), cobra.ShellCompDirectiveNoFileComp
		case "INSTANCE":
			return a.names(cmd, "instance"), cobra.ShellCompDirectiveNoFileComp
		case "DIR", "FILE", "FILE|DIR":
			return nil, cobra.ShellCompDirectiveDefault
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// names lists the tenant's drivers or instances for completion; nothing
// when the server cannot be reached.
func (a *app) names(cmd *cobra.Command, kind string) []cobra.Completion {
	c, err := a.client(cmd)
	if err != nil {
		return nil
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, 5*time.Second)
	defer cancel()
	page := driverhub.Page{Limit: driverhub.MaxPageLimit}
	var out []cobra.Completion
	switch kind {
	case "driver":
		l, err := c.ListDrivers(ctx, driverhub.DriverFilter{}, page)
		if err != nil {
			return nil
		}
		for _, d := range l.Items {
			out = append(out, cobra.CompletionWithDesc(safeText(d.Name), safeText(d.Protocol+", "+string(d.Runtime))))
		}
	case "instance":
		l, err := c.ListInstances(ctx, page)
		if err != nil {
			return nil
		}
		for _, i := range l.Items {
			out = append(out, cobra.CompletionWithDesc(safeText(i.Name), safeText(i.Description)))
		}
	}
	return out
}
