// Package console serves driverhub's web console: server-rendered pages
// over the same services as the REST API, in English and Simplified
// Chinese, with a little plain JavaScript for dynamic rows, dialogs and
// refresh. Every rule lives in the services; the console only turns form
// fields into service inputs and shows each *driverhub.Error beside the
// field it names.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config wires the console to the services.
type Config struct {
	Accounts    driverhub.AccountService
	Drivers     driverhub.DriverService
	Instances   driverhub.InstanceService
	Deployments driverhub.DeploymentService
	Market      driverhub.MarketService
	// Rollouts moves a version to many instances, in waves.
	Rollouts driverhub.RolloutService
	// TUF tells which versions are signed (nil: the pages say nothing of it).
	TUF    driverhub.TUFService
	Logger *slog.Logger
	// SessionTTL is how long a console session lasts when the account
	// service can make expiring session tokens (default 12 h).
	SessionTTL time.Duration
	// ServerURL is the URL gateways reach this server at, shown in the
	// agent command; "" derives it from each request.
	ServerURL string
	// StrictI18n makes a missing translation key fail the page (tests);
	// otherwise the key itself is shown and logged.
	StrictI18n bool
}

// Console is the web console's HTTP handler.
type Console struct {
	accounts    driverhub.AccountService
	drivers     driverhub.DriverService
	instances   driverhub.InstanceService
	deployments driverhub.DeploymentService
	market      driverhub.MarketService
	rollouts    driverhub.RolloutService
	tuf         driverhub.TUFService
	log         *slog.Logger
	ttl         time.Duration
	serverURL   string
	strict      bool
	mux         *http.ServeMux
	pages       map[string]map[string]*template.Template // language → page → template
	static      http.Handler
}

// New returns the console with its templates parsed.
func New(c Config) (*Console, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	con := &Console{accounts: c.Accounts, drivers: c.Drivers, instances: c.Instances, deployments: c.Deployments,
		market: c.Market, rollouts: c.Rollouts, tuf: c.TUF, log: c.Logger, ttl: c.SessionTTL, serverURL: strings.TrimRight(c.ServerURL, "/"),
		strict: c.StrictI18n, mux: http.NewServeMux(), static: http.StripPrefix("/static/", http.FileServerFS(sub))}
	if err := con.parseTemplates(); err != nil {
		return nil, err
	}
	con.routes()
	return con, nil
}

// Must is New for wiring code: it panics on a template error, which only a
// broken build can cause.
func Must(c Config) *Console {
	con, err := New(c)
	if err != nil {
		panic(err)
	}
	return con
}

func (c *Console) routes() {
	c.mux.HandleFunc("GET /static/", c.serveStatic)
	c.mux.HandleFunc("GET /favicon.ico", c.serveFavicon)
	c.mux.HandleFunc("GET /login", c.loginPage)
	c.mux.HandleFunc("POST /login", c.login)
	c.mux.HandleFunc("GET /lang", c.switchLang)
	c.page("POST /logout", c.logout)
	c.page("GET /{$}", func(w http.ResponseWriter, r *http.Request, s *session) error {
		http.Redirect(w, r, "/drivers", http.StatusSeeOther)
		return nil
	})
	c.page("GET /", func(w http.ResponseWriter, r *http.Request, s *session) error {
		return driverhub.Errorf(driverhub.ENotFound, "no such page: %s", r.URL.Path)
	})
	c.page("POST /console/check-json", c.checkJSON)

	c.page("GET /drivers", c.listDrivers)
	c.page("GET /drivers/new", c.newDriverForm)
	c.upload("POST /drivers/new", c.createDriver)
	c.page("GET /drivers/{driver}", c.driverPage)
	c.page("POST /drivers/{driver}", c.updateDriver)
	c.page("POST /drivers/{driver}/delete", c.deleteDriver)
	c.page("POST /drivers/{driver}/listing", c.putListing)
	c.page("POST /drivers/{driver}/unlist", c.deleteListing)
	c.page("GET /drivers/{driver}/versions/new", c.newVersionForm)
	c.upload("POST /drivers/{driver}/versions/new", c.createVersion)
	c.page("GET /drivers/{driver}/versions/{version}", c.versionPage)
	c.upload("POST /drivers/{driver}/versions/{version}", c.updateVersion)
	c.page("GET /drivers/{driver}/versions/{version}/publish", c.confirmPublish)
	c.page("POST /drivers/{driver}/versions/{version}/publish", c.publishVersion)
	c.page("GET /drivers/{driver}/versions/{version}/delete", c.confirmDeleteVersion)
	c.page("POST /drivers/{driver}/versions/{version}/delete", c.deleteVersion)
	c.page("GET /drivers/{driver}/versions/{version}/package", c.downloadPackage)
	c.page("GET /drivers/{driver}/versions/{version}/config-file", c.downloadConfigFile)

	c.page("GET /marketplace", c.marketPage)
	c.page("GET /marketplace/{publisher}/{driver}", c.marketDriver)
	c.page("POST /marketplace/{publisher}/{driver}/acquire", c.acquire)
	c.page("GET /marketplace/{publisher}/{driver}/versions/{version}/package", c.downloadMarketPackage)

	c.page("GET /instances", c.listInstances)
	c.page("POST /instances", c.createInstance)
	c.page("GET /instances/{instance}", c.instancePage)
	c.page("POST /instances/{instance}", c.updateInstance)
	c.page("POST /instances/{instance}/delete", c.deleteInstance)
	c.page("POST /instances/{instance}/rotate-secret", c.rotateSecret)
	c.page("POST /instances/{instance}/bind", c.bind)
	c.page("GET /instances/{instance}/drivers/{driver}", c.bindingPage)
	c.upload("POST /instances/{instance}/drivers/{driver}/config", c.setBindingConfig)
	c.page("POST /instances/{instance}/drivers/{driver}/config/delete", c.deleteBindingConfig)
	c.page("GET /instances/{instance}/drivers/{driver}/unbind", c.confirmUnbind)
	c.page("POST /instances/{instance}/drivers/{driver}/unbind", c.unbind)
	c.page("POST /instances/{instance}/devices", c.associateDevice)
	c.page("POST /instances/{instance}/devices/{product}/{name}/remove", c.dissociateDevice)
	c.page("POST /instances/{instance}/deployments", c.deploy)
	c.page("GET /instances/{instance}/deployments/{id}", c.deploymentPage)
	c.page("POST /instances/{instance}/deployments/{id}/close", c.closeDeployment)

	c.rolloutRoutes()

	c.page("GET /users", c.usersPage)
	c.page("POST /users", c.createUser)
	c.page("POST /users/{username}", c.updateUser)
	c.page("POST /users/{username}/delete", c.deleteUser)
	c.page("GET /tokens", c.tokensPage)
	c.page("POST /tokens", c.createToken)
	c.page("POST /tokens/{id}/revoke", c.revokeToken)
}

// ServeHTTP serves the console. Cross-origin unsafe requests from browsers
// are refused before any handler runs, on top of each form's CSRF token.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

var crossOrigin = http.NewCrossOriginProtection()

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	c.static.ServeHTTP(w, r)
}

// serveFavicon answers the icon browsers ask for at the root, signed in or not.
func (c *Console) serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeFileFS(w, r, staticFS, "static/favicon.ico")
}

// handler is a console page: it runs with a session, and its error is
// shown as a page.
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// page registers a handler that needs a session; a POST must carry the
// session's CSRF token in a urlencoded form.
func (c *Console) page(pattern string, h handler) { c.register(pattern, h, false) }

// upload registers a handler of a multipart form: it checks the CSRF
// token itself, as the first part of the body (readMultipart).
func (c *Console) upload(pattern string, h handler) { c.register(pattern, h, true) }

func (c *Console) register(pattern string, h handler, multipartForm bool) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s, err := c.authenticate(r)
		if err != nil {
			c.toLogin(w, r)
			return
		}
		r = r.WithContext(driverhub.WithPrincipal(r.Context(), s.p))
		if r.Method == http.MethodPost && !multipartForm {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, s, driverhub.Invalid("", "unreadable form: %v", err))
				return
			}
			if !s.validCSRF(r.PostForm.Get("csrf")) {
				c.fail(w, r, s, errCSRF)
				return
			}
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

const maxFormBytes = 1 << 20

var errCSRF = &driverhub.Error{Code: driverhub.EPermissionDenied, Message: "the form's security token is missing or stale: reload the page and try again"}

// statusOf is the HTTP status of the page that shows err: the API's table.
func statusOf(err error) int { return apierror.StatusOf(err) }

// publicError returns err as the domain error to show, in the page's
// language; anything else is logged and shown as an internal error.
func (c *Console) publicError(r *http.Request, err error) *driverhub.Error {
	if e, ok := driverhub.AsError(err); ok && e.Code != driverhub.EInternal {
		return localize(languageOf(r), e)
	}
	if !errors.Is(err, context.Canceled) {
		c.log.Error("console: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return localize(languageOf(r), &driverhub.Error{Code: driverhub.EInternal, Message: "internal error"})
}

// fail shows an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	e := c.publicError(r, err)
	if e.Code == driverhub.EUnauthenticated {
		c.toLogin(w, r)
		return
	}
	status := statusOf(e)
	if e == errCSRF {
		status = http.StatusForbidden
	}
	c.render(w, r, s, status, "error", view{Title: "error.title", Err: e})
}

// view is what every page template receives.
type view struct {
	Title  string // translation key of the page title
	Nav    string // the navigation entry to highlight
	Notice string // translation key of a notice to show once
	Err    *driverhub.Error
	Data   any

	Lang  string
	User  *driverhub.Principal
	CSRF  string
	Path  string // this page's path and query, for the language switch
	Admin bool
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, v view) {
	lang := languageOf(r)
	if s != nil {
		v.User, v.CSRF, v.Admin = s.p, s.csrf, s.p.Role.AtLeast(driverhub.RoleAdmin)
	}
	v.Lang = lang
	v.Path = r.URL.RequestURI()
	if v.Notice == "" {
		if n := r.URL.Query().Get("notice"); n != "" {
			if _, ok := Translate(lang, "notice."+n); ok {
				v.Notice = "notice." + n
			}
		}
	}
	var buf bytes.Buffer
	if err := c.pages[lang][name].ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console: render", "page", name, "lang", lang, "err", err)
		msg := "internal error: the page could not be rendered"
		if c.strict {
			msg += ": " + err.Error() // tests: say which key is missing
		}
		http.Error(w, msg, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", lang)
	h.Set("Vary", "Cookie, Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// redirect answers a successful POST with 303 to target, adding a notice.
func redirect(w http.ResponseWriter, r *http.Request, target, notice string) {
	if notice != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "notice=" + url.QueryEscape(notice)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

// listAll reads every page of a list, up to max items.
func listAll[T any](max int, fetch func(driverhub.Page) (driverhub.List[T], error)) ([]T, error) {
	var out []T
	p := driverhub.Page{Limit: driverhub.MaxPageLimit}
	for {
		l, err := fetch(p)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" || len(out) >= max {
			return out, nil
		}
		p.Cursor = l.NextCursor
	}
}
