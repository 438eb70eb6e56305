package sqlstore_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/sqlite"
	"github.com/driverhub/driverhub/internal/sqlstore"
)

// TestRolloutCountsReadIndexesOnly: the rollout loop counts a wave's
// targets many times a second while the wave reports, and a rollout's
// page counts them all. Read from indexes only, a count of 5,000 targets
// takes a few milliseconds; reading each deployment's row (its manifest
// fills the pages) took ten times as long, and SQLite's planner picks
// that path unless the query names the covering index.
func TestRolloutCountsReadIndexesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "driverhub.db")
	store, err := sqlite.Open(t.Context(), path) // the schema, migrated
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, oneWave := range []bool{true, false} {
		args := []any{"r1"}
		if oneWave {
			args = append(args, 2)
		}
		var steps []string
		rowsOf(t, db, "EXPLAIN QUERY PLAN "+sqlstore.CountTargetsQuery(sqlite.Dialect, oneWave), func(r *sql.Rows) error {
			var id, parent, unused int
			var detail string
			err := r.Scan(&id, &parent, &unused, &detail)
			steps = append(steps, detail)
			return err
		}, args...)
		reads := 0
		for _, s := range steps {
			if strings.HasPrefix(s, "SEARCH") || strings.HasPrefix(s, "SCAN") {
				reads++
				if !strings.Contains(s, "COVERING INDEX") {
					t.Errorf("one wave %v: %q reads rows, not an index only (plan: %q)", oneWave, s, steps)
				}
			}
		}
		if reads != 2 {
			t.Errorf("one wave %v: the plan reads %d tables, want targets and deployments: %q", oneWave, reads, steps)
		}
	}
}
