package service

import (
	"context"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/driverhub/driverhub"
)

// Credentials beyond the sign-in itself: the current password a user
// changing their own gives, the console sessions a change ends, and the
// one form of an API token.

// splitLogin reads "name" (tenant "default") or "tenant/name".
func splitLogin(username string) (tenant, name string) {
	if t, n, ok := strings.Cut(username, "/"); ok {
		return t, n
	}
	return "default", username
}

// loginKeys are the buckets a sign-in of tenant/name counts against.
func loginKeys(ctx context.Context, tenant, name string) []throttleKey {
	return []throttleKey{{&loginUserRule, tenant + "/" + name},
		{&loginAddrRule, addressKey(driverhub.ClientAddrFrom(ctx))}}
}

// checkCurrentPassword checks the password a user changing their own
// gives as the current one; a wrong one counts as a failed sign-in. It
// returns the hash it matched.
func (s *Service) checkCurrentPassword(ctx context.Context, p *driverhub.Principal, current *string) (string, error) {
	if current == nil || *current == "" {
		return "", driverhub.Invalid("current_password", "is required to change your own password")
	}
	keys := loginKeys(ctx, p.TenantName, p.Username)
	if err := s.throttle.check(s.now(), keys...); err != nil {
		return "", err
	}
	var hash string
	err := s.store.View(ctx, func(tx driverhub.Tx) error {
		u, err := tx.UserByID(ctx, p.UserID)
		if err == nil {
			hash = u.PasswordHash
		}
		return err
	})
	if err != nil {
		return "", err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(*current)) != nil {
		s.throttle.fail(s.now(), keys...)
		return "", driverhub.Invalid("current_password", "is not your current password")
	}
	return hash, nil
}

// sessionTokenName names the tokens of console sessions (CreateSession).
const sessionTokenName = "console session"

// endSessions deletes the user's console sessions but keep (the token of
// the caller, when it is one of them).
func endSessions(ctx context.Context, tx driverhub.Tx, u *driverhub.User, keep string) error {
	var ended []string
	page := driverhub.Page{Limit: driverhub.MaxPageLimit}
	for {
		l, err := tx.ListTokens(ctx, u.TenantID, u.ID, page)
		if err != nil {
			return err
		}
		for _, k := range l.Items {
			if k.Name == sessionTokenName && k.ExpiresAt != nil && k.ID != keep {
				ended = append(ended, k.ID)
			}
		}
		if l.NextCursor == "" {
			break
		}
		page.Cursor = l.NextCursor
	}
	for _, id := range ended {
		if err := tx.DeleteToken(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// validTokenFormat reports whether token has the one form an API token
// has (generated ones: 64 hex digits after the prefix).
func validTokenFormat(token string) bool {
	rest, ok := strings.CutPrefix(token, driverhub.TokenPrefix)
	if !ok || len(rest) < driverhub.MinTokenSecretChars || len(rest) > driverhub.MaxTokenSecretChars {
		return false
	}
	for _, c := range []byte(rest) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
