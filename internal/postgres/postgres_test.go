package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/postgres"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/sqlstore"
	"github.com/driverhub/driverhub/internal/storetest"
)

// open opens the store at dsn and closes it when the test ends.
func open(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fresh opens a store on a new, empty schema.
func fresh(t testing.TB) driverhub.Store {
	t.Helper()
	return open(t, pgtest.Fresh(t, pgtest.URL(t)))
}

func TestStore(t *testing.T)            { storetest.Run(t, fresh) }
func TestStoreInstances(t *testing.T)   { storetest.RunInstances(t, fresh) }
func TestStoreDeployments(t *testing.T) { storetest.RunDeployments(t, fresh) }
func TestStoreMarket(t *testing.T)      { storetest.RunMarket(t, fresh) }
func TestStoreTUF(t *testing.T)         { storetest.RunTUF(t, fresh) }
func TestStoreRollouts(t *testing.T)    { storetest.RunRollouts(t, fresh) }

// rawDB opens the schema of dsn without migrating.
func rawDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func storeNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// TestMigrateConcurrently opens one empty schema from many pools at once,
// as replicas starting together do: every Open succeeds and each
// migration is applied once.
func TestMigrateConcurrently(t *testing.T) {
	dsn := pgtest.Fresh(t, pgtest.URL(t))
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
		}
	}
	var versions []int
	rows, err := rawDB(t, dsn).QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	var want []int
	for v := 1; v <= sqlstore.SchemaVersion(); v++ {
		want = append(want, v)
	}
	if diff := cmp.Diff(want, versions); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.Fresh(t, pgtest.URL(t))
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	newer := sqlstore.SchemaVersion() + 1
	if _, err := rawDB(t, dsn).ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, newer); err != nil {
		t.Fatal(err)
	}
	s, err = postgres.Open(t.Context(), dsn)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	for _, want := range []string{"newer", fmt.Sprint(newer), fmt.Sprint(sqlstore.SchemaVersion())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestTextIsCollatedC checks that every text column of the schema compares
// byte-wise, whatever the database's default collation.
func TestTextIsCollatedC(t *testing.T) {
	dsn := pgtest.Fresh(t, pgtest.URL(t))
	open(t, dsn)
	rows, err := rawDB(t, dsn).QueryContext(t.Context(), `SELECT table_name, column_name, COALESCE(collation_name, '')
		FROM information_schema.columns WHERE table_schema = current_schema() AND data_type = 'text'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, column, collation string
		if err := rows.Scan(&table, &column, &collation); err != nil {
			t.Fatal(err)
		}
		n++
		if collation != "C" {
			t.Errorf("%s.%s has collation %q, want C", table, column, collation)
		}
	}
	if n < 20 {
		t.Errorf("only %d text columns found", n)
	}
}

// TestFailStaleDeploymentsAcrossReplicas fails stale deployments from
// several pools at once, as replicas would: each instance is reported once.
func TestFailStaleDeploymentsAcrossReplicas(t *testing.T) {
	dsn := pgtest.Fresh(t, pgtest.URL(t))
	replicas := []*sqlstore.Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	s := replicas[0]
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: storeNow()}
	started := storeNow().Add(-time.Hour)
	const n = 20
	err := s.Update(ctx, func(tx driverhub.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for k := range n {
			i := &driverhub.Instance{ID: driverhub.NewID(), TenantID: tn.ID, Name: fmt.Sprintf("gw%d", k),
				SecretHash: driverhub.NewSecret("", 32), CreatedAt: storeNow(), UpdatedAt: storeNow()}
			if err := tx.CreateInstance(ctx, i); err != nil {
				return err
			}
			d := &driverhub.Deployment{ID: driverhub.NewID(), InstanceID: i.ID, Type: driverhub.DeployTypeDeploy,
				Status: driverhub.DeployProcessing, CreatedAt: storeNow(), StartedAt: &started}
			if k%4 == 3 {
				d.Status, d.StartedAt = driverhub.DeployPending, nil
			}
			if err := tx.CreateDeployment(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan []string, 9)
	for k := range cap(results) {
		go func() {
			var ids []string
			err := replicas[k%len(replicas)].Update(ctx, func(tx driverhub.Tx) error {
				var err error
				ids, err = tx.FailStaleDeployments(ctx, storeNow(), storeNow(), "timeout")
				return err
			})
			if err != nil {
				t.Error(err)
			}
			results <- ids
		}()
	}
	seen := map[string]int{}
	for range cap(results) {
		for _, id := range <-results {
			seen[id]++
		}
	}
	if len(seen) != n-n/4 {
		t.Errorf("%d instances reported, want %d", len(seen), n-n/4)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("instance %s reported %d times", id, c)
		}
	}
}

// TestNoLostUpdates runs the service's "keep one admin" rule from many
// pools at once: each Update counts the admins and demotes one only when
// another remains. Serializable updates leave exactly one admin (under
// Read Committed, two could both see two and leave none).
func TestNoLostUpdates(t *testing.T) {
	dsn := pgtest.Fresh(t, pgtest.URL(t))
	replicas := []*sqlstore.Store{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: storeNow()}
	const n = 8
	var users []*driverhub.User
	err := replicas[0].Update(ctx, func(tx driverhub.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for k := range n {
			u := &driverhub.User{ID: driverhub.NewID(), TenantID: tn.ID, Username: fmt.Sprintf("admin%d", k), Role: driverhub.RoleAdmin,
				PasswordHash: "x", CreatedAt: storeNow(), UpdatedAt: storeNow()}
			users = append(users, u)
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for k, u := range users {
		wg.Go(func() {
			<-start
			err := replicas[k%2].Update(ctx, func(tx driverhub.Tx) error {
				admins, err := tx.CountAdmins(ctx, tn.ID)
				if err != nil || admins <= 1 {
					return err
				}
				fresh, err := tx.UserByID(ctx, u.ID)
				if err != nil {
					return err
				}
				fresh.Role = driverhub.RoleViewer
				return tx.UpdateUser(ctx, fresh)
			})
			if err != nil {
				t.Errorf("demote %s: %v", u.Username, err)
			}
		})
	}
	close(start)
	wg.Wait()
	var admins int
	if err := replicas[0].View(ctx, func(tx driverhub.Tx) error {
		var err error
		admins, err = tx.CountAdmins(ctx, tn.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if admins != 1 {
		t.Errorf("%d admins left, want 1", admins)
	}
}

// TestUniqueUnderConcurrency creates the same driver from two pools at
// once, many times: exactly one insert of each name wins, the other is
// ErrConflict.
func TestUniqueUnderConcurrency(t *testing.T) {
	dsn := pgtest.Fresh(t, pgtest.URL(t))
	replicas := []*sqlstore.Store{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: storeNow()}
	if err := replicas[0].Update(ctx, func(tx driverhub.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatal(err)
	}
	for round := range 10 {
		name := fmt.Sprintf("race%d", round)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for k := range 2 {
			wg.Go(func() {
				<-start
				errs[k] = replicas[k].Update(ctx, func(tx driverhub.Tx) error {
					if _, err := tx.DriverByName(ctx, tn.ID, name); !errors.Is(err, driverhub.ErrNotFound) {
						if err == nil {
							return driverhub.ErrConflict
						}
						return err
					}
					return tx.CreateDriver(ctx, &driverhub.Driver{ID: driverhub.NewID(), TenantID: tn.ID, Name: name,
						Protocol: "modbus", Runtime: "python3", CreatedAt: storeNow(), UpdatedAt: storeNow()})
				})
			})
		}
		close(start)
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, driverhub.ErrConflict):
				conflicts++
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Errorf("round %d: %d created, %d conflicts; want 1 and 1", round, ok, conflicts)
		}
	}
}

func TestParseURL(t *testing.T) {
	c, err := postgres.ParseURL("postgres://u:secret@127.0.0.1:5/db?sslmode=disable&pool_max_conns=7")
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConns != 7 {
		t.Errorf("MaxConns = %d, want 7", c.MaxConns)
	}
	if _, ok := c.Conn.RuntimeParams["pool_max_conns"]; ok {
		t.Error("pool_max_conns passed on to the server")
	}
	if c.Conn.Database != "db" || c.Conn.Password != "secret" {
		t.Errorf("database %q, password %q", c.Conn.Database, c.Conn.Password)
	}
	if _, err := postgres.ParseURL("postgres://u@h/db?pool_max_conns=0"); err == nil {
		t.Error("pool_max_conns=0 accepted")
	}
	if c, _ := postgres.ParseURL("postgres://u@h/db"); c.MaxConns != postgres.DefaultMaxConns {
		t.Errorf("default MaxConns = %d", c.MaxConns)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db":                             "postgres://u@h/db",
		"host=h user=u password=secret dbname=db":       "host=h user=u password=xxxxx dbname=db",
		"host=h password='se cret' dbname=db":           "host=h password=xxxxx dbname=db",
	} {
		if got := postgres.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUpdateFirstHasConnectionsOfItsOwn: with the pool's every connection
// held (pool_max_conns=1, in a transaction that waits), an Update waits
// for one, and an UpdateFirst (a rollout's batch) runs at once.
func TestUpdateFirstHasConnectionsOfItsOwn(t *testing.T) {
	s := open(t, pgtest.Fresh(t, pgtest.URL(t))+"&pool_max_conns=1")
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(driverhub.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	defer func() {
		close(release)
		if err := <-done; err != nil {
			t.Errorf("the Update holding the connection: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.Update(ctx, func(driverhub.Tx) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update while the pool's only connection is held: %v, want it to wait (deadline exceeded)", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := s.UpdateFirst(ctx, func(tx driverhub.Tx) error {
		_, err := tx.RolloutByID(ctx, "", driverhub.NewID())
		return err
	})
	if !errors.Is(err, driverhub.ErrNotFound) {
		t.Errorf("UpdateFirst while the pool's only connection is held: %v, want it to run (and find no such rollout)", err)
	}
}
