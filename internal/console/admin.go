package console

import (
	"net/http"
	"strings"

	"github.com/driverhub/driverhub"
)

var roles = []driverhub.Role{driverhub.RoleViewer, driverhub.RoleDeveloper, driverhub.RoleAdmin}

type usersData struct {
	Users []*driverhub.User
	Roles []driverhub.Role
	// The create form after a refused submit.
	Username string
	Role     driverhub.Role
	Errs     map[string]string
}

// usersPage lists the tenant's users (admins: the service refuses others).
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderUsers(w, r, s, http.StatusOK, &usersData{Role: driverhub.RoleDeveloper}, nil)
}

func (c *Console) renderUsers(w http.ResponseWriter, r *http.Request, s *session, status int, d *usersData, e *driverhub.Error) error {
	users, err := listAll(5000, func(p driverhub.Page) (driverhub.List[*driverhub.User], error) {
		return c.accounts.ListUsers(r.Context(), p)
	})
	if err != nil {
		return err
	}
	d.Users, d.Roles = users, roles
	if d.Errs == nil {
		d.Errs = map[string]string{}
	}
	if e != nil && e.Field != "" {
		d.Errs[e.Field] = e.Message
	}
	c.render(w, r, s, status, "users", view{Title: "users.title", Nav: "users", Err: e, Data: d})
	return nil
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	username, password, role := strings.TrimSpace(f.Get("username")), f.Get("password"), driverhub.Role(f.Get("role"))
	if _, err := c.accounts.CreateUser(r.Context(), driverhub.UserInput{Username: &username, Password: &password, Role: &role}); err != nil {
		return c.renderUsers(w, r, s, statusOf(err), &usersData{Username: username, Role: role}, c.publicError(r, err))
	}
	redirect(w, r, "/users", "user_created")
	return nil
}

// updateUser changes a user's role, and password when one is given (one's
// own with the current one).
func (c *Console) updateUser(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	in := driverhub.UserInput{}
	if role := driverhub.Role(f.Get("role")); role != "" {
		in.Role = &role
	}
	if pw := f.Get("password"); pw != "" {
		in.Password = &pw
	}
	if pw := f.Get("current_password"); pw != "" {
		in.CurrentPassword = &pw
	}
	if _, err := c.accounts.UpdateUser(r.Context(), r.PathValue("username"), in); err != nil {
		return c.renderUsers(w, r, s, statusOf(err), &usersData{Role: driverhub.RoleDeveloper}, c.publicError(r, err))
	}
	redirect(w, r, "/users", "user_saved")
	return nil
}

func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.accounts.DeleteUser(r.Context(), r.PathValue("username")); err != nil {
		return c.renderUsers(w, r, s, statusOf(err), &usersData{Role: driverhub.RoleDeveloper}, c.publicError(r, err))
	}
	redirect(w, r, "/users", "user_deleted")
	return nil
}

type tokensData struct {
	Tokens  []*driverhub.Token
	Roles   []driverhub.Role
	Session string           // the token id of this console session
	New     *driverhub.Token // a token just made: its secret is shown once
	Name    string
	Role    driverhub.Role
	Errs    map[string]string
}

// tokensPage lists API tokens: the tenant's for admins, one's own for others.
func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderTokens(w, r, s, http.StatusOK, &tokensData{Role: s.p.Role}, nil)
}

func (c *Console) renderTokens(w http.ResponseWriter, r *http.Request, s *session, status int, d *tokensData, e *driverhub.Error) error {
	tokens, err := listAll(5000, func(p driverhub.Page) (driverhub.List[*driverhub.Token], error) {
		return c.accounts.ListTokens(r.Context(), p)
	})
	if err != nil {
		return err
	}
	d.Tokens, d.Roles, d.Session = tokens, roles, s.p.TokenID
	if d.Errs == nil {
		d.Errs = map[string]string{}
	}
	if e != nil && e.Field != "" {
		d.Errs[e.Field] = e.Message
	}
	c.render(w, r, s, status, "tokens", view{Title: "tokens.title", Nav: "tokens", Err: e, Data: d})
	return nil
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request, s *session) error {
	name, role := strings.TrimSpace(r.PostForm.Get("name")), driverhub.Role(r.PostForm.Get("role"))
	k, err := c.accounts.CreateToken(r.Context(), name, role)
	if err != nil {
		return c.renderTokens(w, r, s, statusOf(err), &tokensData{Name: name, Role: role}, c.publicError(r, err))
	}
	return c.renderTokens(w, r, s, http.StatusCreated, &tokensData{New: k, Role: s.p.Role}, nil)
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if err := c.accounts.RevokeToken(r.Context(), id); err != nil {
		return c.renderTokens(w, r, s, statusOf(err), &tokensData{Role: s.p.Role}, c.publicError(r, err))
	}
	if id == s.p.TokenID { // revoking this session signs out
		c.clearSession(w, r)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	redirect(w, r, "/tokens", "token_revoked")
	return nil
}
