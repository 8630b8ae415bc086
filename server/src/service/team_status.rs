//! The supervisor's board: where every credential of a team's members stands, worst first,
//! in one answer ([`Service::team_status`]), for the API, the digest and the report alike.

use super::competency::{SkillStanding, standings_of};
use super::standing::Standing;
use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{
    CompetencyStatus, Compliance, Credential, Holder, Program, Role, Status, Team,
};
use crate::store::Store;
use jiff::civil::Date;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Below this many members per task, a board is computed on the calling task alone.
const MEMBERS_PER_TASK: usize = 64;

/// Which rows of a board to keep.
#[derive(Debug, Clone, Default)]
pub struct TeamFilter {
    /// Only these statuses; empty for all.
    pub statuses: Vec<Status>,
    /// Only credentials of this program (a slug).
    pub program: Option<String>,
    /// Only credentials expiring within this many days of the day judged (expired and in
    /// grace ones always pass: their days left are negative).
    pub within_days: Option<i64>,
    /// The date to judge on; `None` for each member's own today.
    pub as_of: Option<Date>,
}

/// One member credential on the board: the member, and a view into their standing (shared
/// with the standing cache, so a board of thousands of rows copies no compliance answers).
#[derive(Debug, Clone)]
pub struct TeamRow {
    /// The member.
    pub holder: Arc<Holder>,
    standing: Arc<Standing>,
    index: usize,
}

impl TeamRow {
    /// The credential.
    pub fn credential(&self) -> &Credential {
        &self.standing[self.index].0
    }

    /// Where it stands.
    pub fn compliance(&self) -> &Compliance {
        &self.standing[self.index].1
    }

    /// The program in force for it.
    pub fn program(&self) -> &Program {
        &self.standing[self.index].2
    }
}

/// The board's order: expired first, then in grace, then at risk, then the rest; within
/// each, fewest days left first, then by member name and credential.
fn urgency(status: Status) -> u8 {
    match status {
        Status::Expired => 0,
        Status::InGrace => 1,
        Status::AtRisk => 2,
        Status::OnTrack => 3,
        Status::Met => 4,
    }
}

impl<S: Store> Service<S> {
    /// Every credential of the members of `team` (an id or an unambiguous name), or, without
    /// one, of every team the caller leads (an admin: of every holder), worst first (see
    /// [`TeamFilter`] for what is kept).
    ///
    /// An admin may ask for any team; a supervisor for the teams their holder leads. A team
    /// the caller may not see is "not found"; one they see but do not lead (a member's) is
    /// refused.
    pub async fn team_status(
        &self,
        caller: &Caller,
        team: Option<&str>,
        filter: &TeamFilter,
    ) -> ServiceResult<Vec<TeamRow>> {
        if let Some(slug) = &filter.program {
            self.program(slug).await?;
        }
        let members = self.team_members(caller, team).await?;
        let members: Vec<u64> = members.into_iter().filter(|id| caller.sees(*id)).collect();
        let mut rows = Vec::new();
        for (holder, standing) in self.standings_of(members, filter.as_of).await? {
            for (index, (credential, compliance, _)) in standing.iter().enumerate() {
                let keep = (filter.statuses.is_empty()
                    || filter.statuses.contains(&compliance.status))
                    && filter
                        .program
                        .as_ref()
                        .is_none_or(|p| p.eq_ignore_ascii_case(&credential.program))
                    && filter.within_days.is_none_or(|w| compliance.days_left <= w);
                if keep {
                    rows.push(TeamRow {
                        holder: holder.clone(),
                        standing: standing.clone(),
                        index,
                    });
                }
            }
        }
        rows.sort_by(|a, b| {
            let (x, y) = (a.compliance(), b.compliance());
            (urgency(x.status), x.days_left)
                .cmp(&(urgency(y.status), y.days_left))
                .then_with(|| a.holder.name.cmp(&b.holder.name))
                .then_with(|| a.credential().id.cmp(&b.credential().id))
        });
        Ok(rows)
    }

    /// The members a board covers: of `team` (admin, or a supervisor who leads it), or,
    /// without one, of every team the caller leads (an admin: every holder).
    async fn team_members(
        &self,
        caller: &Caller,
        team: Option<&str>,
    ) -> ServiceResult<BTreeSet<u64>> {
        Ok(match team {
            Some(team) => {
                let team = self.team(caller, team).await?;
                self.require_lead(caller, &team)?;
                team.members.iter().copied().collect()
            }
            None if caller.is_admin() => self.all_holder_ids().await?,
            None => {
                let own = self.require_supervisor(caller)?;
                self.store
                    .teams()
                    .await?
                    .into_iter()
                    .filter(|t| t.leads.contains(&own))
                    .flat_map(|t| t.members)
                    .collect()
            }
        })
    }

    /// The competencies of the board's members that are overdue or due within 30 days (on
    /// `as_of`, or each member's today): overdue first, then by due date and name.
    pub async fn team_competencies(
        &self,
        caller: &Caller,
        team: Option<&str>,
        as_of: Option<Date>,
    ) -> ServiceResult<Vec<SkillStanding>> {
        let members = self.team_members(caller, team).await?;
        let competencies = self.competencies().await?;
        let mut due = Vec::new();
        for id in members {
            if !caller.sees(id) {
                continue;
            }
            let holder = match self.store.holder(id).await {
                Ok(h) => h,
                Err(crate::store::StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let today = as_of.unwrap_or_else(|| self.today(&holder));
            due.extend(
                standings_of(&holder, today, &competencies)
                    .into_iter()
                    .filter(|s| {
                        matches!(
                            s.status,
                            CompetencyStatus::Overdue | CompetencyStatus::DueSoon
                        )
                    }),
            );
        }
        due.sort_by(|a, b| {
            (
                a.status != CompetencyStatus::Overdue,
                a.next_due,
                &a.holder_name,
                &a.skill,
            )
                .cmp(&(
                    b.status != CompetencyStatus::Overdue,
                    b.next_due,
                    &b.holder_name,
                    &b.skill,
                ))
        });
        Ok(due)
    }

    /// The standing of each of `members` (a member removed meanwhile is left out), from the
    /// cache where it holds. Those not cached are computed in parallel, one task per core
    /// over a share of the members: a cold board of a thousand members is a thousand
    /// standings, and one task would use one core of the runtime.
    async fn standings_of(
        &self,
        members: Vec<u64>,
        as_of: Option<Date>,
    ) -> ServiceResult<Vec<(Arc<Holder>, Arc<Standing>)>> {
        let tasks = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(members.len().div_ceil(MEMBERS_PER_TASK))
            .max(1);
        if tasks == 1 {
            return self.standings_in_turn(members, as_of).await;
        }
        let share = members.len().div_ceil(tasks);
        let mut set = tokio::task::JoinSet::new();
        for (i, part) in members.chunks(share).enumerate() {
            let service = self.clone();
            let part = part.to_vec();
            set.spawn(async move { (i, service.standings_in_turn(part, as_of).await) });
        }
        let mut parts = Vec::with_capacity(tasks);
        while let Some(done) = set.join_next().await {
            let (i, part) = done.map_err(|e| {
                ServiceError::Store(crate::store::StoreError::Storage(format!(
                    "a team status task failed: {e}"
                )))
            })?;
            parts.push((i, part?));
        }
        parts.sort_by_key(|(i, _)| *i);
        Ok(parts.into_iter().flat_map(|(_, part)| part).collect())
    }

    /// [`Service::standings_of`] on this task, one member after another.
    async fn standings_in_turn(
        &self,
        members: Vec<u64>,
        as_of: Option<Date>,
    ) -> ServiceResult<Vec<(Arc<Holder>, Arc<Standing>)>> {
        let mut out = Vec::with_capacity(members.len());
        for id in members {
            let holder = match self.store.holder(id).await {
                Ok(h) => h,
                // Removed since the team was read.
                Err(crate::store::StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let standing = self.standing(&holder, as_of).await?;
            out.push((Arc::new(holder), standing));
        }
        Ok(out)
    }

    /// Refuses unless the caller is an admin or a supervisor whose holder leads `team`.
    fn require_lead(&self, caller: &Caller, team: &Team) -> ServiceResult<()> {
        if caller.is_admin() {
            return Ok(());
        }
        let own = self.require_supervisor(caller)?;
        if team.leads.contains(&own) {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "team status of {} needs an admin token or a supervisor token of one of its leads",
                team.name
            )))
        }
    }

    /// The holder of a supervisor token; anything else but an admin is refused.
    fn require_supervisor(&self, caller: &Caller) -> ServiceResult<u64> {
        match caller {
            Caller::Token(p) if p.role == Role::Supervisor => p.holder_id.ok_or_else(|| {
                ServiceError::PermissionDenied("this supervisor token has no holder".into())
            }),
            _ => Err(ServiceError::PermissionDenied(
                "team status needs an admin token or a supervisor token".into(),
            )),
        }
    }

    /// Every holder's id.
    async fn all_holder_ids(&self) -> ServiceResult<BTreeSet<u64>> {
        let mut ids = BTreeSet::new();
        let mut after = None;
        loop {
            let page = self.store.list_holders(after.as_ref(), 1000).await?;
            ids.extend(page.items.iter().map(|h| h.id));
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(ids),
            }
        }
    }
}
