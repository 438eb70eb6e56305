package cli

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

func (a *app) tokenCommand() *cobra.Command {
	create := a.leaf("create NAME --role ROLE", "Create an API token; prints the secret once", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := required(cmd, "role"); err != nil {
				return err
			}
			role, _ := cmd.Flags().GetString("role")
			k, err := c.CreateToken(cmd.Context(), args[0], driverhub.Role(role))
			if err != nil {
				return err
			}
			return render(cmd, k, func(p *printer) {
				tokenDetail(p, k)
				p.kv("Token", k.Token)
				notice(cmd, "Keep the token now: it is not shown again.")
			})
		})
	create.Flags().String("role", "", "role, no higher than yours: admin, developer or viewer")
	addOutputFlag(create)

	list := a.leaf("list", "List API tokens (yours, or every one for admins)", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.Token], error) {
				return c.ListTokens(cmd.Context(), p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("ID", "NAME", "ROLE", "AGE")
				for _, k := range l.Items {
					p.row(k.ID, k.Name, string(k.Role), age(k.CreatedAt))
				}
			})
		})
	list.Aliases = []string{"ls"}
	listFlags(list)

	get := a.leaf("get ID", "Show an API token (never its secret)", exactArgs("ID"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			k, err := c.GetToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return render(cmd, k, func(p *printer) { tokenDetail(p, k) })
		})
	addOutputFlag(get)

	revoke := a.leaf("revoke ID", "Revoke an API token", exactArgs("ID"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			notice(cmd, "Revoked token %s", args[0])
			return nil
		})

	return a.group("token", "Create, list and revoke API tokens", create, list, get, revoke)
}

func tokenDetail(p *printer, k *driverhub.Token) {
	p.kv("ID", k.ID)
	p.kv("Name", k.Name)
	p.kv("Role", k.Role)
	p.kv("Created", stamp(&k.CreatedAt))
}

// password reads --password, else a secret from stdin or a prompt.
func password(cmd *cobra.Command) (string, error) {
	if cmd.Flags().Changed("password") {
		pw, _ := cmd.Flags().GetString("password")
		return pw, nil
	}
	return readSecret(cmd, "Password: ")
}

func (a *app) userCommand() *cobra.Command {
	return a.group("user", "Manage the tenant's users",
		a.userCreate(), a.userList(), a.userGet(), a.userUpdate(), a.userDelete())
}

func (a *app) userCreate() *cobra.Command {
	cmd := a.leaf("create USERNAME --role ROLE [--password P]", "Create a user (the password is read from stdin or a prompt when not given)", exactArgs("USERNAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := required(cmd, "role"); err != nil {
				return err
			}
			pw, err := password(cmd)
			if err != nil {
				return err
			}
			roleFlag, _ := cmd.Flags().GetString("role")
			role := driverhub.Role(roleFlag)
			u, err := c.CreateUser(cmd.Context(), driverhub.UserInput{Username: &args[0], Password: &pw, Role: &role})
			if err != nil {
				return err
			}
			return render(cmd, u, func(p *printer) { userDetail(p, u) })
		})
	cmd.Flags().String("role", "", "role: admin, developer or viewer")
	cmd.Flags().String("password", "", "password (visible to other local users: prefer stdin or the prompt)")
	addOutputFlag(cmd)
	return cmd
}

func (a *app) userUpdate() *cobra.Command {
	cmd := a.leaf("update USERNAME [--role ROLE] [--password P | --new-password] [--current-password P]", "Change a user's role or password", exactArgs("USERNAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in driverhub.UserInput
			if cmd.Flags().Changed("role") {
				r, _ := cmd.Flags().GetString("role")
				role := driverhub.Role(r)
				in.Role = &role
			}
			ask, _ := cmd.Flags().GetBool("new-password")
			if in.Role == nil && !cmd.Flags().Changed("password") && !ask {
				return usagef(cmd, "nothing to change: give --role, --password or --new-password")
			}
			stdin := &secretLines{cmd: cmd}
			if cmd.Flags().Changed("password") || ask {
				pw, _ := cmd.Flags().GetString("password")
				if ask {
					var err error
					if pw, err = stdin.read("New password: "); err != nil {
						return err
					}
				}
				in.Password = &pw
			}
			if cmd.Flags().Changed("current-password") {
				cur, _ := cmd.Flags().GetString("current-password")
				in.CurrentPassword = &cur
			}
			u, err := c.UpdateUser(cmd.Context(), args[0], in)
			if needsCurrentPassword(err, in) {
				// Your own password: the server asks for the current one.
				cur, rerr := stdin.read("Current password: ")
				if rerr != nil {
					return rerr
				}
				in.CurrentPassword = &cur
				u, err = c.UpdateUser(cmd.Context(), args[0], in)
			}
			if err != nil {
				return err
			}
			return render(cmd, u, func(p *printer) { userDetail(p, u) })
		})
	cmd.Long = `Change a user's role (admins) or password.

Changing your own password needs your current one: give --current-password, or the command
asks for it when the server says it is needed (not when an admin changes another user's).
Passwords not given as flags are read from the terminal without echo, or else one a line
from standard input in this order: first the new password (with --new-password), then
your current password.`
	cmd.Example = `  driverhub user update bob --role viewer
  driverhub user update me --new-password                        # prompts for both
  printf '%s\n%s\n' "$NEW" "$CURRENT" | driverhub user update me --new-password`
	cmd.Flags().String("role", "", "new role: admin, developer or viewer")
	cmd.Flags().String("password", "", "new password (visible to other local users: prefer --new-password)")
	cmd.Flags().Bool("new-password", false, "read a new password from stdin or a prompt")
	cmd.Flags().String("current-password", "", "your current password, to change your own (default: read from stdin or a prompt when needed)")
	addOutputFlag(cmd)
	return cmd
}

// needsCurrentPassword reports whether the server refused a password
// change for want of the current password, and none was sent.
func needsCurrentPassword(err error, in driverhub.UserInput) bool {
	var e *driverhub.Error
	return in.CurrentPassword == nil && in.Password != nil && errors.As(err, &e) &&
		e.Code == driverhub.EInvalid && e.Field == "current_password"
}

// secretLines reads secrets one after another: from the terminal without
// echo, or one a line from stdin through one reader (a reader per secret
// would lose the next lines to the first one's buffer).
type secretLines struct {
	cmd *cobra.Command
	in  *bufio.Reader
}

func (s *secretLines) read(prompt string) (string, error) {
	if f, ok := s.cmd.InOrStdin().(*os.File); ok && isTerminal(f) {
		return readSecret(s.cmd, prompt)
	}
	if s.in == nil {
		s.in = bufio.NewReader(s.cmd.InOrStdin())
	}
	line, err := s.in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", failf("read standard input: %v", err)
	}
	return strings.TrimSpace(line), nil
}

func (a *app) userList() *cobra.Command {
	cmd := a.leaf("list", "List users", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.User], error) {
				return c.ListUsers(cmd.Context(), p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("USERNAME", "ROLE", "SYSTEM ADMIN", "AGE")
				for _, u := range l.Items {
					p.row(u.Username, string(u.Role), strconv.FormatBool(u.SystemAdmin), age(u.CreatedAt))
				}
			})
		})
	cmd.Aliases = []string{"ls"}
	listFlags(cmd)
	return cmd
}

func (a *app) userGet() *cobra.Command {
	cmd := a.leaf("get USERNAME", "Show a user", exactArgs("USERNAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			u, err := c.GetUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return render(cmd, u, func(p *printer) { userDetail(p, u) })
		})
	addOutputFlag(cmd)
	return cmd
}

func (a *app) userDelete() *cobra.Command {
	cmd := a.leaf("delete USERNAME", "Delete a user", exactArgs("USERNAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			notice(cmd, "Deleted user %s", args[0])
			return nil
		})
	return cmd
}

func userDetail(p *printer, u *driverhub.User) {
	p.kv("Username", u.Username)
	p.kv("Role", u.Role)
	p.kv("System admin", u.SystemAdmin)
	p.kv("Created", stamp(&u.CreatedAt))
	p.kv("Updated", stamp(&u.UpdatedAt))
}

func (a *app) tenantCommand() *cobra.Command {
	create := a.leaf("create NAME", "Create a tenant (system admins only); prints its admin's credentials once", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			t, err := c.CreateTenant(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return render(cmd, t, func(p *printer) {
				p.kv("Tenant", t.Name)
				p.kv("Admin", t.Admin.Username)
				p.kv("Password", t.Admin.Password)
				p.kv("Token", t.Token)
				notice(cmd, "Keep the password and token now: they are not shown again.")
			})
		})
	addOutputFlag(create)
	return a.group("tenant", "Create tenants", create)
}
