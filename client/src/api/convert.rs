//! Conversions between generated proto types and the client's records, in one place.
//!
//! Replies convert infallibly: an empty optional string becomes `None`, an enum value this
//! client does not know becomes `Unknown`/`Unspecified`. Requests are built from values the
//! CLI already validated (dates, amounts), so they need no checks here.

use jiff::civil::Date;
use recert_proto::v1 as pb;

use crate::credits::Credits;
use crate::model::Verification;
use crate::model::{
    AccreditationMinimumRule, ActivityLimitRule, AlternativeRule, ClosedCycle, CountedCourse,
    DuesRule, NotCounted, ReinstatementRule,
};
use crate::model::{
    Alert, AlertChannel, AlertStatus, CapLimit, CapRule, CategoryMinimum, CategoryProgress,
    Compliance, ComplianceStatus, Confidence, Course, CourseChanges, Credential, CredentialChanges,
    CredentialMute, Deadline, Delivery, Holder, HolderChanges, ImportReport, NewChannel, NewCourse,
    NewCredential, NewHolder, PastCycle, Program, ProgramDraft, TeamStatusRow, TestAlertReport,
};

/// `None` for the empty string proto3 uses for "not set".
fn optional(text: String) -> Option<String> {
    if text.is_empty() { None } else { Some(text) }
}

/// A date as the wire wants it, or the empty string the server reads as "default".
pub(super) fn date_or_empty(date: Option<Date>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

impl From<pb::Holder> for Holder {
    fn from(h: pb::Holder) -> Self {
        Self {
            id: h.id,
            name: h.name,
            email: optional(h.email),
            time_zone: h.time_zone,
            is_default: h.is_default,
            hired_on: h.hired_on.parse().ok(),
        }
    }
}

impl From<NewHolder> for pb::Holder {
    fn from(h: NewHolder) -> Self {
        Self {
            name: h.name,
            email: h.email.unwrap_or_default(),
            time_zone: h.time_zone.unwrap_or_default(),
            hired_on: date_or_empty(h.hired_on),
            ..Self::default()
        }
    }
}

/// The UpdateHolder request for `changes`.
pub(super) fn update_holder(id: &str, changes: HolderChanges) -> pb::UpdateHolderRequest {
    pb::UpdateHolderRequest {
        id: id.to_owned(),
        name: changes.name,
        email: changes.email,
        time_zone: changes.time_zone,
        make_default: changes.make_default,
        hired_on: changes.hired_on.map(|d| d.to_string()),
    }
}

impl From<pb::CompetencyStatus> for crate::model::CompetencyRow {
    fn from(r: pb::CompetencyStatus) -> Self {
        Self {
            holder_id: r.holder_id,
            holder_name: r.holder_name,
            program: r.program,
            skill: r.skill,
            last_assessed_on: r.last_assessed_on.parse().ok(),
            last_result: optional(r.last_result),
            next_due: r.next_due.parse().ok(),
            status: r.status,
            assessments: r.assessments,
        }
    }
}

impl From<pb::CompetencyProgram> for crate::model::CompetencyProgram {
    fn from(p: pb::CompetencyProgram) -> Self {
        Self {
            slug: p.slug,
            name: p.name,
            elements: p.elements,
            initial_months: p.initial_months,
            every_months: p.every_months,
            remediate_days: p.remediate_days,
            sources: p.sources,
            notes: p.notes,
            origin: if p.builtin { "builtin" } else { "local" }.to_owned(),
            overrides_builtin: p.overrides_builtin,
        }
    }
}

impl From<crate::model::CompetencyProgram> for pb::CompetencyProgram {
    fn from(p: crate::model::CompetencyProgram) -> Self {
        Self {
            slug: p.slug,
            name: p.name,
            elements: p.elements,
            initial_months: p.initial_months,
            every_months: p.every_months,
            remediate_days: p.remediate_days,
            sources: p.sources,
            notes: p.notes,
            builtin: false,
            overrides_builtin: false,
        }
    }
}

impl From<pb::Confidence> for Confidence {
    fn from(c: pb::Confidence) -> Self {
        match c {
            pb::Confidence::Confirmed => Self::Confirmed,
            pb::Confidence::Uncertain => Self::Uncertain,
            pb::Confidence::Unspecified => Self::Unspecified,
        }
    }
}

impl From<pb::CategoryMinimum> for CategoryMinimum {
    fn from(m: pb::CategoryMinimum) -> Self {
        Self {
            category: m.category,
            minimum: Credits::from_hundredths(m.minimum_hundredths),
        }
    }
}

impl From<CategoryMinimum> for pb::CategoryMinimum {
    fn from(m: CategoryMinimum) -> Self {
        Self {
            category: m.category,
            minimum_hundredths: m.minimum.hundredths(),
        }
    }
}

impl From<pb::Cap> for CapRule {
    /// A cap with a percentage is a percentage cap; otherwise its amount applies.
    fn from(c: pb::Cap) -> Self {
        let limit = if c.max_percent > 0 {
            CapLimit::Percent(c.max_percent)
        } else {
            CapLimit::Amount(Credits::from_hundredths(c.max_hundredths))
        };
        Self {
            category: optional(c.category),
            format: optional(c.format),
            limit,
        }
    }
}

impl From<CapRule> for pb::Cap {
    fn from(c: CapRule) -> Self {
        let (max_percent, max_hundredths) = match c.limit {
            CapLimit::Percent(p) => (p, 0),
            CapLimit::Amount(a) => (0, a.hundredths()),
        };
        Self {
            category: c.category.unwrap_or_default(),
            format: c.format.unwrap_or_default(),
            max_percent,
            max_hundredths,
        }
    }
}

impl From<pb::Program> for Program {
    fn from(p: pb::Program) -> Self {
        let confidence = p.confidence().into();
        Self {
            slug: p.slug,
            body: p.body,
            name: p.name,
            cycle_months: p.cycle_months,
            ce_window_months: p.ce_window_months,
            unit: p.unit,
            unit_hours: Credits::from_hundredths(p.unit_hours_hundredths),
            required: Credits::from_hundredths(p.required_hundredths),
            category_minimums: p.category_minimums.into_iter().map(Into::into).collect(),
            caps: p.caps.into_iter().map(Into::into).collect(),
            grace_days: p.grace_days,
            shares_courses: p.shares_courses,
            accepted_accreditations: p.accepted_accreditations,
            sources: p.sources,
            confidence,
            notes: optional(p.notes),
            builtin: p.builtin,
            overrides_builtin: p.overrides_builtin,
            uncertain: p.uncertain,
            local_fields: p.local_fields,
            cycle_anchor: optional(p.cycle_anchor),
            ce_window_years_before: p.ce_window_years_before,
            first_cycle_per_month: Credits::from_hundredths(p.first_cycle_per_month_hundredths),
            exclusive_categories: p.exclusive_categories,
            activity_limits: p
                .activity_limits
                .into_iter()
                .map(|l| ActivityLimitRule {
                    category: optional(l.category),
                    format: optional(l.format),
                    once_every_years: l.once_every_years,
                })
                .collect(),
            alternatives: p
                .alternatives
                .into_iter()
                .map(|a| AlternativeRule {
                    required: Credits::from_hundredths(a.required_hundredths),
                    work_category: a.work_category,
                    work_hours: Credits::from_hundredths(a.work_hours_hundredths),
                })
                .collect(),
            accreditation_minimums: p
                .accreditation_minimums
                .into_iter()
                .map(|m| AccreditationMinimumRule {
                    accreditation: m.accreditation,
                    minimum: Credits::from_hundredths(m.minimum_hundredths),
                })
                .collect(),
            accreditation_required: p.accreditation_required,
            dues: p.dues.map(|d| DuesRule {
                amount_cents: d.amount_cents,
                every_months: d.every_months,
                month_offset: d.month_offset,
            }),
            reinstatement: p.reinstatement.map(|r| ReinstatementRule {
                within_months: r.within_months,
                ce_hours: Credits::from_hundredths(r.ce_hours_hundredths),
                note: optional(r.note),
                sources: r.sources,
            }),
        }
    }
}

impl From<ProgramDraft> for pb::Program {
    /// A user-defined program is marked confirmed: its author is the authority on it.
    fn from(d: ProgramDraft) -> Self {
        Self {
            slug: d.slug,
            body: d.body,
            name: d.name,
            cycle_months: d.cycle_months,
            ce_window_months: d.ce_window_months,
            unit: d.unit,
            unit_hours_hundredths: d.unit_hours.hundredths(),
            required_hundredths: d.required.hundredths(),
            category_minimums: d.category_minimums.into_iter().map(Into::into).collect(),
            caps: d.caps.into_iter().map(Into::into).collect(),
            grace_days: d.grace_days,
            shares_courses: d.shares_courses,
            accepted_accreditations: d.accepted_accreditations,
            sources: d.sources,
            confidence: pb::Confidence::Confirmed.into(),
            notes: d.notes.unwrap_or_default(),
            builtin: false,
            overrides_builtin: false,
            // The rules the command line does not set yet (cycle anchor, limits, dues ...).
            ..Default::default()
        }
    }
}

impl From<pb::PastCycle> for PastCycle {
    fn from(c: pb::PastCycle) -> Self {
        Self {
            issued_on: optional(c.issued_on),
            expires_on: c.expires_on,
            renewed_on: optional(c.renewed_on),
        }
    }
}

impl From<pb::CountedCourse> for CountedCourse {
    fn from(c: pb::CountedCourse) -> Self {
        Self {
            course_id: c.course_id,
            amount: Credits::from_hundredths(c.amount_hundredths),
            capped: c.capped,
        }
    }
}

impl From<pb::PastCycle> for ClosedCycle {
    fn from(c: pb::PastCycle) -> Self {
        let o = c.outcome;
        let counted: Vec<CountedCourse> = o
            .as_ref()
            .map(|o| o.counted.iter().cloned().map(Into::into).collect())
            .unwrap_or_default();
        Self {
            issued_on: optional(c.issued_on),
            expires_on: c.expires_on,
            renewed_on: optional(c.renewed_on),
            window_start: o.as_ref().map(|o| o.window_start.clone()),
            ends_on: o.as_ref().map(|o| o.ends_on.clone()),
            unit: o.as_ref().map(|o| o.unit.clone()),
            required: o
                .as_ref()
                .map(|o| Credits::from_hundredths(o.required_hundredths)),
            earned: o
                .as_ref()
                .map(|o| Credits::from_hundredths(o.earned_hundredths)),
            categories: o
                .as_ref()
                .map(|o| o.categories.iter().cloned().map(Into::into).collect())
                .unwrap_or_default(),
            status: o.as_ref().map(|o| status(o.status)),
            counted_course_ids: counted.iter().map(|c| c.course_id.clone()).collect(),
            counted,
        }
    }
}

impl From<pb::Credential> for Credential {
    fn from(c: pb::Credential) -> Self {
        Self {
            id: c.id,
            holder_id: c.holder_id,
            program: c.program,
            number: optional(c.number),
            issued_on: optional(c.issued_on),
            expires_on: c.expires_on,
            past_cycles: c.history.iter().cloned().map(Into::into).collect(),
            history: c.history.into_iter().map(Into::into).collect(),
            last_verification: c.last_verification.map(Into::into),
            verified: c.verified,
            unverified: !c.verified,
        }
    }
}

impl From<pb::Verification> for Verification {
    fn from(v: pb::Verification) -> Self {
        Self {
            result: v.result,
            source: optional(v.source),
            by: v.checked_by,
            on: v.checked_on,
            cycle_expires_on: v.cycle_expires_on,
        }
    }
}

impl From<NewCredential> for pb::Credential {
    fn from(c: NewCredential) -> Self {
        Self {
            holder_id: c.holder_id,
            program: c.program,
            number: c.number.unwrap_or_default(),
            issued_on: date_or_empty(c.issued_on),
            expires_on: c.expires_on.to_string(),
            ..Self::default()
        }
    }
}

/// The UpdateCredential request for `changes`.
pub(super) fn update_credential(
    id: &str,
    changes: CredentialChanges,
) -> pb::UpdateCredentialRequest {
    pb::UpdateCredentialRequest {
        id: id.to_owned(),
        number: changes.number,
        issued_on: changes.issued_on.map(|d| d.to_string()),
        expires_on: changes.expires_on.map(|d| d.to_string()),
    }
}

impl From<pb::Course> for Course {
    fn from(c: pb::Course) -> Self {
        Self {
            id: c.id,
            holder_id: c.holder_id,
            title: c.title,
            provider: optional(c.provider),
            accreditation: optional(c.accreditation),
            completed_on: c.completed_on,
            credits: Credits::from_hundredths(c.credits_hundredths),
            unit: c.unit,
            hours: Credits::from_hundredths(c.hours_hundredths),
            categories: c.categories,
            format: optional(c.format),
            credential_ids: c.credential_ids,
            evidence: optional(c.evidence),
        }
    }
}

impl From<NewCourse> for pb::Course {
    fn from(c: NewCourse) -> Self {
        Self {
            holder_id: c.holder_id,
            title: c.title,
            provider: c.provider.unwrap_or_default(),
            accreditation: c.accreditation.unwrap_or_default(),
            completed_on: c.completed_on.map(|d| d.to_string()).unwrap_or_default(),
            credits_hundredths: c.credits.hundredths(),
            unit: c.unit.as_str().to_owned(),
            categories: c.categories,
            format: c.format.map(|f| f.as_str().to_owned()).unwrap_or_default(),
            credential_ids: c.credential_ids,
            evidence: c.evidence.unwrap_or_default(),
            ..Self::default()
        }
    }
}

/// The UpdateCourse request for `changes`; a given list replaces the stored one.
pub(super) fn update_course(id: &str, changes: CourseChanges) -> pb::UpdateCourseRequest {
    pb::UpdateCourseRequest {
        id: id.to_owned(),
        title: changes.title,
        provider: changes.provider,
        accreditation: changes.accreditation,
        completed_on: changes.completed_on.map(|d| d.to_string()),
        credits_hundredths: changes.credits.map(Credits::hundredths),
        unit: changes.unit.map(|u| u.as_str().to_owned()),
        set_categories: changes.categories.is_some(),
        categories: changes.categories.unwrap_or_default(),
        format: changes.format.map(|f| f.as_str().to_owned()),
        set_credential_ids: changes.credential_ids.is_some(),
        credential_ids: changes.credential_ids.unwrap_or_default(),
        evidence: changes.evidence,
    }
}

impl From<pb::ComplianceStatus> for ComplianceStatus {
    fn from(s: pb::ComplianceStatus) -> Self {
        match s {
            pb::ComplianceStatus::Met => Self::Met,
            pb::ComplianceStatus::OnTrack => Self::OnTrack,
            pb::ComplianceStatus::AtRisk => Self::AtRisk,
            pb::ComplianceStatus::InGrace => Self::InGrace,
            pb::ComplianceStatus::Expired => Self::Expired,
            pb::ComplianceStatus::Unspecified => Self::Unknown,
        }
    }
}

/// The status for a raw enum value; values newer than this client are `Unknown`.
fn status(value: i32) -> ComplianceStatus {
    pb::ComplianceStatus::try_from(value).map_or(ComplianceStatus::Unknown, Into::into)
}

impl From<pb::CategoryProgress> for CategoryProgress {
    fn from(p: pb::CategoryProgress) -> Self {
        Self {
            category: p.category,
            required: Credits::from_hundredths(p.required_hundredths),
            earned: Credits::from_hundredths(p.earned_hundredths),
        }
    }
}

impl From<pb::Compliance> for Compliance {
    fn from(c: pb::Compliance) -> Self {
        Self {
            credential_id: c.credential_id,
            holder_id: c.holder_id,
            program: c.program,
            program_name: c.program_name,
            expires_on: c.expires_on,
            window_start: c.window_start,
            unit: c.unit,
            required: Credits::from_hundredths(c.required_hundredths),
            earned: Credits::from_hundredths(c.earned_hundredths),
            remaining: Credits::from_hundredths(c.remaining_hundredths),
            days_left: c.days_left,
            status: status(c.status),
            categories: c.categories.into_iter().map(Into::into).collect(),
            caution: optional(c.caution),
            as_of: c.as_of,
            // The wire sends each id once: the CE courses in `counted`, then the work hours.
            counted_course_ids: c
                .counted
                .iter()
                .map(|x| x.course_id.clone())
                .chain(c.counted_work_ids)
                .collect(),
            counted: c.counted.into_iter().map(Into::into).collect(),
            not_counted: c
                .not_counted
                .into_iter()
                .map(|n| NotCounted {
                    course_id: n.course_id,
                    reason: n.reason,
                    detail: n.detail,
                })
                .collect(),
            status_reason: optional(c.status_reason),
        }
    }
}

impl From<pb::Deadline> for Deadline {
    fn from(d: pb::Deadline) -> Self {
        let dues = d.kind == "dues";
        Self {
            credential_id: d.credential_id,
            holder_id: d.holder_id,
            holder_name: d.holder_name,
            program: d.program,
            expires_on: d.expires_on,
            days_left: d.days_left,
            status: status(d.status),
            unit: d.unit,
            remaining: Credits::from_hundredths(d.remaining_hundredths),
            kind: if d.kind.is_empty() {
                "expiry".into()
            } else {
                d.kind
            },
            dues_amount_cents: dues.then_some(d.dues_amount_cents),
            dues_every_months: d.dues_every_months,
        }
    }
}

impl From<pb::TeamStatusRow> for TeamStatusRow {
    fn from(r: pb::TeamStatusRow) -> Self {
        Self {
            holder_id: r.holder_id,
            holder_name: r.holder_name,
            credential_id: r.credential_id,
            program: r.program,
            unit: r.unit,
            expires_on: r.expires_on,
            days_left: r.days_left,
            required: Credits::from_hundredths(r.required_hundredths),
            earned: Credits::from_hundredths(r.earned_hundredths),
            remaining: Credits::from_hundredths(r.remaining_hundredths),
            categories: r.categories.into_iter().map(Into::into).collect(),
            status: status(r.status),
            status_reason: (!r.status_reason.is_empty()).then_some(r.status_reason),
            as_of: r.as_of,
            last_verified_on: optional(r.last_verified_on),
            unverified: r.unverified,
        }
    }
}

/// The wire value of a status a filter names.
pub fn status_to_pb(s: ComplianceStatus) -> pb::ComplianceStatus {
    match s {
        ComplianceStatus::Met => pb::ComplianceStatus::Met,
        ComplianceStatus::OnTrack => pb::ComplianceStatus::OnTrack,
        ComplianceStatus::AtRisk => pb::ComplianceStatus::AtRisk,
        ComplianceStatus::InGrace => pb::ComplianceStatus::InGrace,
        ComplianceStatus::Expired => pb::ComplianceStatus::Expired,
        ComplianceStatus::Unknown => pb::ComplianceStatus::Unspecified,
    }
}

impl From<pb::AlertStatus> for AlertStatus {
    fn from(s: pb::AlertStatus) -> Self {
        match s {
            pb::AlertStatus::Pending => Self::Pending,
            pb::AlertStatus::Delivered => Self::Delivered,
            pb::AlertStatus::Acknowledged => Self::Acknowledged,
            pb::AlertStatus::Undeliverable => Self::Undeliverable,
            pb::AlertStatus::Failed => Self::Failed,
            pb::AlertStatus::Snoozed => Self::Snoozed,
            pb::AlertStatus::Cancelled => Self::Cancelled,
            pb::AlertStatus::Unspecified => Self::Unknown,
        }
    }
}

/// The alert status for a raw enum value; values newer than this client are `Unknown`.
fn alert_status(value: i32) -> AlertStatus {
    pb::AlertStatus::try_from(value).map_or(AlertStatus::Unknown, Into::into)
}

impl From<pb::Delivery> for Delivery {
    fn from(d: pb::Delivery) -> Self {
        Self {
            channel_id: optional(d.channel_id),
            kind: d.kind,
            target: d.target,
            attempts: d.attempts,
            last_error: optional(d.last_error),
            status: d.status,
            next_attempt_at: optional(d.next_attempt_at),
        }
    }
}

impl From<pb::Alert> for Alert {
    fn from(a: pb::Alert) -> Self {
        Self {
            id: a.id,
            seq: a.seq,
            holder_id: a.holder_id,
            credential_id: optional(a.credential_id),
            program: a.program,
            threshold_days: a.threshold_days,
            mark: a.mark,
            due_on: a.due_on,
            expires_on: a.expires_on,
            title: a.title,
            body: a.body,
            status: alert_status(a.status),
            deliveries: a.deliveries.into_iter().map(Into::into).collect(),
            idempotency_key: a.idempotency_key,
            snoozed_until: optional(a.snoozed_until),
            acknowledged: a.acknowledged,
            created_at: a.created_at,
            subject: if a.subject.is_empty() {
                "credential".into()
            } else {
                a.subject
            },
            skill: optional(a.skill),
            amount_cents: (a.amount_cents != 0).then_some(a.amount_cents),
            team_id: optional(a.team_id),
        }
    }
}

impl From<pb::MuteCredentialResponse> for CredentialMute {
    fn from(m: pb::MuteCredentialResponse) -> Self {
        Self {
            credential_id: m.credential_id,
            muted: m.muted,
        }
    }
}

impl From<pb::SendTestAlertResponse> for TestAlertReport {
    fn from(r: pb::SendTestAlertResponse) -> Self {
        Self {
            deliveries: r.deliveries.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<pb::ImportDataResponse> for ImportReport {
    fn from(r: pb::ImportDataResponse) -> Self {
        Self {
            imported: r.imported,
            unchanged: r.unchanged,
            replaced: r.replaced,
            channels_without_secret: r.channels_without_secret,
        }
    }
}

impl From<pb::Channel> for AlertChannel {
    /// The wire's write-only `secret` is dropped here, so no record can carry it out.
    fn from(c: pb::Channel) -> Self {
        Self {
            id: c.id,
            holder_id: c.holder_id,
            kind: c.kind,
            target: c.target,
            has_secret: c.has_secret,
            warning: optional(c.warning),
            team_id: optional(c.team_id),
        }
    }
}

impl From<NewChannel> for pb::Channel {
    fn from(c: NewChannel) -> Self {
        Self {
            holder_id: c.holder_id,
            kind: c.kind.as_str().to_owned(),
            target: c.target,
            secret: c
                .secret
                .map(crate::model::Secret::reveal)
                .unwrap_or_default(),
            team_id: c.team.unwrap_or_default(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_turn_empty_strings_into_none() {
        let course: Course = pb::Course {
            id: "co4".into(),
            holder_id: "h1".into(),
            title: "Needle safety".into(),
            completed_on: "2025-01-10".into(),
            credits_hundredths: 250,
            unit: "hours".into(),
            hours_hundredths: 250,
            ..pb::Course::default()
        }
        .into();
        assert_eq!(course.provider, None);
        assert_eq!(course.format, None);
        assert_eq!(course.evidence, None);
        assert_eq!(course.credits.to_string(), "2.5");
    }

    #[test]
    fn unknown_status_values_do_not_fail() {
        assert_eq!(status(3), ComplianceStatus::AtRisk);
        assert_eq!(status(0), ComplianceStatus::Unknown);
        assert_eq!(status(42), ComplianceStatus::Unknown);
    }

    #[test]
    fn course_changes_set_list_flags_only_when_given() {
        let request = update_course(
            "co1",
            CourseChanges {
                categories: Some(vec![]),
                ..CourseChanges::default()
            },
        );
        assert!(request.set_categories);
        assert!(request.categories.is_empty());
        assert!(!request.set_credential_ids);
        assert_eq!(request.title, None);
    }

    #[test]
    fn alerts_convert_empty_strings_and_unknown_statuses() {
        let alert: Alert = pb::Alert {
            id: "al1".into(),
            seq: 7,
            status: 99,
            deliveries: vec![pb::Delivery {
                channel_id: "ch1".into(),
                kind: "webhook".into(),
                status: "delivered".into(),
                attempts: 1,
                ..pb::Delivery::default()
            }],
            ..pb::Alert::default()
        }
        .into();
        assert_eq!(alert.status, AlertStatus::Unknown);
        assert_eq!(alert.snoozed_until, None);
        assert_eq!(alert.deliveries[0].last_error, None);
        assert_eq!(alert.deliveries[0].next_attempt_at, None);
        assert_eq!(alert_status(4), AlertStatus::Snoozed);
    }

    #[test]
    fn channel_secrets_go_out_but_never_come_back() {
        let wire = pb::Channel::from(NewChannel {
            holder_id: "h1".into(),
            kind: crate::model::ChannelKind::Webhook,
            target: "https://example.org/hook".into(),
            secret: Some(String::from("s3cret").into()),
            team: None,
        });
        assert_eq!(
            (wire.kind.as_str(), wire.secret.as_str()),
            ("webhook", "s3cret")
        );

        let channel = AlertChannel::from(pb::Channel {
            secret: "leaked".into(),
            has_secret: true,
            ..wire
        });
        let json = serde_json::to_string(&channel).unwrap();
        assert!(
            !json.contains("leaked") && !json.contains("s3cret"),
            "{json}"
        );
        assert!(channel.has_secret);
    }

    #[test]
    fn caps_round_trip_through_the_wire_shape() {
        let percent = CapRule {
            category: Some("management".into()),
            format: None,
            limit: CapLimit::Percent(25),
        };
        let wire = pb::Cap::from(percent.clone());
        assert_eq!((wire.max_percent, wire.max_hundredths), (25, 0));
        assert_eq!(wire.format, "");
        assert_eq!(CapRule::from(wire), percent);

        let amount = CapRule {
            category: None,
            format: Some("online".into()),
            limit: CapLimit::Amount(Credits::from_hundredths(600)),
        };
        let wire = pb::Cap::from(amount.clone());
        assert_eq!((wire.max_percent, wire.max_hundredths), (0, 600));
        assert_eq!(CapRule::from(wire), amount);
    }
}
