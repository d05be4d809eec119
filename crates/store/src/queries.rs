//! The statements both backends run to find, list and read back runs and to manage sessions,
//! written once with PostgreSQL's `$N` placeholders ([`sql`] gives SQLite its `?N`), and the
//! decoding of their rows once, through [`SqlRow`] (a driver's row by column index; times as
//! RFC 3339, JSON columns read as text with `CAST`, valid in both). What the dialects really
//! do differently stays in the backends: batched inserts (`unnest` in PostgreSQL, one prepared
//! row at a time in SQLite) and the id of a new session.

use std::borrow::Cow;

use seawall_model::{RunEnd, RunResults, SessionInfo, SessionStatus, ShardSpec};

use super::rows::{from_json, seed_from_sql, u64_from_sql};
use super::schema::Dialect;
use super::{RunInfo, RunSummary, StoreError};

/// The columns of a run, in the order [`run_from_row`] reads them.
macro_rules! run_columns {
    () => {
        "id, name, command, seed, targets_digest, config_digest, created"
    };
}

pub(super) const RUN_BY_ID: &str = concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1");
pub(super) const RUN_BY_NAME: &str = concat!("SELECT ", run_columns!(), " FROM runs WHERE name = $1");

/// The newest run of the same command, targets and configuration with a session not finished.
pub(super) const LATEST_UNFINISHED: &str = concat!(
    "SELECT ",
    run_columns!(),
    " FROM runs WHERE command = $1 AND targets_digest = $2 AND config_digest = $3
     AND EXISTS (SELECT 1 FROM sessions s WHERE s.run_id = runs.id AND s.status <> 'finished')
     ORDER BY id DESC LIMIT 1"
);

pub(super) const CREATE_RUN: &str = "INSERT INTO runs (name, command, seed, targets_digest, config_digest, created)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING";

/// Endpoints done by the shard `ordinal % $2 = $3`.
pub(super) const DONE_ORDINALS: &str = "SELECT ordinal FROM done WHERE run_id = $1 AND ordinal % $2 = $3";

/// A resumed shard's sessions still marked running were killed.
pub(super) const INTERRUPT_SESSIONS: &str = "UPDATE sessions SET status = 'interrupted'
     WHERE run_id = $1 AND shard_index = $2 AND shard_count = $3 AND status = 'running'";

/// Every run with its counts, read by [`summary_from_row`].
pub(super) const RUN_SUMMARIES: &str = concat!(
    "SELECT ",
    run_columns!(),
    ",
       (SELECT count(*) FROM sessions s WHERE s.run_id = runs.id),
       (SELECT count(*) FROM sessions s WHERE s.run_id = runs.id AND s.status = 'finished'),
       (SELECT count(*) FROM done d WHERE d.run_id = runs.id),
       (SELECT count(*) FROM services v WHERE v.run_id = runs.id),
       (SELECT count(*) FROM findings f WHERE f.run_id = runs.id),
       (SELECT count(*) FROM errors e WHERE e.run_id = runs.id)
     FROM runs ORDER BY id"
);

pub(super) const DONE_COUNT: &str = "SELECT count(*) FROM done WHERE run_id = $1";

/// A run's sessions, read by [`session_from_row`].
pub(super) const SESSIONS: &str =
    "SELECT id, run_id, args, shard_index, shard_count, resumed, tool_version, started, ended, status,
            CAST(stats AS TEXT)
     FROM sessions WHERE run_id = $1";

/// A table whose `data` column keeps whole records.
#[derive(Debug, Clone, Copy)]
pub(super) enum RecordTable {
    Services,
    Findings,
    Errors,
}

/// The record tables and the query that reads their records back as JSON text.
pub(super) const RECORD_DATA: [(RecordTable, &str); 3] = [
    (RecordTable::Services, "SELECT CAST(data AS TEXT) FROM services WHERE run_id = $1"),
    (RecordTable::Findings, "SELECT CAST(data AS TEXT) FROM findings WHERE run_id = $1"),
    (RecordTable::Errors, "SELECT CAST(data AS TEXT) FROM errors WHERE run_id = $1"),
];

/// `statement` in the placeholders of `dialect`: `$N` stays for PostgreSQL, becomes `?N` for
/// SQLite (the statements above hold no `$` but in placeholders).
pub(super) fn sql(dialect: Dialect, statement: &str) -> Cow<'_, str> {
    match dialect {
        Dialect::Postgres => Cow::Borrowed(statement),
        Dialect::Sqlite => Cow::Owned(statement.replace('$', "?")),
    }
}

/// A record read back from `table`, added to `results`.
pub(super) fn push_record(results: &mut RunResults, table: RecordTable, data: &str) -> Result<(), StoreError> {
    match table {
        RecordTable::Services => results.services.push(from_json("stored service", data)?),
        RecordTable::Findings => results.findings.push(from_json("stored finding", data)?),
        RecordTable::Errors => results.errors.push(from_json("stored error", data)?),
    }
    Ok(())
}

/// A result row read by column index, whatever the driver; times come back as RFC 3339 text.
pub(super) trait SqlRow {
    fn int(&self, at: usize) -> Result<i64, StoreError>;
    fn boolean(&self, at: usize) -> Result<bool, StoreError>;
    fn text(&self, at: usize) -> Result<String, StoreError>;
    fn text_or_null(&self, at: usize) -> Result<Option<String>, StoreError>;
    fn time(&self, at: usize) -> Result<String, StoreError>;
    fn time_or_null(&self, at: usize) -> Result<Option<String>, StoreError>;
}

/// `SqlRow` for a driver's row, whose getter (`get`, `try_get`) reads any column type;
/// `$time` is the type the driver reads a time column as (RFC 3339 text in SQLite,
/// `TIMESTAMPTZ` in PostgreSQL).
macro_rules! sql_row {
    ($row:ty, $get:ident, $time:ty) => {
        impl SqlRow for $row {
            fn int(&self, at: usize) -> Result<i64, StoreError> {
                Ok(self.$get(at)?)
            }
            fn boolean(&self, at: usize) -> Result<bool, StoreError> {
                Ok(self.$get(at)?)
            }
            fn text(&self, at: usize) -> Result<String, StoreError> {
                Ok(self.$get(at)?)
            }
            fn text_or_null(&self, at: usize) -> Result<Option<String>, StoreError> {
                Ok(self.$get(at)?)
            }
            fn time(&self, at: usize) -> Result<String, StoreError> {
                Ok(self.$get::<_, $time>(at)?.to_string())
            }
            fn time_or_null(&self, at: usize) -> Result<Option<String>, StoreError> {
                Ok(self.$get::<_, Option<$time>>(at)?.map(|t| t.to_string()))
            }
        }
    };
}

sql_row!(rusqlite::Row<'_>, get, String);
sql_row!(tokio_postgres::Row, try_get, jiff::Timestamp);

/// A run from the first columns of a row (`run_columns!`).
pub(super) fn run_from_row(row: &dyn SqlRow) -> Result<RunInfo, StoreError> {
    Ok(RunInfo {
        id: row.int(0)?,
        name: row.text(1)?,
        command: row.text(2)?,
        seed: seed_from_sql(row.int(3)?),
        targets_digest: row.text(4)?,
        config_digest: row.text(5)?,
        created: row.time(6)?,
    })
}

/// A [`RUN_SUMMARIES`] row: the run and its counts.
pub(super) fn summary_from_row(row: &dyn SqlRow) -> Result<RunSummary, StoreError> {
    let count = |at: usize| row.int(at).map(|n| n.max(0) as u64);
    Ok(RunSummary {
        run: run_from_row(row)?,
        sessions: count(7)?,
        sessions_finished: count(8)?,
        endpoints_done: count(9)?,
        services: count(10)?,
        findings: count(11)?,
        errors: count(12)?,
    })
}

/// A [`SESSIONS`] row.
pub(super) fn session_from_row(row: &dyn SqlRow) -> Result<SessionInfo, StoreError> {
    let status = row.text(9)?;
    Ok(SessionInfo {
        id: row.int(0)?,
        run_id: row.int(1)?,
        args: row.text(2)?,
        shard: ShardSpec { index: u64_from_sql(row.int(3)?, "shard")?, count: u64_from_sql(row.int(4)?, "shard")? },
        resumed: row.boolean(5)?,
        tool_version: row.text(6)?,
        started: row.time(7)?,
        ended: row.time_or_null(8)?,
        status: SessionStatus::parse(&status)
            .ok_or_else(|| StoreError::Decode(format!("session status {status:?}")))?,
        stats: row.text_or_null(10)?.map(|s| from_json::<RunEnd>("session stats", &s)).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_reads_the_postgres_placeholders_as_numbered_ones() {
        assert_eq!(
            sql(Dialect::Sqlite, DONE_ORDINALS),
            "SELECT ordinal FROM done WHERE run_id = ?1 AND ordinal % ?2 = ?3"
        );
        assert_eq!(sql(Dialect::Postgres, DONE_ORDINALS), DONE_ORDINALS);
        assert!(RUN_SUMMARIES.starts_with("SELECT id, name, command, seed, targets_digest, config_digest, created,"));
    }

    /// A row of plain values: `None` is NULL.
    struct Values(Vec<Option<&'static str>>);

    impl SqlRow for Values {
        fn int(&self, at: usize) -> Result<i64, StoreError> {
            let text = self.text(at)?;
            text.parse().map_err(|_| StoreError::Decode(format!("{text} is no integer")))
        }
        fn boolean(&self, at: usize) -> Result<bool, StoreError> {
            Ok(self.text(at)? == "true")
        }
        fn text(&self, at: usize) -> Result<String, StoreError> {
            self.text_or_null(at)?.ok_or_else(|| StoreError::Decode(format!("column {at} is null")))
        }
        fn text_or_null(&self, at: usize) -> Result<Option<String>, StoreError> {
            Ok(self.0[at].map(str::to_owned))
        }
        fn time(&self, at: usize) -> Result<String, StoreError> {
            self.text(at)
        }
        fn time_or_null(&self, at: usize) -> Result<Option<String>, StoreError> {
            self.text_or_null(at)
        }
    }

    fn session(status: &'static str, shard_count: &'static str) -> Values {
        let ended = None;
        Values(vec![
            Some("1"),
            Some("1"),
            Some("scan"),
            Some("0"),
            Some(shard_count),
            Some("false"),
            Some("0.1.0"),
            Some("2025-01-01T00:00:00Z"),
            ended,
            Some(status),
            None,
        ])
    }

    #[test]
    fn a_session_row_with_an_unknown_status_or_a_negative_shard_is_refused() {
        let finished = session_from_row(&session("finished", "1")).expect("a session");
        assert_eq!((finished.status, finished.shard.count, finished.ended), (SessionStatus::Finished, 1, None));
        assert!(session_from_row(&session("paused", "1")).is_err());
        assert!(session_from_row(&session("running", "-1")).is_err());
    }

    #[test]
    fn summary_counts_follow_the_run_columns_and_a_negative_count_is_zero() {
        let mut values: Vec<Option<&'static str>> =
            vec![Some("4"), Some("r"), Some("scan"), Some("-1"), Some("t"), Some("c"), Some("2025-01-01T00:00:00Z")];
        values.extend(["2", "1", "5", "3", "4", "-1"].map(Some));
        let summary = summary_from_row(&Values(values)).expect("a summary");
        assert_eq!((summary.run.id, summary.run.seed), (4, u64::MAX));
        assert_eq!((summary.sessions, summary.endpoints_done, summary.findings, summary.errors), (2, 5, 4, 0));
    }
}
