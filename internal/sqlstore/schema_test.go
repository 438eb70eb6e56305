package sqlstore_test

import (
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// schemaOf describes the tables of db in lines that read the same on
// SQLite and PostgreSQL when both hold the same schema: each column with
// its type, nullability and default, each table's primary key, unique
// constraints, foreign keys and indexes. Collations are not in it (every
// SQLite column compares byte-wise; PostgreSQL's are checked by
// internal/postgres's TestTextIsCollatedC).
func schemaOf(t *testing.T, db *sql.DB, dialect string) []string {
	t.Helper()
	var lines []string
	if dialect == "sqlite" {
		lines = sqliteSchema(t, db)
	} else {
		lines = postgresSchema(t, db)
	}
	slices.Sort(lines)
	return lines
}

// rowsOf runs q and calls scan on each row.
func rowsOf(t *testing.T, db *sql.DB, q string, scan func(*sql.Rows) error, args ...any) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func column(table, name, typ string, notNull bool, def sql.NullString) string {
	s := fmt.Sprintf("%s.%s %s", table, name, strings.ToLower(typ))
	if notNull {
		s += " not null"
	}
	if def.Valid {
		s += " default " + def.String
	}
	return s
}

func sqliteSchema(t *testing.T, db *sql.DB) []string {
	var tables, lines []string
	rowsOf(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`, func(r *sql.Rows) error {
		var name string
		err := r.Scan(&name)
		tables = append(tables, name)
		return err
	})
	for _, table := range tables {
		pk := map[int]string{}
		rowsOf(t, db, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, func(r *sql.Rows) error {
			var name, typ string
			var notNull bool
			var def sql.NullString
			var pkPos int
			if err := r.Scan(&name, &typ, &notNull, &def, &pkPos); err != nil {
				return err
			}
			if pkPos > 0 {
				// SQLite lets a key that is not INTEGER hold NULL, a
				// historical quirk; the store never writes one.
				pk[pkPos], notNull = name, true
			}
			lines = append(lines, column(table, name, typ, notNull, def))
			return nil
		}, table)
		if len(pk) > 0 {
			cols := make([]string, len(pk))
			for pos, name := range pk {
				cols[pos-1] = name
			}
			lines = append(lines, fmt.Sprintf("%s primary key (%s)", table, strings.Join(cols, ", ")))
		}
		rowsOf(t, db, `SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)`, func(r *sql.Rows) error {
			var from, to, toCol, onDelete string
			if err := r.Scan(&from, &to, &toCol, &onDelete); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s.%s references %s(%s) on delete %s", table, from, to, toCol, onDelete))
			return nil
		}, table)
		lines = append(lines, sqliteIndexes(t, db, table)...)
	}
	return lines
}

func sqliteIndexes(t *testing.T, db *sql.DB, table string) []string {
	type index struct {
		name, origin string
		unique       bool
	}
	var indexes []index
	rowsOf(t, db, `SELECT name, "unique", origin FROM pragma_index_list(?)`, func(r *sql.Rows) error {
		var i index
		err := r.Scan(&i.name, &i.unique, &i.origin)
		indexes = append(indexes, i)
		return err
	}, table)
	var lines []string
	for _, i := range indexes {
		var cols []string
		rowsOf(t, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, func(r *sql.Rows) error {
			var col string
			err := r.Scan(&col)
			cols = append(cols, col)
			return err
		}, i.name)
		switch i.origin {
		case "pk": // described by the table's primary key
		case "u":
			lines = append(lines, fmt.Sprintf("%s unique (%s)", table, strings.Join(cols, ", ")))
		default:
			lines = append(lines, indexLine(table, i.name, i.unique, cols))
		}
	}
	return lines
}

func indexLine(table, name string, unique bool, cols []string) string {
	kind := "index"
	if unique {
		kind = "unique index"
	}
	return fmt.Sprintf("%s %s %s (%s)", table, kind, name, strings.Join(cols, ", "))
}

// castSuffix is the cast PostgreSQL shows after a default (::text).
var castSuffix = regexp.MustCompile(`::[a-z ]+$`)

// pgColumns names the columns of a key, in order, for PostgreSQL.
const pgColumns = `(SELECT string_agg(a.attname, ', ' ORDER BY k.n)
	FROM unnest(%s) WITH ORDINALITY k(num, n) JOIN pg_attribute a ON a.attrelid = %s AND a.attnum = k.num)`

func postgresSchema(t *testing.T, db *sql.DB) []string {
	var lines []string
	rowsOf(t, db, `SELECT table_name, column_name, data_type, is_nullable = 'NO', column_default
		FROM information_schema.columns WHERE table_schema = current_schema()`, func(r *sql.Rows) error {
		var table, name, typ string
		var notNull bool
		var def sql.NullString
		if err := r.Scan(&table, &name, &typ, &notNull, &def); err != nil {
			return err
		}
		def.String = castSuffix.ReplaceAllString(def.String, "")
		lines = append(lines, column(table, name, typ, notNull, def))
		return nil
	})
	rowsOf(t, db, `SELECT t.relname, `+fmt.Sprintf(pgColumns, "c.conkey", "c.conrelid")+`, r.relname, `+
		fmt.Sprintf(pgColumns, "c.confkey", "c.confrelid")+`, c.confdeltype
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
		WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace`, func(r *sql.Rows) error {
		var table, from, to, toCol, onDelete string
		if err := r.Scan(&table, &from, &to, &toCol, &onDelete); err != nil {
			return err
		}
		actions := map[string]string{"a": "NO ACTION", "c": "CASCADE", "n": "SET NULL", "r": "RESTRICT", "d": "SET DEFAULT"}
		lines = append(lines, fmt.Sprintf("%s.%s references %s(%s) on delete %s", table, from, to, toCol, actions[onDelete]))
		return nil
	})
	rowsOf(t, db, `SELECT t.relname, i.relname, ix.indisprimary, ix.indisunique,
		EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype = 'u'), `+
		fmt.Sprintf(pgColumns, "ix.indkey::int2[]", "t.oid")+`
		FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
		WHERE t.relnamespace = current_schema()::regnamespace`, func(r *sql.Rows) error {
		var table, name, cols string
		var primary, unique, constraint bool
		if err := r.Scan(&table, &name, &primary, &unique, &constraint, &cols); err != nil {
			return err
		}
		switch {
		case primary:
			lines = append(lines, fmt.Sprintf("%s primary key (%s)", table, cols))
		case constraint:
			lines = append(lines, fmt.Sprintf("%s unique (%s)", table, cols))
		default:
			lines = append(lines, indexLine(table, name, unique, strings.Split(cols, ", ")))
		}
		return nil
	})
	return lines
}
