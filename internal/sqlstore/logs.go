package sqlstore

import (
	"context"
	"strings"

	"github.com/driverhub/driverhub"
)

// logRowsPerInsert bounds the rows of one INSERT (5 parameters each), far
// below the parameter limits of SQLite and PostgreSQL.
const logRowsPerInsert = 200

// AppendDriverLogs adds lines to a binding's log, then trims it to the
// newest keep lines (none when keep <= 0). Line ids are time-ordered, so
// the newest lines are those with the greatest ids.
func (t *Tx) AppendDriverLogs(ctx context.Context, bindingID string, lines []driverhub.LogLine, keep int) error {
	for len(lines) > 0 {
		n := min(len(lines), logRowsPerInsert)
		var q strings.Builder
		q.WriteString(`INSERT INTO driver_logs (id, binding_id, time, stream, text) VALUES `)
		args := make([]any, 0, 5*n)
		for i, l := range lines[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, driverhub.NewID(), bindingID, toDB(l.Time), l.Stream, l.Text)
		}
		if _, err := t.exec(ctx, q.String(), args...); err != nil {
			return err
		}
		lines = lines[n:]
	}
	if keep <= 0 {
		return t.DeleteDriverLogs(ctx, bindingID)
	}
	// The subquery is the id of the keep-th newest line. With keep lines
	// or fewer it is NULL, "id < NULL" holds for no row, and nothing is
	// deleted.
	_, err := t.exec(ctx, `DELETE FROM driver_logs WHERE binding_id = ? AND id < (
		SELECT id FROM driver_logs WHERE binding_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		bindingID, bindingID, keep-1)
	return err
}

// TailDriverLogs returns the newest n lines, oldest first.
func (t *Tx) TailDriverLogs(ctx context.Context, bindingID string, n int) ([]driverhub.LogLine, error) {
	out := []driverhub.LogLine{}
	if n <= 0 {
		return out, nil
	}
	rows, err := t.query(ctx, `SELECT time, stream, text FROM (
		SELECT id, time, stream, text FROM driver_logs WHERE binding_id = ? ORDER BY id DESC LIMIT ?
	) tail ORDER BY id`, bindingID, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l driverhub.LogLine
		var at int64
		if err := rows.Scan(&at, &l.Stream, &l.Text); err != nil {
			return nil, err
		}
		l.Time = fromDB(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

func (t *Tx) DeleteDriverLogs(ctx context.Context, bindingID string) error {
	_, err := t.exec(ctx, `DELETE FROM driver_logs WHERE binding_id = ?`, bindingID)
	return err
}
