package service

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// TUFConfig configures the tenants' TUF repositories (SPEC §11).
type TUFConfig struct {
	// SecretKey (32 bytes) seals the online snapshot and timestamp keys
	// with AES-256-GCM. Without it every TUF call answers Unavailable.
	SecretKey []byte
	// Unavailable says why there is no secret key and what to do.
	Unavailable string
	// TimestampExpiry is how long a signed timestamp lives (default
	// driverhub.DefaultTUFTimestampExpiry, at least MinTUFTimestampExpiry).
	TimestampExpiry time.Duration
}

// tufState is a Service's part of TUF: the cipher of its secret key.
type tufState struct {
	aead            cipher.AEAD
	unavailable     string
	timestampExpiry time.Duration
}

func newTUFState(c TUFConfig) (*tufState, error) {
	st := &tufState{unavailable: c.Unavailable, timestampExpiry: c.TimestampExpiry}
	if st.timestampExpiry == 0 {
		st.timestampExpiry = driverhub.DefaultTUFTimestampExpiry
	}
	if st.timestampExpiry < driverhub.MinTUFTimestampExpiry {
		return nil, fmt.Errorf("the TUF timestamp expiry must be at least %s, got %s", driverhub.MinTUFTimestampExpiry, st.timestampExpiry)
	}
	if c.SecretKey == nil {
		if st.unavailable == "" {
			st.unavailable = "this server has no secret key to seal its TUF signing keys with: start it with --secret-key-file or DRIVERHUB_SECRET_KEY"
		}
		return st, nil
	}
	if len(c.SecretKey) != 32 {
		return nil, fmt.Errorf("the secret key must be 32 bytes, got %d", len(c.SecretKey))
	}
	block, err := aes.NewCipher(c.SecretKey)
	if err != nil {
		return nil, err
	}
	if st.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return st, nil
}

// available refuses TUF calls on a server without a secret key.
func (t *tufState) available() error {
	if t.aead == nil {
		return driverhub.Errorf(driverhub.EFailedPrecondition, "signed drivers are unavailable on this server: %s", t.unavailable)
	}
	return nil
}

// sealContext binds a sealed key to its tenant, role and id: a sealed key
// copied to another row does not open.
func sealContext(k *driverhub.TUFKey) []byte {
	return []byte("driverhub tuf key\x00" + k.TenantID + "\x00" + k.Role + "\x00" + k.KeyID)
}

func (t *tufState) seal(k *driverhub.TUFKey, seed []byte) error {
	nonce := make([]byte, t.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	k.Sealed = t.aead.Seal(nonce, nonce, seed, sealContext(k))
	return nil
}

func (t *tufState) unseal(k *driverhub.TUFKey) (ed25519.PrivateKey, error) {
	n := t.aead.NonceSize()
	var seed []byte
	var err error
	if len(k.Sealed) > n {
		seed, err = t.aead.Open(nil, k.Sealed[:n], k.Sealed[n:], sealContext(k))
	}
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, driverhub.Errorf(driverhub.EFailedPrecondition,
			"the server's %s key of this tenant does not open with the server's secret key: every replica must run with the secret key the keys were made under", k.Role)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// onlineKey is one of a tenant's online keys, ready to sign.
type onlineKey struct {
	id     string
	signer signature.Signer
}

// onlineKeys are a tenant's snapshot and timestamp keys, by role.
type onlineKeys map[string]*onlineKey

// newOnlineKey makes an ed25519 key for a role of a tenant, sealed.
func (t *tufState) newOnlineKey(tenantID, role string, now time.Time) (*driverhub.TUFKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	key, id, err := tufmeta.PublicKey(pub)
	if err != nil {
		return nil, err
	}
	public, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	k := &driverhub.TUFKey{TenantID: tenantID, Role: role, KeyID: id, Public: public, CreatedAt: now}
	return k, t.seal(k, priv.Seed())
}

// TUFOnlineKeys returns the public snapshot and timestamp keys the server
// signs the caller's repository with, making them on first use.
func (s *Service) TUFOnlineKeys(ctx context.Context) (*driverhub.TUFOnlineKeys, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	if err := s.tuf.available(); err != nil {
		return nil, err
	}
	var keys []*driverhub.TUFKey
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		keys, err = s.makeOnlineKeys(ctx, tx, p.TenantID)
		return err
	})
	if errors.Is(err, driverhub.ErrConflict) { // another replica made them at the same time
		err = s.store.View(ctx, func(tx driverhub.Tx) error {
			keys, err = tx.TUFKeys(ctx, p.TenantID)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	out := &driverhub.TUFOnlineKeys{}
	for _, k := range keys {
		switch k.Role {
		case driverhub.TUFSnapshot:
			out.Snapshot = k.Public
		case driverhub.TUFTimestamp:
			out.Timestamp = k.Public
		}
	}
	return out, nil
}

// makeOnlineKeys returns a tenant's online keys, making those it lacks.
func (s *Service) makeOnlineKeys(ctx context.Context, tx driverhub.Tx, tenantID string) ([]*driverhub.TUFKey, error) {
	keys, err := tx.TUFKeys(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, role := range []string{driverhub.TUFSnapshot, driverhub.TUFTimestamp} {
		if onlineKeyOf(keys, role) != nil {
			continue
		}
		k, err := s.tuf.newOnlineKey(tenantID, role, s.timestamp())
		if err != nil {
			return nil, err
		}
		if err := tx.PutTUFKey(ctx, k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func onlineKeyOf(keys []*driverhub.TUFKey, role string) *driverhub.TUFKey {
	for _, k := range keys {
		if k.Role == role {
			return k
		}
	}
	return nil
}

// onlineSigners opens a tenant's online keys.
func (s *Service) onlineSigners(ctx context.Context, tx driverhub.Tx, tenantID string) (onlineKeys, error) {
	keys, err := tx.TUFKeys(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := onlineKeys{}
	for _, role := range []string{driverhub.TUFSnapshot, driverhub.TUFTimestamp} {
		k := onlineKeyOf(keys, role)
		if k == nil {
			return nil, driverhub.Errorf(driverhub.EFailedPrecondition,
				"this tenant has no %s key yet: driverhub trust init asks for it (GET /api/v1/tuf/online-keys) before it signs the root", role)
		}
		priv, err := s.tuf.unseal(k)
		if err != nil {
			return nil, err
		}
		signer, err := tufmeta.Signer(priv)
		if err != nil {
			return nil, err
		}
		out[role] = &onlineKey{id: k.KeyID, signer: signer}
	}
	return out, nil
}
