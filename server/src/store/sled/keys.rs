//! Key and value encoding: big-endian keys that sort, and values as a format byte followed by
//! the record kind's storage encoding ([`super::encoding`]).

use super::encoding::{self, Stored};
use crate::domain::{Course, Credential, Holder, Program};
use jiff::civil::Date;

/// Format of every value this build writes, the first byte of each: the kind's prost storage
/// message.
pub(crate) const VALUE_VERSION: u8 = 2;

/// The format before: postcard of the domain structs as they were. Still read, never written.
const POSTCARD_VERSION: u8 = 1;

/// A record kind stored in its own tree.
pub(crate) trait Record: Stored {
    /// Name used in messages ("holder", "credential", ...).
    const KIND: &'static str;
}

impl Record for Holder {
    const KIND: &'static str = "holder";
}
impl Record for Credential {
    const KIND: &'static str = "credential";
}
impl Record for Course {
    const KIND: &'static str = "course";
}
impl Record for Program {
    const KIND: &'static str = "program";
}
impl Record for crate::domain::Alert {
    const KIND: &'static str = "alert";
}
impl Record for crate::domain::Channel {
    const KIND: &'static str = "channel";
}
impl Record for crate::domain::Token {
    const KIND: &'static str = "token";
}
impl Record for crate::domain::HistoryEntry {
    const KIND: &'static str = "history entry";
}
impl Record for crate::domain::Team {
    const KIND: &'static str = "team";
}
impl Record for crate::domain::CompetencyProgram {
    const KIND: &'static str = "competency program";
}
impl Record for crate::domain::AlertSettings {
    const KIND: &'static str = "alert settings";
}

/// A holder-by-zone index key: the zone name, a NUL, then the holder id.
pub(crate) fn zone_key(zone: &str, holder: u64) -> Vec<u8> {
    let mut k = zone.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&holder.to_be_bytes());
    k
}

/// An alert dedupe key: credential, cycle expiry, signed threshold (sign bit flipped so it sorts).
pub(crate) fn alert_key(credential: u64, expires_on: Date, threshold_days: i64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&credential.to_be_bytes());
    k[8..12].copy_from_slice(&date_bytes(expires_on));
    k[12..].copy_from_slice(&((threshold_days as u64) ^ (1 << 63)).to_be_bytes());
    k
}

/// The first 8 bytes of every `idx_alert_by_key` entry of a subject other than a credential's
/// cycle, where a credential id stands in the key of a credential's: no credential has id
/// `u64::MAX`, so the two never meet and a credential's prefix scan never sees the others.
const SUBJECT_KEY_PREFIX: [u8; 8] = [0xFF; 8];

/// The `idx_alert_by_key` key of a dedupe key: a credential cycle's as it always was
/// ([`alert_key`]), any other subject's as [`SUBJECT_KEY_PREFIX`] and its key text.
pub(crate) fn dedupe_index_key(key: &crate::domain::DedupeKey) -> Vec<u8> {
    match key {
        crate::domain::DedupeKey::Credential {
            credential_id,
            expires_on,
            threshold_days,
        } => alert_key(*credential_id, *expires_on, *threshold_days).to_vec(),
        crate::domain::DedupeKey::Subject(text) => {
            let mut k = SUBJECT_KEY_PREFIX.to_vec();
            k.extend_from_slice(text.as_bytes());
            k
        }
    }
}

/// A retry index key: the instant (seconds, sign bit flipped), then the alert id.
pub(crate) fn retry_key(at: jiff::Timestamp, alert: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&((at.as_second() as u64) ^ (1 << 63)).to_be_bytes());
    k[8..].copy_from_slice(&alert.to_be_bytes());
    k
}

/// Reads the instant of a [`retry_key`].
pub(crate) fn read_retry_at(bytes: &[u8]) -> Option<jiff::Timestamp> {
    let secs = (read_id(bytes)? ^ (1 << 63)) as i64;
    jiff::Timestamp::from_second(secs).ok()
}

/// Encodes a value: [`VALUE_VERSION`], then the kind's storage message.
pub(crate) fn encode<T: Record>(value: &T) -> Vec<u8> {
    encoding::encode(VALUE_VERSION, value)
}

/// Decodes a value written by [`encode`], or by a build that wrote format 1; refuses other
/// versions and values that do not make a valid record, naming the kind.
pub(crate) fn decode<T: Record>(bytes: &[u8]) -> Result<T, String> {
    let decoded = match bytes.split_first() {
        Some((&VALUE_VERSION, body)) => encoding::decode(body),
        Some((&POSTCARD_VERSION, body)) => encoding::decode_v1(body),
        Some((v, _)) => return Err(format!("{} record has unknown format version {v}", T::KIND)),
        None => return Err(format!("{} record is empty", T::KIND)),
    };
    decoded.map_err(|e| format!("{} record does not decode: {e}", T::KIND))
}

/// An id key: 8 bytes big-endian.
pub(crate) fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Reads an id key.
pub(crate) fn read_id(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// A (parent id, child id) index key.
pub(crate) fn pair_key(parent: u64, child: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&parent.to_be_bytes());
    k[8..].copy_from_slice(&child.to_be_bytes());
    k
}

/// A course's (holder, completion date, course id) key: the courses of one holder on one
/// day are one short range, so looking for a course logged twice reads only that day.
pub(crate) fn course_day_key(holder: u64, day: Date, course: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&holder.to_be_bytes());
    k[8..12].copy_from_slice(&date_bytes(day));
    k[12..].copy_from_slice(&course.to_be_bytes());
    k
}

/// Four bytes that sort like the date: year (offset to stay positive), month, day.
pub(crate) fn date_bytes(date: Date) -> [u8; 4] {
    let year = u16::try_from(i32::from(date.year()) + 10_000).unwrap_or(0);
    let y = year.to_be_bytes();
    [y[0], y[1], date.month() as u8, date.day() as u8]
}

/// Reads [`date_bytes`].
pub(crate) fn read_date(bytes: &[u8]) -> Option<Date> {
    let b = bytes.get(..4)?;
    let year = i32::from(u16::from_be_bytes([b[0], b[1]])) - 10_000;
    Date::new(i16::try_from(year).ok()?, b[2] as i8, b[3] as i8).ok()
}

/// An expiry index key: date, then credential id.
pub(crate) fn expiry_key(date: Date, credential: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&date_bytes(date));
    k[4..].copy_from_slice(&credential.to_be_bytes());
    k
}

/// A dues index key: the program slug, a NUL, the credential's dues anniversary month
/// ([`crate::domain::dues_month`], sign bit flipped so it sorts), then the credential id.
pub(crate) fn dues_key(program: &str, month: i32, credential: u64) -> Vec<u8> {
    let mut k = program.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&((month as u32) ^ (1 << 31)).to_be_bytes());
    k.extend_from_slice(&credential.to_be_bytes());
    k
}

/// The anniversary month of a [`dues_key`] whose program prefix is `prefix_len` bytes long.
pub(crate) fn read_dues_month(key: &[u8], prefix_len: usize) -> Option<i32> {
    let bytes: [u8; 4] = key.get(prefix_len..prefix_len + 4)?.try_into().ok()?;
    Some((u32::from_be_bytes(bytes) ^ (1 << 31)) as i32)
}

/// Prefix of the id counters in `meta`.
pub(crate) const NEXT_ID_PREFIX: &[u8] = b"next_id/";
/// Prefix of the last tick per zone in `meta`.
pub(crate) const LAST_TICK_PREFIX: &[u8] = b"last_tick/";

/// The `meta` key of the id counter of `kind`.
pub(crate) fn next_id_key(kind: crate::domain::IdKind) -> Vec<u8> {
    [NEXT_ID_PREFIX, kind.noun().as_bytes()].concat()
}

/// The `meta` key of the last tick in `zone`.
pub(crate) fn last_tick_key(zone: &str) -> Vec<u8> {
    [LAST_TICK_PREFIX, zone.as_bytes()].concat()
}

/// The `meta` key of the programs' change version (local programs decide every standing).
pub(crate) const VERSION_PROGRAMS: &[u8] = b"version/programs";

/// The `meta` key of a holder's change version.
pub(crate) fn holder_version_key(holder: u64) -> Vec<u8> {
    [&b"version/holder/"[..], &holder.to_be_bytes()].concat()
}

/// The `alert_settings` key of a scope.
pub(crate) fn settings_key(scope: &crate::store::SettingsScope) -> Vec<u8> {
    use crate::store::SettingsScope;
    match scope {
        SettingsScope::Program(slug) => format!("p/{slug}"),
        SettingsScope::Holder(id) => format!("h/{id}"),
        SettingsScope::Credential(id) => format!("c/{id}"),
    }
    .into_bytes()
}
