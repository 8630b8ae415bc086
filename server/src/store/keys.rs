//! Key and value encoding: big-endian keys that sort, and versioned postcard values.

use crate::domain::{Course, Credential, Holder, Program};
use jiff::civil::Date;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Format version of every value this build writes; the first byte of each value.
pub(crate) const VALUE_VERSION: u8 = 1;

/// A record kind stored in its own tree.
pub(crate) trait Record: Serialize + DeserializeOwned {
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

/// Encodes a value: the version byte, then postcard.
pub(crate) fn encode<T: Record>(value: &T) -> Vec<u8> {
    let mut out = vec![VALUE_VERSION];
    // Serialising plain data to a Vec cannot fail.
    out.extend(postcard::to_stdvec(value).expect("postcard serialises plain data"));
    out
}

/// Decodes a value written by [`encode`], refusing unknown versions.
pub(crate) fn decode<T: Record>(bytes: &[u8]) -> Result<T, String> {
    match bytes.split_first() {
        Some((&VALUE_VERSION, rest)) => postcard::from_bytes(rest)
            .map_err(|e| format!("{} record does not decode: {e}", T::KIND)),
        Some((v, _)) => Err(format!("{} record has unknown format version {v}", T::KIND)),
        None => Err(format!("{} record is empty", T::KIND)),
    }
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
