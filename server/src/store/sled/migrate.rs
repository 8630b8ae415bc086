//! Schema versions and the migrations between them, run in order when a store is opened.
//!
//! A store records its schema version in `meta`. A newer store is refused rather than
//! misread; an older one is migrated one version at a time, each step in one transaction
//! that also records the new version, and flushed before the store is used.

use super::{
    CREDENTIALS, DIRTY, DIRTY_HOLDERS, HOLDERS, META, META_SCHEMA, Result, StoreError, check,
};
use sled::Transactional;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::path::Path;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 5;

/// One step from `from` to `from + 1`.
struct Migration {
    from: u32,
    what: &'static str,
    run: fn(&[Tree]) -> Result<()>,
}

/// Every migration, oldest first.
const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 1,
        what: "index holders by time zone and let the next alert tick evaluate every credential",
        run: v1_to_v2,
    },
    Migration {
        from: 2,
        what: "index courses by holder and completion date (to refuse a course logged twice)",
        run: v2_to_v3,
    },
    Migration {
        from: 3,
        what: "index holders by competency due day and credentials by dues anniversary month (so the alert tick reads only holders with something due)",
        run: v3_to_v4,
    },
    Migration {
        from: 4,
        what: "keep a lab's own competency programs (a new tree, empty until one is added)",
        run: v4_to_v5,
    },
];

/// Version 2 added the alert engine: the holder-by-zone index and the set of credentials to
/// evaluate at the next tick. Both derive from records a version-1 store already has.
fn v1_to_v2(trees: &[Tree]) -> Result<()> {
    check::repair(trees)?;
    let mut ids: Vec<Vec<u8>> = Vec::new();
    for key in trees[CREDENTIALS].iter().keys() {
        ids.push(key?.to_vec());
    }
    trees.transaction(|t: &Vec<TransactionalTree>| {
        for id in &ids {
            t[DIRTY].insert(id.as_slice(), &[][..])?;
        }
        t[META].insert(META_SCHEMA, &2u32.to_be_bytes()[..])?;
        Ok::<(), ConflictableTransactionError<StoreError>>(())
    })?;
    Ok(())
}

/// Version 3 indexes courses by (holder, completion date): the index derives from the
/// courses, so the repair that rebuilds every index entry from its record writes it.
fn v2_to_v3(trees: &[Tree]) -> Result<()> {
    check::repair(trees)?;
    trees[META].insert(META_SCHEMA, &3u32.to_be_bytes()[..])?;
    Ok(())
}

/// Version 4 indexes holders by their competencies' due days and credentials by their dues
/// anniversary month: both derive from the records, so the repair writes them. Every holder
/// is marked for the next tick, which before read them all, so nothing due is missed.
fn v3_to_v4(trees: &[Tree]) -> Result<()> {
    check::repair(trees)?;
    let mut ids: Vec<Vec<u8>> = Vec::new();
    for key in trees[HOLDERS].iter().keys() {
        ids.push(key?.to_vec());
    }
    trees.transaction(|t: &Vec<TransactionalTree>| {
        for id in &ids {
            t[DIRTY_HOLDERS].insert(id.as_slice(), &[][..])?;
        }
        t[META].insert(META_SCHEMA, &4u32.to_be_bytes()[..])?;
        Ok::<(), ConflictableTransactionError<StoreError>>(())
    })?;
    Ok(())
}

/// Version 5 keeps a lab's competency programs in their own tree. A version-4 store has none,
/// so every index stands as it is; only the version moves (an older recertd then refuses the
/// store rather than ignore the programs its holders' skills may name).
fn v4_to_v5(trees: &[Tree]) -> Result<()> {
    trees[META].insert(META_SCHEMA, &5u32.to_be_bytes()[..])?;
    Ok(())
}

fn read_version(trees: &[Tree]) -> Result<Option<u32>> {
    match trees[META].get(META_SCHEMA)? {
        None => Ok(None),
        Some(v) => v
            .as_ref()
            .try_into()
            .map(u32::from_be_bytes)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("the schema version is unreadable".into())),
    }
}

/// Brings a freshly opened store to [`SCHEMA_VERSION`]: stamps a new one, migrates an old
/// one, refuses a newer one, and refuses a store that existed but has no version (damaged,
/// or not a recert store) instead of starting empty.
pub(super) fn prepare(dir: &Path, db: &sled::Db, trees: &[Tree], existed: bool) -> Result<()> {
    let found = read_version(trees)?;
    let empty = trees.iter().all(|t| t.is_empty());
    let found = match found {
        None if existed && !empty => {
            return Err(StoreError::Corrupt(format!(
                "the store in {} has records but no schema version: it is damaged or not a recert store; restore a backup (recert import) into an empty data dir",
                dir.display()
            )));
        }
        None => {
            trees[META].insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes()[..])?;
            db.flush()?;
            return Ok(());
        }
        Some(v) => v,
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            dir: dir.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for step in MIGRATIONS.iter().filter(|m| m.from >= found) {
        tracing::info!(
            from = step.from,
            to = step.from + 1,
            what = step.what,
            "migrating the store"
        );
        (step.run)(trees)?;
        db.flush()?;
    }
    Ok(())
}
