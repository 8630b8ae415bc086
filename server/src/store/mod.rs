//! The store port: what the rest of the daemon may ask of storage, engine-neutral.
//!
//! The engines live in submodules (`sled`, the embedded default). Nothing outside `store/`
//! names an engine except `lib.rs`, which picks one.

pub mod sled;

pub use self::sled::{
    CheckReport, Dump, DumpChannel, ImportError, ImportSummary, LineError, Lined, NextIds, Page,
    ParsedDump, SCHEMA_VERSION, SettingsScope, SledStore as Store, StoreError, StoreOptions,
    TREE_NAMES, expiry_cursor,
};

/// A holder's change version, kept in the store: it moves with every write that can change
/// the holder's standing (their record, credentials and courses, or any local program), so
/// a cached answer is valid while the version it was computed at is current, whichever
/// daemon made the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version {
    /// Moves with every change to a local program.
    pub programs: u64,
    /// Moves with every change to the holder's own records.
    pub holder: u64,
}
