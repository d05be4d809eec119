//! The shared store: PostgreSQL, written by the N shards of a scan at once. Each transaction
//! writes its rows with one `INSERT ... SELECT FROM unnest(...) ON CONFLICT` per table, rows
//! sorted by key (see `rows.rs`), so concurrent shards never deadlock and a batch of endpoints
//! costs a handful of round trips. Record data is kept as `json` (not `jsonb`: evidence may hold
//! `\u0000`, which `jsonb` refuses; cast to `jsonb` in queries that need operators).
//!
//! The connection is plain TCP (no TLS): reach a remote server through a tunnel or a trusted
//! network. The client runs on a single-threaded runtime of its own, driven by each call.

use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use super::queries::{self, SqlRow, run_from_row, session_from_row, summary_from_row};
use super::rows::{Rows, seed_to_sql, shard_to_sql, u64_from_sql};
use super::schema::{self, Dialect};
use super::{
    Batch, NewRun, ResultStore, RunInfo, RunRef, RunResults, RunSummary, SCHEMA_VERSION, SessionEnd, SessionKey,
    SessionSpec, ShardSpec, StoreError, redact_location,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Transactions that lose a deadlock or serialization race are tried this many times.
const ATTEMPTS: usize = 5;

/// The advisory lock that serialises schema creation: N shards starting at once would
/// otherwise race in `CREATE TABLE IF NOT EXISTS`.
const SCHEMA_LOCK: i64 = 0x5eaa_570e;

const INSERT_SERVICES: &str = "
INSERT INTO services (run_id, host, port, session_id, protocol, product, version, data)
SELECT $1, h, p, $2, pr, pd, v, d::json
FROM unnest($3::text[], $4::int4[], $5::text[], $6::text[], $7::text[], $8::text[]) AS t (h, p, pr, pd, v, d)
ON CONFLICT (run_id, host, port) DO UPDATE SET session_id = excluded.session_id, protocol = excluded.protocol,
    product = excluded.product, version = excluded.version, data = excluded.data";

const INSERT_FINDINGS: &str = "
INSERT INTO findings (run_id, finding_id, session_id, rule_id, rule_source, severity, location, data)
SELECT $1, i, $2, r, rs, sv, l, d::json
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS t (i, r, rs, sv, l, d)
ON CONFLICT (run_id, finding_id) DO UPDATE SET session_id = excluded.session_id, rule_id = excluded.rule_id,
    rule_source = excluded.rule_source, severity = excluded.severity, location = excluded.location,
    data = excluded.data";

const INSERT_ERRORS: &str = "
INSERT INTO errors (run_id, error_key, session_id, source, message, data)
SELECT $1, k, $2, s, m, d::json
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS t (k, s, m, d)
ON CONFLICT (run_id, error_key) DO UPDATE SET session_id = excluded.session_id";

const INSERT_DONE: &str = "
INSERT INTO done (run_id, ordinal, session_id)
SELECT $1, o, $2 FROM unnest($3::int8[]) AS t (o)
ON CONFLICT DO NOTHING";

/// The statements every write uses, prepared once per connection.
struct Prepared {
    services: Statement,
    findings: Statement,
    errors: Statement,
    done: Statement,
}

/// A PostgreSQL database holding runs.
pub struct PostgresStore {
    location: String,
    runtime: Runtime,
    client: Client,
    prepared: Prepared,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("location", &self.location).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connect (`postgres://user[:password]@host[:port]/database`) and create the schema when absent.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let location = redact_location(url);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (client, prepared) = runtime.block_on(async {
            let connecting = tokio_postgres::connect(url, NoTls);
            let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
                .await
                .map_err(|_| StoreError::Conflict(format!("connecting to {location}: timed out")))??;
            // The connection does the I/O; it runs whenever a call drives the runtime.
            tokio::spawn(async move {
                let _ = connection.await;
            });
            let schema = schema::ddl(Dialect::Postgres);
            client
                .batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); {schema}
                     INSERT INTO seawall_meta (key, value) VALUES ('schema', '{SCHEMA_VERSION}')
                     ON CONFLICT (key) DO NOTHING; COMMIT;"
                ))
                .await?;
            let found: String =
                client.query_one("SELECT value FROM seawall_meta WHERE key = 'schema'", &[]).await?.get(0);
            if found != SCHEMA_VERSION {
                return Err(StoreError::Schema { found });
            }
            let prepared = Prepared {
                services: client.prepare(INSERT_SERVICES).await?,
                findings: client.prepare(INSERT_FINDINGS).await?,
                errors: client.prepare(INSERT_ERRORS).await?,
                done: client.prepare(INSERT_DONE).await?,
            };
            Ok::<_, StoreError>((client, prepared))
        })?;
        Ok(PostgresStore { location, runtime, client, prepared })
    }
}

fn is_retryable(error: &StoreError) -> bool {
    match error {
        StoreError::Postgres(e) => {
            matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE)
        }
        _ => false,
    }
}

impl PostgresStore {
    async fn write_once(
        client: &mut Client,
        prepared: &Prepared,
        session: SessionKey,
        rows: &Rows,
    ) -> Result<(), StoreError> {
        let SessionKey { run_id, session_id } = session;
        let tx = client.transaction().await?;
        if !rows.services.is_empty() {
            let host: Vec<&str> = rows.services.iter().map(|s| s.host.as_str()).collect();
            let port: Vec<i32> = rows.services.iter().map(|s| s.port).collect();
            let protocol: Vec<&str> = rows.services.iter().map(|s| s.protocol.as_str()).collect();
            let product: Vec<Option<&str>> = rows.services.iter().map(|s| s.product.as_deref()).collect();
            let version: Vec<Option<&str>> = rows.services.iter().map(|s| s.version.as_deref()).collect();
            let data: Vec<&str> = rows.services.iter().map(|s| s.data.as_str()).collect();
            tx.execute(&prepared.services, &[&run_id, &session_id, &host, &port, &protocol, &product, &version, &data])
                .await?;
        }
        if !rows.findings.is_empty() {
            let id: Vec<&str> = rows.findings.iter().map(|f| f.id.as_str()).collect();
            let rule: Vec<&str> = rows.findings.iter().map(|f| f.rule_id.as_str()).collect();
            let source: Vec<&str> = rows.findings.iter().map(|f| f.rule_source.as_str()).collect();
            let severity: Vec<&str> = rows.findings.iter().map(|f| f.severity.as_str()).collect();
            let location: Vec<&str> = rows.findings.iter().map(|f| f.location.as_str()).collect();
            let data: Vec<&str> = rows.findings.iter().map(|f| f.data.as_str()).collect();
            tx.execute(&prepared.findings, &[&run_id, &session_id, &id, &rule, &source, &severity, &location, &data])
                .await?;
        }
        if !rows.errors.is_empty() {
            let key: Vec<&str> = rows.errors.iter().map(|e| e.key.as_str()).collect();
            let source: Vec<&str> = rows.errors.iter().map(|e| e.source.as_str()).collect();
            let message: Vec<&str> = rows.errors.iter().map(|e| e.message.as_str()).collect();
            let data: Vec<&str> = rows.errors.iter().map(|e| e.data.as_str()).collect();
            tx.execute(&prepared.errors, &[&run_id, &session_id, &key, &source, &message, &data]).await?;
        }
        if !rows.done.is_empty() {
            tx.execute(&prepared.done, &[&run_id, &session_id, &rows.done]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn strings(client: &Client, sql: &str, run_id: i64) -> Result<Vec<String>, StoreError> {
        client.query(sql, &[&run_id]).await?.iter().map(|row| row.text(0)).collect()
    }
}

impl ResultStore for PostgresStore {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn find_run(&mut self, run: &RunRef) -> Result<Option<RunInfo>, StoreError> {
        let client = &self.client;
        self.runtime.block_on(async {
            let row = match run {
                RunRef::Id(id) => client.query_opt(queries::RUN_BY_ID, &[id]).await?,
                RunRef::Name(name) => client.query_opt(queries::RUN_BY_NAME, &[name]).await?,
            };
            row.as_ref().map(|row| run_from_row(row)).transpose()
        })
    }

    fn latest_unfinished(
        &mut self,
        command: &str,
        targets_digest: &str,
        config_digest: &str,
    ) -> Result<Option<RunInfo>, StoreError> {
        let client = &self.client;
        self.runtime.block_on(async {
            let row =
                client.query_opt(queries::LATEST_UNFINISHED, &[&command, &targets_digest, &config_digest]).await?;
            row.as_ref().map(|row| run_from_row(row)).transpose()
        })
    }

    fn create_run(&mut self, run: &NewRun) -> Result<RunInfo, StoreError> {
        let client = &self.client;
        self.runtime.block_on(async {
            client
                .execute(
                    queries::CREATE_RUN,
                    &[
                        &run.name,
                        &run.command,
                        &seed_to_sql(run.seed),
                        &run.targets_digest,
                        &run.config_digest,
                        &run.created,
                    ],
                )
                .await?;
            Ok::<_, StoreError>(())
        })?;
        self.find_run(&RunRef::Name(run.name.clone()))?
            .ok_or_else(|| StoreError::Decode(format!("run {:?} vanished after insert", run.name)))
    }

    fn done_ordinals(&mut self, run_id: i64, shard: ShardSpec) -> Result<Vec<u64>, StoreError> {
        let client = &self.client;
        let (count, index) = (shard_to_sql(shard.count)?, shard_to_sql(shard.index)?);
        self.runtime.block_on(async {
            let rows = client.query(queries::DONE_ORDINALS, &[&run_id, &count, &index]).await?;
            rows.iter().map(|row| u64_from_sql(row.int(0)?, "ordinal")).collect()
        })
    }

    fn start_session(&mut self, run_id: i64, spec: &SessionSpec) -> Result<i64, StoreError> {
        let client = &mut self.client;
        let (index, count) = (shard_to_sql(spec.shard.index)?, shard_to_sql(spec.shard.count)?);
        self.runtime.block_on(async {
            let tx = client.transaction().await?;
            if spec.resume {
                tx.execute(queries::INTERRUPT_SESSIONS, &[&run_id, &index, &count]).await?;
            }
            let row = tx
                .query_one(
                    "INSERT INTO sessions (run_id, args, shard_index, shard_count, resumed, tool_version, started, status)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'running') RETURNING id",
                    &[&run_id, &spec.args, &index, &count, &spec.resume, &spec.tool_version, &spec.started],
                )
                .await?;
            let id: i64 = row.try_get(0)?;
            tx.commit().await?;
            Ok(id)
        })
    }

    fn write(&mut self, session: SessionKey, batches: &[Batch]) -> Result<(), StoreError> {
        let rows = Rows::from_batches(batches)?;
        let (client, prepared) = (&mut self.client, &self.prepared);
        self.runtime.block_on(async {
            let mut attempt = 1;
            loop {
                match PostgresStore::write_once(client, prepared, session, &rows).await {
                    Err(e) if attempt < ATTEMPTS && is_retryable(&e) => attempt += 1,
                    other => return other,
                }
            }
        })
    }

    fn end_session(&mut self, session: SessionKey, end: &SessionEnd) -> Result<(), StoreError> {
        let stats = serde_json::to_string(&end.stats).map_err(|e| StoreError::Decode(e.to_string()))?;
        let client = &self.client;
        self.runtime.block_on(async {
            client
                .execute(
                    "UPDATE sessions SET ended = $1, status = $2, stats = $3::text::json WHERE id = $4",
                    &[&end.ended, &end.status.as_str(), &stats, &session.session_id],
                )
                .await?;
            Ok(())
        })
    }

    fn runs(&mut self) -> Result<Vec<RunSummary>, StoreError> {
        let client = &self.client;
        self.runtime.block_on(async {
            client.query(queries::RUN_SUMMARIES, &[]).await?.iter().map(|row| summary_from_row(row)).collect()
        })
    }

    fn load(&mut self, run_id: i64) -> Result<RunResults, StoreError> {
        let run = self.find_run(&RunRef::Id(run_id))?.ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?;
        let client = &self.client;
        let mut results = self.runtime.block_on(async {
            let mut results = RunResults { label: run.name.clone(), ..RunResults::default() };
            for (table, statement) in queries::RECORD_DATA {
                for data in Self::strings(client, statement, run_id).await? {
                    queries::push_record(&mut results, table, &data)?;
                }
            }
            let done = client.query_one(queries::DONE_COUNT, &[&run_id]).await?.int(0)?;
            results.endpoints_done = u64_from_sql(done, "count")?;
            let sessions = client.query(queries::SESSIONS, &[&run_id]).await?;
            results.sessions = sessions.iter().map(|row| session_from_row(row)).collect::<Result<_, _>>()?;
            Ok::<_, StoreError>(results)
        })?;
        results.run = Some(run);
        results.sort();
        Ok(results)
    }
}
