package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// The tenant's TUF repository (SPEC §11): root and targets keys made and
// kept in --keys, the roles they sign uploaded to the server.

func (a *app) trustCommand() *cobra.Command {
	return a.group("trust", "Manage the tenant's signing keys and TUF root (signed drivers)",
		a.trustInit(), a.trustExportRoot(), a.trustRotate())
}

// trustResult is what trust init and trust rotate print.
type trustResult struct {
	RootVersion    int64    `json:"root_version"`
	TargetsVersion int64    `json:"targets_version,omitempty"`
	RootKeys       []string `json:"root_keys"`
	TargetsKeys    []string `json:"targets_keys"`
	KeysDir        string   `json:"keys_dir"`
}

func (r *trustResult) table(p *printer) {
	p.kv("Root version", r.RootVersion)
	if r.TargetsVersion > 0 {
		p.kv("Targets version", r.TargetsVersion)
	}
	p.kv("Root keys", strings.Join(shortList(r.RootKeys), ", "))
	p.kv("Targets keys", strings.Join(shortList(r.TargetsKeys), ", "))
	p.kv("Keys in", r.KeysDir)
}

func resultOf(root *metadata.Metadata[metadata.RootType], dir string) *trustResult {
	return &trustResult{RootVersion: root.Signed.Version, RootKeys: root.Signed.Roles[metadata.ROOT].KeyIDs,
		TargetsKeys: root.Signed.Roles[metadata.TARGETS].KeyIDs, KeysDir: dir}
}

// expiryFlag reads a lifetime flag: a Go duration (2160h) or whole days (90d).
func expiryFlag(cmd *cobra.Command, name string) (time.Duration, error) {
	v, _ := cmd.Flags().GetString(name)
	d, err := time.ParseDuration(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, nerr := strconv.Atoi(days)
		d, err = time.Duration(n)*24*time.Hour, nerr
	}
	if err != nil || d <= 0 {
		return 0, usagef(cmd, "--%s must be a positive duration such as 90d or 2160h, got %q", name, v)
	}
	return d, nil
}

func (a *app) trustInit() *cobra.Command {
	cmd := a.leaf("init --keys DIR", "Make the tenant's TUF repository: offline root and targets keys in DIR, a signed root and empty targets",
		exactArgs(), a.runTrustInit)
	cmd.Long = `Init makes an ed25519 root key and an ed25519 targets key in --keys DIR (files of mode
0600 that never leave this machine), signs root version 1 (listing them and the server's online
snapshot and timestamp keys) and empty targets version 1, and uploads both. Keep DIR offline
and backed up: whoever holds the root key decides which keys gateways trust.

Then install the root on gateways (driverhub trust export-root > root.json; driverhub agent
--trust-root root.json) and sign versions (driverhub sign, driverhub driver push --sign).`
	cmd.Example = `  driverhub trust init --keys ~/.driverhub/keys`
	keysFlags(cmd)
	cmd.Flags().String("expires", "365d", "how long root version 1 lasts (targets: 90d)")
	addOutputFlag(cmd)
	return cmd
}

func (a *app) runTrustInit(cmd *cobra.Command, c *client.Client, _ []string) error {
	if err := required(cmd, "keys"); err != nil {
		return err
	}
	life, err := expiryFlag(cmd, "expires")
	if err != nil {
		return err
	}
	pass, err := readPassphrase(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if _, err := c.TUFFile(ctx, "root.json"); err == nil {
		return failf("this tenant's TUF repository exists already: replace its keys with driverhub trust rotate")
	} else if !client.IsNotFound(err) {
		return err
	}
	online, err := c.TUFOnlineKeys(ctx)
	if err != nil {
		return err
	}
	dir := keysDir(cmd)
	rootKey, err := newKey(dir, metadata.ROOT, pass)
	if err != nil {
		return err
	}
	targetsKey, err := newKey(dir, metadata.TARGETS, pass)
	if err != nil {
		return err
	}
	notice(cmd, "Made root key %s and targets key %s in %s", tufmeta.ShortKeyID(rootKey.id), tufmeta.ShortKeyID(targetsKey.id), dir)
	root, err := firstRoot(time.Now(), life, rootKey, targetsKey, online)
	if err != nil {
		return err
	}
	body, err := signWith(root, []*offlineKey{rootKey})
	if err != nil {
		return err
	}
	if _, err := c.PutTUFRoot(ctx, body); err != nil {
		return err
	}
	targets := metadata.Targets(tufmeta.Expiry(time.Now(), driverhub.TUFTargetsExpiry))
	tufmeta.SetRevoked(&targets.Signed, nil)
	if body, err = signWith(targets, []*offlineKey{targetsKey}); err != nil {
		return err
	}
	up, err := c.PutTUFTargets(ctx, body)
	if err != nil {
		return err
	}
	notice(cmd, "Initialized the TUF repository. Install its root on gateways: driverhub trust export-root > root.json")
	r := resultOf(root, dir)
	r.TargetsVersion = up.Version
	return render(cmd, r, r.table)
}

// firstRoot is root version 1: one root key, one targets key, the
// server's online keys, each role with threshold 1.
func firstRoot(now time.Time, life time.Duration, rootKey, targetsKey *offlineKey, online *driverhub.TUFOnlineKeys) (*metadata.Metadata[metadata.RootType], error) {
	root := metadata.Root(tufmeta.Expiry(now, life))
	for role, k := range map[string]*metadata.Key{metadata.ROOT: rootKey.public, metadata.TARGETS: targetsKey.public} {
		if err := root.Signed.AddKey(k, role); err != nil {
			return nil, err
		}
	}
	return root, setOnlineKeys(root, online)
}

// setOnlineKeys makes the server's current online keys the snapshot and
// timestamp keys of root (a server that had to make new ones, its secret
// key lost, gets them into the next root this way).
func setOnlineKeys(root *metadata.Metadata[metadata.RootType], online *driverhub.TUFOnlineKeys) error {
	for role, raw := range map[string]json.RawMessage{metadata.SNAPSHOT: online.Snapshot, metadata.TIMESTAMP: online.Timestamp} {
		var k metadata.Key
		if err := json.Unmarshal(raw, &k); err != nil {
			return failf("the server's %s key: %v", role, err)
		}
		for _, id := range append([]string(nil), root.Signed.Roles[role].KeyIDs...) {
			if err := root.Signed.RevokeKey(id, role); err != nil {
				return err
			}
		}
		if err := root.Signed.AddKey(&k, role); err != nil {
			return err
		}
		root.Signed.Roles[role].Threshold = 1
	}
	return nil
}

func (a *app) trustExportRoot() *cobra.Command {
	cmd := a.leaf("export-root [--to FILE]", "Print the tenant's current root.json, to install on gateways (--trust-root)", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			root, body, err := readRoot(cmd.Context(), c)
			if err != nil {
				return err
			}
			to, _ := cmd.Flags().GetString("to")
			if to == "" || to == "-" {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			if err := os.WriteFile(to, body, 0o644); err != nil {
				return failf("%v", err)
			}
			notice(cmd, "Saved root version %d to %s", root.Signed.Version, to)
			return nil
		})
	cmd.Flags().String("to", "", "file to write (default: stdout)")
	return cmd
}

// readRoot reads the tenant's current root.
func readRoot(ctx context.Context, c *client.Client) (*metadata.Metadata[metadata.RootType], []byte, error) {
	body, err := c.TUFFile(ctx, "root.json")
	if client.IsNotFound(err) {
		return nil, nil, failf("this tenant has no TUF repository yet: run driverhub trust init --keys DIR")
	} else if err != nil {
		return nil, nil, err
	}
	root, err := metadata.Root().FromBytes(body)
	if err != nil {
		return nil, nil, failf("the server's root.json: %v", err)
	}
	return root, body, nil
}

func (a *app) trustRotate() *cobra.Command {
	cmd := a.leaf("rotate --role root|targets --keys DIR", "Replace the root or targets key: a new key in DIR, a new root signed by the old root keys",
		exactArgs(), a.runTrustRotate)
	cmd.Long = `Rotate makes a new key for --role in --keys DIR and uploads the next root version, in
which the new key replaces the role's keys, signed by the current root keys in DIR (and, for
--role root, by the new root key too). With --role targets it then signs the current targets
again with the new key, so that nothing signed becomes unsigned. Gateways follow: a TUF client
walks from the root it trusts through every later version. The old key file stays in DIR; it
no longer signs anything.`
	cmd.Example = `  driverhub trust rotate --role targets --keys ~/.driverhub/keys`
	keysFlags(cmd)
	cmd.Flags().String("role", "", "the role whose key to replace: root or targets")
	cmd.Flags().String("expires", "365d", "how long the new root version lasts")
	addOutputFlag(cmd)
	return cmd
}

func (a *app) runTrustRotate(cmd *cobra.Command, c *client.Client, _ []string) error {
	if err := required(cmd, "role", "keys"); err != nil {
		return err
	}
	role, _ := cmd.Flags().GetString("role")
	if role != metadata.ROOT && role != metadata.TARGETS {
		return usagef(cmd, "--role must be root or targets, got %q", role)
	}
	life, err := expiryFlag(cmd, "expires")
	if err != nil {
		return err
	}
	keys, err := openKeys(cmd)
	if err != nil {
		return err
	}
	checkKeyModes(cmd, keys)
	ctx, dir := cmd.Context(), keysDir(cmd)
	cur, _, err := readRoot(ctx, c)
	if err != nil {
		return err
	}
	signers := keysFor(keys, metadata.ROOT, cur.Signed.Roles[metadata.ROOT].KeyIDs)
	if len(signers) == 0 {
		return missingKeys(dir, metadata.ROOT, cur.Signed.Roles[metadata.ROOT].KeyIDs)
	}
	if !verifiedBy(cur, metadata.ROOT, signers) {
		return failf("root.json version %d from the server is not signed by the root keys in --keys %s: refusing to sign a root built on it", cur.Signed.Version, dir)
	}
	pass, _ := readPassphrase(cmd)
	fresh, err := newKey(dir, role, pass)
	if err != nil {
		return err
	}
	online, err := c.TUFOnlineKeys(ctx)
	if err != nil {
		return err
	}
	next, err := rotatedRoot(cur, role, fresh, time.Now(), life)
	if err != nil {
		return err
	}
	if err := setOnlineKeys(next, online); err != nil {
		return err
	}
	if role == metadata.ROOT {
		signers = append(signers, fresh)
	}
	body, err := signWith(next, signers)
	if err != nil {
		return err
	}
	if _, err := c.PutTUFRoot(ctx, body); err != nil {
		return err
	}
	notice(cmd, "Root version %d: %s key %s replaces %s", next.Signed.Version, role, tufmeta.ShortKeyID(fresh.id),
		strings.Join(shortList(cur.Signed.Roles[role].KeyIDs), ", "))
	r := resultOf(next, dir)
	if role == metadata.TARGETS {
		up, err := updateTargets(cmd, c, append(keys, fresh), next, driverhub.TUFTargetsExpiry, func(*metadata.TargetsType) error { return nil })
		if err != nil {
			return fmt.Errorf("the new root is in place, but signing the targets again failed (run driverhub sign or unsign to retry): %w", err)
		}
		notice(cmd, "Signed targets version %d with the new targets key", up.Version)
		r.TargetsVersion = up.Version
	}
	return render(cmd, r, r.table)
}

// rotatedRoot is the next root version with fresh as the role's one key.
func rotatedRoot(cur *metadata.Metadata[metadata.RootType], role string, fresh *offlineKey, now time.Time, life time.Duration) (*metadata.Metadata[metadata.RootType], error) {
	b, err := cur.ToBytes(false)
	if err != nil {
		return nil, err
	}
	next, err := metadata.Root().FromBytes(b)
	if err != nil {
		return nil, err
	}
	next.Signed.Version++
	next.Signed.Expires = tufmeta.Expiry(now, life)
	for _, id := range append([]string(nil), next.Signed.Roles[role].KeyIDs...) {
		if err := next.Signed.RevokeKey(id, role); err != nil {
			return nil, err
		}
	}
	if err := next.Signed.AddKey(fresh.public, role); err != nil {
		return nil, err
	}
	next.Signed.Roles[role].Threshold = 1
	return next, nil
}

func shortList(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tufmeta.ShortKeyID(id)
	}
	return out
}
