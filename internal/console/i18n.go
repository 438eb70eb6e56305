package console

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Languages are the console's languages, the default first.
var Languages = []string{"en", "zh-CN"}

// Translate returns the text of key in lang and whether the key exists.
func Translate(lang, key string) (string, bool) {
	m, ok := messages[key]
	if !ok {
		return "", false
	}
	if lang == "zh-CN" {
		return m[1], true
	}
	return m[0], true
}

// MessageKeys lists every translation key, sorted.
func MessageKeys() []string {
	keys := make([]string, 0, len(messages))
	for k := range messages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// missingKeyError is a translation key no message has: with StrictI18n it
// fails the page.
type missingKeyError struct{ lang, key string }

func (e missingKeyError) Error() string {
	return fmt.Sprintf("missing translation key %q (%s)", e.key, e.lang)
}

// translator returns the template function t of a language: t "key" args…
// formats the message with the args.
func (c *Console) translator(lang string) func(key string, args ...any) (string, error) {
	return func(key string, args ...any) (string, error) {
		msg, ok := Translate(lang, key)
		if !ok {
			if c.strict {
				return "", missingKeyError{lang, key}
			}
			c.log.Warn("console: missing translation", "lang", lang, "key", key)
			return key, nil
		}
		if len(args) > 0 {
			msg = fmt.Sprintf(msg, args...)
		}
		return msg, nil
	}
}

// tr translates in Go code, with the same reporting as templates.
func tr(c *Console, lang, key string, args ...any) string {
	s, err := c.translator(lang)(key, args...)
	if err != nil {
		return "⟦" + key + "⟧"
	}
	return s
}

// text translates where no page is being rendered; a missing key shows as itself.
func text(lang, key string) string {
	if s, ok := Translate(lang, key); ok {
		return s
	}
	return key
}

// languageOf picks the page's language: the lang cookie, else the best
// match of Accept-Language, else English.
func languageOf(r *http.Request) string {
	if ck, err := r.Cookie(LangCookie); err == nil {
		if l := matchLanguage(ck.Value); l != "" {
			return l
		}
	}
	type choice struct {
		lang string
		q    float64
	}
	var best choice
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := matchLanguage(tag); l != "" && q > best.q {
			best = choice{l, q}
		}
	}
	if best.lang != "" {
		return best.lang
	}
	return Languages[0]
}

// matchLanguage maps a language tag to a console language, or "".
func matchLanguage(tag string) string {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "en" || strings.HasPrefix(t, "en-"):
		return "en"
	case t == "zh" || strings.HasPrefix(t, "zh-"):
		return "zh-CN"
	}
	return ""
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// join adds the texts of one part of the console (a file of messages) to
// a catalogue at start; a key in both is a programming error, caught by
// every test.
func join[V any](catalogue, part map[string]V) {
	for k, v := range part {
		if _, dup := catalogue[k]; dup {
			panic(fmt.Sprintf("console: the text %q is defined twice", k))
		}
		catalogue[k] = v
	}
}
