//! The embedded store: one SQLite file in WAL mode. A committed transaction survives the
//! process being killed (the WAL is in the file system before `COMMIT` returns); with
//! `synchronous = NORMAL` the last transactions may be lost in a power cut, never half of one.
//! Several processes may write one file (the shards of a scan on one machine): writers queue
//! on SQLite's lock for up to [`BUSY_TIMEOUT`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, Params, TransactionBehavior, params};

use super::queries::{self, SqlRow, run_from_row, session_from_row, summary_from_row};
use super::rows::{Rows, seed_to_sql, shard_to_sql, u64_from_sql};
use super::schema::{self, Dialect};
use super::{
    Batch, NewRun, ResultStore, RunInfo, RunRef, RunResults, RunSummary, SCHEMA_VERSION, SessionEnd, SessionKey,
    SessionSpec, ShardSpec, StoreError,
};

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A SQLite file holding runs.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
}

impl SqliteStore {
    /// Open (or create) the file and its schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(&schema::ddl(Dialect::Sqlite))?;
        tx.execute("INSERT OR IGNORE INTO seawall_meta (key, value) VALUES ('schema', ?1)", params![SCHEMA_VERSION])?;
        let found: String = tx.query_row("SELECT value FROM seawall_meta WHERE key = 'schema'", [], |r| r.get(0))?;
        tx.commit()?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::Schema { found });
        }
        Ok(SqliteStore { path: path.to_owned(), conn })
    }
}

/// A statement of `queries` in SQLite's placeholders.
fn sql(statement: &str) -> std::borrow::Cow<'_, str> {
    queries::sql(Dialect::Sqlite, statement)
}

/// Every row of a `queries` statement, each read by `read`.
fn all<T>(
    conn: &Connection,
    statement: &str,
    params: impl Params,
    read: impl Fn(&dyn SqlRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare(&sql(statement))?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row as &dyn SqlRow)?);
    }
    Ok(out)
}

/// The first row of a `queries` statement, read by `read`.
fn first<T>(
    conn: &Connection,
    statement: &str,
    params: impl Params,
    read: impl Fn(&dyn SqlRow) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare(&sql(statement))?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(|row| read(row as &dyn SqlRow)).transpose()
}

impl ResultStore for SqliteStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn find_run(&mut self, run: &RunRef) -> Result<Option<RunInfo>, StoreError> {
        match run {
            RunRef::Id(id) => first(&self.conn, queries::RUN_BY_ID, params![id], run_from_row),
            RunRef::Name(name) => first(&self.conn, queries::RUN_BY_NAME, params![name], run_from_row),
        }
    }

    fn latest_unfinished(
        &mut self,
        command: &str,
        targets_digest: &str,
        config_digest: &str,
    ) -> Result<Option<RunInfo>, StoreError> {
        let params = params![command, targets_digest, config_digest];
        first(&self.conn, queries::LATEST_UNFINISHED, params, run_from_row)
    }

    fn create_run(&mut self, run: &NewRun) -> Result<RunInfo, StoreError> {
        self.conn.execute(
            &sql(queries::CREATE_RUN),
            params![
                run.name,
                run.command,
                seed_to_sql(run.seed),
                run.targets_digest,
                run.config_digest,
                run.created.to_string()
            ],
        )?;
        self.find_run(&RunRef::Name(run.name.clone()))?
            .ok_or_else(|| StoreError::Decode(format!("run {:?} vanished after insert", run.name)))
    }

    fn done_ordinals(&mut self, run_id: i64, shard: ShardSpec) -> Result<Vec<u64>, StoreError> {
        let params = params![run_id, shard_to_sql(shard.count)?, shard_to_sql(shard.index)?];
        all(&self.conn, queries::DONE_ORDINALS, params, |row| u64_from_sql(row.int(0)?, "ordinal"))
    }

    fn start_session(&mut self, run_id: i64, spec: &SessionSpec) -> Result<i64, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if spec.resume {
            tx.execute(
                &sql(queries::INTERRUPT_SESSIONS),
                params![run_id, shard_to_sql(spec.shard.index)?, shard_to_sql(spec.shard.count)?],
            )?;
        }
        tx.execute(
            "INSERT INTO sessions (run_id, args, shard_index, shard_count, resumed, tool_version, started, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running')",
            params![
                run_id,
                spec.args,
                shard_to_sql(spec.shard.index)?,
                shard_to_sql(spec.shard.count)?,
                spec.resume,
                spec.tool_version,
                spec.started.to_string()
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    fn write(&mut self, session: SessionKey, batches: &[Batch]) -> Result<(), StoreError> {
        let rows = Rows::from_batches(batches)?;
        let SessionKey { run_id, session_id } = session;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO services (run_id, host, port, session_id, protocol, product, version, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (run_id, host, port) DO UPDATE SET session_id = excluded.session_id,
                 protocol = excluded.protocol, product = excluded.product, version = excluded.version,
                 data = excluded.data",
            )?;
            for s in &rows.services {
                stmt.execute(params![run_id, s.host, s.port, session_id, s.protocol, s.product, s.version, s.data])?;
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO findings (run_id, finding_id, session_id, rule_id, rule_source, severity, location, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (run_id, finding_id) DO UPDATE SET session_id = excluded.session_id,
                 rule_id = excluded.rule_id, rule_source = excluded.rule_source, severity = excluded.severity,
                 location = excluded.location, data = excluded.data",
            )?;
            for f in &rows.findings {
                stmt.execute(params![
                    run_id,
                    f.id,
                    session_id,
                    f.rule_id,
                    f.rule_source,
                    f.severity,
                    f.location,
                    f.data
                ])?;
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO errors (run_id, error_key, session_id, source, message, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (run_id, error_key) DO UPDATE SET session_id = excluded.session_id",
            )?;
            for e in &rows.errors {
                stmt.execute(params![run_id, e.key, session_id, e.source, e.message, e.data])?;
            }
            let mut stmt = tx.prepare_cached(
                "INSERT INTO done (run_id, ordinal, session_id) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            for ordinal in &rows.done {
                stmt.execute(params![run_id, ordinal, session_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn end_session(&mut self, session: SessionKey, end: &SessionEnd) -> Result<(), StoreError> {
        let stats = serde_json::to_string(&end.stats).map_err(|e| StoreError::Decode(e.to_string()))?;
        self.conn.execute(
            "UPDATE sessions SET ended = ?1, status = ?2, stats = ?3 WHERE id = ?4",
            params![end.ended.to_string(), end.status.as_str(), stats, session.session_id],
        )?;
        Ok(())
    }

    fn runs(&mut self) -> Result<Vec<RunSummary>, StoreError> {
        all(&self.conn, queries::RUN_SUMMARIES, [], summary_from_row)
    }

    fn load(&mut self, run_id: i64) -> Result<RunResults, StoreError> {
        let run = self.find_run(&RunRef::Id(run_id))?.ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?;
        let mut results = RunResults { label: run.name.clone(), ..RunResults::default() };
        for (table, statement) in queries::RECORD_DATA {
            for data in all(&self.conn, statement, params![run_id], |row| row.text(0))? {
                queries::push_record(&mut results, table, &data)?;
            }
        }
        let done = first(&self.conn, queries::DONE_COUNT, params![run_id], |row| row.int(0))?.unwrap_or(0);
        results.endpoints_done = u64_from_sql(done, "count")?;
        results.sessions = all(&self.conn, queries::SESSIONS, params![run_id], session_from_row)?;
        results.run = Some(run);
        results.sort();
        Ok(results)
    }
}
