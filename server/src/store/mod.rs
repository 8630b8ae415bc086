//! The store port: what the rest of the daemon may ask of storage, engine-neutral.
//!
//! The engines live in submodules (`sled`, the embedded default). Nothing outside `store/`
//! names an engine except `lib.rs`, which picks one.

pub mod sled;

pub use self::sled::{
    CheckReport, Dump, DumpChannel, ImportError, ImportSummary, LineError, Lined, NextIds, Page,
    ParsedDump, SCHEMA_VERSION, SettingsScope, Store, StoreError, StoreOptions, TREE_NAMES,
    expiry_cursor,
};
