//! The leads' digest (`recertd --digest-schedule`, default Monday 08:00 in each lead's zone):
//! to each lead of each team, one alert per period listing who is expired, in grace or at
//! risk and which competencies are due, a line each, by name. Deduplicated on the Digest key
//! (`tmN/hN/digest/PERIOD`, the period being the local date of the digest fire), delivered
//! like any alert through the lead's channels (else their own address). Nothing to report:
//! no digest.
//!
//! The digest goes with the lead's zone's alert tick: a tick covering `(last tick, fire]`
//! sends the digest of the latest digest fire in that window, so a missed week catches up
//! once. A digest fire between two ticks goes out at its own time: the engine also wakes at
//! each zone's next digest fire (`AlertEngine::next_wake`), and then sends that zone's
//! digests alone, without a tick.

use super::{AlertEngine, AlertError};
use crate::catalog;
use crate::domain::{
    self, Alert, AlertSubject, CompetencyProgram, CompetencyStatus, Holder, Mark, Program, Status,
    Team,
};
use crate::service::standing;
use crate::store::Store;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The default digest schedule: Mondays at 08:00 on each lead's wall clock.
pub const DEFAULT_DIGEST_SCHEDULE: &str = "0 0 8 * * Mon";

impl<S: Store> AlertEngine<S> {
    /// The digests due to the leads living in `zone` for the tick covering `(last, fire]`:
    /// enqueued, and returned.
    pub(super) async fn zone_digests(
        &self,
        zone: &str,
        tz: &TimeZone,
        last: Timestamp,
        fire: Timestamp,
    ) -> Result<Vec<Alert>, AlertError> {
        let Some(digest_fire) = self.inner.digest_schedule.latest_in(tz, last, fire) else {
            return Ok(Vec::new());
        };
        let period = digest_fire.to_zoned(tz.clone()).date();
        let today = fire.to_zoned(tz.clone()).date();
        let store = self.store();
        let mut due = Vec::new();
        for team in store.teams().await? {
            let mut leads = Vec::new();
            for &lead in &team.leads {
                match store.holder(lead).await {
                    Ok(h) if h.time_zone == zone => leads.push(h),
                    Ok(_) | Err(crate::store::StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if leads.is_empty() {
                continue;
            }
            let lines = self.digest_lines(&team, today).await?;
            if lines.is_empty() {
                continue;
            }
            for lead in &leads {
                let alert = digest_alert(&team, lead, period, today, fire, &lines);
                self.keep_if_new(alert, lead, fire, &mut None, &mut due)
                    .await?;
            }
        }
        let mut enqueued = Vec::new();
        for stored in store.enqueue_alerts(due).await? {
            tracing::info!(alert = %domain::IdKind::Alert.format(stored.id), key = %stored.key(), "digest enqueued");
            let _ = self.inner.events.send(stored.clone());
            enqueued.push(stored);
        }
        Ok(enqueued)
    }

    /// The digest's lines for `team` on `today`: expired, then in grace, then at risk, then
    /// due competencies, each naming the member.
    async fn digest_lines(&self, team: &Team, today: Date) -> Result<Vec<String>, AlertError> {
        let store = self.store();
        let local: Vec<Program> = store
            .local_programs()
            .await?
            .into_iter()
            .map(catalog::in_force)
            .collect();
        let competencies = catalog::Competencies::new(store.competency_programs().await?);
        let mut ids = team.members.clone();
        ids.sort_unstable();
        ids.dedup();
        let mut holders: Vec<Holder> = store.holders_by_id(&ids).await?;
        holders.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let ids: Vec<u64> = holders.iter().map(|h| h.id).collect();
        let records = store.records_of(&ids).await?;
        // (rank, line): 0 expired, 1 in grace, 2 at risk, 3 competency due.
        let mut lines: Vec<(u8, String)> = Vec::new();
        for (holder, records) in holders.iter().zip(records) {
            match standing::from_records(records, &local, today) {
                Ok(standing) => {
                    for (_, compliance, program) in &standing {
                        let (rank, what) = match compliance.status {
                            Status::Expired => (0, format!("expired on {}", compliance.expires_on)),
                            Status::InGrace => {
                                (1, format!("in grace, expired on {}", compliance.expires_on))
                            }
                            Status::AtRisk => (
                                2,
                                format!(
                                    "at risk, expires on {}, {} still needed",
                                    compliance.expires_on, compliance.remaining
                                ),
                            ),
                            _ => continue,
                        };
                        lines.push((rank, format!("{}: {} {what}", holder.name, program.name)));
                    }
                }
                Err(e) => {
                    tracing::warn!(holder = %domain::IdKind::Holder.format(holder.id), error = %e, "left out of the digest: its standing cannot be computed");
                }
            }
            for skill in &holder.competencies {
                let Some(program) = competencies.find(&skill.program) else {
                    continue;
                };
                let due = program.next_due(holder.hired_on, skill);
                let status = CompetencyProgram::status(due, today);
                if let (Some(due), CompetencyStatus::DueSoon | CompetencyStatus::Overdue) =
                    (due, status)
                {
                    lines.push((
                        3,
                        format!(
                            "{}: competency {} ({}) due on {due}",
                            holder.name, skill.skill, program.name
                        ),
                    ));
                }
            }
        }
        lines.sort_by_key(|(rank, _)| *rank);
        Ok(lines.into_iter().map(|(_, l)| l).collect())
    }
}

/// The digest alert of `team` to `lead` for the period starting `period`.
fn digest_alert(
    team: &Team,
    lead: &Holder,
    period: Date,
    today: Date,
    now: Timestamp,
    lines: &[String],
) -> Alert {
    let title = format!(
        "{}: team {} digest for the week of {period}: {} to look at",
        lead.name,
        team.name,
        lines.len()
    );
    let mut body = vec![title.clone()];
    body.extend(lines.iter().cloned());
    body.push(format!("Details: recert team status {:?}", team.name));
    Alert {
        id: 0,
        holder_id: lead.id,
        subject: AlertSubject::Digest { team_id: team.id },
        credential_id: 0,
        program: String::new(),
        expires_on: period,
        mark: Mark::ExpiryDay,
        threshold_days: 0,
        due_on: today,
        title,
        body: body.join("\n"),
        met: false,
        compliance_status: "digest".to_string(),
        created_at: now,
        snoozed_until: None,
        acknowledged: false,
        cancelled: false,
        deliveries: Vec::new(),
    }
}
