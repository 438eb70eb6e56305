package cli

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// Signing published packages as TUF targets (SPEC §11) with the targets
// keys in --keys.

// signResult is what sign and unsign print.
type signResult struct {
	Target           string   `json:"target"`
	Signed           bool     `json:"signed"`
	Revoked          bool     `json:"revoked"`
	TargetsVersion   int64    `json:"targets_version"`
	SnapshotVersion  int64    `json:"snapshot_version"`
	TimestampVersion int64    `json:"timestamp_version"`
	KeyIDs           []string `json:"key_ids"`
}

func (r *signResult) table(p *printer) {
	p.kv("Target", r.Target)
	p.kv("Signed", r.Signed)
	p.kv("Revoked", r.Revoked)
	p.kv("Targets version", r.TargetsVersion)
	p.kv("Signed by", strings.Join(shortList(r.KeyIDs), ", "))
}

func signFlags(cmd *cobra.Command) {
	keysFlags(cmd)
	cmd.Flags().String("publisher", "", "the driver's publisher: a marketplace driver's tenant (default: your tenant)")
	cmd.Flags().String("expires", "90d", "how long the new targets version lasts")
	addOutputFlag(cmd)
}

func (a *app) signCommand() *cobra.Command {
	cmd := a.leaf("sign DRIVER VERSION --keys DIR", "Sign a published version: add its package to the tenant's TUF targets",
		exactArgs("DRIVER", "VERSION"), func(cmd *cobra.Command, c *client.Client, args []string) error {
			keys, err := openKeys(cmd)
			if err != nil {
				return err
			}
			life, err := expiryFlag(cmd, "expires")
			if err != nil {
				return err
			}
			r, err := runSign(cmd, c, keys, life, args[0], args[1], nil)
			if err != nil {
				return err
			}
			return render(cmd, r, r.table)
		})
	cmd.Long = `Sign adds version VERSION of DRIVER to the tenant's TUF targets, named
<publisher>/<driver>/<version> with the length and SHA-256 of the package the server holds
for it, signs the next targets version with the targets keys in --keys and uploads it; the
server re-signs snapshot and timestamp before it answers. Gateways started with --trust-root
install only signed packages. With --publisher, sign an acquired marketplace driver: your
tenant vouches for it with its own keys. A revoked version (driverhub unsign) is never
signed again.`
	cmd.Example = `  driverhub sign modbus_meter 1.2.0 --keys ~/.driverhub/keys
  driverhub sign weather 2.0.0 --publisher acme --keys ~/.driverhub/keys`
	signFlags(cmd)
	return cmd
}

func (a *app) unsignCommand() *cobra.Command {
	cmd := a.leaf("unsign DRIVER VERSION --keys DIR", "Revoke a version: remove it from the TUF targets for good",
		exactArgs("DRIVER", "VERSION"), runUnsign)
	cmd.Long = `Unsign removes <publisher>/DRIVER/VERSION from the tenant's TUF targets and adds it to
their revoked list, so that every gateway started with --trust-root refuses it from its next
refresh, whatever a deployment says: a revoked version is never installed, nor signed,
again. Running drivers of that version keep running until the next deployment.`
	cmd.Example = `  driverhub unsign modbus_meter 1.2.0 --keys ~/.driverhub/keys`
	signFlags(cmd)
	return cmd
}

// runSign signs a version with keys into targets lasting life; pkg, when
// known (driver push), is the package the caller built, which the
// server's record must match.
func runSign(cmd *cobra.Command, c *client.Client, keys []*offlineKey, life time.Duration, driver, version string, pkg *checkedPackage) (*signResult, error) {
	ctx := cmd.Context()
	publisher, err := publisherOf(cmd, c)
	if err != nil {
		return nil, err
	}
	v, runtime, err := publishedVersion(ctx, c, publisher, driver, version)
	if err != nil {
		return nil, err
	}
	if pkg != nil && (v.Package.SHA256 != pkg.sha256 || v.Package.Size != pkg.size) {
		return nil, failf("the server holds another package for version %s of %s (sha256 %s) than the one pushed (sha256 %s): not signed",
			version, driver, v.Package.SHA256, pkg.sha256)
	}
	sum, err := hex.DecodeString(v.Package.SHA256)
	if err != nil {
		return nil, failf("the server's sha256 of the package: %v", err)
	}
	tf := &metadata.TargetFiles{Length: v.Package.Size, Hashes: metadata.Hashes{"sha256": sum}}
	tufmeta.SetCustom(tf, tufmeta.TargetCustom{Runtime: string(runtime), MinEdgeVersion: v.MinEdgeVersion})
	name := driverhub.TargetName(publisher, driver, version)
	root, _, err := readRoot(ctx, c)
	if err != nil {
		return nil, err
	}
	up, err := updateTargets(cmd, c, keys, root, life, func(t *metadata.TargetsType) error {
		revoked, err := tufmeta.Revoked(t)
		if err != nil {
			return failf("the current targets: %v", err)
		}
		if slices.Contains(revoked, name) {
			return failf("%s was revoked (driverhub unsign): a revoked version is never signed again; publish a new version", name)
		}
		t.Targets[name] = tf
		return nil
	})
	if err != nil {
		return nil, err
	}
	notice(cmd, "Signed %s (sha256 %s) in targets version %d", name, v.Package.SHA256, up.Version)
	return &signResult{Target: name, Signed: true, TargetsVersion: up.Version, SnapshotVersion: up.SnapshotVersion,
		TimestampVersion: up.TimestampVersion, KeyIDs: root.Signed.Roles[metadata.TARGETS].KeyIDs}, nil
}

func runUnsign(cmd *cobra.Command, c *client.Client, args []string) error {
	keys, err := openKeys(cmd)
	if err != nil {
		return err
	}
	life, err := expiryFlag(cmd, "expires")
	if err != nil {
		return err
	}
	publisher, err := publisherOf(cmd, c)
	if err != nil {
		return err
	}
	name := driverhub.TargetName(publisher, args[0], args[1])
	if _, _, _, err := driverhub.ParseTargetName(name); err != nil {
		return usagef(cmd, "%v", err)
	}
	root, _, err := readRoot(cmd.Context(), c)
	if err != nil {
		return err
	}
	up, err := updateTargets(cmd, c, keys, root, life, func(t *metadata.TargetsType) error {
		revoked, err := tufmeta.Revoked(t)
		if err != nil {
			return failf("the current targets: %v", err)
		}
		delete(t.Targets, name)
		tufmeta.SetRevoked(t, append(revoked, name))
		return nil
	})
	if err != nil {
		return err
	}
	notice(cmd, "Revoked %s in targets version %d: gateways with --trust-root refuse it from their next refresh", name, up.Version)
	r := &signResult{Target: name, Revoked: true, TargetsVersion: up.Version, SnapshotVersion: up.SnapshotVersion,
		TimestampVersion: up.TimestampVersion, KeyIDs: root.Signed.Roles[metadata.TARGETS].KeyIDs}
	return render(cmd, r, r.table)
}

// publisherOf is --publisher, else the caller's tenant.
func publisherOf(cmd *cobra.Command, c *client.Client) (string, error) {
	if p, _ := cmd.Flags().GetString("publisher"); p != "" {
		return p, nil
	}
	t, err := c.GetTenant(cmd.Context())
	if err != nil {
		return "", err
	}
	return t.Name, nil
}

// publishedVersion reads a published version with its package: one of the
// caller's, or of a marketplace driver it acquired.
func publishedVersion(ctx context.Context, c *client.Client, publisher, driver, version string) (*driverhub.DriverVersion, driverhub.Runtime, error) {
	own, err := c.GetTenant(ctx)
	if err != nil {
		return nil, "", err
	}
	var v *driverhub.DriverVersion
	var runtime driverhub.Runtime
	if publisher == own.Name {
		d, err := c.GetDriver(ctx, driver)
		if err != nil {
			return nil, "", err
		}
		if v, err = c.GetVersion(ctx, driver, version); err != nil {
			return nil, "", err
		}
		runtime = d.Runtime
	} else {
		m, err := c.GetMarketDriver(ctx, publisher, driver)
		if err != nil {
			return nil, "", err
		}
		for _, mv := range m.Versions {
			if mv.Version == version {
				v = mv
			}
		}
		if v == nil {
			return nil, "", failf("%s/%s has no published version %s", publisher, driver, version)
		}
		runtime = m.Runtime
	}
	switch {
	case !v.Published():
		return nil, "", failf("version %s of %s is a draft: publish it first; only published versions are signed", version, driver)
	case v.Package == nil:
		return nil, "", failf("version %s of %s has no package to sign", version, driver)
	}
	return v, runtime, nil
}

// updateTargets reads the current targets, changes them, and uploads the
// next version, lasting life, signed by the targets keys of root found in
// --keys.
func updateTargets(cmd *cobra.Command, c *client.Client, keys []*offlineKey, root *metadata.Metadata[metadata.RootType],
	life time.Duration, change func(*metadata.TargetsType) error) (*driverhub.TUFUpload, error) {
	ids := root.Signed.Roles[metadata.TARGETS].KeyIDs
	signers := keysFor(keys, metadata.TARGETS, ids)
	if len(signers) == 0 {
		return nil, missingKeys(keysDir(cmd), metadata.TARGETS, ids)
	}
	checkKeyModes(cmd, signers)
	cur, err := readTargets(cmd, c, keys)
	if err != nil {
		return nil, err
	}
	cur.Signed.Version++
	cur.Signed.Expires = tufmeta.Expiry(time.Now(), life)
	if err := change(&cur.Signed); err != nil {
		return nil, err
	}
	body, err := signWith(cur, signers)
	if err != nil {
		return nil, err
	}
	return c.PutTUFTargets(cmd.Context(), body)
}

// readTargets follows timestamp, snapshot and targets as the server serves
// them, and accepts the targets only when a targets key in --keys signed
// them: a server cannot make the CLI sign targets it made up.
func readTargets(cmd *cobra.Command, c *client.Client, keys []*offlineKey) (*metadata.Metadata[metadata.TargetsType], error) {
	ctx := cmd.Context()
	b, err := c.TUFFile(ctx, "timestamp.json")
	if err != nil {
		return nil, err
	}
	ts, err := metadata.Timestamp().FromBytes(b)
	if err != nil || ts.Signed.Meta["snapshot.json"] == nil {
		return nil, failf("the server's timestamp.json is not TUF timestamp metadata: %v", err)
	}
	if b, err = c.TUFFile(ctx, tufmeta.FileName(metadata.SNAPSHOT, ts.Signed.Meta["snapshot.json"].Version)); err != nil {
		return nil, err
	}
	snap, err := metadata.Snapshot().FromBytes(b)
	if err != nil || snap.Signed.Meta["targets.json"] == nil {
		return nil, failf("the server's snapshot is not TUF snapshot metadata: %v", err)
	}
	if b, err = c.TUFFile(ctx, tufmeta.FileName(metadata.TARGETS, snap.Signed.Meta["targets.json"].Version)); err != nil {
		return nil, err
	}
	t, err := metadata.Targets().FromBytes(b)
	if err != nil {
		return nil, failf("the server's targets are not TUF targets metadata: %v", err)
	}
	var mine []*offlineKey
	for _, k := range keys {
		if k.role == metadata.TARGETS {
			mine = append(mine, k)
		}
	}
	if !verifiedBy(t, metadata.TARGETS, mine) {
		return nil, failf("targets version %d from the server carries no valid signature of a targets key in --keys %s: refusing to sign on top of it",
			t.Signed.Version, keysDir(cmd))
	}
	return t, nil
}
