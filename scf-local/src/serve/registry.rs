//! The functions `serve` knows: their records (kept in memory, written through to the
//! [`Store`]) and, once invoked, their instance [`Pool`].
//!
//! - Changes (create, update, delete) are serialized; each is on disk before it is visible
//!   and before the API answers.
//! - A function's pool is built on its first invocation (the zip is unpacked then) and shared
//!   by every later one. Changing the code or the configuration installs a fresh, empty slot:
//!   calls already running finish on the old pool, which is then shut down (drained).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::code::JOB_IMAGE_PORT;
use super::error::ApiError;
use super::store::{FunctionRecord, Store};
use crate::config::{FunctionConfig, Shape};
use crate::package::Package;
use crate::pool::Pool;
use crate::result::Status;

/// The emulator's settings shared by every function's pool.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// Most instances of one function at once.
    pub max_instances: usize,
    /// How long an idle instance stays warm.
    pub idle_timeout: Duration,
    /// Kill instances over `MemorySize` (434).
    pub enforce_memory: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        let d = FunctionConfig::default();
        PoolSettings {
            max_instances: d.max_instances,
            idle_timeout: d.idle_timeout,
            enforce_memory: d.enforce_memory,
        }
    }
}

/// A function's code made runnable, or why it cannot be.
pub enum Deployed {
    /// The pool that runs it.
    Ready(Pool),
    /// The package cannot run (no `bootstrap`: 437, …): every invocation gets this.
    Broken {
        /// The status of every invocation.
        status: Status,
        /// Its `ErrMsg`.
        message: String,
    },
}

/// A function's deployment slot: filled on first use, replaced on change.
pub type Slot = Arc<OnceCell<Deployed>>;

struct Entry {
    record: Arc<FunctionRecord>,
    slot: Slot,
}

type Key = (String, String);

/// Every function, by namespace and name.
pub struct Registry {
    store: Arc<Store>,
    settings: PoolSettings,
    writes: tokio::sync::Mutex<()>,
    state: Mutex<HashMap<Key, Entry>>,
}

fn key(namespace: &str, name: &str) -> Key {
    (namespace.to_owned(), name.to_owned())
}

/// `ResourceNotFound.Function`.
pub fn not_found(namespace: &str, name: &str) -> ApiError {
    ApiError::new(
        "ResourceNotFound.Function",
        format!("the function {name} does not exist in namespace {namespace}"),
    )
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(format!("a storage task failed: {e}"))))
}

impl Registry {
    /// Loads every function of `store`.
    pub fn open(store: Arc<Store>, settings: PoolSettings) -> Result<Registry, ApiError> {
        let mut state = HashMap::new();
        for record in store.functions()? {
            state.insert(
                key(&record.namespace, &record.name),
                Entry {
                    record: Arc::new(record),
                    slot: Slot::default(),
                },
            );
        }
        Ok(Registry {
            store,
            settings,
            writes: tokio::sync::Mutex::new(()),
            state: Mutex::new(state),
        })
    }

    /// The store behind the registry.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many functions there are.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A function's record.
    pub fn get(&self, namespace: &str, name: &str) -> Result<Arc<FunctionRecord>, ApiError> {
        self.lock()
            .get(&key(namespace, name))
            .map(|e| e.record.clone())
            .ok_or_else(|| not_found(namespace, name))
    }

    /// The functions of a namespace, in no particular order.
    pub fn list(&self, namespace: &str) -> Vec<Arc<FunctionRecord>> {
        self.lock()
            .values()
            .filter(|e| e.record.namespace == namespace)
            .map(|e| e.record.clone())
            .collect()
    }

    /// Adds a function (`ResourceInUse.Function` if the name is taken).
    pub async fn create(&self, record: FunctionRecord, code: Vec<u8>) -> Result<(), ApiError> {
        let _write = self.writes.lock().await;
        let k = key(&record.namespace, &record.name);
        let in_use = || {
            ApiError::new(
                "ResourceInUse.Function",
                format!(
                    "the function {} already exists in namespace {}",
                    record.name, record.namespace
                ),
            )
        };
        if self.lock().contains_key(&k) {
            return Err(in_use());
        }
        let store = self.store.clone();
        let stored = record.clone();
        let inserted = blocking(move || Ok(store.insert(&stored, &code)?)).await?;
        if !inserted {
            return Err(in_use());
        }
        self.lock().insert(
            k,
            Entry {
                record: Arc::new(record),
                slot: Slot::default(),
            },
        );
        Ok(())
    }

    /// Changes a function: `change` edits a copy of its record (and may refuse), `code`
    /// replaces its zip. The revision and `ModTime` move on, and the old pool is drained.
    pub async fn update(
        &self,
        namespace: &str,
        name: &str,
        code: Option<Vec<u8>>,
        change: impl FnOnce(&mut FunctionRecord) -> Result<(), ApiError>,
    ) -> Result<Arc<FunctionRecord>, ApiError> {
        let _write = self.writes.lock().await;
        let mut record = FunctionRecord::clone(&*self.get(namespace, name)?);
        change(&mut record)?;
        record.revision += 1;
        record.mod_time = super::now_secs();
        let store = self.store.clone();
        let stored = record.clone();
        let updated = blocking(move || Ok(store.update(&stored, code.as_deref())?)).await?;
        if !updated {
            return Err(not_found(namespace, name));
        }
        let record = Arc::new(record);
        let old = self.lock().insert(
            key(namespace, name),
            Entry {
                record: record.clone(),
                slot: Slot::default(),
            },
        );
        if let Some(old) = old {
            drain(old.slot, old.record.timeout);
        }
        Ok(record)
    }

    /// Removes a function and drains its pool.
    pub async fn delete(&self, namespace: &str, name: &str) -> Result<(), ApiError> {
        let _write = self.writes.lock().await;
        let timeout = self.get(namespace, name)?.timeout;
        let store = self.store.clone();
        let (ns, n) = (namespace.to_owned(), name.to_owned());
        if !blocking(move || Ok(store.delete(&ns, &n)?)).await? {
            return Err(not_found(namespace, name));
        }
        if let Some(old) = self.lock().remove(&key(namespace, name)) {
            drain(old.slot, timeout);
        }
        Ok(())
    }

    /// The function's record and its deployment, built on first use. The returned slot is
    /// held for the duration of an invocation (that is what draining waits for).
    pub async fn deployed(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(Arc<FunctionRecord>, Slot), ApiError> {
        let (record, slot) = {
            let state = self.lock();
            let entry = state
                .get(&key(namespace, name))
                .ok_or_else(|| not_found(namespace, name))?;
            (entry.record.clone(), entry.slot.clone())
        };
        slot.get_or_try_init(|| self.deploy(&record)).await?;
        Ok((record, slot))
    }

    async fn deploy(&self, record: &FunctionRecord) -> Result<Deployed, ApiError> {
        let store = self.store.clone();
        let (ns, name) = (record.namespace.clone(), record.name.clone());
        let image = record.image.as_ref().map(|i| i.path.clone());
        let package = blocking(move || {
            if let Some(path) = image {
                return Ok(Package::open_image(std::path::Path::new(&path)));
            }
            let code = store
                .code(&ns, &name)?
                .ok_or_else(|| not_found(&ns, &name))?;
            Ok(Package::from_zip_bytes(&code))
        })
        .await?;
        let package = match package {
            Ok(p) => p,
            Err(e) => {
                return Ok(Deployed::Broken {
                    status: e.status(),
                    message: e.to_string(),
                })
            }
        };
        match Pool::new(self.config(record), package) {
            Ok(pool) => Ok(Deployed::Ready(pool)),
            Err(e) => Ok(Deployed::Broken {
                status: Status::ContainerInitError,
                message: e.to_string(),
            }),
        }
    }

    /// The pool configuration of a function.
    pub fn config(&self, r: &FunctionRecord) -> FunctionConfig {
        FunctionConfig {
            function_name: r.name.clone(),
            handler: r.handler.clone(),
            timeout: Duration::from_secs(r.timeout.into()),
            init_timeout: Duration::from_secs(r.init_timeout.into()),
            memory_mb: r.memory_size,
            enforce_memory: self.settings.enforce_memory,
            env: r.environment.clone(),
            region: r.region.clone(),
            max_instances: self.settings.max_instances,
            idle_timeout: self.settings.idle_timeout,
            shape: match &r.image {
                None => Shape::Zip,
                Some(i) if i.port == JOB_IMAGE_PORT => Shape::Job,
                Some(_) => Shape::Image,
            },
            command: r
                .image
                .as_ref()
                .map(|i| i.command.clone())
                .unwrap_or_default(),
            ..FunctionConfig::default()
        }
    }

    /// Stops every instance of every function (busy ones too).
    pub async fn shutdown(&self) {
        let slots: Vec<Slot> = self.lock().values().map(|e| e.slot.clone()).collect();
        for slot in slots {
            if let Some(Deployed::Ready(pool)) = slot.get() {
                pool.shutdown().await;
            }
        }
    }
}

/// Shuts a replaced deployment down once the invocations holding it have ended (bounded by
/// the function's `Timeout` and a margin for a cold start).
fn drain(slot: Slot, timeout_secs: u32) {
    let bound = Duration::from_secs(u64::from(timeout_secs) + 120);
    tokio::spawn(async move {
        let started = Instant::now();
        while Arc::strong_count(&slot) > 1 && started.elapsed() < bound {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(Deployed::Ready(pool)) = slot.get() {
            pool.shutdown().await;
        }
    });
}
