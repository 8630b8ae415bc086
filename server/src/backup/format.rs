//! The recert-export format, write half: the line types of a dump (docs/EXPORT.md) and
//! [`lines`], which turns a [`Dump`] into them: a header, one object per record with a
//! `"kind"`, and an end line that counts the records, so a truncated file is told from a
//! complete one. Reading them back is [`super::read`]'s part.

use crate::domain::{
    Alert, AlertSettings, AlertSubject, CapLimit, CapScope, Channel, Confidence, Course,
    Credential, DeliveryState, IdKind, Mark, Program, RuleField, team_id, token_id,
};
use crate::store::{Dump, SettingsScope};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The `format` of the header line.
pub const FORMAT: &str = "recert-export";
/// The version of the format this build writes and reads.
pub const VERSION: u32 = 1;

/// The first line of a dump.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Header {
    pub(super) format: String,
    pub(super) version: u32,
    pub(super) schema: u32,
    pub(super) exported_at: String,
    /// Whether webhook secrets are in the dump.
    #[serde(default = "yes")]
    pub(super) secrets: bool,
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NextIdsLine {
    pub(super) holder: u64,
    pub(super) credential: u64,
    pub(super) course: u64,
    pub(super) alert: u64,
    pub(super) channel: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HolderLine {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) email: String,
    pub(super) time_zone: String,
    #[serde(default)]
    pub(super) is_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hired_on: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) competencies: Vec<CompetencyLine>,
}

/// A tracked skill of a holder, with its assessments (inside a holder line).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompetencyLine {
    pub(super) program: String,
    pub(super) skill: String,
    #[serde(default)]
    pub(super) assessments: Vec<AssessmentLine>,
}

/// One assessment of a skill.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AssessmentLine {
    pub(super) assessed_on: String,
    pub(super) assessor: String,
    pub(super) elements: Vec<u32>,
    pub(super) result: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) note: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MinimumLine {
    pub(super) category: String,
    pub(super) minimum_hundredths: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CapLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_percent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_hundredths: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActivityLimitLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) format: Option<String>,
    pub(super) once_every_years: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlternativeLine {
    pub(super) required_hundredths: i64,
    pub(super) work_category: String,
    pub(super) work_hours_hundredths: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccreditationMinimumLine {
    pub(super) accreditation: String,
    pub(super) minimum_hundredths: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DuesLine {
    pub(super) amount_cents: u32,
    pub(super) every_months: u32,
    #[serde(default)]
    pub(super) month_offset: i32,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A lab's stored competency program (`recert competency program add`): the fields of a
/// `[[competency]]` table of catalog/competencies.toml. Written before the holders, whose
/// skills name it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompetencyProgramLine {
    pub(super) slug: String,
    pub(super) name: String,
    pub(super) elements: Vec<String>,
    #[serde(default)]
    pub(super) initial_months: Vec<u32>,
    pub(super) every_months: u32,
    pub(super) remediate_days: u32,
    #[serde(default)]
    pub(super) sources: Vec<String>,
    #[serde(default)]
    pub(super) notes: String,
}

/// A program. The fields after `notes` came with the completed catalog: optional, so dumps
/// written before them still read, and left out at their defaults, so a program without such
/// rules is written as before.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgramLine {
    pub(super) slug: String,
    pub(super) body: String,
    pub(super) name: String,
    pub(super) cycle_months: u32,
    pub(super) ce_window_months: u32,
    pub(super) unit: String,
    pub(super) unit_hours_hundredths: i64,
    pub(super) required_hundredths: i64,
    #[serde(default)]
    pub(super) category_minimums: Vec<MinimumLine>,
    #[serde(default)]
    pub(super) caps: Vec<CapLine>,
    #[serde(default)]
    pub(super) grace_days: u32,
    #[serde(default = "yes")]
    pub(super) shares_courses: bool,
    #[serde(default)]
    pub(super) accepted_accreditations: Vec<String>,
    #[serde(default)]
    pub(super) sources: Vec<String>,
    #[serde(default)]
    pub(super) confidence: Option<String>,
    #[serde(default)]
    pub(super) notes: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) uncertain: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cycle_anchor: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub(super) ce_window_years_before: u32,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub(super) first_cycle_per_month_hundredths: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(super) exclusive_categories: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) activity_limits: Vec<ActivityLimitLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) alternatives: Vec<AlternativeLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) accreditation_minimums: Vec<AccreditationMinimumLine>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(super) accreditation_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) dues: Option<DuesLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) local_fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) reinstatement: Option<ReinstatementLine>,
}

/// A program's reinstatement rule.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReinstatementLine {
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub(super) within_months: u32,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub(super) ce_hours_hundredths: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) note: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sources: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PastCycleLine {
    #[serde(default)]
    pub(super) issued_on: Option<String>,
    pub(super) expires_on: String,
    pub(super) renewed_on: String,
    /// Absent for cycles closed before outcomes were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) outcome: Option<CycleOutcomeLine>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CycleOutcomeLine {
    pub(super) window_start: String,
    pub(super) ends_on: String,
    pub(super) unit_name: String,
    pub(super) required_hundredths: i64,
    pub(super) earned_hundredths: i64,
    #[serde(default)]
    pub(super) categories: Vec<CategoryProgressLine>,
    pub(super) status: String,
    #[serde(default)]
    pub(super) counted: Vec<CountedCourseLine>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CategoryProgressLine {
    pub(super) category: String,
    pub(super) required_hundredths: i64,
    pub(super) earned_hundredths: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CountedCourseLine {
    pub(super) course_id: String,
    pub(super) amount_hundredths: i64,
    #[serde(default)]
    pub(super) capped: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CredentialLine {
    pub(super) id: String,
    pub(super) holder_id: String,
    pub(super) program: String,
    #[serde(default)]
    pub(super) number: String,
    #[serde(default)]
    pub(super) issued_on: Option<String>,
    pub(super) expires_on: String,
    #[serde(default)]
    pub(super) history: Vec<PastCycleLine>,
    /// Absent in dumps made before verifications were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) verifications: Vec<VerificationLine>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerificationLine {
    pub(super) on: String,
    pub(super) result: String,
    #[serde(default)]
    pub(super) source: String,
    pub(super) by: String,
    pub(super) cycle_expires_on: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CourseLine {
    pub(super) id: String,
    pub(super) holder_id: String,
    pub(super) title: String,
    #[serde(default)]
    pub(super) provider: String,
    #[serde(default)]
    pub(super) accreditation: String,
    pub(super) completed_on: String,
    pub(super) credits_hundredths: i64,
    pub(super) unit: String,
    #[serde(default)]
    pub(super) categories: Vec<String>,
    #[serde(default)]
    pub(super) format: Option<String>,
    #[serde(default)]
    pub(super) credential_ids: Vec<String>,
    #[serde(default)]
    pub(super) evidence: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelLine {
    pub(super) id: String,
    /// Empty on a team's channel.
    #[serde(default)]
    pub(super) holder_id: String,
    /// A team's channel: the team (`tm1`); absent on a holder's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) team_id: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) target: String,
    #[serde(default)]
    pub(super) has_secret: bool,
    /// Absent when the dump leaves secrets out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) secret: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) program: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) holder_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) credential_id: Option<String>,
    #[serde(default)]
    pub(super) thresholds: Option<Vec<u32>>,
    #[serde(default)]
    pub(super) muted: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryLine {
    /// `null` for the holder's own e-mail address (`domain::HOLDER_EMAIL`).
    #[serde(default)]
    pub(super) channel_id: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) target: String,
    pub(super) attempts: u32,
    #[serde(default)]
    pub(super) last_error: String,
    pub(super) state: String,
    #[serde(default)]
    pub(super) next_attempt_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertLine {
    pub(super) id: String,
    pub(super) holder_id: String,
    pub(super) credential_id: String,
    pub(super) program: String,
    pub(super) expires_on: String,
    pub(super) mark: String,
    pub(super) threshold_days: i64,
    pub(super) due_on: String,
    pub(super) title: String,
    pub(super) body: String,
    #[serde(default)]
    pub(super) met: bool,
    #[serde(default)]
    pub(super) compliance_status: String,
    pub(super) created_at: String,
    #[serde(default)]
    pub(super) snoozed_until: Option<String>,
    #[serde(default)]
    pub(super) acknowledged: bool,
    #[serde(default)]
    pub(super) cancelled: bool,
    #[serde(default)]
    pub(super) deliveries: Vec<DeliveryLine>,
    /// `credential`, `competency`, `dues` or `digest`; absent (dumps made before subjects)
    /// means `credential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) subject: Option<String>,
    /// A competency alert's skill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) skill: Option<String>,
    /// A dues alert's amount in cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) amount_cents: Option<u32>,
    /// A digest's team (`tm2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) team_id: Option<String>,
    /// Derived from the subject, credential_id, expires_on and threshold_days; ignored on
    /// import.
    #[serde(default)]
    pub(super) key: String,
    /// Derived from the rest and the export's date; ignored on import.
    #[serde(default)]
    pub(super) status: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LastTickLine {
    pub(super) zone: String,
    pub(super) at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DirtyLine {
    pub(super) credential_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndLine {
    pub(super) records: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenLine {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: String,
    pub(super) role: String,
    #[serde(default)]
    pub(super) holder_id: Option<String>,
    /// SHA-256 of the secret, in lowercase hex (the secret itself is never stored).
    pub(super) hash: String,
    pub(super) created_at: String,
    #[serde(default)]
    pub(super) expires_at: Option<String>,
    #[serde(default)]
    pub(super) revoked_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamLine {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) member_ids: Vec<String>,
    #[serde(default)]
    pub(super) lead_ids: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryLine {
    pub(super) id: String,
    pub(super) at: String,
    #[serde(default)]
    pub(super) token_id: Option<String>,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) record_kind: String,
    pub(super) record: String,
    #[serde(default)]
    pub(super) holder_id: Option<String>,
    #[serde(default)]
    pub(super) before: Option<String>,
    #[serde(default)]
    pub(super) after: Option<String>,
}

/// A token hash as a dump writes it: 64 lowercase hex digits.
pub(super) fn hash_text(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A record line: its kind first, then its fields.
#[derive(Serialize)]
struct Tagged<T> {
    kind: &'static str,
    #[serde(flatten)]
    record: T,
}

fn to_line<T: Serialize>(value: &T) -> String {
    // Plain structs of strings, numbers and lists always serialise.
    serde_json::to_string(value).expect("dump lines serialise")
}

fn tagged<T: Serialize>(kind: &'static str, record: T) -> String {
    to_line(&Tagged { kind, record })
}

fn date_text(d: Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn delivery_state(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
    }
}

fn mark_name(m: Mark) -> &'static str {
    match m {
        Mark::Before(_) => "before",
        Mark::ExpiryDay => "expiry_day",
        Mark::GraceWeek(_) => "grace_week",
        Mark::Lapsed => "lapsed",
    }
}

fn program_line(p: Program) -> ProgramLine {
    let confidence = p.confidence();
    ProgramLine {
        slug: p.slug,
        body: p.body,
        name: p.name,
        cycle_months: p.cycle_months,
        ce_window_months: p.ce_window_months,
        unit: p.unit_name,
        unit_hours_hundredths: p.unit_hours.hundredths(),
        required_hundredths: p.required.hundredths(),
        category_minimums: p
            .category_minimums
            .into_iter()
            .map(|m| MinimumLine {
                category: m.category,
                minimum_hundredths: m.minimum.hundredths(),
            })
            .collect(),
        caps: p
            .caps
            .into_iter()
            .map(|c| {
                let (category, format) = match c.scope {
                    CapScope::Category(c) => (Some(c), None),
                    CapScope::Format(f) => (None, Some(f.name().to_string())),
                };
                let (max_percent, max_hundredths) = match c.limit {
                    CapLimit::Percent(p) => (Some(p), None),
                    CapLimit::Amount(a) => (None, Some(a.hundredths())),
                };
                CapLine {
                    category,
                    format,
                    max_percent,
                    max_hundredths,
                }
            })
            .collect(),
        grace_days: p.grace_days,
        shares_courses: p.shares_courses,
        accepted_accreditations: p.accepted_accreditations,
        sources: p.sources,
        confidence: Some(
            match confidence {
                Confidence::Confirmed => "confirmed",
                Confidence::Uncertain => "uncertain",
            }
            .to_string(),
        ),
        notes: p.notes,
        // "Uncertain, not saying which" alone is `confidence` with no list, as dumps written
        // before the list existed say it.
        uncertain: if p.uncertain == [RuleField::Unspecified] {
            Vec::new()
        } else {
            p.uncertain.iter().map(|f| f.name().to_string()).collect()
        },
        cycle_anchor: Some(p.cycle_anchor.text()).filter(|t| !t.is_empty()),
        ce_window_years_before: p.ce_window_years_before,
        first_cycle_per_month_hundredths: p.first_cycle_per_month.hundredths(),
        exclusive_categories: p.exclusive_categories,
        activity_limits: p
            .activity_limits
            .into_iter()
            .map(|l| {
                let (category, format) = match l.scope {
                    CapScope::Category(c) => (Some(c), None),
                    CapScope::Format(f) => (None, Some(f.name().to_string())),
                };
                ActivityLimitLine {
                    category,
                    format,
                    once_every_years: l.once_every_years,
                }
            })
            .collect(),
        alternatives: p
            .alternatives
            .into_iter()
            .map(|a| AlternativeLine {
                required_hundredths: a.required.hundredths(),
                work_category: a.work_category,
                work_hours_hundredths: a.work_hours.hundredths(),
            })
            .collect(),
        accreditation_minimums: p
            .accreditation_minimums
            .into_iter()
            .map(|m| AccreditationMinimumLine {
                accreditation: m.accreditation,
                minimum_hundredths: m.minimum.hundredths(),
            })
            .collect(),
        accreditation_required: p.accreditation_required,
        dues: p.dues.map(|d| DuesLine {
            amount_cents: d.amount_cents,
            every_months: d.every_months,
            month_offset: d.month_offset,
        }),
        local_fields: p
            .local_fields
            .iter()
            .map(|f| f.name().to_string())
            .collect(),
        reinstatement: p.reinstatement.map(|r| ReinstatementLine {
            within_months: r.within_months,
            ce_hours_hundredths: r.ce_hours.hundredths(),
            note: r.note,
            sources: r.sources,
        }),
    }
}

fn credential_line(c: Credential) -> CredentialLine {
    CredentialLine {
        id: IdKind::Credential.format(c.id),
        holder_id: IdKind::Holder.format(c.holder_id),
        program: c.program,
        number: c.number,
        issued_on: date_text(c.issued_on),
        expires_on: c.expires_on.to_string(),
        history: c
            .history
            .into_iter()
            .map(|h| PastCycleLine {
                issued_on: date_text(h.issued_on),
                expires_on: h.expires_on.to_string(),
                renewed_on: h.renewed_on.to_string(),
                outcome: h.outcome.map(|o| CycleOutcomeLine {
                    window_start: o.window_start.to_string(),
                    ends_on: o.ends_on.to_string(),
                    unit_name: o.unit_name,
                    required_hundredths: o.required.0,
                    earned_hundredths: o.earned.0,
                    categories: o
                        .categories
                        .into_iter()
                        .map(|c| CategoryProgressLine {
                            category: c.category,
                            required_hundredths: c.required.0,
                            earned_hundredths: c.earned.0,
                        })
                        .collect(),
                    status: o.status.name().into(),
                    counted: o
                        .counted
                        .into_iter()
                        .map(|c| CountedCourseLine {
                            course_id: IdKind::Course.format(c.course_id),
                            amount_hundredths: c.amount.0,
                            capped: c.capped,
                        })
                        .collect(),
                }),
            })
            .collect(),
        verifications: c
            .verifications
            .into_iter()
            .map(|v| VerificationLine {
                on: v.checked_on.to_string(),
                result: v.result.name().into(),
                source: v.source,
                by: v.checked_by,
                cycle_expires_on: v.cycle_expires_on.to_string(),
            })
            .collect(),
    }
}

fn course_line(c: Course) -> CourseLine {
    CourseLine {
        id: IdKind::Course.format(c.id),
        holder_id: IdKind::Holder.format(c.holder_id),
        title: c.title,
        provider: c.provider,
        accreditation: c.accreditation,
        completed_on: c.completed_on.to_string(),
        credits_hundredths: c.amount.hundredths(),
        unit: c.unit.name().to_string(),
        categories: c.categories,
        format: c.format.map(|f| f.name().to_string()),
        credential_ids: c
            .credential_ids
            .into_iter()
            .map(|id| IdKind::Credential.format(id))
            .collect(),
        evidence: c.evidence,
    }
}

fn channel_line(c: Channel, secrets: bool) -> ChannelLine {
    ChannelLine {
        id: IdKind::Channel.format(c.id),
        holder_id: if c.team_id == 0 {
            IdKind::Holder.format(c.holder_id)
        } else {
            String::new()
        },
        team_id: (c.team_id != 0).then(|| crate::domain::team_id(c.team_id)),
        kind: c.kind.name().to_string(),
        target: c.target,
        has_secret: !c.secret.is_empty(),
        secret: secrets.then_some(c.secret),
    }
}

fn settings_line(scope: SettingsScope, s: AlertSettings) -> SettingsLine {
    let mut line = SettingsLine {
        program: None,
        holder_id: None,
        credential_id: None,
        thresholds: s.thresholds,
        muted: s.muted,
    };
    match scope {
        SettingsScope::Program(slug) => line.program = Some(slug),
        SettingsScope::Holder(id) => line.holder_id = Some(IdKind::Holder.format(id)),
        SettingsScope::Credential(id) => line.credential_id = Some(IdKind::Credential.format(id)),
    }
    line
}

fn alert_line(a: Alert, today: Date) -> AlertLine {
    let (skill, amount_cents, team_id) = match &a.subject {
        AlertSubject::Credential => (None, None, None),
        AlertSubject::Competency { skill } => (Some(skill.clone()), None, None),
        AlertSubject::Dues { amount_cents } => (None, Some(*amount_cents), None),
        AlertSubject::Digest { team_id } => (None, None, Some(crate::domain::team_id(*team_id))),
    };
    AlertLine {
        key: a.key(),
        status: a.status(today).name().to_string(),
        subject: Some(a.subject.kind().to_string()),
        skill,
        amount_cents,
        team_id,
        id: IdKind::Alert.format(a.id),
        holder_id: IdKind::Holder.format(a.holder_id),
        credential_id: if a.credential_id == 0 {
            String::new()
        } else {
            IdKind::Credential.format(a.credential_id)
        },
        program: a.program,
        expires_on: a.expires_on.to_string(),
        mark: mark_name(a.mark).to_string(),
        threshold_days: a.threshold_days,
        due_on: a.due_on.to_string(),
        title: a.title,
        body: a.body,
        met: a.met,
        compliance_status: a.compliance_status,
        created_at: a.created_at.to_string(),
        snoozed_until: date_text(a.snoozed_until),
        acknowledged: a.acknowledged,
        cancelled: a.cancelled,
        deliveries: a
            .deliveries
            .into_iter()
            .map(|d| DeliveryLine {
                channel_id: (d.channel_id != crate::domain::HOLDER_EMAIL)
                    .then(|| IdKind::Channel.format(d.channel_id)),
                kind: d.kind.name().to_string(),
                target: d.target,
                attempts: d.attempts,
                last_error: d.last_error,
                state: delivery_state(d.state).to_string(),
                next_attempt_at: d.next_attempt_at.map(|t| t.to_string()),
            })
            .collect(),
    }
}

/// The lines of `dump` (without newlines), made one at a time as they are consumed: the
/// header, the records kind by kind, and the end line. `secrets` keeps webhook secrets in
/// the dump; alert statuses are as of `exported_at` on each holder's clock.
pub fn lines(
    dump: Dump,
    exported_at: Timestamp,
    secrets: bool,
) -> impl Iterator<Item = String> + Send + 'static {
    let zones: HashMap<u64, TimeZone> = dump.holders.iter().map(|h| (h.id, h.zone())).collect();
    let records = 1
        + dump.holders.len()
        + dump.programs.len()
        + dump.competency_programs.len()
        + dump.credentials.len()
        + dump.courses.len()
        + dump.channels.len()
        + dump.alert_settings.len()
        + dump.alerts.len()
        + dump.last_ticks.len()
        + dump.dirty_credentials.len()
        + dump.tokens.len()
        + dump.teams.len()
        + dump.history.len();
    let header = to_line(&Header {
        format: FORMAT.to_string(),
        version: VERSION,
        schema: dump.schema,
        exported_at: exported_at.to_string(),
        secrets,
    });
    let n = dump.next_ids;
    let next_ids = tagged(
        "next_ids",
        NextIdsLine {
            holder: n.holder,
            credential: n.credential,
            course: n.course,
            alert: n.alert,
            channel: n.channel,
        },
    );
    let default = dump.default_holder;
    std::iter::once(header)
        .chain(std::iter::once(next_ids))
        .chain(dump.competency_programs.into_iter().map(|p| {
            tagged(
                "competency_program",
                CompetencyProgramLine {
                    slug: p.slug,
                    name: p.name,
                    elements: p.elements,
                    initial_months: p.initial_months,
                    every_months: p.every_months,
                    remediate_days: p.remediate_days,
                    sources: p.sources,
                    notes: p.notes,
                },
            )
        }))
        .chain(dump.holders.into_iter().map(move |h| {
            tagged(
                "holder",
                HolderLine {
                    id: IdKind::Holder.format(h.id),
                    is_default: default == Some(h.id),
                    name: h.name,
                    email: h.email,
                    time_zone: h.time_zone,
                    hired_on: h.hired_on.map(|d| d.to_string()),
                    competencies: h
                        .competencies
                        .into_iter()
                        .map(|c| CompetencyLine {
                            program: c.program,
                            skill: c.skill,
                            assessments: c
                                .assessments
                                .into_iter()
                                .map(|a| AssessmentLine {
                                    assessed_on: a.assessed_on.to_string(),
                                    assessor: a.assessor,
                                    elements: a.elements,
                                    result: a.result.as_str().to_string(),
                                    note: a.note,
                                })
                                .collect(),
                        })
                        .collect(),
                },
            )
        }))
        .chain(
            dump.programs
                .into_iter()
                .map(|p| tagged("program", program_line(p))),
        )
        .chain(
            dump.credentials
                .into_iter()
                .map(|c| tagged("credential", credential_line(c))),
        )
        .chain(
            dump.courses
                .into_iter()
                .map(|c| tagged("course", course_line(c))),
        )
        .chain(
            dump.channels
                .into_iter()
                .map(move |c| tagged("channel", channel_line(c, secrets))),
        )
        .chain(
            dump.alert_settings
                .into_iter()
                .map(|(scope, s)| tagged("alert_settings", settings_line(scope, s))),
        )
        .chain(dump.alerts.into_iter().map(move |a| {
            let tz = zones.get(&a.holder_id).cloned().unwrap_or(TimeZone::UTC);
            let today = exported_at.to_zoned(tz).date();
            tagged("alert", alert_line(a, today))
        }))
        .chain(dump.last_ticks.into_iter().map(|(zone, at)| {
            tagged(
                "last_tick",
                LastTickLine {
                    zone,
                    at: at.to_string(),
                },
            )
        }))
        .chain(dump.dirty_credentials.into_iter().map(|id| {
            tagged(
                "dirty_credential",
                DirtyLine {
                    credential_id: IdKind::Credential.format(id),
                },
            )
        }))
        .chain(dump.tokens.into_iter().map(|t| {
            tagged(
                "token",
                TokenLine {
                    id: token_id(t.id),
                    name: t.name,
                    role: t.role.as_str().to_string(),
                    holder_id: t.holder_id.map(|h| IdKind::Holder.format(h)),
                    hash: hash_text(&t.hash),
                    created_at: t.created_at.to_string(),
                    expires_at: t.expires_at.map(|at| at.to_string()),
                    revoked_at: t.revoked_at.map(|at| at.to_string()),
                },
            )
        }))
        .chain(dump.teams.into_iter().map(|t| {
            let ids = |hs: Vec<u64>| hs.into_iter().map(|h| IdKind::Holder.format(h)).collect();
            tagged(
                "team",
                TeamLine {
                    id: team_id(t.id),
                    name: t.name,
                    member_ids: ids(t.members),
                    lead_ids: ids(t.leads),
                },
            )
        }))
        .chain(dump.history.into_iter().map(|e| {
            tagged(
                "history",
                HistoryLine {
                    id: format!("hi{}", e.id),
                    at: e.at.to_string(),
                    token_id: e.token_id.map(token_id),
                    actor: e.actor,
                    action: e.action,
                    record_kind: e.kind,
                    record: e.record,
                    holder_id: e.holder_id.map(|h| IdKind::Holder.format(h)),
                    before: e.before,
                    after: e.after,
                },
            )
        }))
        .chain(std::iter::once(tagged(
            "end",
            EndLine {
                records: records as u64,
            },
        )))
}
