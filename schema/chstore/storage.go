package chstore

import (
	"context"
	"time"
)

// TableStorage is what one table of the database holds on this server:
// its active parts' rows and bytes, and the time its rows span (for tables
// partitioned by time).
type TableStorage struct {
	Table             string
	Rows              uint64
	BytesOnDisk       uint64
	BytesUncompressed uint64
	Parts             uint64
	Partitions        uint64
	// Oldest and Newest bound the rows' partition key times (zero for
	// tables not partitioned by time).
	Oldest, Newest time.Time
}

// Storage lists the database's tables by their bytes on disk, the largest
// first, from system.parts: this server's parts only (on a cluster, each
// node holds its shard's).
func (s *Store) Storage(ctx context.Context) ([]TableStorage, error) {
	rows, err := s.conn.Query(ctx, `SELECT table, sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes), count(), uniqExact(partition_id),
       minIf(min_time, min_time > toDateTime(0)), maxIf(max_time, max_time > toDateTime(0))
FROM system.parts
WHERE database = ? AND active
GROUP BY table
ORDER BY sum(bytes_on_disk) DESC, table`, s.render.Database)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TableStorage
	for rows.Next() {
		var t TableStorage
		if err := rows.Scan(&t.Table, &t.Rows, &t.BytesOnDisk, &t.BytesUncompressed, &t.Parts, &t.Partitions, &t.Oldest, &t.Newest); err != nil {
			return nil, err
		}
		for _, at := range []*time.Time{&t.Oldest, &t.Newest} {
			if at.Unix() <= 0 {
				*at = time.Time{}
			} else {
				*at = at.UTC()
			}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
