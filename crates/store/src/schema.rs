//! The one description of the store's tables, written out for each SQL dialect: SQLite and
//! PostgreSQL differ in types (serial ids, booleans, times, JSON), never in columns or keys.

/// The SQL dialect a schema is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A column type, named for what it holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A generated row id, the table's primary key.
    Serial,
    /// A 64-bit integer (ids of other rows, seeds, ordinals, shard numbers).
    Int64,
    /// A 32-bit integer (ports).
    Int32,
    Text,
    Bool,
    /// RFC 3339 in SQLite, `TIMESTAMPTZ` in PostgreSQL.
    Time,
    Json,
}

#[derive(Debug)]
struct Column {
    name: &'static str,
    kind: Kind,
    not_null: bool,
    /// `UNIQUE`, `REFERENCES runs (id)`, ...
    constraint: &'static str,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, not_null: true, constraint: "" }
}

const fn nullable(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, not_null: false, constraint: "" }
}

const fn run_ref() -> Column {
    Column { name: "run_id", kind: Kind::Int64, not_null: true, constraint: "REFERENCES runs (id)" }
}

#[derive(Debug)]
struct Table {
    name: &'static str,
    columns: &'static [Column],
    /// A composite primary key; a `Serial` column is the key otherwise.
    key: &'static [&'static str],
    /// SQLite stores key-only tables without a separate rowid.
    without_rowid: bool,
}

const TABLES: &[Table] = &[
    Table {
        name: "seawall_meta",
        columns: &[
            Column { name: "key", kind: Kind::Text, not_null: false, constraint: "PRIMARY KEY" },
            col("value", Kind::Text),
        ],
        key: &[],
        without_rowid: false,
    },
    Table {
        name: "runs",
        columns: &[
            col("id", Kind::Serial),
            Column { name: "name", kind: Kind::Text, not_null: true, constraint: "UNIQUE" },
            col("command", Kind::Text),
            col("seed", Kind::Int64),
            col("targets_digest", Kind::Text),
            col("config_digest", Kind::Text),
            col("created", Kind::Time),
        ],
        key: &[],
        without_rowid: false,
    },
    Table {
        name: "sessions",
        columns: &[
            col("id", Kind::Serial),
            run_ref(),
            col("args", Kind::Text),
            col("shard_index", Kind::Int64),
            col("shard_count", Kind::Int64),
            col("resumed", Kind::Bool),
            col("tool_version", Kind::Text),
            col("started", Kind::Time),
            nullable("ended", Kind::Time),
            col("status", Kind::Text),
            nullable("stats", Kind::Json),
        ],
        key: &[],
        without_rowid: false,
    },
    Table {
        name: "services",
        columns: &[
            run_ref(),
            col("host", Kind::Text),
            col("port", Kind::Int32),
            col("session_id", Kind::Int64),
            col("protocol", Kind::Text),
            nullable("product", Kind::Text),
            nullable("version", Kind::Text),
            col("data", Kind::Json),
        ],
        key: &["run_id", "host", "port"],
        without_rowid: false,
    },
    Table {
        name: "findings",
        columns: &[
            run_ref(),
            col("finding_id", Kind::Text),
            col("session_id", Kind::Int64),
            col("rule_id", Kind::Text),
            col("rule_source", Kind::Text),
            col("severity", Kind::Text),
            col("location", Kind::Text),
            col("data", Kind::Json),
        ],
        key: &["run_id", "finding_id"],
        without_rowid: false,
    },
    Table {
        name: "errors",
        columns: &[
            run_ref(),
            col("error_key", Kind::Text),
            col("session_id", Kind::Int64),
            col("source", Kind::Text),
            col("message", Kind::Text),
            col("data", Kind::Json),
        ],
        key: &["run_id", "error_key"],
        without_rowid: false,
    },
    Table {
        name: "done",
        columns: &[run_ref(), col("ordinal", Kind::Int64), col("session_id", Kind::Int64)],
        key: &["run_id", "ordinal"],
        without_rowid: true,
    },
];

/// Secondary indexes: (name, table, column).
const INDEXES: &[(&str, &str, &str)] = &[("sessions_run", "sessions", "run_id")];

fn type_name(kind: Kind, dialect: Dialect) -> &'static str {
    match (kind, dialect) {
        (Kind::Serial, Dialect::Sqlite) => "INTEGER PRIMARY KEY",
        (Kind::Serial, Dialect::Postgres) => "BIGSERIAL PRIMARY KEY",
        (Kind::Int64 | Kind::Int32 | Kind::Bool, Dialect::Sqlite) => "INTEGER",
        (Kind::Int64, Dialect::Postgres) => "BIGINT",
        (Kind::Int32, Dialect::Postgres) => "INTEGER",
        (Kind::Bool, Dialect::Postgres) => "BOOLEAN",
        (Kind::Text | Kind::Time | Kind::Json, Dialect::Sqlite) => "TEXT",
        (Kind::Text, Dialect::Postgres) => "TEXT",
        (Kind::Time, Dialect::Postgres) => "TIMESTAMPTZ",
        (Kind::Json, Dialect::Postgres) => "JSON",
    }
}

/// Every `CREATE ... IF NOT EXISTS` statement of the schema, for `dialect`.
pub(crate) fn ddl(dialect: Dialect) -> String {
    let mut out = String::new();
    for table in TABLES {
        let mut parts: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let mut column = format!("{} {}", c.name, type_name(c.kind, dialect));
                // A serial key is NOT NULL by being the key.
                if c.not_null && !matches!(c.kind, Kind::Serial) {
                    column.push_str(" NOT NULL");
                }
                if !c.constraint.is_empty() {
                    column.push(' ');
                    column.push_str(c.constraint);
                }
                column
            })
            .collect();
        if !table.key.is_empty() {
            parts.push(format!("PRIMARY KEY ({})", table.key.join(", ")));
        }
        let suffix = if table.without_rowid && dialect == Dialect::Sqlite { " WITHOUT ROWID" } else { "" };
        out.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    {}\n){suffix};\n",
            table.name,
            parts.join(",\n    ")
        ));
        for (index, on, column) in INDEXES.iter().filter(|(_, on, _)| *on == table.name) {
            out.push_str(&format!("CREATE INDEX IF NOT EXISTS {index} ON {on} ({column});\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_the_same_tables_and_keys() {
        let sqlite = ddl(Dialect::Sqlite);
        let postgres = ddl(Dialect::Postgres);
        for table in TABLES {
            let create = format!("CREATE TABLE IF NOT EXISTS {} (", table.name);
            assert!(sqlite.contains(&create) && postgres.contains(&create), "{}", table.name);
        }
        assert!(sqlite.contains("id INTEGER PRIMARY KEY,") && postgres.contains("id BIGSERIAL PRIMARY KEY,"));
        assert!(sqlite.contains("PRIMARY KEY (run_id, ordinal)\n) WITHOUT ROWID;"));
        assert!(!postgres.contains("WITHOUT ROWID"));
        assert!(postgres.contains("created TIMESTAMPTZ NOT NULL") && sqlite.contains("created TEXT NOT NULL"));
        assert!(postgres.contains("stats JSON\n)") && postgres.contains("ended TIMESTAMPTZ,"));
        assert_eq!(sqlite.matches("CREATE INDEX").count(), 1);
    }

    #[test]
    fn the_sqlite_schema_opens_in_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        conn.execute_batch(&ddl(Dialect::Sqlite)).expect("schema applies");
        conn.execute_batch(&ddl(Dialect::Sqlite)).expect("and applies again (IF NOT EXISTS)");
        let tables: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).expect("count");
        assert_eq!(tables as usize, TABLES.len());
    }
}
