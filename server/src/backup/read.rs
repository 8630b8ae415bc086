//! The recert-export format, read half: [`Reader`] reads a dump in pieces split anywhere,
//! turns every line into a domain record, checks it on its own with the domain's validators
//! (shape, ids, dates, field rules) and names the line of each problem. References between
//! records and collisions with the store are the import's part (`service::import`).

use super::format::{
    AlertLine, ChannelLine, CompetencyProgramLine, CourseLine, CredentialLine, DirtyLine, EndLine,
    FORMAT, Header, HistoryLine, HolderLine, LastTickLine, NextIdsLine, ProgramLine, SettingsLine,
    TeamLine, TokenLine, VERSION,
};
use crate::domain::{
    AccreditationMinimum, ActivityLimit, Alert, AlertSettings, AlertSubject, Alternative, Cap,
    CapLimit, CapScope, CategoryMinimum, CategoryProgress, Channel, ChannelKind, Confidence,
    CountedCourse, Course, Credential, Credits, CycleAnchor, CycleOutcome, Delivery, DeliveryState,
    Dues, FieldError, Format, Holder, IdKind, MAX_NAME_LEN, MAX_TEXT_LEN, MAX_VERIFICATIONS, Mark,
    PastCycle, Program, Reinstatement, RuleField, Status, Unit, Verification, VerificationResult,
    limits, normalize_category, parse_date, parse_id,
};
use crate::domain::{HistoryEntry, Role, Team, Token, TokenHash, parse_team_id, parse_token_id};
use crate::service::import::{DumpChannel, ImportError, LineError, Lined, ParsedDump};
use crate::store::{NextIds, SCHEMA_VERSION, SettingsScope};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Longest line a reader accepts.
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Problems are reported for at most this many lines.
const MAX_ERRORS: usize = 10;

/// Field checks of one record: each failure is noted and a placeholder returned, so every
/// problem of a line is reported at once.
#[derive(Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The value, or the placeholder with the failure noted.
    fn or<T>(&mut self, result: Result<T, FieldError>, placeholder: T) -> T {
        result.unwrap_or_else(|e| {
            self.0.push(e);
            placeholder
        })
    }

    fn id(&mut self, kind: IdKind, field: &str, value: &str) -> u64 {
        self.or(parse_id(kind, field, value), 0)
    }

    fn date(&mut self, field: &str, value: &str) -> Date {
        self.or(parse_date(field, value), Date::ZERO)
    }

    /// A date or `null`; `""` is neither (the API reads it as "none", a dump must say null).
    fn optional_date(&mut self, field: &str, value: Option<&str>) -> Option<Date> {
        match value {
            Some(v) if v.trim().is_empty() => {
                self.fail(
                    field,
                    format!("{field} is empty: write a date (YYYY-MM-DD) or null"),
                );
                None
            }
            v => v.map(|v| self.date(field, v)),
        }
    }

    fn instant(&mut self, field: &str, value: &str) -> Timestamp {
        match value.parse::<Timestamp>() {
            Ok(at) if limits::year_in_range(at.to_zoned(TimeZone::UTC).year()) => at,
            Ok(at) => {
                self.fail(
                    field,
                    format!(
                        "{field} {at} is out of range: instants are in the years {} to {}",
                        limits::MIN_YEAR,
                        limits::MAX_YEAR
                    ),
                );
                Timestamp::UNIX_EPOCH
            }
            Err(_) => {
                self.fail(
                    field,
                    format!(
                        "{field} {} is not an RFC 3339 instant (2026-11-24T15:00:00Z)",
                        limits::quote(value)
                    ),
                );
                Timestamp::UNIX_EPOCH
            }
        }
    }

    /// Checks text the daemon will print or send: at most `max` characters, no control
    /// characters (but line feeds where `lines`).
    fn text(&mut self, field: &str, value: &str, max: usize, lines: bool) {
        if value.chars().count() > max {
            self.fail(field, format!("{field} must be at most {max} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && !(lines && c == '\n'))
        {
            self.fail(
                field,
                format!("{field} must not contain control characters"),
            );
        }
    }

    fn channel_kind(&mut self, field: &str, value: &str) -> ChannelKind {
        ChannelKind::parse(value).unwrap_or_else(|| {
            self.fail(field, format!("{field} {value:?} is not webhook or email"));
            ChannelKind::Webhook
        })
    }

    fn format(&mut self, field: &str, value: &str) -> Format {
        Format::parse(value).unwrap_or_else(|| {
            self.fail(
                field,
                format!("{field} {value:?} is not live, online, home-study or academic"),
            );
            Format::Live
        })
    }

    /// The record, if no check failed; else every failure, after the domain's own.
    fn done<T>(
        mut self,
        value: T,
        validate: impl FnOnce(&T) -> Result<(), Vec<FieldError>>,
    ) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty()
            && let Err(errors) = validate(&value)
        {
            self.0.extend(errors);
        }
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

fn no_check<T>(_: &T) -> Result<(), Vec<FieldError>> {
    Ok(())
}

fn competency_program_from(
    l: CompetencyProgramLine,
) -> Result<crate::domain::CompetencyProgram, Vec<FieldError>> {
    let p = crate::domain::CompetencyProgram {
        slug: l.slug,
        name: l.name,
        elements: l.elements,
        initial_months: l.initial_months,
        every_months: l.every_months,
        remediate_days: l.remediate_days,
        sources: l.sources,
        notes: l.notes,
    };
    p.validate().map(|()| p).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| {
                FieldError::new(
                    e.field.replacen("competency.", "competency_program.", 1),
                    e.message.replacen("competency.", "competency_program.", 1),
                )
            })
            .collect()
    })
}

fn holder_from(l: HolderLine) -> Result<(Holder, bool), Vec<FieldError>> {
    let mut f = Fields::default();
    let hired_on = f.optional_date("holder.hired_on", l.hired_on.as_deref());
    let mut competencies = Vec::new();
    // The program a skill names, and the elements its assessments cover, are checked by the
    // import against the programs in force (built in, in the store, or on an earlier line).
    for c in l.competencies {
        if let Err(e) = crate::domain::validate_skill(&c.skill) {
            f.fail("holder.competencies.skill", e.message);
        }
        let mut assessments = Vec::new();
        for a in c.assessments {
            let assessed_on = f.date("holder.competencies.assessed_on", &a.assessed_on);
            let result = match crate::domain::AssessmentResult::parse(
                "holder.competencies.result",
                &a.result,
            ) {
                Ok(r) => r,
                Err(e) => {
                    f.fail(&e.field, e.message);
                    continue;
                }
            };
            let assessment = crate::domain::Assessment {
                assessed_on,
                assessor: a.assessor,
                elements: a.elements,
                result,
                note: a.note,
            };
            assessments.push(assessment);
        }
        assessments.sort_by_key(|a| a.assessed_on);
        competencies.push(crate::domain::CompetencySkill {
            program: c.program.trim().to_string(),
            skill: c.skill.trim().to_string(),
            assessments,
        });
    }
    let holder = Holder {
        id: f.id(IdKind::Holder, "holder.id", &l.id),
        name: l.name,
        email: l.email,
        time_zone: l.time_zone,
        hired_on,
        competencies,
    };
    f.done(holder, Holder::validate).map(|h| (h, l.is_default))
}

/// The anchor a dump names: `birthday`, or a calendar day as `MM-DD`.
fn cycle_anchor_from(f: &mut Fields, text: Option<&str>) -> CycleAnchor {
    let Some(text) = text else {
        return CycleAnchor::Issue;
    };
    CycleAnchor::parse(text).unwrap_or_else(|| {
        f.fail(
            "program.cycle_anchor",
            format!("program.cycle_anchor {text:?} is not \"birthday\" or a day as MM-DD"),
        );
        CycleAnchor::Issue
    })
}

fn program_from(l: ProgramLine) -> Result<Program, Vec<FieldError>> {
    let mut f = Fields::default();
    let caps = l
        .caps
        .into_iter()
        .map(|c| {
            let scope = match (c.category, c.format) {
                (Some(cat), None) => CapScope::Category(normalize_category(&cat)),
                (None, Some(format)) => CapScope::Format(f.format("program.caps", &format)),
                _ => {
                    f.fail(
                        "program.caps",
                        "program.caps: each cap needs exactly one of category and format",
                    );
                    CapScope::Category(String::new())
                }
            };
            let limit = match (c.max_percent, c.max_hundredths) {
                (Some(p), None) => CapLimit::Percent(p),
                (None, Some(a)) => CapLimit::Amount(Credits(a)),
                _ => {
                    f.fail(
                        "program.caps",
                        "program.caps: each cap needs exactly one of max_percent and max_hundredths",
                    );
                    CapLimit::Percent(100)
                }
            };
            Cap { scope, limit }
        })
        .collect();
    let confidence = match l.confidence.as_deref() {
        None | Some("confirmed") => Confidence::Confirmed,
        Some("uncertain") => Confidence::Uncertain,
        Some(other) => {
            f.fail(
                "program.confidence",
                format!("program.confidence {other:?} is not confirmed or uncertain"),
            );
            Confidence::Confirmed
        }
    };
    let mut uncertain = Vec::new();
    for name in &l.uncertain {
        match RuleField::parse(name) {
            Some(field) => uncertain.push(field),
            None => f.fail(
                "program.uncertain",
                format!("program.uncertain: {name:?} is not a rule field"),
            ),
        }
    }
    match (confidence, uncertain.is_empty()) {
        (Confidence::Uncertain, true) => uncertain.push(RuleField::Unspecified),
        (Confidence::Confirmed, false) if l.confidence.is_some() => f.fail(
            "program.uncertain",
            "program.uncertain names uncertain rules of a program whose confidence is confirmed",
        ),
        _ => {}
    }
    let mut local_fields = Vec::new();
    for name in &l.local_fields {
        match RuleField::parse(name) {
            Some(field) => local_fields.push(field),
            None => f.fail(
                "program.local_fields",
                format!("program.local_fields: {name:?} is not a rule field"),
            ),
        }
    }
    let cycle_anchor = cycle_anchor_from(&mut f, l.cycle_anchor.as_deref());
    let activity_limits = l
        .activity_limits
        .into_iter()
        .map(|a| {
            let scope = match (a.category, a.format) {
                (Some(cat), None) => CapScope::Category(normalize_category(&cat)),
                (None, Some(format)) => {
                    CapScope::Format(f.format("program.activity_limits", &format))
                }
                _ => {
                    f.fail(
                        "program.activity_limits",
                        "program.activity_limits: each limit needs exactly one of category and format",
                    );
                    CapScope::Category(String::new())
                }
            };
            ActivityLimit {
                scope,
                once_every_years: a.once_every_years,
            }
        })
        .collect();
    let program = Program {
        slug: l.slug,
        body: l.body,
        name: l.name,
        cycle_months: l.cycle_months,
        ce_window_months: l.ce_window_months,
        unit_name: l.unit,
        unit_hours: Credits(l.unit_hours_hundredths),
        required: Credits(l.required_hundredths),
        category_minimums: l
            .category_minimums
            .into_iter()
            .map(|m| CategoryMinimum {
                category: normalize_category(&m.category),
                minimum: Credits(m.minimum_hundredths),
            })
            .collect(),
        caps,
        grace_days: l.grace_days,
        shares_courses: l.shares_courses,
        accepted_accreditations: l.accepted_accreditations,
        sources: l.sources,
        uncertain,
        notes: l.notes,
        cycle_anchor,
        ce_window_years_before: l.ce_window_years_before,
        first_cycle_per_month: Credits(l.first_cycle_per_month_hundredths),
        exclusive_categories: l.exclusive_categories,
        activity_limits,
        alternatives: l
            .alternatives
            .into_iter()
            .map(|a| Alternative {
                required: Credits(a.required_hundredths),
                work_category: normalize_category(&a.work_category),
                work_hours: Credits(a.work_hours_hundredths),
            })
            .collect(),
        accreditation_minimums: l
            .accreditation_minimums
            .into_iter()
            .map(|m| AccreditationMinimum {
                accreditation: m.accreditation,
                minimum: Credits(m.minimum_hundredths),
            })
            .collect(),
        accreditation_required: l.accreditation_required,
        dues: l.dues.map(|d| Dues {
            amount_cents: d.amount_cents,
            every_months: d.every_months,
            month_offset: d.month_offset,
        }),
        local_fields,
        reinstatement: l.reinstatement.map(|r| Reinstatement {
            within_months: r.within_months,
            ce_hours: Credits(r.ce_hours_hundredths),
            note: r.note,
            sources: r.sources,
        }),
    };
    f.done(program, Program::validate)
}

fn credential_from(l: CredentialLine) -> Result<Credential, Vec<FieldError>> {
    let mut f = Fields::default();
    let history = l
        .history
        .iter()
        .map(|h| PastCycle {
            issued_on: f.optional_date("credential.history.issued_on", h.issued_on.as_deref()),
            expires_on: f.date("credential.history.expires_on", &h.expires_on),
            renewed_on: f.date("credential.history.renewed_on", &h.renewed_on),
            outcome: h.outcome.as_ref().map(|o| CycleOutcome {
                window_start: f.date("credential.history.outcome.window_start", &o.window_start),
                ends_on: f.date("credential.history.outcome.ends_on", &o.ends_on),
                unit_name: o.unit_name.clone(),
                required: Credits(o.required_hundredths),
                earned: Credits(o.earned_hundredths),
                categories: o
                    .categories
                    .iter()
                    .map(|c| CategoryProgress {
                        category: c.category.clone(),
                        required: Credits(c.required_hundredths),
                        earned: Credits(c.earned_hundredths),
                    })
                    .collect(),
                status: Status::parse(&o.status).unwrap_or_else(|| {
                    f.fail(
                        "credential.history.outcome.status",
                        format!(
                            "credential.history.outcome.status {:?} is not one of met, on_track, at_risk, in_grace, expired",
                            o.status
                        ),
                    );
                    Status::Met
                }),
                counted: o
                    .counted
                    .iter()
                    .map(|c| CountedCourse {
                        course_id: f.id(IdKind::Course, "credential.history.outcome.counted.course_id", &c.course_id),
                        amount: Credits(c.amount_hundredths),
                        capped: c.capped,
                    })
                    .collect(),
            }),
        })
        .collect();
    if l.verifications.len() > MAX_VERIFICATIONS {
        f.fail(
            "credential.verifications",
            format!("credential.verifications may hold at most {MAX_VERIFICATIONS} entries"),
        );
    }
    let mut verifications: Vec<Verification> = Vec::new();
    for v in &l.verifications {
        let result = VerificationResult::parse(&v.result).unwrap_or_else(|| {
            f.fail(
                "credential.verifications.result",
                format!(
                    "credential.verifications.result {:?} is not one of active, not-found, expired, mismatch",
                    v.result
                ),
            );
            VerificationResult::Active
        });
        let verification = Verification {
            checked_on: f.date("credential.verifications.on", &v.on),
            result,
            source: v.source.clone(),
            checked_by: v.by.clone(),
            cycle_expires_on: f.date(
                "credential.verifications.cycle_expires_on",
                &v.cycle_expires_on,
            ),
        };
        if let Err(errors) = verification.validate(Date::MAX) {
            for e in errors {
                f.fail(
                    &format!("credential.{}", e.field),
                    format!("credential.{}", e.message),
                );
            }
        }
        if verifications
            .last()
            .is_some_and(|last| last.checked_on > verification.checked_on)
        {
            f.fail(
                "credential.verifications.on",
                "credential.verifications must be in date order, oldest first",
            );
        }
        verifications.push(verification);
    }
    let credential = Credential {
        id: f.id(IdKind::Credential, "credential.id", &l.id),
        holder_id: f.id(IdKind::Holder, "credential.holder_id", &l.holder_id),
        program: l.program,
        number: l.number,
        issued_on: f.optional_date("credential.issued_on", l.issued_on.as_deref()),
        expires_on: f.date("credential.expires_on", &l.expires_on),
        history,
        verifications,
    };
    f.done(credential, Credential::validate)
}

/// A course; its dates are checked later, against its holder's today.
fn course_from(l: CourseLine) -> Result<Course, Vec<FieldError>> {
    let mut f = Fields::default();
    let unit = Unit::parse(&l.unit).unwrap_or_else(|| {
        f.fail(
            "course.unit",
            format!(
                "course.unit {:?} is not one of {}",
                l.unit,
                Unit::ALL.map(Unit::name).join(", ")
            ),
        );
        Unit::Hours
    });
    let course = Course {
        id: f.id(IdKind::Course, "course.id", &l.id),
        holder_id: f.id(IdKind::Holder, "course.holder_id", &l.holder_id),
        title: l.title,
        provider: l.provider,
        accreditation: l.accreditation,
        completed_on: f.date("course.completed_on", &l.completed_on),
        amount: Credits(l.credits_hundredths),
        unit,
        categories: l.categories.iter().map(|c| normalize_category(c)).collect(),
        format: l.format.map(|v| f.format("course.format", &v)),
        credential_ids: l
            .credential_ids
            .iter()
            .map(|id| f.id(IdKind::Credential, "course.credential_ids", id))
            .collect(),
        evidence: l.evidence,
    };
    f.done(course, no_check)
}

fn channel_from(l: ChannelLine) -> Result<DumpChannel, Vec<FieldError>> {
    let mut f = Fields::default();
    let kind = f.channel_kind("channel.type", &l.kind);
    let secret_omitted = l.secret.is_none() && l.has_secret;
    // A team's channel names its team instead of a holder.
    let (holder_id, team_id) = match l.team_id.as_deref() {
        Some(t) => match crate::domain::parse_team_id(t) {
            Some(team) if l.holder_id.is_empty() => (0, team),
            Some(_) => {
                f.fail(
                    "channel.holder_id",
                    "channel.holder_id must be empty on a team's channel (channel.team_id is set)",
                );
                (0, 0)
            }
            None => {
                f.fail(
                    "channel.team_id",
                    format!("channel.team_id {t:?} is not a team id (tm1)"),
                );
                (0, 0)
            }
        },
        None => (f.id(IdKind::Holder, "channel.holder_id", &l.holder_id), 0),
    };
    let channel = Channel {
        id: f.id(IdKind::Channel, "channel.id", &l.id),
        holder_id,
        kind,
        target: l.target,
        secret: l.secret.unwrap_or_default(),
        team_id,
    };
    f.done(channel, Channel::validate)
        .map(|channel| DumpChannel {
            channel,
            secret_omitted,
        })
}

fn settings_from(l: SettingsLine) -> Result<(SettingsScope, AlertSettings), Vec<FieldError>> {
    let mut f = Fields::default();
    let scope = match (l.program, l.holder_id, l.credential_id) {
        (Some(slug), None, None) if !slug.trim().is_empty() => SettingsScope::Program(slug),
        (None, Some(h), None) => {
            SettingsScope::Holder(f.id(IdKind::Holder, "alert_settings.holder_id", &h))
        }
        (None, None, Some(c)) => {
            SettingsScope::Credential(f.id(IdKind::Credential, "alert_settings.credential_id", &c))
        }
        _ => {
            f.fail(
                "alert_settings",
                "alert_settings must name exactly one of program, holder_id, credential_id",
            );
            SettingsScope::Holder(0)
        }
    };
    let settings = AlertSettings {
        thresholds: l.thresholds,
        muted: l.muted,
    };
    f.0.extend(settings.validate().err().unwrap_or_default());
    f.done((scope, settings.normalized()), no_check)
}

fn alert_from(l: AlertLine) -> Result<Alert, Vec<FieldError>> {
    let mut f = Fields::default();
    let t = l.threshold_days;
    let mark = match l.mark.as_str() {
        "before" if t >= 1 => u32::try_from(t).ok().map(Mark::Before),
        "expiry_day" if t == 0 => Some(Mark::ExpiryDay),
        "grace_week" if t < 0 && t % 7 == 0 => u32::try_from(-t / 7).ok().map(Mark::GraceWeek),
        "lapsed" if t < 0 => Some(Mark::Lapsed),
        _ => None,
    }
    .unwrap_or_else(|| {
        f.fail(
            "alert.mark",
            format!(
                "alert.mark {:?} does not go with threshold_days {t}: before needs 1 or more, expiry_day 0, grace_week a negative multiple of 7, lapsed a negative number",
                l.mark
            ),
        );
        Mark::ExpiryDay
    });
    for d in &l.deliveries {
        f.text("alert.deliveries.target", &d.target, MAX_TEXT_LEN, false);
        f.text(
            "alert.deliveries.last_error",
            &d.last_error,
            MAX_TEXT_LEN,
            false,
        );
    }
    let deliveries = l
        .deliveries
        .into_iter()
        .map(|d| Delivery {
            channel_id: d
                .channel_id
                .as_deref()
                .map_or(crate::domain::HOLDER_EMAIL, |id| {
                    f.id(IdKind::Channel, "alert.deliveries.channel_id", id)
                }),
            kind: f.channel_kind("alert.deliveries.type", &d.kind),
            target: d.target,
            attempts: d.attempts,
            last_error: d.last_error,
            state: match d.state.as_str() {
                "pending" => DeliveryState::Pending,
                "delivered" => DeliveryState::Delivered,
                "failed" => DeliveryState::Failed,
                other => {
                    f.fail(
                        "alert.deliveries.state",
                        format!(
                            "alert.deliveries.state {other:?} is not pending, delivered or failed"
                        ),
                    );
                    DeliveryState::Failed
                }
            },
            next_attempt_at: d
                .next_attempt_at
                .map(|v| f.instant("alert.deliveries.next_attempt_at", &v)),
        })
        .collect();
    if l.title.trim().is_empty() {
        f.fail("alert.title", "alert.title must not be empty");
    }
    f.text("alert.title", &l.title, MAX_NAME_LEN, false);
    f.text("alert.body", &l.body, MAX_TEXT_LEN, true);
    f.text("alert.program", &l.program, MAX_NAME_LEN, false);
    let subject = match l.subject.as_deref().unwrap_or("credential") {
        "credential" => AlertSubject::Credential,
        "competency" => {
            let skill = l.skill.clone().unwrap_or_default();
            if let Err(e) = crate::domain::validate_skill(&skill) {
                f.fail("alert.skill", format!("alert.skill: {}", e.message));
            }
            AlertSubject::Competency { skill }
        }
        "dues" => AlertSubject::Dues {
            amount_cents: l.amount_cents.unwrap_or_else(|| {
                f.fail(
                    "alert.amount_cents",
                    "alert.amount_cents is missing for dues",
                );
                0
            }),
        },
        "digest" => AlertSubject::Digest {
            team_id: l
                .team_id
                .as_deref()
                .and_then(crate::domain::parse_team_id)
                .unwrap_or_else(|| {
                    f.fail(
                        "alert.team_id",
                        format!("alert.team_id {:?} is not a team id (tm1)", l.team_id),
                    );
                    0
                }),
        },
        other => {
            f.fail(
                "alert.subject",
                format!("alert.subject {other:?} is not credential, competency, dues or digest"),
            );
            AlertSubject::Credential
        }
    };
    // A competency or a digest is about no credential.
    let credential_id = if l.credential_id.is_empty()
        && matches!(
            subject,
            AlertSubject::Competency { .. } | AlertSubject::Digest { .. }
        ) {
        0
    } else {
        f.id(IdKind::Credential, "alert.credential_id", &l.credential_id)
    };
    let alert = Alert {
        id: f.id(IdKind::Alert, "alert.id", &l.id),
        holder_id: f.id(IdKind::Holder, "alert.holder_id", &l.holder_id),
        subject,
        credential_id,
        program: l.program,
        expires_on: f.date("alert.expires_on", &l.expires_on),
        mark,
        threshold_days: t,
        due_on: f.date("alert.due_on", &l.due_on),
        title: l.title,
        body: l.body,
        met: l.met,
        compliance_status: l.compliance_status,
        created_at: f.instant("alert.created_at", &l.created_at),
        snoozed_until: f.optional_date("alert.snoozed_until", l.snoozed_until.as_deref()),
        acknowledged: l.acknowledged,
        cancelled: l.cancelled,
        deliveries,
    };
    f.done(alert, no_check)
}

fn last_tick_from(l: LastTickLine) -> Result<(String, Timestamp), Vec<FieldError>> {
    let mut f = Fields::default();
    if TimeZone::get(&l.zone).is_err() {
        f.fail(
            "last_tick.zone",
            format!("last_tick.zone {:?} is not an IANA time zone", l.zone),
        );
    }
    let at = f.instant("last_tick.at", &l.at);
    f.done((l.zone, at), no_check)
}

fn dirty_from(l: DirtyLine) -> Result<u64, Vec<FieldError>> {
    let mut f = Fields::default();
    let id = f.id(
        IdKind::Credential,
        "dirty_credential.credential_id",
        &l.credential_id,
    );
    f.done(id, no_check)
}

fn token_from(l: TokenLine) -> Result<Token, Vec<FieldError>> {
    let mut f = Fields::default();
    let id = parse_token_id(&l.id).unwrap_or_else(|| {
        f.fail(
            "token.id",
            format!("token.id {:?} is not a token id (tk1)", l.id),
        );
        0
    });
    let role = Role::parse(&l.role).unwrap_or_else(|| {
        f.fail(
            "token.role",
            format!("token.role {:?} is not admin, supervisor or holder", l.role),
        );
        Role::Holder
    });
    let holder_id = l
        .holder_id
        .as_deref()
        .map(|h| f.id(IdKind::Holder, "token.holder_id", h));
    if role == Role::Holder && holder_id.is_none() {
        f.fail(
            "token.holder_id",
            "token.holder_id: a holder token names its holder",
        );
    }
    let hash = hash_from(&l.hash).unwrap_or_else(|| {
        f.fail(
            "token.hash",
            "token.hash is not a SHA-256 hash (64 hexadecimal digits)",
        );
        [0; 32]
    });
    let created_at = f.instant("token.created_at", &l.created_at);
    let expires_at = l
        .expires_at
        .as_deref()
        .map(|at| f.instant("token.expires_at", at));
    let revoked_at = l
        .revoked_at
        .as_deref()
        .map(|at| f.instant("token.revoked_at", at));
    let token = Token {
        id,
        name: l.name,
        role,
        holder_id,
        hash,
        created_at,
        expires_at,
        revoked_at,
    };
    f.done(token, no_check)
}

/// 64 hexadecimal digits as the 32 bytes they spell.
fn hash_from(text: &str) -> Option<TokenHash> {
    let text = text.trim().as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        hash[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(hash)
}

fn team_from(l: TeamLine) -> Result<Team, Vec<FieldError>> {
    let mut f = Fields::default();
    let id = parse_team_id(&l.id).unwrap_or_else(|| {
        f.fail(
            "team.id",
            format!("team.id {:?} is not a team id (tm1)", l.id),
        );
        0
    });
    if l.name.trim().is_empty() {
        f.fail("team.name", "team.name is empty");
    }
    let members = l
        .member_ids
        .iter()
        .map(|h| f.id(IdKind::Holder, "team.member_ids", h))
        .collect();
    let leads = l
        .lead_ids
        .iter()
        .map(|h| f.id(IdKind::Holder, "team.lead_ids", h))
        .collect();
    let team = Team {
        id,
        name: l.name,
        members,
        leads,
    };
    f.done(team, no_check)
}

fn history_from(l: HistoryLine) -> Result<HistoryEntry, Vec<FieldError>> {
    let mut f = Fields::default();
    let id =
        l.id.trim()
            .strip_prefix("hi")
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok())
            .filter(|&id| id > 0)
            .unwrap_or_else(|| {
                f.fail(
                    "history.id",
                    format!("history.id {:?} is not a history entry id (hi1)", l.id),
                );
                0
            });
    let at = f.instant("history.at", &l.at);
    let token_id = l.token_id.as_deref().map(|t| {
        parse_token_id(t).unwrap_or_else(|| {
            f.fail(
                "history.token_id",
                format!("history.token_id {t:?} is not a token id (tk1)"),
            );
            0
        })
    });
    if !["create", "update", "delete", "import"].contains(&l.action.as_str()) {
        f.fail(
            "history.action",
            format!(
                "history.action {:?} is not create, update, delete or import",
                l.action
            ),
        );
    }
    let holder_id = l
        .holder_id
        .as_deref()
        .map(|h| f.id(IdKind::Holder, "history.holder_id", h));
    let entry = HistoryEntry {
        id,
        at,
        token_id,
        actor: l.actor,
        action: l.action,
        kind: l.record_kind,
        record: l.record,
        holder_id,
        before: l.before,
        after: l.after,
    };
    f.done(entry, no_check)
}

/// A JSON error without serde_json's "at line 1 column N" (every line is line 1 to it).
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    if e.column() > 0 {
        format!("{text} (column {})", e.column())
    } else {
        text
    }
}

/// The problems of the first few bad lines, by line: enough to fix and retry, short enough
/// for one error message.
pub fn first_bad_lines(mut errors: Vec<LineError>) -> Vec<LineError> {
    errors.sort_by_key(|e| e.line);
    let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    lines.dedup();
    if let Some(&cutoff) = lines.get(MAX_ERRORS) {
        errors.retain(|e| e.line < cutoff);
    }
    errors
}

/// Reads a dump in pieces split anywhere, checking each complete line as it arrives, so
/// memory holds records rather than text. [`Reader::finish`] gives the records, or every
/// problem found (the first [`MAX_ERRORS`] bad lines), by line.
#[derive(Default)]
pub struct Reader {
    partial: Vec<u8>,
    /// Dropping the rest of a line that was too long.
    skipping: bool,
    line: usize,
    bytes: u64,
    header: Option<Header>,
    /// The header was not one; nothing after it is read.
    fatal: bool,
    end: Option<(usize, u64)>,
    records: u64,
    /// The line of the next_ids line, once read (the records may have been taken).
    next_ids_line: Option<usize>,
    /// Bytes read when the records were last taken.
    taken_at: u64,
    dump: ParsedDump,
    errors: Vec<LineError>,
}

impl Reader {
    /// A reader at the start of a dump.
    pub fn new() -> Self {
        Reader::default()
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes read since the records were last taken ([`Reader::take`]).
    pub fn bytes_held(&self) -> u64 {
        self.bytes - self.taken_at
    }

    /// Whether a line had a problem so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Takes the records read so far (each checked on its own), so that a dump is read in
    /// bounded batches; the problems stay for [`Reader::finish_lines`].
    pub fn take(&mut self) -> ParsedDump {
        self.taken_at = self.bytes;
        std::mem::take(&mut self.dump)
    }

    /// Reads the next piece of the dump.
    pub fn push(&mut self, mut data: &[u8]) {
        self.bytes += data.len() as u64;
        while let Some(newline) = data.iter().position(|&b| b == b'\n') {
            let (head, rest) = data.split_at(newline);
            data = &rest[1..];
            if self.skipping {
                self.skipping = false;
                self.partial.clear();
                continue;
            }
            if self.partial.is_empty() {
                self.line(head);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                self.line(&line);
            }
        }
        if self.skipping {
            return;
        }
        self.partial.extend_from_slice(data);
        if self.partial.len() > MAX_LINE_BYTES {
            self.line += 1;
            self.error(
                self.line,
                "",
                format!("longer than {} MiB", MAX_LINE_BYTES / (1024 * 1024)),
            );
            self.partial.clear();
            self.skipping = true;
        }
    }

    fn error(&mut self, line: usize, field: &str, message: impl std::fmt::Display) {
        self.errors.push(LineError::new(line, field, message));
    }

    fn bad_lines(&self) -> usize {
        let mut lines: Vec<usize> = self.errors.iter().map(|e| e.line).collect();
        lines.dedup();
        lines.len()
    }

    fn line(&mut self, bytes: &[u8]) {
        self.line += 1;
        let n = self.line;
        if self.fatal || self.bad_lines() >= MAX_ERRORS {
            return;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return self.error(n, "", "not UTF-8 text");
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            return;
        }
        if let Some((end, _)) = self.end {
            return self.error(
                n,
                "",
                format!("nothing may follow the end line (line {end})"),
            );
        }
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                if self.header.is_none() {
                    self.fatal = true;
                    return self.error(
                        n,
                        "",
                        format!(
                            "not a recert export: the first line must be its header ({})",
                            json_error(&e)
                        ),
                    );
                }
                return self.error(n, "", format!("not valid JSON: {}", json_error(&e)));
            }
        };
        if self.header.is_none() {
            return self.header(n, value);
        }
        let serde_json::Value::Object(mut object) = value else {
            return self.error(n, "", "not a JSON object");
        };
        let kind = match object.remove("kind") {
            Some(serde_json::Value::String(kind)) => kind,
            Some(_) => return self.error(n, "kind", "\"kind\" must be a string"),
            None => return self.error(n, "kind", "the record has no \"kind\""),
        };
        let value = serde_json::Value::Object(object);
        if kind == "end" {
            if let Some(end) = self.parse::<EndLine>(n, &kind, value) {
                self.end = Some((n, end.records));
            }
            return;
        }
        self.records += 1;
        match kind.as_str() {
            "next_ids" => {
                if let Some(l) = self.parse::<NextIdsLine>(n, &kind, value) {
                    if self.next_ids_line.is_some() {
                        return self.error(n, "", "a second next_ids line");
                    }
                    self.next_ids_line = Some(n);
                    let record = NextIds {
                        holder: l.holder,
                        credential: l.credential,
                        course: l.course,
                        alert: l.alert,
                        channel: l.channel,
                    };
                    self.dump.next_ids = Some(Lined { line: n, record });
                }
            }
            "holder" => {
                if let Some(r) = self.record(n, &kind, value, holder_from) {
                    self.dump.holders.push(r);
                }
            }
            "program" => {
                if let Some(r) = self.record(n, &kind, value, program_from) {
                    self.dump.programs.push(r);
                }
            }
            "competency_program" => {
                if let Some(r) = self.record(n, &kind, value, competency_program_from) {
                    self.dump.competency_programs.push(r);
                }
            }
            "credential" => {
                if let Some(r) = self.record(n, &kind, value, credential_from) {
                    self.dump.credentials.push(r);
                }
            }
            "course" => {
                if let Some(r) = self.record(n, &kind, value, course_from) {
                    self.dump.courses.push(r);
                }
            }
            "channel" => {
                if let Some(r) = self.record(n, &kind, value, channel_from) {
                    self.dump.channels.push(r);
                }
            }
            "alert_settings" => {
                if let Some(r) = self.record(n, &kind, value, settings_from) {
                    self.dump.alert_settings.push(r);
                }
            }
            "alert" => {
                if let Some(r) = self.record(n, &kind, value, alert_from) {
                    self.dump.alerts.push(r);
                }
            }
            "last_tick" => {
                if let Some(r) = self.record(n, &kind, value, last_tick_from) {
                    self.dump.last_ticks.push(r);
                }
            }
            "dirty_credential" => {
                if let Some(r) = self.record(n, &kind, value, dirty_from) {
                    self.dump.dirty_credentials.push(r);
                }
            }
            "token" => {
                if let Some(r) = self.record(n, &kind, value, token_from) {
                    self.dump.tokens.push(r);
                }
            }
            "team" => {
                if let Some(r) = self.record(n, &kind, value, team_from) {
                    self.dump.teams.push(r);
                }
            }
            "history" => {
                if let Some(r) = self.record(n, &kind, value, history_from) {
                    self.dump.history.push(r);
                }
            }
            other => self.error(
                n,
                "kind",
                format!(
                    "unknown kind {other:?} (expected next_ids, holder, program, credential, course, channel, alert_settings, alert, last_tick, dirty_credential, token, team, history or end)"
                ),
            ),
        }
    }

    fn header(&mut self, n: usize, value: serde_json::Value) {
        let shape = "{\"format\":\"recert-export\",\"version\":1,...}";
        let header = match serde_json::from_value::<Header>(value) {
            Ok(h) if h.format == FORMAT => h,
            Ok(_) | Err(_) => {
                self.fatal = true;
                return self.error(
                    n,
                    "",
                    format!("not a recert export: the first line must be its header {shape}"),
                );
            }
        };
        if header.version != VERSION {
            self.fatal = true;
            return self.error(
                n,
                "version",
                format!(
                    "format version {} is not supported; this recertd reads version {VERSION}",
                    header.version
                ),
            );
        }
        if header.schema > SCHEMA_VERSION {
            self.fatal = true;
            return self.error(
                n,
                "schema",
                format!(
                    "the dump comes from a store with schema {}, newer than this recertd supports ({SCHEMA_VERSION}); upgrade recertd",
                    header.schema
                ),
            );
        }
        self.header = Some(header);
    }

    fn parse<T: DeserializeOwned>(
        &mut self,
        n: usize,
        kind: &str,
        value: serde_json::Value,
    ) -> Option<T> {
        match serde_json::from_value(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(n, kind, format!("{kind}: {}", json_error(&e)));
                None
            }
        }
    }

    fn record<L: DeserializeOwned, T>(
        &mut self,
        n: usize,
        kind: &str,
        value: serde_json::Value,
        convert: impl FnOnce(L) -> Result<T, Vec<FieldError>>,
    ) -> Option<Lined<T>> {
        let line = self.parse::<L>(n, kind, value)?;
        match convert(line) {
            Ok(record) => Some(Lined { line: n, record }),
            Err(errors) => {
                for e in errors {
                    self.error(n, &e.field, e.message);
                }
                None
            }
        }
    }

    /// Ends the input: a last line without its newline is read now.
    pub fn end_input(&mut self) {
        if !self.partial.is_empty() && !self.skipping {
            let last = std::mem::take(&mut self.partial);
            self.line(&last);
        }
    }

    /// The holders that courses of the dump belong to but the dump does not hold: their
    /// time zones come from the store (see [`Reader::finish`]). Call after
    /// [`Reader::end_input`].
    pub fn holders_outside(&self) -> Vec<u64> {
        let inside: std::collections::HashSet<u64> =
            self.dump.holders.iter().map(|l| l.record.0.id).collect();
        let mut out: Vec<u64> = self
            .dump
            .courses
            .iter()
            .map(|l| l.record.holder_id)
            .filter(|id| !inside.contains(id))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Ends the dump: checks it is complete, and checks each course against its holder's
    /// date at `now` (the holder from the dump, else `zone_of` it from the store).
    pub fn finish(
        self,
        now: Timestamp,
        zone_of: impl Fn(u64) -> Option<String>,
    ) -> Result<ParsedDump, Vec<LineError>> {
        let (dump, mut errors) = self.finish_lines();
        let zones: HashMap<u64, String> = dump
            .holders
            .iter()
            .map(|l| (l.record.0.id, l.record.0.time_zone.clone()))
            .collect();
        errors.extend(crate::service::import::line_checks(&dump, now, |id| {
            zones.get(&id).cloned().or_else(|| zone_of(id))
        }));
        if errors.is_empty() {
            return Ok(dump);
        }
        Err(first_bad_lines(errors))
    }

    /// Ends the dump: the records not taken yet, and every problem of its lines on their own
    /// (checks it is complete), without [`crate::service::import::line_checks`].
    pub fn finish_lines(mut self) -> (ParsedDump, Vec<LineError>) {
        self.end_input();
        if self.header.is_none() && self.errors.is_empty() {
            self.error(1, "", "the dump is empty");
        }
        if self.header.is_some() {
            match self.end {
                None => {
                    let n = self.line.max(1);
                    self.error(
                        n,
                        "",
                        "the dump stops here without its end line: it is truncated",
                    );
                }
                Some((n, records)) if records != self.records => self.error(
                    n,
                    "end.records",
                    format!(
                        "end.records says {records} records but the dump has {}: lines are missing or extra",
                        self.records
                    ),
                ),
                Some(_) => {}
            }
        }
        (self.dump, self.errors)
    }
}

/// A dump spooled to a file, read by the import in batches of
/// [`crate::service::import::BATCH_BYTES`] from its start, once per pass.
pub struct DumpFile(std::fs::File);

impl DumpFile {
    /// The dump in `file` (read from its start whatever its position).
    pub fn new(file: std::fs::File) -> Self {
        DumpFile(file)
    }
}

fn read_error(e: std::io::Error) -> ImportError {
    ImportError::Store(crate::store::StoreError::Storage(format!(
        "reading the dump: {e}"
    )))
}

impl crate::service::import::DumpBatches for DumpFile {
    fn read_batches(
        &mut self,
        each: &mut dyn FnMut(ParsedDump, bool) -> Result<(), ImportError>,
    ) -> Result<Vec<LineError>, ImportError> {
        use std::io::{Read, Seek};
        let file = &mut self.0;
        file.seek(std::io::SeekFrom::Start(0)).map_err(read_error)?;
        let mut reader = Reader::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(read_error)?;
            if n == 0 {
                break;
            }
            reader.push(&buf[..n]);
            if reader.bytes_held() >= crate::service::import::BATCH_BYTES {
                let batch = reader.take();
                let broken = reader.has_errors();
                each(batch, broken)?;
            }
        }
        let (rest, errors) = reader.finish_lines();
        each(rest, !errors.is_empty())?;
        Ok(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::format::lines;
    use crate::domain::MonthDay;
    use crate::store::Dump;

    const NOW: &str = "2026-11-24T15:00:00Z";

    fn read(text: &str) -> Result<ParsedDump, Vec<String>> {
        let mut reader = Reader::new();
        // Split inside lines, as a stream may.
        for piece in text.as_bytes().chunks(7) {
            reader.push(piece);
        }
        reader
            .finish(NOW.parse().unwrap(), |_| None)
            .map_err(|errors| errors.into_iter().map(|e| e.message).collect())
    }

    fn header() -> String {
        format!(
            r#"{{"format":"recert-export","version":1,"schema":{SCHEMA_VERSION},"exported_at":"{NOW}"}}"#
        )
    }

    #[test]
    fn a_dump_round_trips_through_its_lines() {
        let dump = Dump {
            schema: SCHEMA_VERSION,
            default_holder: Some(1),
            holders: vec![Holder {
                id: 1,
                name: "Dana".into(),
                email: String::new(),
                time_zone: "America/Chicago".into(),
                hired_on: None,
                competencies: Vec::new(),
            }],
            courses: vec![Course {
                id: 2,
                holder_id: 1,
                title: "Sharps".into(),
                provider: String::new(),
                accreditation: "P.A.C.E.".into(),
                completed_on: "2026-11-24".parse().unwrap(),
                amount: Credits(50),
                unit: Unit::Ceu,
                categories: vec!["safety".into()],
                format: Some(Format::HomeStudy),
                credential_ids: vec![],
                evidence: String::new(),
            }],
            last_ticks: vec![("America/Chicago".into(), NOW.parse().unwrap())],
            ..Dump::default()
        };
        let text: String = lines(dump.clone(), NOW.parse().unwrap(), true)
            .map(|l| l + "\n")
            .collect();
        let parsed = read(&text).unwrap();
        assert_eq!(parsed.holders[0].record, (dump.holders[0].clone(), true));
        assert_eq!(parsed.holders[0].line, 3);
        assert_eq!(parsed.courses[0].record, dump.courses[0]);
        assert_eq!(parsed.last_ticks[0].record, dump.last_ticks[0]);
        assert!(
            text.ends_with("{\"kind\":\"end\",\"records\":4}\n"),
            "{text}"
        );
    }

    #[test]
    fn bad_lines_are_named_with_the_domain_message() {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            header(),
            r#"{"kind":"holder","id":"h1","name":"Dana","time_zone":"UTC"}"#,
            r#"{"kind":"holder","id":"h2","name":"","time_zone":"UTC"}"#,
            r#"{"kind":"course","id":"co1","holder_id":"h1","title":"  ","completed_on":"2026-11-25","credits_hundredths":100,"unit":"hours"}"#,
            r#"{"kind":"end","records":3}"#
        );
        assert_eq!(
            read(&text).unwrap_err(),
            [
                "line 3: holder.name must not be empty",
                "line 4: course.title must not be empty",
                "line 4: course.completed_on (2026-11-25) is in the future (today is 2026-11-24)",
            ]
        );
    }

    #[test]
    fn truncated_and_garbled_dumps_are_refused() {
        let text = format!(
            "{}\n{}\n",
            header(),
            r#"{"kind":"holder","id":"h1","name":"Dana","time_zone":"UTC"}"#
        );
        assert_eq!(
            read(&text).unwrap_err(),
            ["line 2: the dump stops here without its end line: it is truncated"]
        );
        let cut = &text[..text.len() - 10];
        let errors = read(cut).unwrap_err();
        assert!(
            errors[0].starts_with("line 2: not valid JSON: EOF while parsing"),
            "{errors:?}"
        );
        assert_eq!(read("").unwrap_err(), ["line 1: the dump is empty"]);
        let errors = read("hello\nworld\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("line 1: not a recert export"),
            "{errors:?}"
        );
        let wrong_count = format!("{}\n{}\n", header(), r#"{"kind":"end","records":3}"#);
        assert_eq!(
            read(&wrong_count).unwrap_err(),
            ["line 2: end.records says 3 records but the dump has 0: lines are missing or extra"]
        );
    }

    #[test]
    fn unknown_fields_kinds_and_versions_are_refused() {
        let text = format!(
            "{}\n{}\n{}\n{}\n",
            header(),
            r#"{"kind":"holder","id":"h1","nmae":"Dana","time_zone":"UTC"}"#,
            r#"{"kind":"holders"}"#,
            r#"{"kind":"end","records":2}"#
        );
        let errors = read(&text).unwrap_err();
        assert!(
            errors[0].starts_with("line 2: holder: unknown field `nmae`"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("line 3: unknown kind \"holders\""),
            "{errors:?}"
        );
        let v2 = r#"{"format":"recert-export","version":2,"schema":1,"exported_at":"x"}"#;
        assert_eq!(
            read(v2).unwrap_err(),
            ["line 1: format version 2 is not supported; this recertd reads version 1"]
        );
    }

    /// The records of a parsed dump as a [`Dump`] again.
    fn unparsed(p: ParsedDump, schema: u32) -> Dump {
        fn records<T>(lined: Vec<Lined<T>>) -> Vec<T> {
            lined.into_iter().map(|l| l.record).collect()
        }
        Dump {
            schema,
            next_ids: p.next_ids.map(|l| l.record).unwrap_or_default(),
            default_holder: p.holders.iter().find(|l| l.record.1).map(|l| l.record.0.id),
            holders: records(p.holders).into_iter().map(|(h, _)| h).collect(),
            programs: records(p.programs),
            competency_programs: records(p.competency_programs),
            credentials: records(p.credentials),
            courses: records(p.courses),
            channels: records(p.channels).into_iter().map(|c| c.channel).collect(),
            alert_settings: records(p.alert_settings),
            alerts: records(p.alerts),
            last_ticks: records(p.last_ticks),
            dirty_credentials: records(p.dirty_credentials),
            tokens: records(p.tokens),
            teams: records(p.teams),
            history: records(p.history),
        }
    }

    #[test]
    fn every_field_of_every_kind_survives_the_text() {
        let date = |s: &str| s.parse::<Date>().unwrap();
        let at: Timestamp = "2026-11-24T14:00:00.123456789Z".parse().unwrap();
        let dump = Dump {
            schema: SCHEMA_VERSION,
            next_ids: NextIds {
                holder: 3,
                credential: 4,
                course: 5,
                alert: 6,
                channel: 7,
            },
            default_holder: Some(2),
            holders: vec![
                Holder {
                    id: 1,
                    name: "Ana \"Ruiz\" \u{e9}".into(),
                    email: "ana@example.org".into(),
                    time_zone: "Pacific/Auckland".into(),
                    hired_on: None,
                    competencies: Vec::new(),
                },
                Holder {
                    id: 2,
                    name: "Dana".into(),
                    email: String::new(),
                    time_zone: "America/Chicago".into(),
                    hired_on: None,
                    competencies: Vec::new(),
                },
            ],
            competency_programs: vec![crate::domain::CompetencyProgram {
                slug: "glucose-meter".into(),
                name: "Glucose \"meter\" \u{e9}".into(),
                elements: vec!["observe".into(), "QC".into()],
                initial_months: vec![6],
                every_months: 12,
                remediate_days: 30,
                sources: vec!["https://example.org/rule".into()],
                notes: "the lab's".into(),
            }],
            programs: vec![
                // Only a per-program flag, as before flags per field, and no newer rule.
                Program {
                    local_fields: Vec::new(),
                    reinstatement: None,
                    slug: "old-cpt".into(),
                    body: "Old".into(),
                    name: "Old CPT".into(),
                    cycle_months: 12,
                    cycle_anchor: CycleAnchor::Issue,
                    ce_window_months: 12,
                    ce_window_years_before: 0,
                    unit_name: "hour".into(),
                    unit_hours: Credits(100),
                    required: Credits(600),
                    first_cycle_per_month: Credits::ZERO,
                    category_minimums: vec![],
                    exclusive_categories: false,
                    caps: vec![],
                    activity_limits: vec![],
                    alternatives: vec![],
                    accreditation_minimums: vec![],
                    grace_days: 0,
                    shares_courses: true,
                    accepted_accreditations: vec![],
                    accreditation_required: false,
                    dues: None,
                    sources: vec![],
                    uncertain: vec![RuleField::Unspecified],
                    notes: String::new(),
                },
                Program {
                    local_fields: Vec::new(),
                    reinstatement: None,
                    slug: "state-cpt".into(),
                    body: "State".into(),
                    name: "State CPT".into(),
                    cycle_months: 24,
                    cycle_anchor: CycleAnchor::Fixed(MonthDay { month: 6, day: 30 }),
                    ce_window_months: 12,
                    ce_window_years_before: 1,
                    unit_name: "point".into(),
                    unit_hours: Credits(150),
                    required: Credits(1000),
                    first_cycle_per_month: Credits(50),
                    category_minimums: vec![
                        CategoryMinimum {
                            category: "safety".into(),
                            minimum: Credits(100),
                        },
                        CategoryMinimum {
                            category: "ethics".into(),
                            minimum: Credits(100),
                        },
                    ],
                    exclusive_categories: true,
                    caps: vec![
                        Cap {
                            scope: CapScope::Format(Format::Academic),
                            limit: CapLimit::Percent(50),
                        },
                        Cap {
                            scope: CapScope::Category("ethics".into()),
                            limit: CapLimit::Amount(Credits(250)),
                        },
                    ],
                    activity_limits: vec![
                        ActivityLimit {
                            scope: CapScope::Category("employer-training".into()),
                            once_every_years: 5,
                        },
                        ActivityLimit {
                            scope: CapScope::Format(Format::Online),
                            once_every_years: 2,
                        },
                    ],
                    alternatives: vec![Alternative {
                        required: Credits(500),
                        work_category: "work-hours".into(),
                        work_hours: Credits(104_000),
                    }],
                    accreditation_minimums: vec![AccreditationMinimum {
                        accreditation: "P.A.C.E.".into(),
                        minimum: Credits(300),
                    }],
                    grace_days: 30,
                    shares_courses: false,
                    accepted_accreditations: vec!["P.A.C.E.".into()],
                    accreditation_required: true,
                    dues: Some(Dues {
                        amount_cents: 5000,
                        every_months: 12,
                        month_offset: -1,
                    }),
                    sources: vec!["https://example.org/rules".into()],
                    uncertain: vec![RuleField::Required, RuleField::Dues],
                    notes: "check yearly".into(),
                },
            ],
            credentials: vec![Credential {
                id: 3,
                holder_id: 2,
                program: "state-cpt".into(),
                number: "S-1".into(),
                issued_on: Some(date("2024-12-01")),
                expires_on: date("2026-12-01"),
                history: vec![PastCycle {
                    issued_on: None,
                    expires_on: date("2024-12-01"),
                    renewed_on: date("2024-11-20"),
                    outcome: None,
                }],
                verifications: Vec::new(),
            }],
            courses: vec![Course {
                id: 4,
                holder_id: 2,
                title: "Ethics".into(),
                provider: "County".into(),
                accreditation: "P.A.C.E.".into(),
                completed_on: date("2026-01-10"),
                amount: Credits(125),
                unit: Unit::SemesterHour,
                categories: vec!["ethics".into(), "safety".into()],
                format: Some(Format::Academic),
                credential_ids: vec![3],
                evidence: "cert.pdf".into(),
            }],
            channels: vec![
                Channel {
                    id: 5,
                    holder_id: 2,
                    kind: ChannelKind::Webhook,
                    target: "https://example.org/hook".into(),
                    secret: "s3cret".into(),
                    team_id: 0,
                },
                Channel {
                    id: 6,
                    holder_id: 2,
                    kind: ChannelKind::Email,
                    target: "dana@example.org".into(),
                    secret: String::new(),
                    team_id: 0,
                },
            ],
            alert_settings: vec![
                (
                    SettingsScope::Credential(3),
                    AlertSettings {
                        thresholds: None,
                        muted: true,
                    },
                ),
                (
                    SettingsScope::Holder(2),
                    AlertSettings {
                        thresholds: Some(vec![60, 30, 7]),
                        muted: false,
                    },
                ),
                (
                    SettingsScope::Program("nha-cpt".into()),
                    AlertSettings {
                        thresholds: Some(vec![14]),
                        muted: false,
                    },
                ),
            ],
            alerts: [
                (Mark::Before(30), 30),
                (Mark::ExpiryDay, 0),
                (Mark::GraceWeek(2), -14),
                (Mark::Lapsed, -31),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, (mark, threshold_days))| Alert {
                id: i as u64 + 1,
                holder_id: 2,
                subject: crate::domain::AlertSubject::Credential,
                credential_id: 3,
                program: "state-cpt".into(),
                expires_on: date("2026-12-01"),
                mark,
                threshold_days,
                due_on: date("2026-11-01"),
                title: "State CPT".into(),
                body: "line one\nline two".into(),
                met: i == 1,
                compliance_status: "at_risk".into(),
                created_at: at,
                snoozed_until: (i == 2).then(|| date("2026-12-05")),
                acknowledged: i == 3,
                cancelled: i == 0,
                deliveries: vec![
                    Delivery {
                        channel_id: 5,
                        kind: ChannelKind::Webhook,
                        target: "https://example.org/hook".into(),
                        attempts: 2,
                        last_error: "HTTP 503".into(),
                        state: DeliveryState::Pending,
                        next_attempt_at: Some(at),
                    },
                    Delivery {
                        channel_id: 6,
                        kind: ChannelKind::Email,
                        target: "dana@example.org".into(),
                        attempts: 1,
                        last_error: String::new(),
                        state: DeliveryState::Delivered,
                        next_attempt_at: None,
                    },
                ],
            })
            .collect(),
            last_ticks: vec![
                (
                    "America/Chicago".into(),
                    "2026-11-24T14:00:00Z".parse().unwrap(),
                ),
                (
                    "Pacific/Auckland".into(),
                    "2026-11-23T19:00:00Z".parse().unwrap(),
                ),
            ],
            dirty_credentials: vec![3],
            tokens: vec![
                Token {
                    id: 1,
                    name: "admin (admin.token)".into(),
                    role: Role::Admin,
                    holder_id: None,
                    hash: [0xab; 32],
                    created_at: at,
                    expires_at: None,
                    revoked_at: None,
                },
                Token {
                    id: 4,
                    name: "laptop".into(),
                    role: Role::Holder,
                    holder_id: Some(2),
                    hash: std::array::from_fn(|i| i as u8),
                    created_at: at,
                    expires_at: Some("2027-01-01T00:00:00Z".parse().unwrap()),
                    revoked_at: Some(at),
                },
            ],
            teams: vec![Team {
                id: 2,
                name: "Day \"lab\"".into(),
                members: vec![1, 2],
                leads: vec![2],
            }],
            history: vec![
                HistoryEntry {
                    id: 3,
                    at,
                    token_id: Some(4),
                    actor: "tk4 (laptop)".into(),
                    action: "update".into(),
                    kind: "course".into(),
                    record: "co1".into(),
                    holder_id: Some(2),
                    before: Some("{\"title\":\"A\"}".into()),
                    after: Some("{\"title\":\"B\"}".into()),
                },
                HistoryEntry {
                    id: 9,
                    at,
                    token_id: None,
                    actor: "recertd".into(),
                    action: "import".into(),
                    kind: "dump".into(),
                    record: "1 imported, 0 unchanged".into(),
                    holder_id: None,
                    before: None,
                    after: None,
                },
            ],
        };
        let text: String = lines(dump.clone(), NOW.parse().unwrap(), true)
            .map(|l| l + "\n")
            .collect();
        let parsed = read(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert!(!parsed.channels[0].record.secret_omitted);
        let again = unparsed(parsed, dump.schema);
        assert_eq!(format!("{again:?}"), format!("{dump:?}"));
        assert_eq!(again.channels[0].secret, "s3cret");
        let text_again: String = lines(again, NOW.parse().unwrap(), true)
            .map(|l| l + "\n")
            .collect();
        assert_eq!(text_again, text);
    }

    /// A program line as dumps wrote it before the rules of the completed catalog: it reads
    /// with each newer rule at its default, and its overall flag as "some rule uncertain".
    #[test]
    fn a_program_line_without_the_newer_rules_still_reads() {
        let text = format!(
            "{}\n{}\n{}\n",
            header(),
            r#"{"kind":"program","slug":"state-cpt","body":"State","name":"State CPT","cycle_months":24,"ce_window_months":24,"unit":"hour","unit_hours_hundredths":100,"required_hundredths":600,"category_minimums":[],"caps":[],"grace_days":0,"shares_courses":true,"accepted_accreditations":[],"sources":[],"confidence":"uncertain","notes":""}"#,
            r#"{"kind":"end","records":1}"#
        );
        let program = read(&text).unwrap().programs.remove(0).record;
        assert_eq!(program.uncertain, [RuleField::Unspecified]);
        assert_eq!(program.confidence(), Confidence::Uncertain);
        assert_eq!(program.cycle_anchor, CycleAnchor::Issue);
        assert_eq!(program.ce_window_years_before, 0);
        assert_eq!(program.first_cycle_per_month, Credits::ZERO);
        assert!(!program.exclusive_categories && !program.accreditation_required);
        assert!(program.activity_limits.is_empty() && program.alternatives.is_empty());
        assert!(program.accreditation_minimums.is_empty());
        assert_eq!(program.dues, None);
        // Written again, the line is what it was (the newer rules are left out at defaults).
        let again: String = lines(
            Dump {
                programs: vec![program],
                ..Dump::default()
            },
            NOW.parse().unwrap(),
            true,
        )
        .map(|l| l + "\n")
        .collect();
        assert!(
            again.contains(r#""confidence":"uncertain","notes":""}"#),
            "{again}"
        );
    }

    #[test]
    fn bad_newer_program_rules_are_named() {
        let line = |extra: &str| {
            format!(
                r#"{{"kind":"program","slug":"p","body":"B","name":"P","cycle_months":24,"ce_window_months":24,"unit":"hour","unit_hours_hundredths":100,"required_hundredths":600,{extra}}}"#
            )
        };
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            header(),
            line(r#""uncertain":["grace"]"#),
            line(r#""confidence":"confirmed","uncertain":["grace_days"]"#),
            line(r#""cycle_anchor":"11/30""#),
            r#"{"kind":"end","records":3}"#
        );
        assert_eq!(
            read(&text).unwrap_err(),
            [
                "line 2: program.uncertain: \"grace\" is not a rule field",
                "line 3: program.uncertain names uncertain rules of a program whose confidence is confirmed",
                "line 4: program.cycle_anchor \"11/30\" is not \"birthday\" or a day as MM-DD",
            ]
        );
    }

    #[test]
    fn secrets_can_be_left_out() {
        let channel = Channel {
            id: 1,
            holder_id: 1,
            kind: ChannelKind::Webhook,
            target: "https://example.org/hook".into(),
            secret: "s3cret".into(),
            team_id: 0,
        };
        let dump = Dump {
            channels: vec![channel],
            ..Dump::default()
        };
        let text: String = lines(dump, NOW.parse().unwrap(), false)
            .map(|l| l + "\n")
            .collect();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("\"has_secret\":true"), "{text}");
        let parsed = read(&text).unwrap();
        assert!(parsed.channels[0].record.secret_omitted);
        assert!(parsed.channels[0].record.channel.secret.is_empty());
    }
}
