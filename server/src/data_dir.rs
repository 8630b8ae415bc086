//! The data dir on disk: private to the daemon's user, whatever the umask.
//!
//! The store holds personal data and webhook secrets, so the data dir is 0700 and every
//! file in it 0600. [`prepare`] creates it so, or tightens one that is wider; [`tighten`]
//! runs again after the store is open, for the files the engine has just created.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode of every directory in the data dir.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in the data dir.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700, or tightens an existing one; returns
/// the paths whose permissions were narrowed.
pub fn prepare(dir: &Path) -> io::Result<Vec<PathBuf>> {
    if fs::symlink_metadata(dir).is_err() {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
    }
    tighten(dir)
}

/// Narrows every directory under `dir` (itself included) to 0700 and every file to 0600,
/// without following symbolic links; returns the paths it changed.
pub fn tighten(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = fs::symlink_metadata(&path)?;
        let wanted = if meta.is_dir() {
            for entry in fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
            DIR_MODE
        } else if meta.is_file() {
            FILE_MODE
        } else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & !wanted != 0 {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode & wanted))?;
            changed.push(path);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_wide_tree_is_narrowed_and_links_are_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        fs::create_dir_all(dir.join("db")).unwrap();
        fs::write(dir.join("db").join("db"), b"x").unwrap();
        fs::write(dir.join("recertd.lock"), b"").unwrap();
        let outside = root.path().join("outside");
        fs::write(&outside, b"y").unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        for (path, m) in [
            (dir.clone(), 0o755),
            (dir.join("db"), 0o777),
            (dir.join("db").join("db"), 0o666),
            (dir.join("recertd.lock"), 0o640),
        ] {
            fs::set_permissions(&path, fs::Permissions::from_mode(m)).unwrap();
        }
        let changed = prepare(&dir).unwrap();
        assert_eq!(changed.len(), 4, "{changed:?}");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("db")), 0o700);
        assert_eq!(mode(&dir.join("db").join("db")), 0o600);
        assert_eq!(mode(&dir.join("recertd.lock")), 0o600);
        assert_eq!(mode(&outside), 0o644, "a link's target is left alone");
        assert!(prepare(&dir).unwrap().is_empty(), "nothing left to narrow");
    }

    #[test]
    fn a_new_dir_is_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        assert!(prepare(&dir).unwrap().is_empty());
        assert_eq!(mode(&dir), 0o700);
    }
}
