//! Daemon configuration: plain data, read once at start-up and passed down. [`load`] layers
//! it: defaults, then the TOML file, then flags and environment (which `main` has parsed).

use crate::alerts::redact_url;
use crate::alerts::schedule::{ScheduleError, TickSchedule};
use crate::backup::{BackupConfig, BackupError};
use crate::store::StoreOptions;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// The PostgreSQL database to use instead of the sled store in `data_dir`.
    pub database_url: Option<DatabaseUrl>,
    /// On PostgreSQL, how long the alert lease lasts without renewal: the longest a dead
    /// leader's alerts wait for another daemon.
    pub lease: std::time::Duration,
}

/// A database URL (`postgres://USER[:PASS]@HOST:PORT/DB`); `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
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
            database_url: None,
            lease: std::time::Duration::from_secs(15),
        }
    }

    /// The store's options.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            cache_bytes: self.cache_mib.saturating_mul(1024 * 1024),
        }
    }
}

/// One layer of settings, every key optional: the config file's shape, and what the flags
/// and environment gave. Later layers win key by key.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where to listen.
    pub listen: Option<SocketAddr>,
    /// Directory of the store.
    pub data_dir: Option<PathBuf>,
    /// sled's page cache, in MiB (0 counts as 1).
    pub cache_mib: Option<u64>,
    /// Cron expression of the alert tick.
    pub alert_schedule: Option<String>,
    /// SMTP relay URL; may carry `user:pass@`, so `Debug` hides the password.
    pub smtp_url: Option<String>,
    /// From address of alert e-mails.
    pub smtp_from: Option<String>,
    /// Cron expression (UTC) of the scheduled backup, or "off".
    pub backup_schedule: Option<String>,
    /// Directory of scheduled backups.
    pub backup_dir: Option<PathBuf>,
    /// How many scheduled backups to keep (at least 1).
    pub backup_keep: Option<u32>,
    /// PostgreSQL database URL; may carry a password, so `Debug` hides it.
    pub database_url: Option<String>,
    /// Seconds the alert lease lasts (PostgreSQL; at least 1).
    pub lease_secs: Option<u64>,
}

impl Settings {
    /// Each key from `self`, else from `under`.
    fn over(self, under: Settings) -> Settings {
        Settings {
            listen: self.listen.or(under.listen),
            data_dir: self.data_dir.or(under.data_dir),
            cache_mib: self.cache_mib.or(under.cache_mib),
            alert_schedule: self.alert_schedule.or(under.alert_schedule),
            smtp_url: self.smtp_url.or(under.smtp_url),
            smtp_from: self.smtp_from.or(under.smtp_from),
            backup_schedule: self.backup_schedule.or(under.backup_schedule),
            backup_dir: self.backup_dir.or(under.backup_dir),
            backup_keep: self.backup_keep.or(under.backup_keep),
            database_url: self.database_url.or(under.database_url),
            lease_secs: self.lease_secs.or(under.lease_secs),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("cache_mib", &self.cache_mib)
            .field("alert_schedule", &self.alert_schedule)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("backup_schedule", &self.backup_schedule)
            .field("backup_dir", &self.backup_dir)
            .field("backup_keep", &self.backup_keep)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .finish()
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {}: {error}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error (in the message, so not also a `source`).
        error: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("config file {} is invalid: {error}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error (in the message, so not also a `source`).
        error: toml::de::Error,
    },
    /// No data dir was given and there is no home directory to default to.
    #[error("no data dir: set --data-dir or RECERT_DATA_DIR (no home directory found)")]
    NoDataDir,
    /// The alert schedule does not parse.
    #[error(transparent)]
    AlertSchedule(#[from] ScheduleError),
    /// The backup schedule does not parse.
    #[error(transparent)]
    BackupSchedule(#[from] BackupError),
    /// `backup_keep` is 0.
    #[error("backup_keep must be at least 1")]
    BackupKeep,
}

/// The config: defaults, overridden by the TOML file at `file` (if given), overridden by
/// `flags` (the command line and environment).
pub fn load(file: Option<&Path>, flags: Settings) -> Result<Config, ConfigError> {
    let from_file = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                path: path.to_path_buf(),
                error,
            })?;
            toml::from_str::<Settings>(&text).map_err(|error| ConfigError::Parse {
                path: path.to_path_buf(),
                error,
            })?
        }
        None => Settings::default(),
    };
    let settings = flags.over(from_file);
    let data_dir = settings
        .data_dir
        .or_else(default_data_dir)
        .ok_or(ConfigError::NoDataDir)?;
    let mut config = Config::new(data_dir);
    if let Some(listen) = settings.listen {
        config.listen = listen;
    }
    if let Some(mib) = settings.cache_mib {
        config.cache_mib = mib.max(1);
    }
    if let Some(text) = settings.alert_schedule {
        config.alerts.schedule = TickSchedule::parse(&text)?;
    }
    config.alerts.smtp_url = settings.smtp_url;
    config.database_url = settings
        .database_url
        .filter(|url| !url.is_empty())
        .map(DatabaseUrl);
    if let Some(secs) = settings.lease_secs {
        config.lease = std::time::Duration::from_secs(secs.max(1));
    }
    if let Some(from) = settings.smtp_from {
        config.alerts.smtp_from = from;
    }
    if let Some(text) = settings.backup_schedule {
        config.backup.schedule = BackupConfig::parse_schedule(&text)?;
    }
    if let Some(dir) = settings.backup_dir {
        config.backup.dir = dir;
    }
    if let Some(keep) = settings.backup_keep {
        if keep < 1 {
            return Err(ConfigError::BackupKeep);
        }
        config.backup.keep = keep as usize;
    }
    Ok(config)
}

/// The default data dir by XDG rules: `$XDG_DATA_HOME/recert` or `~/.local/share/recert`.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "recert").map(|d| d.data_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_smtp_password() {
        let mut config = Config::new(PathBuf::from("/var/lib/recert"));
        config.alerts.smtp_url = Some("smtps://alerts:hunter2@mail.example.org:465".into());
        let settings = Settings {
            smtp_url: config.alerts.smtp_url.clone(),
            ..Settings::default()
        };
        for printed in [
            format!("{config:?}"),
            format!("{:?}", config.alerts),
            format!("{settings:?}"),
        ] {
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(
                printed.contains("smtps://alerts:***@mail.example.org:465"),
                "{printed}"
            );
        }
    }

    #[test]
    fn debug_hides_the_database_password() {
        let url = "postgres://recert:s3cret@db.example.org:5432/recert?sslmode=require";
        let flags = Settings {
            data_dir: Some("/x".into()),
            database_url: Some(url.into()),
            ..Settings::default()
        };
        let config = load(None, flags.clone()).unwrap();
        assert_eq!(config.database_url, Some(DatabaseUrl(url.into())));
        for printed in [format!("{config:?}"), format!("{flags:?}")] {
            assert!(!printed.contains("s3cret"), "{printed}");
            assert!(
                printed.contains("postgres://recert:***@db.example.org"),
                "{printed}"
            );
        }
    }

    #[test]
    fn redact_url_touches_only_a_password() {
        assert_eq!(redact_url("smtp://user:pass@host"), "smtp://user:***@host");
        assert_eq!(
            redact_url("smtp+starttls://u:p:q@h:587/x?y=@"),
            "smtp+starttls://u:***@h:587/x?y=@"
        );
        assert_eq!(redact_url("smtp://user@host"), "smtp://user@host");
        assert_eq!(redact_url("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recertd.toml");
        std::fs::write(
            &file,
            "data_dir = \"/from/file\"\ncache_mib = 8\nbackup_keep = 3\n",
        )
        .unwrap();
        let flags = Settings {
            cache_mib: Some(16),
            ..Settings::default()
        };
        let config = load(Some(&file), flags).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.cache_mib, 16);
        assert_eq!(config.backup.keep, 3);
        assert_eq!(config.backup.dir, PathBuf::from("/from/file/backups"));
        assert_eq!(config.listen, DEFAULT_LISTEN.parse().unwrap());
    }

    #[test]
    fn unknown_keys_and_zero_keep_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recertd.toml");
        std::fs::write(&file, "data_dir = \"/x\"\nsmtp_password = \"p\"\n").unwrap();
        assert!(matches!(
            load(Some(&file), Settings::default()),
            Err(ConfigError::Parse { .. })
        ));
        let flags = Settings {
            data_dir: Some("/x".into()),
            backup_keep: Some(0),
            ..Settings::default()
        };
        assert!(matches!(load(None, flags), Err(ConfigError::BackupKeep)));
    }
}
