//! The CLI's config file: the server, token and CA to use when neither a flag nor the
//! environment gives them (`--token` > `RECERT_TOKEN` > the file > a local server's
//! admin.token). Read once, never written.

use crate::error::Error;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What `config.toml` may say; every key is optional, an unknown one is refused.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address of recertd, as `--server` takes it.
    pub server: Option<String>,
    /// Bearer token, as `--token` takes it.
    pub token: Option<String>,
    /// PEM certificate of the CA that signed the server's certificate, as `--ca` takes it.
    pub ca: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca)
            .finish()
    }
}

/// Where the file is: `RECERT_CONFIG` when set, else `config.toml` in the user's config
/// dir (`$XDG_CONFIG_HOME/recert`, by default `~/.config/recert`).
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("RECERT_CONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => directories::ProjectDirs::from("", "", "recert")
            .map(|d| d.config_dir().join("config.toml")),
    }
}

/// Reads the file at [`path`]; none there is an empty config. A file that cannot be read
/// or parsed is an error naming it (and, for a bad key or value, the line).
pub fn load() -> Result<Config, Error> {
    match path() {
        Some(p) => read(&p),
        None => Ok(Config::default()),
    }
}

fn read(path: &Path) -> Result<Config, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => {
            return Err(Error::Usage(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "the config file {} is not valid: {}",
            path.display(),
            e.message()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_and_unknown_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "server = \"https://lab:50051\"\ntoken = \"rct_x\"\nca = \"/etc/ca.pem\"\n",
        )
        .unwrap();
        let config = read(&file).unwrap();
        assert_eq!(config.server.as_deref(), Some("https://lab:50051"));
        assert_eq!(config.token.as_deref(), Some("rct_x"));
        assert!(!format!("{config:?}").contains("rct_x"));
        std::fs::write(&file, "tokn = \"rct_x\"\n").unwrap();
        let err = read(&file).unwrap_err().to_string();
        assert!(err.contains("config.toml") && err.contains("tokn"), "{err}");
        assert!(
            read(&dir.path().join("absent.toml"))
                .unwrap()
                .server
                .is_none()
        );
    }
}
