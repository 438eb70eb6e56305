package cli

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"golang.org/x/crypto/scrypt"

	"github.com/driverhub/driverhub/internal/tufmeta"
)

// Offline TUF keys (SPEC §11) live in --keys DIR, one file per key, mode
// 0600, named <role>-<first 8 digits of the key id>.key. They never leave
// this machine: the CLI sends the server only what they sign.

// keyFile is a key's file: its public half, and its private half either
// plain (so that CI can sign) or sealed under a passphrase.
type keyFile struct {
	Role    string     `json:"role"`
	KeyID   string     `json:"keyid"`
	KeyType string     `json:"keytype"`
	Scheme  string     `json:"scheme"`
	Public  string     `json:"public"`
	Private string     `json:"private,omitempty"` // the ed25519 seed, hex
	Sealed  *sealedKey `json:"sealed,omitempty"`
}

// sealedKey is a seed encrypted with AES-256-GCM under a key derived from
// the passphrase with scrypt.
type sealedKey struct {
	KDF        string `json:"kdf"`
	N          int    `json:"n"`
	R          int    `json:"r"`
	P          int    `json:"p"`
	Salt       string `json:"salt"`
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

// offlineKey is a key loaded from --keys.
type offlineKey struct {
	role, id, path string
	public         *metadata.Key
	priv           ed25519.PrivateKey
}

const scryptN, scryptR, scryptP = 1 << 15, 8, 1

func passphraseKey(passphrase []byte, salt []byte, n, r, p int) ([]byte, error) {
	return scrypt.Key(passphrase, salt, n, r, p, 32)
}

func seal(seed, passphrase []byte) (*sealedKey, error) {
	salt, nonce := make([]byte, 16), make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	k, err := passphraseKey(passphrase, salt, scryptN, scryptR, scryptP)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(k)
	if err != nil {
		return nil, err
	}
	return &sealedKey{KDF: "scrypt", N: scryptN, R: scryptR, P: scryptP, Salt: hex.EncodeToString(salt),
		Nonce: hex.EncodeToString(nonce), Ciphertext: hex.EncodeToString(gcm.Seal(nil, nonce, seed, nil))}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *sealedKey) open(passphrase []byte) ([]byte, error) {
	salt, err1 := hex.DecodeString(s.Salt)
	nonce, err2 := hex.DecodeString(s.Nonce)
	ct, err3 := hex.DecodeString(s.Ciphertext)
	if s.KDF != "scrypt" || errors.Join(err1, err2, err3) != nil || s.N > 1<<20 {
		return nil, errors.New("its sealed key is malformed")
	}
	k, err := passphraseKey(passphrase, salt, s.N, s.R, s.P)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(k)
	if err != nil {
		return nil, err
	}
	if len(nonce) != gcm.NonceSize() {
		return nil, errors.New("its sealed key is malformed")
	}
	seed, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, errors.New("the passphrase does not open it")
	}
	return seed, nil
}

// newKey makes an ed25519 key for role and writes its file into dir
// (made 0700 if missing), mode 0600, sealed when passphrase is not nil.
func newKey(dir, role string, passphrase []byte) (*offlineKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, failf("--keys: %v", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k, id, err := tufmeta.PublicKey(pub)
	if err != nil {
		return nil, err
	}
	f := keyFile{Role: role, KeyID: id, KeyType: k.Type, Scheme: k.Scheme, Public: k.Value.PublicKey}
	if passphrase != nil {
		if f.Sealed, err = seal(priv.Seed(), passphrase); err != nil {
			return nil, err
		}
	} else {
		f.Private = hex.EncodeToString(priv.Seed())
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, role+"-"+tufmeta.ShortKeyID(id)+".key")
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, failf("write key: %v", err)
	}
	_, err = out.Write(append(b, '\n'))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, failf("write %s: %v", path, err)
	}
	return &offlineKey{role: role, id: id, path: path, public: k, priv: priv}, nil
}

// loadKeys reads every *.key file of dir.
func loadKeys(dir string, passphrase []byte) ([]*offlineKey, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.key"))
	if err != nil {
		return nil, failf("--keys: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, failf("--keys: %v", err)
	}
	var out []*offlineKey
	for _, name := range names {
		k, err := loadKey(name, passphrase)
		if err != nil {
			return nil, failf("%s: %v", name, err)
		}
		out = append(out, k)
	}
	return out, nil
}

func loadKey(path string, passphrase []byte) (*offlineKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil || f.KeyType != metadata.KeyTypeEd25519 {
		return nil, errors.New("not an ed25519 key file written by driverhub trust")
	}
	var seed []byte
	switch {
	case f.Sealed != nil && passphrase == nil:
		return nil, errors.New("the key is sealed with a passphrase: pass --passphrase-file")
	case f.Sealed != nil:
		seed, err = f.Sealed.open(passphrase)
	default:
		seed, err = hex.DecodeString(f.Private)
	}
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("its private key is not an ed25519 seed")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	k, id, err := tufmeta.PublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil || id != f.KeyID {
		return nil, errors.New("its private key does not match its key id")
	}
	return &offlineKey{role: f.Role, id: id, path: path, public: k, priv: priv}, nil
}

// readPassphrase reads --passphrase-file (nil when not given).
func readPassphrase(cmd *cobra.Command) ([]byte, error) {
	name, _ := cmd.Flags().GetString("passphrase-file")
	if name == "" {
		return nil, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, failf("--passphrase-file: %v", err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, failf("--passphrase-file %s is empty", name)
	}
	return b, nil
}

// keysFlags adds --keys and --passphrase-file.
func keysFlags(cmd *cobra.Command) {
	cmd.Flags().String("keys", "", "directory of the offline TUF keys (files mode 0600; never sent to the server)")
	cmd.Flags().String("passphrase-file", "", "file holding the passphrase that seals the keys (default: keys are not sealed, so CI can sign)")
}

// openKeys loads the keys of --keys, which must be given.
func openKeys(cmd *cobra.Command) ([]*offlineKey, error) {
	if err := required(cmd, "keys"); err != nil {
		return nil, err
	}
	dir, _ := cmd.Flags().GetString("keys")
	pass, err := readPassphrase(cmd)
	if err != nil {
		return nil, err
	}
	return loadKeys(dir, pass)
}

// keysFor returns the keys of role whose ids the list holds.
func keysFor(keys []*offlineKey, role string, ids []string) []*offlineKey {
	var out []*offlineKey
	for _, k := range keys {
		if k.role == role && slices.Contains(ids, k.id) {
			out = append(out, k)
		}
	}
	return out
}

// signWith signs metadata with keys, replacing its signatures.
func signWith[T metadata.Roles](m *metadata.Metadata[T], keys []*offlineKey) ([]byte, error) {
	m.ClearSignatures()
	for _, k := range keys {
		s, err := tufmeta.Signer(k.priv)
		if err != nil {
			return nil, err
		}
		if _, err := m.Sign(s); err != nil {
			return nil, err
		}
	}
	return m.ToBytes(true)
}

// shortIDs lists key ids as people see them.
func shortIDs(keys []*offlineKey) string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = tufmeta.ShortKeyID(k.id)
	}
	return strings.Join(ids, ", ")
}

// missingKeys explains that --keys lacks the keys of a role.
func missingKeys(dir, role string, ids []string) error {
	short := make([]string, len(ids))
	for i, id := range ids {
		short[i] = tufmeta.ShortKeyID(id)
	}
	return failf("--keys %s holds none of the %s keys of the current root (%s)", dir, role, strings.Join(short, ", "))
}

// verifiedBy reports whether one of keys signed m validly (as role).
func verifiedBy[T metadata.Roles](m *metadata.Metadata[T], role string, keys []*offlineKey) bool {
	if len(keys) == 0 {
		return false
	}
	probe := metadata.Root()
	for _, k := range keys {
		if err := probe.Signed.AddKey(k.public, role); err != nil {
			return false
		}
	}
	probe.Signed.Roles[role].Threshold = 1
	return probe.VerifyDelegate(role, m) == nil
}

// keysDir is --keys, for messages.
func keysDir(cmd *cobra.Command) string {
	dir, _ := cmd.Flags().GetString("keys")
	return dir
}

// checkKeyModes warns about key files others may read.
func checkKeyModes(cmd *cobra.Command, keys []*offlineKey) {
	for _, k := range keys {
		if fi, err := os.Stat(k.path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			notice(cmd, "Warning: %s is readable by others (mode %04o): chmod 600 it", k.path, fi.Mode().Perm())
		}
	}
}
