//! Daemon configuration: plain data, read once at start-up and passed down. [`load`] layers
//! it: defaults, then the TOML file, then flags and environment (which `main` has parsed).

use crate::alerts::redact_url;
use crate::alerts::schedule::{ScheduleError, TickSchedule};
use crate::backup::{BackupConfig, BackupError};
use crate::store::StoreOptions;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use ipnet::IpNet;

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Where the daemon listens: a TCP address, or (`unix:PATH`) a Unix socket, mode 0600, for a
/// single-user machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("unix:") {
            Some("") => Err("unix: needs a socket path, e.g. unix:/run/recert.sock".into()),
            Some(path) => Ok(Listen::Unix(PathBuf::from(path))),
            None => s.parse().map(Listen::Tcp).map_err(|_| {
                format!("{s:?} is neither HOST:PORT (an IP address and port) nor unix:PATH")
            }),
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(addr) => write!(f, "{addr}"),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Everything the daemon needs to know at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: Listen,
    /// Directory of the store.
    pub data_dir: PathBuf,
    /// sled's page cache, in MiB.
    pub cache_mib: u64,
    /// The alert engine's schedule and SMTP relay.
    pub alerts: crate::alerts::AlertConfig,
    /// Scheduled backups: when, where, how many.
    pub backup: crate::backup::BackupConfig,
    /// The certificate and key to serve TLS with; plaintext without.
    pub tls: Option<TlsFiles>,
    /// The PostgreSQL database to use instead of the sled store in `data_dir`.
    pub database_url: Option<DatabaseUrl>,
    /// On PostgreSQL, how long the alert lease lasts without renewal: the longest a dead
    /// leader's alerts wait for another daemon.
    pub lease: std::time::Duration,
    /// The longest one `ExportData` stream may stay open: a reader that stalls past it is
    /// cut off, and the copy of the store it pinned freed.
    pub export_deadline: std::time::Duration,
    /// The most the standing cache (computed compliance, per holder and date) may hold, in
    /// MiB.
    pub standing_cache_mib: u64,
}

/// [`Config::standing_cache_mib`] by default.
pub const STANDING_CACHE_MIB: u64 = 64;

/// [`Config::export_deadline`] by default: 10 minutes.
pub const EXPORT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

/// PEM files of the server's TLS identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (`--tls-cert`).
    pub cert: PathBuf,
    /// The private key (`--tls-key`).
    pub key: PathBuf,
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
            tls: None,
            database_url: None,
            lease: std::time::Duration::from_secs(15),
            export_deadline: EXPORT_DEADLINE,
            standing_cache_mib: STANDING_CACHE_MIB,
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
    pub listen: Option<Listen>,
    /// Directory of the store.
    pub data_dir: Option<PathBuf>,
    /// sled's page cache, in MiB (0 counts as 1).
    pub cache_mib: Option<u64>,
    /// Cron expression of the alert tick.
    pub alert_schedule: Option<String>,
    /// Cron expression of the leads' digest, on each lead's local clock.
    pub digest_schedule: Option<String>,
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
    /// Internal address ranges (CIDR) that webhooks may reach all the same.
    pub webhook_allow_nets: Option<Vec<ipnet::IpNet>>,
    /// A file holding the SMTP password (its first line).
    pub smtp_password_file: Option<PathBuf>,
    /// The SMTP password itself: from the environment only, never a file key or a flag.
    #[serde(skip)]
    pub smtp_password: Option<String>,
    /// PEM certificate chain to serve TLS with.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Serve plaintext on a non-loopback address all the same.
    pub insecure_plaintext: Option<bool>,
    /// PostgreSQL database URL; may carry a password, so `Debug` hides it.
    pub database_url: Option<String>,
    /// Seconds the alert lease lasts (PostgreSQL; at least 1).
    pub lease_secs: Option<u64>,
    /// Seconds one export stream may stay open (at least 1).
    pub export_deadline_secs: Option<u64>,
    /// The standing cache's budget in MiB (at least 1).
    pub standing_cache_mib: Option<u64>,
}

impl Settings {
    /// Each key from `self`, else from `under`.
    fn over(self, under: Settings) -> Settings {
        Settings {
            listen: self.listen.or(under.listen),
            data_dir: self.data_dir.or(under.data_dir),
            cache_mib: self.cache_mib.or(under.cache_mib),
            alert_schedule: self.alert_schedule.or(under.alert_schedule),
            digest_schedule: self.digest_schedule.or(under.digest_schedule),
            smtp_url: self.smtp_url.or(under.smtp_url),
            smtp_from: self.smtp_from.or(under.smtp_from),
            backup_schedule: self.backup_schedule.or(under.backup_schedule),
            backup_dir: self.backup_dir.or(under.backup_dir),
            backup_keep: self.backup_keep.or(under.backup_keep),
            webhook_allow_nets: self.webhook_allow_nets.or(under.webhook_allow_nets),
            smtp_password_file: self.smtp_password_file.or(under.smtp_password_file),
            smtp_password: self.smtp_password.or(under.smtp_password),
            tls_cert: self.tls_cert.or(under.tls_cert),
            tls_key: self.tls_key.or(under.tls_key),
            insecure_plaintext: self.insecure_plaintext.or(under.insecure_plaintext),
            database_url: self.database_url.or(under.database_url),
            lease_secs: self.lease_secs.or(under.lease_secs),
            export_deadline_secs: self.export_deadline_secs.or(under.export_deadline_secs),
            standing_cache_mib: self.standing_cache_mib.or(under.standing_cache_mib),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("cache_mib", &self.cache_mib)
            .field("standing_cache_mib", &self.standing_cache_mib)
            .field("alert_schedule", &self.alert_schedule)
            .field("digest_schedule", &self.digest_schedule)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("backup_schedule", &self.backup_schedule)
            .field("backup_dir", &self.backup_dir)
            .field("backup_keep", &self.backup_keep)
            .field("webhook_allow_nets", &self.webhook_allow_nets)
            .field("smtp_password_file", &self.smtp_password_file)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("insecure_plaintext", &self.insecure_plaintext)
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
    /// The digest schedule does not parse.
    #[error("digest_schedule (--digest-schedule): {0}")]
    DigestSchedule(ScheduleError),
    /// The backup schedule does not parse.
    #[error(transparent)]
    BackupSchedule(#[from] BackupError),
    /// `backup_keep` is 0.
    #[error("backup_keep must be at least 1")]
    BackupKeep,
    /// The SMTP password file could not be read (its content is never in the message).
    #[error("cannot read the SMTP password file {}: {error}", .path.display())]
    SmtpPasswordFile {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// Only one of the TLS certificate and key was given.
    #[error("--tls-cert and --tls-key go together: give both, or neither")]
    TlsHalf,
    /// Plaintext on an address other machines can reach.
    #[error(
        "refusing to serve plaintext on {0}, which is not a loopback address: give --tls-cert and --tls-key, or --insecure-plaintext if a TLS proxy or a private network protects it"
    )]
    Plaintext(SocketAddr),
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
    if let Some(text) = settings.digest_schedule {
        config.alerts.digest_schedule =
            TickSchedule::parse(&text).map_err(ConfigError::DigestSchedule)?;
    }
    config.alerts.smtp_url = settings.smtp_url;
    config.alerts.smtp_password = match settings.smtp_password_file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| ConfigError::SmtpPasswordFile { path, error })?;
            Some(text.lines().next().unwrap_or_default().to_owned())
        }
        None => settings.smtp_password,
    };
    config.tls = match (settings.tls_cert, settings.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => return Err(ConfigError::TlsHalf),
    };
    if let Listen::Tcp(addr) = config.listen
        && config.tls.is_none()
        && !addr.ip().is_loopback()
        && !settings.insecure_plaintext.unwrap_or(false)
    {
        return Err(ConfigError::Plaintext(addr));
    }
    config.alerts.webhook_allow_nets = settings.webhook_allow_nets.unwrap_or_default();
    config.database_url = settings
        .database_url
        .filter(|url| !url.is_empty())
        .map(DatabaseUrl);
    if let Some(secs) = settings.lease_secs {
        config.lease = std::time::Duration::from_secs(secs.max(1));
    }
    if let Some(secs) = settings.export_deadline_secs {
        config.export_deadline = std::time::Duration::from_secs(secs.max(1));
    }
    if let Some(mib) = settings.standing_cache_mib {
        config.standing_cache_mib = mib.max(1);
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
            "data_dir = \"/from/file\"\ncache_mib = 8\nbackup_keep = 3\nstanding_cache_mib = 5\n",
        )
        .unwrap();
        let flags = Settings {
            cache_mib: Some(16),
            ..Settings::default()
        };
        let config = load(Some(&file), flags).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.cache_mib, 16);
        assert_eq!(config.standing_cache_mib, 5);
        assert_eq!(config.backup.keep, 3);
        assert_eq!(config.backup.dir, PathBuf::from("/from/file/backups"));
        assert_eq!(config.listen, DEFAULT_LISTEN.parse().unwrap());
    }

    #[test]
    fn plaintext_off_loopback_needs_tls_or_the_flag_that_insists() {
        let flags = |listen: &str, insecure: Option<bool>| Settings {
            data_dir: Some("/x".into()),
            listen: Some(listen.parse().unwrap()),
            insecure_plaintext: insecure,
            ..Settings::default()
        };
        for listen in ["0.0.0.0:50051", "[::]:50051", "192.168.1.5:1"] {
            let err = load(None, flags(listen, None)).unwrap_err();
            assert!(matches!(err, ConfigError::Plaintext(_)), "{listen}: {err}");
            assert!(err.to_string().contains("--insecure-plaintext"), "{err}");
            assert!(load(None, flags(listen, Some(true))).is_ok(), "{listen}");
        }
        for listen in ["127.0.0.1:0", "[::1]:50051", "unix:/run/recert.sock"] {
            assert!(load(None, flags(listen, None)).is_ok(), "{listen}");
        }
        let with_tls = Settings {
            tls_cert: Some("/c.pem".into()),
            tls_key: Some("/k.pem".into()),
            ..flags("0.0.0.0:50051", None)
        };
        assert_eq!(
            load(None, with_tls).unwrap().tls,
            Some(TlsFiles {
                cert: "/c.pem".into(),
                key: "/k.pem".into()
            })
        );
        let half = Settings {
            tls_cert: Some("/c.pem".into()),
            ..flags("127.0.0.1:0", None)
        };
        assert!(matches!(load(None, half), Err(ConfigError::TlsHalf)));
    }

    #[test]
    fn the_smtp_password_comes_from_its_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "hunter2\n").unwrap();
        let base = Settings {
            data_dir: Some("/x".into()),
            ..Settings::default()
        };
        let from_file = Settings {
            smtp_password_file: Some(file),
            smtp_password: Some("from-env".into()),
            ..base.clone()
        };
        let config = load(None, from_file).unwrap();
        assert_eq!(config.alerts.smtp_password.as_deref(), Some("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));
        let from_env = Settings {
            smtp_password: Some("from-env".into()),
            ..base.clone()
        };
        let config = load(None, from_env).unwrap();
        assert_eq!(config.alerts.smtp_password.as_deref(), Some("from-env"));
        let missing = Settings {
            smtp_password_file: Some(dir.path().join("absent")),
            ..base
        };
        assert!(matches!(
            load(None, missing),
            Err(ConfigError::SmtpPasswordFile { .. })
        ));
        // The password is no config file key: a file cannot carry it by mistake.
        let toml_file = dir.path().join("recertd.toml");
        std::fs::write(&toml_file, "data_dir = \"/x\"\nsmtp_password = \"p\"\n").unwrap();
        assert!(matches!(
            load(Some(&toml_file), Settings::default()),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn webhook_allow_nets_come_from_the_file_or_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recertd.toml");
        std::fs::write(
            &file,
            "data_dir = \"/x\"\nwebhook_allow_nets = [\"10.1.0.0/16\", \"fd00::/8\"]\n",
        )
        .unwrap();
        let config = load(Some(&file), Settings::default()).unwrap();
        assert_eq!(
            config.alerts.webhook_allow_nets,
            vec!["10.1.0.0/16".parse().unwrap(), "fd00::/8".parse().unwrap()]
        );
        let flags = Settings {
            webhook_allow_nets: Some(vec!["127.0.0.0/8".parse().unwrap()]),
            ..Settings::default()
        };
        let config = load(Some(&file), flags).unwrap();
        assert_eq!(
            config.alerts.webhook_allow_nets,
            vec!["127.0.0.0/8".parse().unwrap()]
        );
    }

    #[test]
    fn listen_is_an_address_or_a_unix_socket() {
        assert_eq!(
            "unix:/run/recert.sock".parse::<Listen>(),
            Ok(Listen::Unix("/run/recert.sock".into()))
        );
        assert_eq!(
            "127.0.0.1:1".parse::<Listen>(),
            Ok(Listen::Tcp("127.0.0.1:1".parse().unwrap()))
        );
        for bad in ["unix:", "localhost:50051", "50051"] {
            assert!(bad.parse::<Listen>().is_err(), "{bad}");
        }
        assert_eq!(
            Listen::Unix("/a b".into()).to_string(),
            "unix:/a b".to_string()
        );
    }

    #[test]
    fn the_example_config_loads() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/recertd.example.toml");
        let config = load(Some(&example), Settings::default()).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/recert"));
        assert_eq!(config.tls, None);
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
