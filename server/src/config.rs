//! Daemon configuration: plain data, read once in `main` and passed down.

use crate::store::StoreOptions;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Everything the daemon needs to know at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Directory of the store.
    pub data_dir: PathBuf,
    /// sled's page cache, in MiB.
    pub cache_mib: u64,
    /// The alert engine's schedule and SMTP relay.
    pub alerts: crate::alerts::AlertConfig,
    /// Scheduled backups: when, where, how many.
    pub backup: crate::backup::BackupConfig,
}

impl Config {
    /// A config for `data_dir` with defaults elsewhere.
    pub fn new(data_dir: PathBuf) -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            backup: crate::backup::BackupConfig::new(&data_dir),
            data_dir,
            cache_mib: 64,
            alerts: crate::alerts::AlertConfig::default(),
        }
    }

    /// The store's options.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            cache_bytes: self.cache_mib.saturating_mul(1024 * 1024),
        }
    }
}

/// The default data dir by XDG rules: `$XDG_DATA_HOME/recert` or `~/.local/share/recert`.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "recert").map(|d| d.data_dir().to_path_buf())
}
