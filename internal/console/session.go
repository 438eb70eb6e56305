package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
)

// SessionCookie holds a console session: an API token of the user, made
// at login and revoked at logout.
const SessionCookie = "driverhub_session"

// LangCookie remembers the language chosen with /lang.
const LangCookie = "lang"

// session is a signed-in user's request.
type session struct {
	p     *driverhub.Principal
	token string
	csrf  string
}

// CSRFToken is the hidden form field every form of a session carries:
// hex(SHA-256("csrf:" + session token)). It changes with each session and
// reveals nothing of the token.
func CSRFToken(sessionToken string) string {
	h := sha256.Sum256([]byte("csrf:" + sessionToken))
	return hex.EncodeToString(h[:])
}

func (s *session) validCSRF(got string) bool {
	return len(got) == len(s.csrf) && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// authenticate reads the session cookie and asks the account service who it is.
func (c *Console) authenticate(r *http.Request) (*session, error) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, driverhub.Errorf(driverhub.EUnauthenticated, "no session")
	}
	p, err := c.accounts.Authenticate(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	return &session{p: p, token: ck.Value, csrf: CSRFToken(ck.Value)}, nil
}

// toLogin sends a request without a (valid) session to the login page,
// remembering where it was going when that was a page.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + urlQueryEscape(r.URL.RequestURI())
	}
	if _, err := r.Cookie(SessionCookie); err == nil {
		c.clearSession(w, r) // expired or revoked
	}
	if r.ContentLength != 0 {
		// Close rather than read a body no one will use.
		w.Header().Set("Connection", "close")
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

type loginData struct {
	Username string
	Next     string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.authenticate(r); err == nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next"), "/drivers"), http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "login", view{Title: "login.title", Data: loginData{Next: localPath(r.URL.Query().Get("next"), "")}})
}

// sessionMaker is what an account service offers when it can make
// console sessions that expire by themselves.
type sessionMaker interface {
	CreateSession(ctx context.Context, ttl time.Duration) (*driverhub.Token, error)
}

// login checks the password and makes the session: an API token of the
// user's role, kept in an HttpOnly cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	next := localPath(r.PostForm.Get("next"), "")
	p, err := c.accounts.Login(r.Context(), username, r.PostForm.Get("password"))
	if err != nil {
		e := c.publicError(r, err)
		if wait, ok := driverhub.RetryAfterOf(err); ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		}
		c.render(w, r, nil, statusOf(e), "login", view{Title: "login.title", Err: e, Data: loginData{Username: username, Next: next}})
		return
	}
	ctx := driverhub.WithPrincipal(r.Context(), p)
	var k *driverhub.Token
	expires := time.Duration(0)
	if sm, ok := c.accounts.(sessionMaker); ok {
		k, err = sm.CreateSession(ctx, c.ttl)
		expires = c.ttl
	} else {
		k, err = c.accounts.CreateToken(ctx, "console session", p.Role)
	}
	if err != nil {
		c.render(w, r, nil, statusOf(err), "login", view{Title: "login.title", Err: c.publicError(r, err), Data: loginData{Username: username, Next: next}})
		return
	}
	ck := &http.Cookie{Name: SessionCookie, Value: k.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.secure(r)}
	if expires > 0 {
		ck.MaxAge = int(expires / time.Second)
	}
	http.SetCookie(w, ck)
	http.Redirect(w, r, localPath(next, "/drivers"), http.StatusSeeOther)
}

// logout revokes the session's token and clears the cookie.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.p.TokenID != "" {
		if err := c.accounts.RevokeToken(r.Context(), s.p.TokenID); err != nil && driverhub.ErrorCode(err) != driverhub.ENotFound {
			return err
		}
	}
	c.clearSession(w, r)
	http.Redirect(w, r, "/login?notice=signed_out", http.StatusSeeOther)
	return nil
}

func (c *Console) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: c.secure(r)})
}

// secure reports whether cookies must be Secure: the request came over
// TLS, or the server's public URL (--public-url) is https, as behind a
// proxy that ends TLS and forwards plain HTTP.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(c.serverURL, "https://")
}

// switchLang sets the language cookie and goes back to the page.
func (c *Console) switchLang(w http.ResponseWriter, r *http.Request) {
	lang := matchLanguage(r.URL.Query().Get("to"))
	if lang == "" {
		lang = languageOf(r)
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: c.secure(r)})
	http.Redirect(w, r, localPath(r.URL.Query().Get("next"), "/drivers"), http.StatusSeeOther)
}

// localPath returns p when it is a path on this site, else def: a
// redirect target must never lead elsewhere.
func localPath(p, def string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") ||
		strings.ContainsAny(p, "\r\n\t") {
		return def
	}
	return p
}

// checkJSON runs the domain's JSON-object check on an editor's text, for
// the "validate format" buttons: the same check the services run.
func (c *Console) checkJSON(w http.ResponseWriter, r *http.Request, s *session) error {
	kind := r.PostForm.Get("kind")
	msg, ok := jsonCheck(languageOf(r), kind, r.PostForm.Get("text"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if ok {
		msg = tr(c, languageOf(r), "json.valid")
	}
	_, err := w.Write(jsonMessage(ok, msg))
	return err
}
