package agent

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/driverrt"
	"github.com/driverhub/driverhub/internal/zippkg"
)

// configFileName is where a driver finds its configuration JSON
// (DRIVERHUB_CONFIG), in its working directory so that a container sees it too.
const configFileName = ".driverhub-config.json"

// prepare checks, downloads, verifies and unpacks one driver, and fetches
// its config file. It returns the stage that failed with the error.
func (a *Agent) prepare(ctx context.Context, p *progress, md *driverhub.ManifestDriver) (*Installed, driverhub.Stage, error) {
	if md.MinEdge != "" && driverhub.CompareEdgeVersions(driverhub.Version, md.MinEdge) < 0 {
		return nil, driverhub.StageInit, fmt.Errorf("needs edge version %s or later; this agent is %s", md.MinEdge, driverhub.Version)
	}
	if driverhub.Runtime(md.Runtime).NeedsCPUArch() && md.CPUArch != a.arch {
		return nil, driverhub.StageInit, fmt.Errorf("built for %s; this gateway is %s", md.CPUArch, a.arch)
	}
	if c, ok := a.cfg.Runtime.(driverrt.ContainerChecker); ok {
		if err := c.CheckContainer(md.Container); err != nil {
			return nil, driverhub.StageInit, err
		}
	}
	u, err := a.ids.userFor(md.Name, md.Container.Privileged)
	if err != nil {
		return nil, driverhub.StageInit, fmt.Errorf("no user to run the driver as: %w", err)
	}
	var dir string
	if md.Builtin {
		dir = filepath.Join(a.cfg.Dir, "builtin", md.Name)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return nil, driverhub.StageInit, fmt.Errorf("built-in driver %s is not installed in %s", md.Name, dir)
		}
		if u != nil {
			if err := driverrt.CheckReach(dir, *u); err != nil {
				return nil, driverhub.StageInit, fmt.Errorf("built-in driver %s cannot be run by its user: %w: install it readable by all", md.Name, err)
			}
		}
	} else {
		var stage driverhub.Stage
		if dir, stage, err = a.preparePackage(ctx, p, md, u); err != nil {
			return nil, stage, err
		}
	}
	if md.ConfigFile != nil {
		if _, err := a.fetch(ctx, md.ConfigFile); err != nil {
			return nil, driverhub.StageDownload, fmt.Errorf("config file %s: %w", md.ConfigFile.Name, err)
		}
	}
	return &Installed{Manifest: *md, Dir: dir}, "", nil
}

// preparePackage downloads, verifies and unpacks a driver's package, once:
// a version already unpacked is reused. It returns the package's directory.
func (a *Agent) preparePackage(ctx context.Context, p *progress, md *driverhub.ManifestDriver, u *driverrt.User) (string, driverhub.Stage, error) {
	if md.Package == nil {
		return "", driverhub.StageInit, errors.New("the deployment names no package")
	}
	signed, err := a.checkSigned(ctx, p, md) // before a byte is downloaded (SPEC §11)
	if err != nil {
		return "", driverhub.StageVerify, err
	}
	p.driverStep(md, driverhub.StageDownload, driverhub.DeployProcessing, "info", "downloading %d bytes", md.Package.Size)
	blob, err := a.fetch(ctx, md.Package)
	if err != nil {
		if isVerifyError(err) {
			return "", driverhub.StageVerify, err
		}
		return "", driverhub.StageDownload, err
	}
	p.driverStep(md, driverhub.StageVerify, driverhub.DeployProcessing, "info", "SHA-256 verified: %s%s", md.Package.SHA256, signed)
	if err := configNamesFree(blob, md); err != nil {
		return "", driverhub.StageUnpack, err
	}
	if err := a.ensureDriverDir(md.Name, u); err != nil {
		return "", driverhub.StageUnpack, err
	}
	if err := os.MkdirAll(a.runtimeDir(md.Name), 0o700); err != nil {
		return "", driverhub.StageUnpack, err
	}
	dir, err := a.placeUnpacked(md.Name, md.Version+"-"+md.Package.SHA256[:12], u, func(to string) error {
		return unpack(blob, md.Runtime, to)
	})
	if err != nil {
		return "", driverhub.StageUnpack, err
	}
	p.driverStep(md, driverhub.StageUnpack, driverhub.DeployProcessing, "info", "unpacked into %s", dir)
	return dir, "", nil
}

// configNamesFree refuses a package holding a file where the agent writes
// the driver's configuration: the config would silently replace it.
func configNamesFree(blob string, md *driverhub.ManifestDriver) error {
	taken := map[string]bool{configFileName: true}
	if md.ConfigFile != nil {
		taken[md.ConfigFile.Name] = true
	}
	z, err := zip.OpenReader(blob)
	if err != nil {
		return err
	}
	defer z.Close()
	for _, f := range z.File {
		if name := strings.TrimSuffix(f.Name, "/"); taken[name] {
			return fmt.Errorf("the package holds %s, the name of the driver's config file: rename one of them", name)
		}
	}
	return nil
}

func unpack(blob string, runtime driverhub.Runtime, dir string) error {
	f, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return err
	}
	return zippkg.Unpack(f, info.Size(), runtime, zippkg.DefaultLimits(), dir)
}
