package service

import (
	"context"

	"github.com/driverhub/driverhub"
)

// Rollouts honour signed drivers (SPEC §11): when the tenant deploys only
// signed packages, a rollout of a version that is not a current signed
// target is refused at creation, with the signature_missing problem a
// deployment of it would get. Each target's deployment still runs the
// same check (deployInTx), so a version revoked or left unsigned while the
// rollout runs fails the targets of the waves after, and the thresholds
// stop the rollout.

// rolloutSignature returns why version v of the publisher's driver drv
// cannot be rolled out under the tenant's signature policy: nothing when
// the tenant does not require signed drivers or v is signed.
func (s *Service) rolloutSignature(ctx context.Context, tx driverhub.Tx, tenantID, publisher string, drv *driverhub.Driver, v *driverhub.DriverVersion) ([]driverhub.Problem, error) {
	sig, err := signaturePolicy(ctx, tx, tenantID, s.timestamp())
	if err != nil {
		return nil, err
	}
	var out []driverhub.Problem
	checkSignature(func(resource string, code driverhub.ProblemCode, format string, args ...any) {
		out = append(out, driverhub.NewProblem(resource, code, format, args...))
	}, sig, publisher, drv, v)
	return out, nil
}
