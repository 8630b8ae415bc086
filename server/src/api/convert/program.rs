//! Conversions between `recert.v1` program messages and the domain.

use super::super::{ApiError, ApiResult};
use super::format;
use crate::domain::{
    Cap, CapLimit, CapScope, CategoryMinimum, Confidence, Credits, Program, normalize_category,
};
use crate::service::{Origin, ProgramEntry};
use recert_proto::v1 as pb;

/// The slug a request names, trimmed; required.
pub fn slug(value: &str) -> ApiResult<&str> {
    let slug = value.trim();
    if slug.is_empty() {
        return Err(ApiError::invalid("slug", "slug is required"));
    }
    Ok(slug)
}

fn confidence_to_pb(c: Confidence) -> pb::Confidence {
    match c {
        Confidence::Confirmed => pb::Confidence::Confirmed,
        Confidence::Uncertain => pb::Confidence::Uncertain,
    }
}

/// A program as sent to clients, flagged built-in or overriding a built-in one.
impl From<&ProgramEntry> for pb::Program {
    fn from(entry: &ProgramEntry) -> Self {
        let p = &entry.program;
        pb::Program {
            slug: p.slug.clone(),
            body: p.body.clone(),
            name: p.name.clone(),
            cycle_months: i32::try_from(p.cycle_months).unwrap_or(i32::MAX),
            ce_window_months: i32::try_from(p.ce_window_months).unwrap_or(i32::MAX),
            unit: p.unit_name.clone(),
            unit_hours_hundredths: p.unit_hours.0,
            required_hundredths: p.required.0,
            category_minimums: p
                .category_minimums
                .iter()
                .map(|m| pb::CategoryMinimum {
                    category: m.category.clone(),
                    minimum_hundredths: m.minimum.0,
                })
                .collect(),
            caps: p
                .caps
                .iter()
                .map(|c| {
                    let (category, format) = match &c.scope {
                        CapScope::Category(cat) => (cat.clone(), String::new()),
                        CapScope::Format(f) => (String::new(), f.name().to_string()),
                    };
                    let (max_percent, max_hundredths) = match c.limit {
                        CapLimit::Percent(p) => (i32::try_from(p).unwrap_or(100), 0),
                        CapLimit::Amount(a) => (0, a.0),
                    };
                    pb::Cap {
                        category,
                        format,
                        max_percent,
                        max_hundredths,
                    }
                })
                .collect(),
            grace_days: i32::try_from(p.grace_days).unwrap_or(i32::MAX),
            shares_courses: p.shares_courses,
            accepted_accreditations: p.accepted_accreditations.clone(),
            sources: p.sources.clone(),
            confidence: confidence_to_pb(p.confidence).into(),
            notes: p.notes.clone(),
            builtin: entry.origin == Origin::BuiltIn,
            overrides_builtin: entry.origin == Origin::Override,
        }
    }
}

fn non_negative(field: &str, value: i32) -> ApiResult<u32> {
    u32::try_from(value)
        .map_err(|_| ApiError::invalid(field, format!("{field} must not be negative")))
}

/// A non-negative amount in hundredths.
fn credits(field: &str, value: i64) -> ApiResult<Credits> {
    if value < 0 {
        return Err(ApiError::invalid(
            field,
            format!("{field} must not be negative"),
        ));
    }
    Ok(Credits(value))
}

/// A program from a client, parsed and with the wire's defaults filled in (a window as
/// long as the cycle, contact hours); the service validates it.
impl TryFrom<pb::Program> for Program {
    type Error = ApiError;

    fn try_from(p: pb::Program) -> ApiResult<Program> {
        let mut caps = Vec::new();
        for (i, c) in p.caps.iter().enumerate() {
            let field = format!("program.caps[{i}]");
            let scope = match (c.category.trim().is_empty(), c.format.trim().is_empty()) {
                (false, true) => CapScope::Category(normalize_category(&c.category)),
                (true, false) => CapScope::Format(
                    format(&format!("{field}.format"), &c.format)?
                        .ok_or_else(|| ApiError::invalid(&field, "cap format is empty"))?,
                ),
                _ => {
                    return Err(ApiError::invalid(
                        &field,
                        format!("{field} must set exactly one of category and format"),
                    ));
                }
            };
            let limit = match (c.max_percent, c.max_hundredths) {
                (p, 0) if p != 0 => {
                    CapLimit::Percent(non_negative(&format!("{field}.max_percent"), p)?)
                }
                (0, a) if a != 0 => {
                    CapLimit::Amount(credits(&format!("{field}.max_hundredths"), a)?)
                }
                _ => {
                    return Err(ApiError::invalid(
                        &field,
                        format!("{field} must set exactly one of max_percent and max_hundredths"),
                    ));
                }
            };
            caps.push(Cap { scope, limit });
        }
        let confidence = match pb::Confidence::try_from(p.confidence) {
            Ok(pb::Confidence::Uncertain) => Confidence::Uncertain,
            Ok(_) => Confidence::Confirmed,
            Err(_) => {
                return Err(ApiError::invalid(
                    "program.confidence",
                    "program.confidence is not a known value",
                ));
            }
        };
        let cycle_months = non_negative("program.cycle_months", p.cycle_months)?;
        Ok(Program {
            slug: p.slug.trim().to_string(),
            body: p.body.trim().to_string(),
            name: p.name.trim().to_string(),
            cycle_months,
            ce_window_months: if p.ce_window_months == 0 {
                cycle_months
            } else {
                non_negative("program.ce_window_months", p.ce_window_months)?
            },
            unit_name: if p.unit.trim().is_empty() {
                "contact hour".into()
            } else {
                p.unit.trim().to_string()
            },
            unit_hours: if p.unit_hours_hundredths == 0 {
                Credits(100)
            } else {
                credits("program.unit_hours_hundredths", p.unit_hours_hundredths)?
            },
            required: credits("program.required_hundredths", p.required_hundredths)?,
            category_minimums: p
                .category_minimums
                .iter()
                .map(|m| {
                    Ok(CategoryMinimum {
                        category: normalize_category(&m.category),
                        minimum: credits("program.category_minimums", m.minimum_hundredths)?,
                    })
                })
                .collect::<ApiResult<_>>()?,
            caps,
            grace_days: non_negative("program.grace_days", p.grace_days)?,
            shares_courses: p.shares_courses,
            accepted_accreditations: p
                .accepted_accreditations
                .iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            sources: p.sources.iter().map(|s| s.trim().to_string()).collect(),
            confidence,
            notes: p.notes.trim().to_string(),
        })
    }
}
