//! Measures a request against the table of limits ([`crate::domain::limits`]) on the wire,
//! before the handler parses, de-duplicates or stores anything: every string field's bytes
//! and every repeated field's entries, at any depth, found through the file descriptor set.

use super::ApiError;
use crate::domain::FieldError;
use crate::domain::limits;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Deepest nesting of messages measured; requests nest three deep at most.
const MAX_DEPTH: usize = 8;

/// Every message of `recert.v1` by its full name (`.recert.v1.Program.Cap`).
fn schema() -> &'static HashMap<String, DescriptorProto> {
    static SCHEMA: OnceLock<HashMap<String, DescriptorProto>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut messages = HashMap::new();
        if let Ok(set) =
            <FileDescriptorSet as prost::Message>::decode(recert_proto::FILE_DESCRIPTOR_SET)
        {
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for message in file.message_type {
                    add(&mut messages, &format!(".{package}"), message);
                }
            }
        }
        messages
    })
}

fn add(messages: &mut HashMap<String, DescriptorProto>, scope: &str, message: DescriptorProto) {
    let name = format!("{scope}.{}", message.name());
    for nested in &message.nested_type {
        add(messages, &name, nested.clone());
    }
    messages.insert(name, message);
}

/// Checks `message` against the limits: INVALID_ARGUMENT naming the first field over its limit.
pub fn check<T: prost::Message + prost::Name>(message: &T) -> Result<(), ApiError> {
    let bytes = message.encode_to_vec();
    measure(&format!(".{}", T::full_name()), &bytes, "", 0).map_err(|e| ApiError::Invalid(vec![e]))
}

/// Measures the encoded message `buf` of type `type_name`; field paths start with `prefix`.
fn measure(type_name: &str, mut buf: &[u8], prefix: &str, depth: usize) -> Result<(), FieldError> {
    let Some(descriptor) = schema().get(type_name) else {
        return Ok(());
    };
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let mut counts: Vec<(i32, usize)> = Vec::new();
    while !buf.is_empty() {
        // prost decoded this message already, so the wire is sound; stop quietly if not.
        let Some(key) = varint(&mut buf) else {
            return Ok(());
        };
        let number = (key >> 3) as i32;
        let field = descriptor.field.iter().find(|f| f.number() == number);
        let entries = match key & 7 {
            0 => {
                if varint(&mut buf).is_none() {
                    return Ok(());
                }
                1
            }
            1 => skip(&mut buf, 8)?,
            5 => skip(&mut buf, 4)?,
            2 => {
                let Some(len) = varint(&mut buf).and_then(|l| usize::try_from(l).ok()) else {
                    return Ok(());
                };
                if len > buf.len() {
                    return Ok(());
                }
                let (data, rest) = buf.split_at(len);
                buf = rest;
                match field {
                    Some(f) => payload(f, data, prefix, depth)?,
                    None => 1,
                }
            }
            _ => return Ok(()),
        };
        let Some(f) = field else { continue };
        if f.label() == Label::Repeated {
            let seen = match counts.iter_mut().find(|(n, _)| *n == number) {
                Some((_, seen)) => seen,
                None => {
                    counts.push((number, 0));
                    &mut counts.last_mut().expect("just pushed").1
                }
            };
            *seen += entries;
            let limit = limits::count(f.name());
            if *seen > limit {
                let path = join(prefix, f.name());
                return Err(FieldError::new(
                    path.clone(),
                    format!("{path} may hold at most {limit} entries"),
                ));
            }
        }
    }
    Ok(())
}

/// Measures one length-delimited field; answers how many entries it holds (packed scalars
/// hold several).
fn payload(
    field: &FieldDescriptorProto,
    data: &[u8],
    prefix: &str,
    depth: usize,
) -> Result<usize, FieldError> {
    match field.r#type() {
        Type::String => {
            let limit = limits::text_bytes(field.name());
            if data.len() > limit {
                let path = join(prefix, field.name());
                let text =
                    String::from_utf8_lossy(&data[..data.len().min(4 * limits::QUOTE_CHARS)]);
                return Err(FieldError::new(
                    path.clone(),
                    format!(
                        "{path} may hold at most {limit} bytes; it has {} (it starts {})",
                        data.len(),
                        limits::quote(&text)
                    ),
                ));
            }
            Ok(1)
        }
        Type::Message => {
            measure(
                field.type_name(),
                data,
                &join(prefix, field.name()),
                depth + 1,
            )?;
            Ok(1)
        }
        Type::Fixed32 | Type::Sfixed32 | Type::Float => Ok(data.len() / 4),
        Type::Fixed64 | Type::Sfixed64 | Type::Double => Ok(data.len() / 8),
        Type::Bytes | Type::Group => Ok(1),
        // Packed varints: one entry per byte without the continuation bit.
        _ => Ok(data.iter().filter(|b| **b & 0x80 == 0).count()),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn skip(buf: &mut &[u8], n: usize) -> Result<usize, FieldError> {
    *buf = buf.get(n..).unwrap_or_default();
    Ok(1)
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use recert_proto::v1 as pb;

    fn violation(e: ApiError) -> FieldError {
        match e {
            ApiError::Invalid(mut errors) => errors.remove(0),
            other => panic!("not invalid: {other:?}"),
        }
    }

    #[test]
    fn a_long_nested_string_is_named_with_its_path_and_a_short_quote() {
        let req = pb::CreateCourseRequest {
            course: Some(pb::Course {
                title: "t".repeat(100_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = violation(check(&req).unwrap_err());
        assert_eq!(e.field, "course.title");
        assert!(e.message.contains("at most 1024 bytes"), "{}", e.message);
        assert!(e.message.len() < 150, "{}", e.message);
    }

    #[test]
    fn too_many_entries_are_refused_and_the_limit_is_inclusive() {
        let course = |n: usize| pb::CreateCourseRequest {
            course: Some(pb::Course {
                categories: (0..n).map(|i| format!("c{i}")).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(check(&course(limits::DEFAULT_COUNT)).is_ok());
        let e = violation(check(&course(limits::DEFAULT_COUNT + 1)).unwrap_err());
        assert_eq!(e.field, "course.categories");
        assert!(e.message.contains("at most 64 entries"), "{}", e.message);
    }

    #[test]
    fn program_caps_and_packed_thresholds_are_counted() {
        let req = pb::CreateProgramRequest {
            program: Some(pb::Program {
                caps: vec![Default::default(); limits::MAX_CAPS + 1],
                ..Default::default()
            }),
        };
        assert_eq!(violation(check(&req).unwrap_err()).field, "program.caps");
        let req = pb::UpdateAlertSettingsRequest {
            thresholds: vec![1; limits::DEFAULT_COUNT + 1],
            ..Default::default()
        };
        assert_eq!(violation(check(&req).unwrap_err()).field, "thresholds");
    }
}
