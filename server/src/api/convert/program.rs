//! Conversions between `recert.v1` program messages and the domain.

use super::super::{ApiError, ApiResult};
use super::format;
use crate::domain::{
    AccreditationMinimum, ActivityLimit, Alternative, Cap, CapLimit, CapScope, CategoryMinimum,
    Confidence, Credits, CycleAnchor, Dues, Program, Reinstatement, RuleField, normalize_category,
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
            confidence: confidence_to_pb(p.confidence()).into(),
            notes: p.notes.clone(),
            builtin: entry.origin == Origin::BuiltIn,
            overrides_builtin: entry.origin == Origin::Override,
            uncertain: p.uncertain.iter().map(|f| f.name().to_string()).collect(),
            local_fields: p
                .local_fields
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            reinstatement: p.reinstatement.as_ref().map(|r| pb::Reinstatement {
                within_months: i32::try_from(r.within_months).unwrap_or(i32::MAX),
                ce_hours_hundredths: r.ce_hours.0,
                note: r.note.clone(),
                sources: r.sources.clone(),
            }),
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
            local_fields: p
                .local_fields
                .iter()
                .map(|name| {
                    RuleField::parse(name).ok_or_else(|| {
                        ApiError::invalid(
                            "program.local_fields",
                            format!("program.local_fields: {name:?} is not a rule field"),
                        )
                    })
                })
                .collect::<ApiResult<_>>()?,
            reinstatement: p
                .reinstatement
                .as_ref()
                .map(|r| {
                    Ok::<_, ApiError>(Reinstatement {
                        within_months: non_negative(
                            "program.reinstatement.within_months",
                            r.within_months,
                        )?,
                        ce_hours: credits(
                            "program.reinstatement.ce_hours_hundredths",
                            r.ce_hours_hundredths,
                        )?,
                        note: r.note.trim().to_string(),
                        sources: r.sources.iter().map(|s| s.trim().to_string()).collect(),
                    })
                })
                .transpose()?,
        })
    }
}
