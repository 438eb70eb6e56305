package console

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/driverhub/driverhub"
)

type instancesData struct {
	Items []*driverhub.Instance
	Next  string
	// The create form after a refused submit.
	Name, Description, Tags string
	Errs                    map[string]string
}

func (c *Console) listInstances(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderInstances(w, r, s, http.StatusOK, &instancesData{Errs: map[string]string{}}, nil)
}

func (c *Console) renderInstances(w http.ResponseWriter, r *http.Request, s *session, status int, d *instancesData, e *driverhub.Error) error {
	l, err := c.instances.ListInstances(r.Context(), driverhub.Page{Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	d.Items = l.Items
	if l.NextCursor != "" {
		d.Next = url.Values{"cursor": {l.NextCursor}}.Encode()
	}
	c.render(w, r, s, status, "instances", view{Title: "instances.title", Nav: "instances", Err: e, Data: d})
	return nil
}

// createInstance makes an instance and shows its gateway secret, once.
func (c *Console) createInstance(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	d := &instancesData{Name: strings.TrimSpace(f.Get("name")), Description: f.Get("description"), Tags: f.Get("tags"), Errs: map[string]string{}}
	in := driverhub.InstanceInput{Name: &d.Name, Description: &d.Description}
	tags, err := parseTags(languageOf(r), d.Tags)
	if err == nil {
		in.Tags = &tags
		var i *driverhub.Instance
		if i, err = c.instances.CreateInstance(r.Context(), in); err == nil {
			c.renderSecret(w, r, s, http.StatusCreated, i, false)
			return nil
		}
	}
	e := c.publicError(r, err)
	if e.Field != "" {
		d.Errs[fieldRoot(e.Field)] = e.Message
	}
	return c.renderInstances(w, r, s, statusOf(e), d, e)
}

// fieldRoot maps tags.<key> onto the tags field.
func fieldRoot(field string) string {
	if strings.HasPrefix(field, "tags.") {
		return "tags"
	}
	return field
}

// parseTags reads "key=value" lines.
func parseTags(lang, s string) (map[string]string, error) {
	tags := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, driverhub.Invalid("tags", "%s: %q", text(lang, "form.tag_line"), line)
		}
		tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return tags, nil
}

func formatTags(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + tags[k] + "\n")
	}
	return b.String()
}

type secretData struct {
	Instance      string
	Secret        string
	Command       string
	SecretCommand string
	Rotated       bool
}

// AgentCommand is the command that runs the edge agent of an instance
// against serverURL, reading the secret from the file SecretFileLine writes.
func AgentCommand(serverURL string) string {
	return "driverhub agent --server " + serverURL + " --dir /var/lib/driverhub-agent --secret-file /etc/driverhub/gateway-secret"
}

// SecretFileCommand writes a gateway secret where AgentCommand reads it,
// readable by root only. It reads the secret from the terminal without
// echoing it (bash's read -s), so the secret is never part of a command
// line: not in the shell's history, not in the process list.
func SecretFileCommand() string {
	return "install -d -m 0700 /etc/driverhub /var/lib/driverhub-agent && IFS= read -rs DRIVERHUB_SECRET && " +
		"printf '%s\\n' \"$DRIVERHUB_SECRET\" | install -m 0600 /dev/stdin /etc/driverhub/gateway-secret; unset DRIVERHUB_SECRET"
}

func (c *Console) renderSecret(w http.ResponseWriter, r *http.Request, s *session, status int, i *driverhub.Instance, rotated bool) {
	c.render(w, r, s, status, "secret", view{Title: "secret.title", Nav: "instances", Data: secretData{Instance: i.Name,
		Secret: i.GatewaySecret, Command: AgentCommand(c.baseURL(r)), SecretCommand: SecretFileCommand(), Rotated: rotated}})
}

// baseURL is the URL gateways reach this server at: the configured one,
// else the one this request came to.
func (c *Console) baseURL(r *http.Request) string {
	if c.serverURL != "" {
		return c.serverURL
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (c *Console) rotateSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	i, err := c.instances.RotateGatewaySecret(r.Context(), r.PathValue("instance"))
	if err != nil {
		return err
	}
	c.renderSecret(w, r, s, http.StatusOK, i, true)
	return nil
}

func (c *Console) updateInstance(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("instance")
	f := r.PostForm
	description, tagText := f.Get("description"), f.Get("tags")
	tags, err := parseTags(languageOf(r), tagText)
	if err == nil {
		_, err = c.instances.UpdateInstance(r.Context(), name, driverhub.InstanceInput{Description: &description, Tags: &tags})
	}
	if err != nil {
		return c.refuseOnInstance(w, r, s, err, func(d *instanceData) { d.Description, d.Tags = description, tagText })
	}
	redirect(w, r, "/instances/"+esc(name), "instance_saved")
	return nil
}

func (c *Console) deleteInstance(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.instances.DeleteInstance(r.Context(), r.PathValue("instance")); err != nil {
		return c.refuseOnInstance(w, r, s, err, nil)
	}
	redirect(w, r, "/instances", "instance_deleted")
	return nil
}

// bind puts a driver on the instance or changes its version. The choice
// is "publisher|driver|version"; an empty version means the newest published.
func (c *Console) bind(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("instance")
	choice := r.PostForm.Get("choice")
	parts := strings.SplitN(choice, "|", 3)
	if len(parts) != 3 || parts[1] == "" {
		return c.refuseOnInstance(w, r, s, driverhub.Invalid("choice", "%s", text(languageOf(r), "bind.choose")), nil)
	}
	in := driverhub.BindingInput{}
	if parts[0] != "" {
		in.Publisher = &parts[0]
	}
	if parts[2] != "" {
		in.Version = &parts[2]
	}
	if _, err := c.instances.Bind(r.Context(), name, parts[1], in); err != nil {
		return c.refuseOnInstance(w, r, s, err, nil)
	}
	redirect(w, r, localPath(r.PostForm.Get("next"), "/instances/"+esc(name)), "bound")
	return nil
}

// confirmUnbind asks before a driver leaves an instance (what the dialog
// asks, for browsers without JavaScript).
func (c *Console) confirmUnbind(w http.ResponseWriter, r *http.Request, s *session) error {
	name, drv := r.PathValue("instance"), r.PathValue("driver")
	if _, err := c.instances.GetBinding(r.Context(), name, drv); err != nil {
		return err
	}
	base := "/instances/" + esc(name)
	c.render(w, r, s, http.StatusOK, "confirm", view{Title: "unbind.heading", Nav: "instances", Data: confirmData{
		Heading: "unbind.heading", Body: "unbind.body", Arg: drv, Button: "instance.unbind",
		Action: base + "/drivers/" + esc(drv) + "/unbind", Back: base, Danger: true}})
	return nil
}

func (c *Console) unbind(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("instance")
	if err := c.instances.Unbind(r.Context(), name, r.PathValue("driver")); err != nil {
		return c.refuseOnInstance(w, r, s, err, nil)
	}
	redirect(w, r, "/instances/"+esc(name), "unbound")
	return nil
}

// deploy creates a deployment (deploy or reset) and shows it.
func (c *Console) deploy(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("instance")
	d, err := c.deployments.CreateDeployment(r.Context(), name, driverhub.DeployType(r.PostForm.Get("type")))
	if err != nil {
		return c.refuseOnInstance(w, r, s, err, nil)
	}
	redirect(w, r, "/instances/"+esc(name)+"/deployments/"+esc(d.ID), "deployment_created")
	return nil
}
