//! The state of `scf-local serve`: functions, their code, and invocation logs, in one SQLite
//! database (`scf-local.db` in the state directory).
//!
//! Durability: the database runs in WAL mode. Function writes go through a connection with
//! `synchronous = FULL`, so a commit has reached the disk (the WAL is fsynced) before the API
//! answers: a crash or power loss after an acknowledged `CreateFunction` loses nothing, and
//! SQLite rolls back anything unacknowledged. Invocation logs go through a second connection
//! with `synchronous = NORMAL`: they are durable at the next checkpoint or function write,
//! and a warm `Invoke` does not wait for the disk.
//!
//! Every call is blocking: callers in async code use `spawn_blocking`.
//!
//! The database holds secrets (environment variables, code): the state directory is made
//! 0700 and the database 0600 (SQLite gives its `-wal` and `-shm` files the database's mode),
//! whatever the umask.
//!
//! A stored invocation log is bounded: its `Log` is the last [`crate::log::CLOUD_LOG_LIMIT`]
//! bytes, as the platform returns it with a result, and its `RetMsg` the first
//! [`RET_MSG_LIMIT`]. The platform caps a synchronous result at 6 MB; we found no
//! documented cap on the `RetMsg` that `GetFunctionLogs` reports. We keep the start of a
//! result (a JSON answer reads from its start) and the Log's size, so a row stays under
//! about 9 KB and the [`LOG_RETENTION`] rows under about 90 MB.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// The database file in the state directory.
pub const DB_FILE: &str = "scf-local.db";

/// Invocation logs kept; older ones are dropped.
pub const LOG_RETENTION: i64 = 10_000;

/// The most of a `RetMsg` kept with a stored log, bytes (its start, cut at a character).
pub const RET_MSG_LIMIT: usize = crate::log::CLOUD_LOG_LIMIT;

/// A function as `CreateFunction` and the updates left it (its code is stored beside it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRecord {
    /// `Namespace`.
    pub namespace: String,
    /// `FunctionName`.
    pub name: String,
    /// `FunctionId`, made up at creation (`lam-` and 8 hex digits, the platform's shape).
    pub function_id: String,
    /// `Description`.
    pub description: String,
    /// `Handler`.
    pub handler: String,
    /// `Runtime` (always `CustomRuntime`).
    pub runtime: String,
    /// `Timeout`, seconds.
    pub timeout: u32,
    /// `InitTimeout`, seconds.
    pub init_timeout: u32,
    /// `MemorySize`, MB.
    pub memory_size: u32,
    /// `Environment.Variables`, in order.
    pub environment: Vec<(String, String)>,
    /// `X-TC-Region` of the create call (`TENCENTCLOUD_REGION` of the instances).
    pub region: String,
    /// Size of the zip, bytes.
    pub code_size: u64,
    /// SHA-256 of the zip, hex.
    pub code_sha256: String,
    /// Creation time, Unix seconds.
    pub add_time: u64,
    /// Last change, Unix seconds.
    pub mod_time: u64,
    /// Grows by one with every change of code or configuration.
    pub revision: u64,
    /// `Code.ImageConfig` of an image function; `None` for a zip function. Records written
    /// before image functions existed read as zip functions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRecord>,
}

/// An image function's `Code.ImageConfig`, with its image a local directory or zip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// `ImageType` (`personal`, `enterprise`), kept to be shown back.
    pub image_type: String,
    /// `ImageUri` as given: a local path, or `file://` and a local path.
    pub uri: String,
    /// The local path `uri` names.
    pub path: String,
    /// `Command` then `Args`, split at spaces; empty runs the image's `scf_bootstrap` or
    /// `bootstrap`.
    pub command: Vec<String>,
    /// `ImagePort`: 9000 for a WebServer image, -1 for a Job image.
    pub port: i32,
}

/// A failure of the database (disk full, unreadable file, …).
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("state database: {e}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(format!("state database record: {e}"))
    }
}

/// One invocation as `GetFunctionLogs` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct InvocationLog {
    /// `Namespace`.
    pub namespace: String,
    /// `FunctionName`.
    pub function_name: String,
    /// `RequestId` (the invocation's).
    pub request_id: String,
    /// When it started, Unix milliseconds.
    pub start_ms: u64,
    /// Whether it has ended.
    pub finished: bool,
    /// 0 on success, the status code on failure (2 while running, as the platform).
    pub ret_code: i64,
    /// `RetMsg`, or `ErrMsg` for a failure.
    pub ret_msg: String,
    /// `Log`.
    pub log: String,
    /// `Duration`, ms.
    pub duration: f64,
    /// `BillDuration`, ms.
    pub bill_duration: u64,
    /// `MemUsage`, bytes.
    pub mem_usage: u64,
    /// `InvocationType`: `RequestResponse` or `Event`.
    pub invocation_type: String,
}

/// What `GetFunctionLogs` asks for.
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    /// `Namespace`.
    pub namespace: String,
    /// `FunctionName`, or every function of the namespace.
    pub function_name: Option<String>,
    /// `FunctionRequestId`.
    pub request_id: Option<String>,
    /// `Filter.RetCode`: `Some(true)` only successes (`is0`), `Some(false)` only failures.
    pub succeeded: Option<bool>,
    /// A status code the failures must have (`TimeLimitExceeded` → 433, …).
    pub ret_code: Option<i64>,
    /// Window on `start_ms`, inclusive.
    pub start_ms: Option<u64>,
    /// Window on `start_ms`, inclusive.
    pub end_ms: Option<u64>,
    /// Column to sort on: `start_ms`, `duration`, `mem_usage` or `function_name`.
    pub order_by: &'static str,
    /// Ascending.
    pub ascending: bool,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
    /// Stop after the row that brings the bytes of `RetMsg` and `Log` returned over this
    /// (at least one row is returned); `None`: no cap.
    pub max_bytes: Option<usize>,
}

/// The state database. Cheap to share (`Arc`); each connection is behind its own lock.
pub struct Store {
    path: PathBuf,
    functions: Mutex<Connection>,
    logs: Mutex<Connection>,
}

fn lock(c: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    c.lock().unwrap_or_else(PoisonError::into_inner)
}

fn connect(path: &Path, synchronous: &str) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    Ok(conn)
}

/// Creates `dir` (0700) or, when it exists and is ours to tighten (empty, or holding the
/// database), makes it 0700. Another existing directory (`--state-dir .`) keeps its mode.
fn private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |e: std::io::Error| StoreError(format!("cannot create {}: {e}", dir.display()));
    let ours = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none() || dir.join(DB_FILE).exists(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(err)?;
            true
        }
        Err(e) => return Err(err(e)),
    };
    if ours {
        // The umask may have taken bits the mode asked for; set it exactly.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Creates the database file 0600 if it is missing, and makes it and its `-wal` and `-shm`
/// files 0600 if they are not (made by an older scf-local, or under another umask).
fn private_files(db: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |p: &Path, e: std::io::Error| StoreError(format!("{}: {e}", p.display()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(db)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(err(db, e)),
    }
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let mut shm = db.as_os_str().to_owned();
    shm.push("-shm");
    for file in [db.to_path_buf(), PathBuf::from(wal), PathBuf::from(shm)] {
        match std::fs::metadata(&file) {
            Ok(m) if m.permissions().mode() & 0o777 != 0o600 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| err(&file, e))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(&file, e)),
        }
    }
    Ok(())
}

/// The first `limit` bytes of `text`, cut back to a character boundary.
fn head(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Store {
    /// Opens (creating it and its directory if needed) the database in `dir`. A directory
    /// created here, or found empty or holding the database, is made 0700; the database
    /// files are made 0600.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        private_dir(dir)?;
        let path = dir.join(DB_FILE);
        private_files(&path)?;
        let functions = connect(&path, "FULL")?;
        functions.execute_batch(
            "CREATE TABLE IF NOT EXISTS functions (
                 namespace TEXT NOT NULL,
                 name      TEXT NOT NULL,
                 record    TEXT NOT NULL,
                 code      BLOB NOT NULL,
                 UNIQUE (namespace, name)
             );
             CREATE TABLE IF NOT EXISTS invocations (
                 seq             INTEGER PRIMARY KEY AUTOINCREMENT,
                 namespace       TEXT NOT NULL,
                 function_name   TEXT NOT NULL,
                 request_id      TEXT NOT NULL,
                 start_ms        INTEGER NOT NULL,
                 finished        INTEGER NOT NULL,
                 ret_code        INTEGER NOT NULL,
                 ret_msg         TEXT NOT NULL,
                 log             TEXT NOT NULL,
                 duration        REAL NOT NULL,
                 bill_duration   INTEGER NOT NULL,
                 mem_usage       INTEGER NOT NULL,
                 invocation_type TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS invocations_by_function
                 ON invocations (namespace, function_name, start_ms);
             CREATE INDEX IF NOT EXISTS invocations_by_request ON invocations (request_id);",
        )?;
        // `Event` invocations still running when the last server stopped will not end.
        functions.execute(
            "UPDATE invocations SET finished = 1, ret_code = 500,
                 ret_msg = 'scf-local stopped before the invocation ended'
             WHERE finished = 0",
            [],
        )?;
        let logs = connect(&path, "NORMAL")?;
        Ok(Store {
            path,
            functions: Mutex::new(functions),
            logs: Mutex::new(logs),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every function (without code).
    pub fn functions(&self) -> Result<Vec<FunctionRecord>, StoreError> {
        let conn = lock(&self.functions);
        let mut stmt = conn.prepare("SELECT record FROM functions ORDER BY rowid")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    /// Adds a function with its code; `Ok(false)` when one of that name exists in the
    /// namespace. Returns once the write is on disk.
    pub fn insert(&self, record: &FunctionRecord, code: &[u8]) -> Result<bool, StoreError> {
        let json = serde_json::to_string(record)?;
        let conn = lock(&self.functions);
        let n = conn.execute(
            "INSERT INTO functions (namespace, name, record, code) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (namespace, name) DO NOTHING",
            params![record.namespace, record.name, json, code],
        )?;
        Ok(n == 1)
    }

    /// Replaces a function's record, and its code when given; `Ok(false)` when it does not
    /// exist. Returns once the write is on disk.
    pub fn update(&self, record: &FunctionRecord, code: Option<&[u8]>) -> Result<bool, StoreError> {
        let json = serde_json::to_string(record)?;
        let conn = lock(&self.functions);
        let n = match code {
            Some(code) => conn.execute(
                "UPDATE functions SET record = ?3, code = ?4 WHERE namespace = ?1 AND name = ?2",
                params![record.namespace, record.name, json, code],
            )?,
            None => conn.execute(
                "UPDATE functions SET record = ?3 WHERE namespace = ?1 AND name = ?2",
                params![record.namespace, record.name, json],
            )?,
        };
        Ok(n == 1)
    }

    /// Removes a function and its logs; `Ok(false)` when it does not exist.
    pub fn delete(&self, namespace: &str, name: &str) -> Result<bool, StoreError> {
        let mut conn = lock(&self.functions);
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM functions WHERE namespace = ?1 AND name = ?2",
            params![namespace, name],
        )?;
        tx.execute(
            "DELETE FROM invocations WHERE namespace = ?1 AND function_name = ?2",
            params![namespace, name],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// A function's code (the zip).
    pub fn code(&self, namespace: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = lock(&self.functions);
        Ok(conn
            .query_row(
                "SELECT code FROM functions WHERE namespace = ?1 AND name = ?2",
                params![namespace, name],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Records an invocation (started or ended; a later call with the same request id
    /// replaces the earlier row), its `RetMsg` cut to [`RET_MSG_LIMIT`] and its `Log` to
    /// [`crate::log::CLOUD_LOG_LIMIT`].
    pub fn record_invocation(&self, log: &InvocationLog) -> Result<(), StoreError> {
        let mut conn = lock(&self.logs);
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM invocations WHERE request_id = ?1",
            params![log.request_id],
        )?;
        tx.execute(
            "INSERT INTO invocations (namespace, function_name, request_id, start_ms, finished,
                 ret_code, ret_msg, log, duration, bill_duration, mem_usage, invocation_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                log.namespace,
                log.function_name,
                log.request_id,
                log.start_ms as i64,
                log.finished,
                log.ret_code,
                head(&log.ret_msg, RET_MSG_LIMIT),
                crate::log::tail(&log.log, crate::log::CLOUD_LOG_LIMIT),
                log.duration,
                log.bill_duration as i64,
                log.mem_usage as i64,
                log.invocation_type,
            ],
        )?;
        let seq = tx.last_insert_rowid();
        if seq % 100 == 0 {
            tx.execute(
                "DELETE FROM invocations WHERE seq <= ?1",
                params![seq - LOG_RETENTION],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The logs matching `query` (at most `query.limit` rows, and `query.max_bytes`), and
    /// how many match in all.
    pub fn invocations(&self, query: &LogQuery) -> Result<(u64, Vec<InvocationLog>), StoreError> {
        let mut cond = vec!["namespace = ?1".to_owned()];
        let mut args: Vec<rusqlite::types::Value> = vec![query.namespace.clone().into()];
        let mut arg = |cond: &mut Vec<String>, sql: &str, v: rusqlite::types::Value| {
            args.push(v);
            cond.push(sql.replace('?', &format!("?{}", args.len())));
        };
        if let Some(name) = &query.function_name {
            arg(&mut cond, "function_name = ?", name.clone().into());
        }
        if let Some(id) = &query.request_id {
            arg(&mut cond, "request_id = ?", id.clone().into());
        }
        match query.succeeded {
            Some(true) => cond.push("finished = 1 AND ret_code = 0".to_owned()),
            Some(false) => cond.push("finished = 1 AND ret_code <> 0".to_owned()),
            None => {}
        }
        if let Some(code) = query.ret_code {
            arg(&mut cond, "ret_code = ?", code.into());
        }
        if let Some(start) = query.start_ms {
            arg(&mut cond, "start_ms >= ?", (start as i64).into());
        }
        if let Some(end) = query.end_ms {
            arg(&mut cond, "start_ms <= ?", (end as i64).into());
        }
        let column = match query.order_by {
            "duration" | "mem_usage" | "function_name" => query.order_by,
            _ => "start_ms",
        };
        let dir = if query.ascending { "ASC" } else { "DESC" };
        let filter = cond.join(" AND ");
        let conn = lock(&self.logs);
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM invocations WHERE {filter}"),
            rusqlite::params_from_iter(args.iter()),
            |row| row.get(0),
        )?;
        let sql = format!(
            "SELECT namespace, function_name, request_id, start_ms, finished, ret_code, ret_msg,
                    log, duration, bill_duration, mem_usage, invocation_type
             FROM invocations WHERE {filter} ORDER BY {column} {dir}, seq {dir} LIMIT {} OFFSET {}",
            query.limit.min(i64::MAX as u64),
            query.offset.min(i64::MAX as u64)
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |row| {
            Ok(InvocationLog {
                namespace: row.get(0)?,
                function_name: row.get(1)?,
                request_id: row.get(2)?,
                start_ms: row.get::<_, i64>(3)? as u64,
                finished: row.get(4)?,
                ret_code: row.get(5)?,
                ret_msg: row.get(6)?,
                log: row.get(7)?,
                duration: row.get(8)?,
                bill_duration: row.get::<_, i64>(9)? as u64,
                mem_usage: row.get::<_, i64>(10)? as u64,
                invocation_type: row.get(11)?,
            })
        })?;
        let mut logs = Vec::new();
        let mut bytes = 0usize;
        for row in rows {
            let row = row?;
            bytes = bytes.saturating_add(row.ret_msg.len() + row.log.len());
            logs.push(row);
            if query.max_bytes.is_some_and(|most| bytes > most) {
                break;
            }
        }
        Ok((total as u64, logs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> FunctionRecord {
        FunctionRecord {
            namespace: "default".into(),
            name: name.into(),
            function_id: "lam-00000001".into(),
            description: String::new(),
            handler: "index.main_handler".into(),
            runtime: "CustomRuntime".into(),
            timeout: 3,
            init_timeout: 65,
            memory_size: 128,
            environment: vec![("K".into(), "V".into())],
            region: "ap-guangzhou".into(),
            code_size: 3,
            code_sha256: String::new(),
            add_time: 1,
            mod_time: 1,
            revision: 1,
            image: None,
        }
    }

    #[test]
    fn functions_persist_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(store.insert(&record("a"), b"zip").unwrap());
            assert!(!store.insert(&record("a"), b"other").unwrap());
            assert!(store.insert(&record("b"), b"zip-b").unwrap());
            let mut changed = record("b");
            changed.timeout = 9;
            assert!(store.update(&changed, Some(b"zip-b2")).unwrap());
            assert!(!store.update(&record("c"), None).unwrap());
            assert!(store.delete("default", "a").unwrap());
            assert!(!store.delete("default", "a").unwrap());
        }
        let store = Store::open(dir.path()).unwrap();
        let all = store.functions().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].timeout, 9);
        assert_eq!(store.code("default", "b").unwrap().unwrap(), b"zip-b2");
        assert_eq!(store.code("default", "a").unwrap(), None);
    }

    #[test]
    fn invocation_logs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = |id: &str, start: u64, code: i64| InvocationLog {
            namespace: "default".into(),
            function_name: "f".into(),
            request_id: id.into(),
            start_ms: start,
            finished: true,
            ret_code: code,
            ret_msg: "m".into(),
            log: "l".into(),
            duration: 1.5,
            bill_duration: 2,
            mem_usage: 3,
            invocation_type: "Event".into(),
        };
        store.record_invocation(&log("r1", 10, 0)).unwrap();
        store.record_invocation(&log("r2", 20, 433)).unwrap();
        let mut running = log("r3", 30, 2);
        running.finished = false;
        store.record_invocation(&running).unwrap();
        store.record_invocation(&log("r3", 30, 0)).unwrap();
        let q = LogQuery {
            namespace: "default".into(),
            function_name: Some("f".into()),
            order_by: "start_ms",
            limit: 10,
            ..Default::default()
        };
        let (total, rows) = store.invocations(&q).unwrap();
        assert_eq!(total, 3);
        let ids: Vec<_> = rows.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["r3", "r2", "r1"]);
        let failed = LogQuery {
            succeeded: Some(false),
            ..q.clone()
        };
        assert_eq!(store.invocations(&failed).unwrap().1[0].request_id, "r2");
        let one = LogQuery {
            request_id: Some("r1".into()),
            ascending: true,
            limit: 1,
            ..q.clone()
        };
        assert_eq!(store.invocations(&one).unwrap().0, 1);

        // A run cut short by a stop is reported ended (500) by the next server.
        let mut cut = log("r4", 40, 2);
        cut.finished = false;
        store.record_invocation(&cut).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let r4 = LogQuery {
            request_id: Some("r4".into()),
            ..q
        };
        let (_, rows) = store.invocations(&r4).unwrap();
        assert!(rows[0].finished);
        assert_eq!(rows[0].ret_code, 500);
    }

    #[test]
    fn stored_logs_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let big = |c: char| c.to_string().repeat(100_000);
        for i in 0..5 {
            store
                .record_invocation(&InvocationLog {
                    namespace: "default".into(),
                    function_name: "f".into(),
                    request_id: format!("r{i}"),
                    start_ms: i,
                    finished: true,
                    ret_code: 0,
                    // Multi-byte characters: the cut lands on a boundary.
                    ret_msg: format!("{{{}", big('é')),
                    log: format!("{}END", big('ü')),
                    duration: 1.0,
                    bill_duration: 1,
                    mem_usage: 1,
                    invocation_type: "Event".into(),
                })
                .unwrap();
        }
        let q = LogQuery {
            namespace: "default".into(),
            order_by: "start_ms",
            limit: 100,
            ..Default::default()
        };
        let (total, rows) = store.invocations(&q).unwrap();
        assert_eq!((total, rows.len()), (5, 5));
        for row in &rows {
            assert!(row.ret_msg.len() <= RET_MSG_LIMIT && row.ret_msg.len() > RET_MSG_LIMIT - 4);
            assert!(row.ret_msg.starts_with('{'));
            assert!(row.log.len() <= crate::log::CLOUD_LOG_LIMIT);
            assert!(row.log.ends_with("END"));
        }
        // (max_bytes, rows returned): one row at least, then up to the row that passes it.
        let row = rows[0].ret_msg.len() + rows[0].log.len();
        for (max_bytes, expected) in [
            (Some(0), 1),
            (Some(row), 2),
            (Some(2 * row + 1), 3),
            (None, 5),
        ] {
            let q = LogQuery {
                max_bytes,
                ..q.clone()
            };
            assert_eq!(
                store.invocations(&q).unwrap().1.len(),
                expected,
                "{max_bytes:?}"
            );
        }
        // Offsets and limits past i64 do not wrap.
        let far = LogQuery {
            offset: u64::MAX,
            limit: u64::MAX,
            ..q
        };
        assert_eq!(store.invocations(&far).unwrap().1.len(), 0);
    }
}
