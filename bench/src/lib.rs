//! recert-bench: the instruments that measure recert. Each module runs one benchmark and
//! returns a report that prints as a table and serialises to JSON.
//!
//! Figures that compare two things (an RPC against the daemon's own health check, the largest
//! alert tick against the smallest) are always measured side by side in one run: the machines
//! this runs on are shared and noisy, so only ratios taken together mean anything there.

pub mod auth;
pub mod daemon;
pub mod disk;
pub mod engine;
pub mod hostile;
pub mod import_load;
pub mod latency;
pub mod load;
pub mod machine;
pub mod memory;
pub mod seed;
pub mod status_cli;
pub mod suite;
pub mod team;
pub mod tick;

/// What can stop a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A flag or option is wrong.
    #[error("{0}")]
    Usage(String),
    /// The daemon cannot be reached.
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// The URL tried.
        url: String,
        /// What the transport said.
        detail: String,
    },
    /// An RPC the benchmark depends on (seeding, listing) failed.
    #[error("{what} failed: {code:?}: {message}")]
    Rpc {
        /// Which call.
        what: String,
        /// The gRPC status code.
        code: tonic::Code,
        /// The status message.
        message: String,
    },
    /// The recertd store failed.
    #[error(transparent)]
    Store(#[from] recertd::store::StoreError),
    /// The alert engine failed.
    #[error(transparent)]
    Alerts(#[from] recertd::alerts::AlertError),
    /// sled failed (engine measurements only).
    #[error("sled: {0}")]
    Engine(String),
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The recertd process misbehaved.
    #[error("recertd: {0}")]
    Daemon(String),
    /// A spawned task panicked or was cancelled.
    #[error("a benchmark task failed: {0}")]
    Task(String),
    /// A measured run did not do what it must (e.g. the wrong number of alerts).
    #[error("check failed: {0}")]
    Check(String),
}

impl BenchError {
    /// An [`BenchError::Io`] maker for `map_err`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Io { what, source }
    }

    /// An [`BenchError::Rpc`] maker for `map_err`.
    pub fn rpc(what: impl Into<String>) -> impl FnOnce(tonic::Status) -> BenchError {
        let what = what.into();
        move |status| BenchError::Rpc {
            what,
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

impl From<sled::Error> for BenchError {
    fn from(e: sled::Error) -> Self {
        BenchError::Engine(e.to_string())
    }
}

/// The result type of the benchmarks.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;
