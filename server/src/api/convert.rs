//! Conversions between `recert.v1` messages and domain types, with the request checks that
//! belong at the edge (parsing ids, dates, enums, page tokens).

use super::error::{ApiError, ApiResult};
use crate::domain::{
    self, AccreditationMinimum, ActivityLimit, Alternative, Cap, CapLimit, CapScope,
    CategoryMinimum, Compliance, Confidence, Course, Credential, Credits, CycleAnchor, Dues,
    Format, Holder, IdKind, PastCycle, Program, RuleField, Status, Unit, normalize_category,
};
use jiff::civil::Date;
use recert_proto::v1 as pb;

/// Default number of items in a page.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Parses a required `YYYY-MM-DD` date.
pub fn date(field: &str, value: &str) -> ApiResult<Date> {
    domain::parse_date(field, value).map_err(|e| ApiError::Invalid(vec![e]))
}

/// Parses an optional date: empty is `None`.
pub fn optional_date(field: &str, value: &str) -> ApiResult<Option<Date>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        date(field, value).map(Some)
    }
}

/// Parses a record id of `kind`.
pub fn id(kind: IdKind, field: &str, value: &str) -> ApiResult<u64> {
    domain::parse_id(kind, field, value).map_err(|e| ApiError::Invalid(vec![e]))
}

/// Checks a page size: 0 means the default.
pub fn page_size(value: i32) -> ApiResult<usize> {
    match usize::try_from(value) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) => Ok(n.min(MAX_PAGE_SIZE)),
        Err(_) => Err(ApiError::invalid(
            "page_size",
            "page_size must not be negative",
        )),
    }
}

/// Decodes a page token (hex of the last key); empty is the first page.
pub fn page_token(value: &str) -> ApiResult<Option<Vec<u8>>> {
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid("page_token", "page_token is not one this server issued");
    if !value.len().is_multiple_of(2) || value.len() > 128 {
        return Err(bad());
    }
    (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(value.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect::<ApiResult<Vec<u8>>>()
        .map(Some)
}

/// Decodes a page token that holds an id.
pub fn page_token_id(value: &str) -> ApiResult<Option<u64>> {
    match page_token(value)? {
        None => Ok(None),
        Some(bytes) if bytes.len() == 8 => {
            Ok(Some(u64::from_be_bytes(bytes.try_into().unwrap_or([0; 8]))))
        }
        Some(_) => Err(ApiError::invalid(
            "page_token",
            "page_token is not one this server issued",
        )),
    }
}

/// Encodes a page token.
pub fn encode_token(key: Option<Vec<u8>>) -> String {
    key.map(|k| k.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default()
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

/// Categories: trimmed, lowercase, deduplicated, order kept.
pub fn categories(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in values.iter().map(|c| normalize_category(c)) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Parses an optional course format.
pub fn format(field: &str, value: &str) -> ApiResult<Option<Format>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    Format::parse(value).map(Some).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{field} {value:?} is not one of live, online, home-study, academic"),
        )
    })
}

/// Parses a course unit; empty is hours.
pub fn unit(field: &str, value: &str) -> ApiResult<Unit> {
    Unit::parse(value).ok_or_else(|| {
        let names: Vec<&str> = Unit::ALL.iter().map(|u| u.name()).collect();
        ApiError::invalid(
            field,
            format!("{field} {value:?} is not one of {}", names.join(", ")),
        )
    })
}

/// Parses a list of credential ids (pins).
pub fn credential_ids(field: &str, values: &[String]) -> ApiResult<Vec<u64>> {
    let mut out = Vec::new();
    for v in values {
        let id = id(IdKind::Credential, field, v)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// A holder as sent to clients.
pub fn holder_to_pb(h: &Holder, is_default: bool) -> pb::Holder {
    pb::Holder {
        id: IdKind::Holder.format(h.id),
        name: h.name.clone(),
        email: h.email.clone(),
        time_zone: h.time_zone.clone(),
        is_default,
    }
}

fn confidence_to_pb(c: Confidence) -> pb::Confidence {
    match c {
        Confidence::Confirmed => pb::Confidence::Confirmed,
        Confidence::Uncertain => pb::Confidence::Uncertain,
    }
}

/// A program as sent to clients.
pub fn program_to_pb(p: &Program, builtin: bool, overrides_builtin: bool) -> pb::Program {
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
        confidence: confidence_to_pb(p.confidence()).into(),
        notes: p.notes.clone(),
        builtin,
        overrides_builtin,
        uncertain: p.uncertain.iter().map(|f| f.name().to_string()).collect(),
        cycle_anchor: p.cycle_anchor.text(),
        ce_window_years_before: i32::try_from(p.ce_window_years_before).unwrap_or(i32::MAX),
        first_cycle_per_month_hundredths: p.first_cycle_per_month.0,
        exclusive_categories: p.exclusive_categories,
        activity_limits: p
            .activity_limits
            .iter()
            .map(|l| {
                let (category, format) = match &l.scope {
                    CapScope::Category(cat) => (cat.clone(), String::new()),
                    CapScope::Format(f) => (String::new(), f.name().to_string()),
                };
                pb::ActivityLimit {
                    category,
                    format,
                    once_every_years: i32::try_from(l.once_every_years).unwrap_or(i32::MAX),
                }
            })
            .collect(),
        alternatives: p
            .alternatives
            .iter()
            .map(|a| pb::Alternative {
                required_hundredths: a.required.0,
                work_category: a.work_category.clone(),
                work_hours_hundredths: a.work_hours.0,
            })
            .collect(),
        accreditation_minimums: p
            .accreditation_minimums
            .iter()
            .map(|m| pb::AccreditationMinimum {
                accreditation: m.accreditation.clone(),
                minimum_hundredths: m.minimum.0,
            })
            .collect(),
        accreditation_required: p.accreditation_required,
        dues: p.dues.map(|d| pb::Dues {
            amount_cents: i32::try_from(d.amount_cents).unwrap_or(i32::MAX),
            every_months: i32::try_from(d.every_months).unwrap_or(i32::MAX),
            month_offset: d.month_offset,
        }),
    }
}

/// The scope of an activity limit from a client: exactly one of category and format.
fn limit_scope(field: &str, category: &str, format_name: &str) -> ApiResult<CapScope> {
    match (category.trim().is_empty(), format_name.trim().is_empty()) {
        (false, true) => Ok(CapScope::Category(normalize_category(category))),
        (true, false) => Ok(CapScope::Format(
            format(&format!("{field}.format"), format_name)?
                .ok_or_else(|| ApiError::invalid(field, "the format is empty"))?,
        )),
        _ => Err(ApiError::invalid(
            field,
            format!("{field} must set exactly one of category and format"),
        )),
    }
}

/// The uncertain rules a client names, with what its overall `confidence` says: a list, or
/// for "uncertain" without one, "some rule, not saying which".
fn uncertain_from_pb(
    confidence: Confidence,
    explicit: bool,
    names: &[String],
) -> ApiResult<Vec<RuleField>> {
    let mut fields = Vec::new();
    for name in names {
        fields.push(RuleField::parse(name).ok_or_else(|| {
            ApiError::invalid(
                "program.uncertain",
                format!("program.uncertain: {name:?} is not a rule field"),
            )
        })?);
    }
    match (confidence, fields.is_empty()) {
        (Confidence::Uncertain, true) => fields.push(RuleField::Unspecified),
        (Confidence::Confirmed, false) if explicit => {
            return Err(ApiError::invalid(
                "program.uncertain",
                "program.uncertain names uncertain rules of a program whose confidence is confirmed",
            ));
        }
        _ => {}
    }
    Ok(fields)
}

fn non_negative(field: &str, value: i32) -> ApiResult<u32> {
    u32::try_from(value)
        .map_err(|_| ApiError::invalid(field, format!("{field} must not be negative")))
}

/// A program from a client, checked.
pub fn program_from_pb(p: pb::Program) -> ApiResult<Program> {
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
            (0, a) if a != 0 => CapLimit::Amount(credits(&format!("{field}.max_hundredths"), a)?),
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
    let uncertain = uncertain_from_pb(
        confidence,
        p.confidence == pb::Confidence::Confirmed as i32,
        &p.uncertain,
    )?;
    let cycle_anchor = CycleAnchor::parse(&p.cycle_anchor).ok_or_else(|| {
        ApiError::invalid(
            "program.cycle_anchor",
            format!(
                "program.cycle_anchor {:?} is not empty, \"birthday\" or a day as MM-DD",
                p.cycle_anchor
            ),
        )
    })?;
    let mut activity_limits = Vec::new();
    for (i, l) in p.activity_limits.iter().enumerate() {
        let field = format!("program.activity_limits[{i}]");
        activity_limits.push(ActivityLimit {
            scope: limit_scope(&field, &l.category, &l.format)?,
            once_every_years: non_negative(
                &format!("{field}.once_every_years"),
                l.once_every_years,
            )?,
        });
    }
    let alternatives = p
        .alternatives
        .iter()
        .map(|a| {
            Ok(Alternative {
                required: credits("program.alternatives", a.required_hundredths)?,
                work_category: normalize_category(&a.work_category),
                work_hours: credits("program.alternatives", a.work_hours_hundredths)?,
            })
        })
        .collect::<ApiResult<_>>()?;
    let accreditation_minimums = p
        .accreditation_minimums
        .iter()
        .map(|m| {
            Ok(AccreditationMinimum {
                accreditation: m.accreditation.trim().to_string(),
                minimum: credits("program.accreditation_minimums", m.minimum_hundredths)?,
            })
        })
        .collect::<ApiResult<_>>()?;
    let dues = p
        .dues
        .as_ref()
        .map(|d| {
            Ok::<_, ApiError>(Dues {
                amount_cents: non_negative("program.dues", d.amount_cents)?,
                every_months: non_negative("program.dues", d.every_months)?,
                month_offset: d.month_offset,
            })
        })
        .transpose()?;
    let cycle_months = non_negative("program.cycle_months", p.cycle_months)?;
    let program = Program {
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
        uncertain,
        notes: p.notes.trim().to_string(),
        cycle_anchor,
        ce_window_years_before: non_negative(
            "program.ce_window_years_before",
            p.ce_window_years_before,
        )?,
        first_cycle_per_month: credits(
            "program.first_cycle_per_month_hundredths",
            p.first_cycle_per_month_hundredths,
        )?,
        exclusive_categories: p.exclusive_categories,
        activity_limits,
        alternatives,
        accreditation_minimums,
        accreditation_required: p.accreditation_required,
        dues,
    };
    program.validate()?;
    Ok(program)
}

fn date_string(d: Option<Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// A credential as sent to clients.
pub fn credential_to_pb(c: &Credential) -> pb::Credential {
    pb::Credential {
        id: IdKind::Credential.format(c.id),
        holder_id: IdKind::Holder.format(c.holder_id),
        program: c.program.clone(),
        number: c.number.clone(),
        issued_on: date_string(c.issued_on),
        expires_on: c.expires_on.to_string(),
        history: c
            .history
            .iter()
            .map(|h: &PastCycle| pb::PastCycle {
                issued_on: date_string(h.issued_on),
                expires_on: h.expires_on.to_string(),
                renewed_on: h.renewed_on.to_string(),
            })
            .collect(),
    }
}

/// A course as sent to clients.
pub fn course_to_pb(c: &Course) -> pb::Course {
    pb::Course {
        id: IdKind::Course.format(c.id),
        holder_id: IdKind::Holder.format(c.holder_id),
        title: c.title.clone(),
        provider: c.provider.clone(),
        accreditation: c.accreditation.clone(),
        completed_on: c.completed_on.to_string(),
        credits_hundredths: c.amount.0,
        unit: c.unit.name().to_string(),
        hours_hundredths: c.hours().0,
        categories: c.categories.clone(),
        format: c.format.map(|f| f.name().to_string()).unwrap_or_default(),
        credential_ids: c
            .credential_ids
            .iter()
            .map(|&id| IdKind::Credential.format(id))
            .collect(),
        evidence: c.evidence.clone(),
    }
}

/// A status as sent to clients.
pub fn status_to_pb(s: Status) -> pb::ComplianceStatus {
    match s {
        Status::Met => pb::ComplianceStatus::Met,
        Status::OnTrack => pb::ComplianceStatus::OnTrack,
        Status::AtRisk => pb::ComplianceStatus::AtRisk,
        Status::InGrace => pb::ComplianceStatus::InGrace,
        Status::Expired => pb::ComplianceStatus::Expired,
    }
}

/// A compliance answer as sent to clients.
pub fn compliance_to_pb(c: &Compliance, holder_id: u64, program: &Program) -> pb::Compliance {
    pb::Compliance {
        credential_id: IdKind::Credential.format(c.credential_id),
        holder_id: IdKind::Holder.format(holder_id),
        program: c.program.clone(),
        program_name: program.name.clone(),
        unit: program.unit_name.clone(),
        expires_on: c.expires_on.to_string(),
        window_start: c.window_start.to_string(),
        required_hundredths: c.required.0,
        earned_hundredths: c.earned.0,
        remaining_hundredths: c.remaining.0,
        categories: c
            .categories
            .iter()
            .map(|p| pb::CategoryProgress {
                category: p.category.clone(),
                required_hundredths: p.required.0,
                earned_hundredths: p.earned.0,
            })
            .collect(),
        days_left: c.days_left,
        status: status_to_pb(c.status).into(),
        as_of: c.as_of.to_string(),
        caution: program.caution().unwrap_or_default(),
        counted_course_ids: c
            .counted_course_ids
            .iter()
            .map(|&id| IdKind::Course.format(id))
            .collect(),
    }
}

/// Renames violations of a record's fields (`course.title`) to the request's own field names
/// (`title`), for update requests whose fields sit at the top level.
pub fn top_level(errors: Vec<crate::domain::FieldError>, record: &str) -> super::ApiError {
    let prefix = format!("{record}.");
    super::ApiError::Invalid(
        errors
            .into_iter()
            .map(|e| crate::domain::FieldError {
                field: e
                    .field
                    .strip_prefix(&prefix)
                    .unwrap_or(&e.field)
                    .to_string(),
                message: e.message.replace(&prefix, ""),
            })
            .collect(),
    )
}
