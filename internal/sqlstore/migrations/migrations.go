// Package migrations holds the schema of driverhub's SQL store: one file
// per version and dialect, sqlite/NNNN_name.sql and postgres/NNNN_name.sql,
// each run whole by sqlstore in one transaction with its version bump.
//
// To add a migration, add the next version to both directories: two files
// with the same number (four digits, one more than the last) and the same
// name, e.g. sqlite/0004_uploads.sql and postgres/0004_uploads.sql. A file
// may hold several statements separated by ';' and is run as written, with
// no rewriting: in postgres/, give every TEXT column COLLATE "C" (byte-wise
// order, as SQLite has), and keep to what runs in a transaction (no CREATE
// INDEX CONCURRENTLY, no VACUUM). Migrations only add, since servers of the
// previous version keep running on the migrated schema, and a released
// file is never edited: databases past its version will not run it again.
// sqlstore refuses gaps, duplicate versions and dialects that disagree; its
// tests (go test ./internal/sqlstore/ with DRIVERHUB_TEST_POSTGRES set)
// apply each version on SQLite and PostgreSQL and check that the two
// schemas have the same tables, columns, keys and indexes.
package migrations

import "embed"

// FS holds one directory per dialect, named as sqlstore.Dialect.Name.
//
//go:embed sqlite postgres
var FS embed.FS
