//! The embedded store: one SQLite file in WAL mode. A committed transaction survives the
//! process being killed (the WAL is in the file system before `COMMIT` returns); with
//! `synchronous = NORMAL` the last transactions may be lost in a power cut, never half of one.
//! Several processes may write one file (the shards of a scan on one machine): writers queue
//! on SQLite's lock for up to [`BUSY_TIMEOUT`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use seawall_model::RunEnd;

use super::rows::{Rows, from_json, seed_from_sql, seed_to_sql, shard_to_sql, u64_from_sql};
use super::schema::{self, Dialect};
use super::{
    Batch, NewRun, ResultStore, RunInfo, RunRef, RunResults, RunSummary, SCHEMA_VERSION, SessionEnd, SessionInfo,
    SessionKey, SessionSpec, SessionStatus, ShardSpec, StoreError,
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

const RUN_COLUMNS: &str = "id, name, command, seed, targets_digest, config_digest, created";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RunInfo> {
    Ok(RunInfo {
        id: row.get(0)?,
        name: row.get(1)?,
        command: row.get(2)?,
        seed: seed_from_sql(row.get(3)?),
        targets_digest: row.get(4)?,
        config_digest: row.get(5)?,
        created: row.get(6)?,
    })
}

impl ResultStore for SqliteStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn find_run(&mut self, run: &RunRef) -> Result<Option<RunInfo>, StoreError> {
        let found = match run {
            RunRef::Id(id) => self
                .conn
                .query_row(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"), params![id], run_from_row)
                .optional()?,
            RunRef::Name(name) => self
                .conn
                .query_row(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE name = ?1"), params![name], run_from_row)
                .optional()?,
        };
        Ok(found)
    }

    fn latest_unfinished(
        &mut self,
        command: &str,
        targets_digest: &str,
        config_digest: &str,
    ) -> Result<Option<RunInfo>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE command = ?1 AND targets_digest = ?2 AND config_digest = ?3
             AND EXISTS (SELECT 1 FROM sessions s WHERE s.run_id = runs.id AND s.status <> 'finished')
             ORDER BY id DESC LIMIT 1"
        );
        Ok(self.conn.query_row(&sql, params![command, targets_digest, config_digest], run_from_row).optional()?)
    }

    fn create_run(&mut self, run: &NewRun) -> Result<RunInfo, StoreError> {
        self.conn.execute(
            "INSERT INTO runs (name, command, seed, targets_digest, config_digest, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
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
        let mut stmt = self.conn.prepare("SELECT ordinal FROM done WHERE run_id = ?1 AND ordinal % ?2 = ?3")?;
        let rows = stmt.query_map(params![run_id, shard_to_sql(shard.count)?, shard_to_sql(shard.index)?], |r| {
            r.get::<_, i64>(0)
        })?;
        let mut ordinals = Vec::new();
        for row in rows {
            ordinals.push(u64_from_sql(row?, "ordinal")?);
        }
        Ok(ordinals)
    }

    fn start_session(&mut self, run_id: i64, spec: &SessionSpec) -> Result<i64, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if spec.resume {
            tx.execute(
                "UPDATE sessions SET status = 'interrupted'
                 WHERE run_id = ?1 AND shard_index = ?2 AND shard_count = ?3 AND status = 'running'",
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
        let sql = format!(
            "SELECT {RUN_COLUMNS},
               (SELECT count(*) FROM sessions s WHERE s.run_id = runs.id),
               (SELECT count(*) FROM sessions s WHERE s.run_id = runs.id AND s.status = 'finished'),
               (SELECT count(*) FROM done d WHERE d.run_id = runs.id),
               (SELECT count(*) FROM services v WHERE v.run_id = runs.id),
               (SELECT count(*) FROM findings f WHERE f.run_id = runs.id),
               (SELECT count(*) FROM errors e WHERE e.run_id = runs.id)
             FROM runs ORDER BY id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |row| {
            let count = |i: usize| row.get::<_, i64>(i).map(|n| n.max(0) as u64);
            Ok(RunSummary {
                run: run_from_row(row)?,
                sessions: count(7)?,
                sessions_finished: count(8)?,
                endpoints_done: count(9)?,
                services: count(10)?,
                findings: count(11)?,
                errors: count(12)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn load(&mut self, run_id: i64) -> Result<RunResults, StoreError> {
        let run = self.find_run(&RunRef::Id(run_id))?.ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?;
        let mut results = RunResults { label: run.name.clone(), ..RunResults::default() };
        for data in strings(&self.conn, "SELECT data FROM services WHERE run_id = ?1", run_id)? {
            results.services.push(from_json("stored service", &data)?);
        }
        for data in strings(&self.conn, "SELECT data FROM findings WHERE run_id = ?1", run_id)? {
            results.findings.push(from_json("stored finding", &data)?);
        }
        for data in strings(&self.conn, "SELECT data FROM errors WHERE run_id = ?1", run_id)? {
            results.errors.push(from_json("stored error", &data)?);
        }
        let done: i64 =
            self.conn.query_row("SELECT count(*) FROM done WHERE run_id = ?1", params![run_id], |r| r.get(0))?;
        results.endpoints_done = u64_from_sql(done, "count")?;
        let mut stmt = self.conn.prepare(
            "SELECT id, run_id, args, shard_index, shard_count, resumed, tool_version, started, ended, status, stats
             FROM sessions WHERE run_id = ?1",
        )?;
        type SessionRow = (i64, i64, String, i64, i64, bool, String, String, Option<String>, String, Option<String>);
        let rows = stmt.query_map(params![run_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        })?;
        for row in rows {
            let (id, run_id, args, index, count, resumed, tool_version, started, ended, status, stats): SessionRow =
                row?;
            results.sessions.push(SessionInfo {
                id,
                run_id,
                args,
                shard: ShardSpec { index: u64_from_sql(index, "shard")?, count: u64_from_sql(count, "shard")? },
                resumed,
                tool_version,
                started,
                ended,
                status: SessionStatus::parse(&status)
                    .ok_or_else(|| StoreError::Decode(format!("session status {status:?}")))?,
                stats: stats.map(|s| from_json::<RunEnd>("session stats", &s)).transpose()?,
            });
        }
        results.run = Some(run);
        results.sort();
        Ok(results)
    }
}

fn strings(conn: &Connection, sql: &str, run_id: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params![run_id], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
