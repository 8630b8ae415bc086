//! Compliance use cases: where a credential or a holder stands on a date, and the
//! deadlines coming up across holders, paged over the store's expiry index.

use super::standing::Standing;
use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{Compliance, Credential, Holder, IdKind, Program};
use crate::store::{Cursor, Page, Store};
use jiff::ToSpan;
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::Arc;

/// How far back deadlines look for credentials in grace or lapsed (ten years): older lapses
/// are retired credentials, not deadlines.
const MAX_LAPSED_DAYS: i64 = 3650;

/// One credential's compliance, with the program it was judged by.
#[derive(Debug, Clone)]
pub struct CredentialCompliance {
    /// The credential's holder.
    pub holder_id: u64,
    /// The answer.
    pub compliance: Compliance,
    /// The program in force for the credential.
    pub program: Program,
}

/// A credential coming due (or in grace), with where it stands.
#[derive(Debug, Clone)]
pub struct Deadline {
    /// The credential.
    pub credential: Credential,
    /// Its holder's name.
    pub holder_name: String,
    /// Its compliance on the holder's today (or the date asked about).
    pub compliance: Compliance,
    /// The program in force for it.
    pub program: Program,
    /// Set on a dues row: the credential's next dues instead of its expiry.
    pub dues: Option<DuesDue>,
}

/// A credential's next dues (AMT: $50 a year, by the end of the anniversary month).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuesDue {
    /// The last day to pay.
    pub due_on: Date,
    /// Days from the holder's today to it.
    pub days_left: i64,
    /// The amount in cents.
    pub amount_cents: u32,
}

/// Which deadlines to list.
#[derive(Debug, Clone)]
pub struct DeadlineQuery {
    /// Only this holder's; `None` for every holder.
    pub holder: Option<u64>,
    /// Credentials expiring within this many days (or in grace or lapsed now).
    pub within_days: i64,
    /// The date to judge on; `None` for each holder's today.
    pub as_of: Option<Date>,
    /// Continue after this cursor.
    pub after: Option<Cursor>,
    /// At most this many deadlines.
    pub size: usize,
}

/// The rows of `holder_id`'s standing, soonest expiry first.
fn rows_of(holder_id: u64, standing: &Standing) -> Vec<CredentialCompliance> {
    let mut rows: Vec<CredentialCompliance> = standing
        .iter()
        .map(|(_, c, p)| CredentialCompliance {
            holder_id,
            compliance: c.clone(),
            program: p.clone(),
        })
        .collect();
    rows.sort_by_key(|r| (r.compliance.expires_on, r.compliance.credential_id));
    rows
}

impl<S: Store> Service<S> {
    /// Where credential `id` stands on `as_of` (or its holder's today).
    pub async fn compliance(
        &self,
        caller: &Caller,
        id: u64,
        as_of: Option<Date>,
    ) -> ServiceResult<CredentialCompliance> {
        let credential = self.get_credential(caller, id).await?;
        let holder = self.holder(caller, credential.holder_id).await?;
        self.standing(&holder, as_of)
            .await?
            .iter()
            .find(|(_, c, _)| c.credential_id == id)
            .map(|(_, c, p)| CredentialCompliance {
                holder_id: holder.id,
                compliance: c.clone(),
                program: p.clone(),
            })
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "credential {} not found",
                    IdKind::Credential.format(id)
                ))
            })
    }

    /// Where each credential of holder `holder_id` stands on `as_of` (or their today),
    /// soonest expiry first.
    pub async fn holder_compliance(
        &self,
        caller: &Caller,
        holder_id: u64,
        as_of: Option<Date>,
    ) -> ServiceResult<Vec<CredentialCompliance>> {
        // The holder and its change version in one read; the standing is then usually the
        // cached one.
        self.visible(caller, IdKind::Holder, holder_id, holder_id)?;
        let (holder, version) = self.store.holder_with_version(holder_id).await?;
        let today = as_of.unwrap_or_else(|| self.today(&holder));
        let standing = self
            .standings
            .of_holder_at(&self.store, &holder, today, version)
            .await?;
        Ok(rows_of(holder.id, &standing))
    }

    /// [`Service::holder_compliance`] made into an answer by `answer` (which also says its
    /// size in bytes), kept beside the holder's cached standing: while the holder is not
    /// written to, a repeated request reads the holder and its version and returns the
    /// answer made the first time.
    pub async fn holder_compliance_answer<T: std::any::Any + Send + Sync>(
        &self,
        caller: &Caller,
        holder_id: u64,
        as_of: Option<Date>,
        answer: impl FnOnce(&[CredentialCompliance]) -> (T, usize),
    ) -> ServiceResult<Arc<T>> {
        self.visible(caller, IdKind::Holder, holder_id, holder_id)?;
        let (holder, version) = self.store.holder_with_version(holder_id).await?;
        let today = as_of.unwrap_or_else(|| self.today(&holder));
        let made = self
            .standings
            .derived_at(&self.store, &holder, today, version, |standing| {
                answer(&rows_of(holder.id, standing))
            })
            .await?;
        Ok(made)
    }

    /// Credentials expiring within `query.within_days` of each holder's today, in grace or
    /// lapsed (in the last ten years), soonest expiry first (so the lapsed come first); a
    /// page of them.
    ///
    /// The expiry index is scanned by UTC date with a day of slack either side; each
    /// holder's own today decides what is in the window.
    pub async fn deadlines(
        &self,
        caller: &Caller,
        query: DeadlineQuery,
    ) -> ServiceResult<Page<Deadline>> {
        let DeadlineQuery {
            holder: only_holder,
            within_days: within,
            as_of,
            after: mut cursor,
            size,
        } = query;
        if let Some(id) = only_holder {
            self.holder(caller, id).await?;
        }
        let utc_today =
            as_of.unwrap_or_else(|| self.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date());
        let from = utc_today
            .checked_sub(MAX_LAPSED_DAYS.days())
            .unwrap_or(Date::MIN);
        let to = utc_today
            .checked_add((within + 1).days())
            .unwrap_or(Date::MAX);

        let mut deadlines = Vec::new();
        let mut holders: HashMap<u64, Holder> = HashMap::new();
        let mut standings: HashMap<u64, Arc<Standing>> = HashMap::new();
        let next = loop {
            let page = self
                .store
                .expiring(from, to, cursor.as_ref(), size.max(64))
                .await?;
            let mut consumed_all = true;
            let shown = |c: &&Credential| {
                only_holder.is_none_or(|h| h == c.holder_id) && caller.sees(c.holder_id)
            };
            self.read_page_standings(
                page.items.iter().filter(shown).map(|c| c.holder_id),
                as_of,
                &mut holders,
                &mut standings,
            )
            .await?;
            for credential in &page.items {
                cursor = Some(self.store.expiry_cursor(credential));
                if !shown(&credential) {
                    continue;
                }
                let (Some(holder), Some(answers)) = (
                    holders.get(&credential.holder_id),
                    standings.get(&credential.holder_id),
                ) else {
                    return Err(ServiceError::NotFound(format!(
                        "holder {} not found",
                        IdKind::Holder.format(credential.holder_id)
                    )));
                };
                let Some((_, c, program)) = answers
                    .iter()
                    .find(|(_, c, _)| c.credential_id == credential.id)
                else {
                    continue;
                };
                if c.days_left > within {
                    continue;
                }
                deadlines.push(Deadline {
                    credential: credential.clone(),
                    holder_name: holder.name.clone(),
                    compliance: c.clone(),
                    program: program.clone(),
                    dues: None,
                });
                if deadlines.len() == size {
                    consumed_all = false;
                    break;
                }
            }
            if !consumed_all {
                break cursor;
            }
            if page.next.is_none() {
                break None;
            }
        };
        // The last page ends with the dues falling due within the window, soonest first.
        if next.is_none() {
            let mut dues = self
                .dues_deadlines(caller, only_holder, within, as_of)
                .await?;
            dues.sort_by_key(|d| d.dues.map(|x| (x.due_on, d.credential.id)));
            deadlines.extend(dues);
        }
        Ok(Page {
            items: deadlines,
            next,
        })
    }

    /// The dues rows of [`Self::deadlines`]: each credential whose program has dues and
    /// whose next dues fall within `within` days of its holder's today (or `as_of`).
    /// Without `only_holder`, the dues index finds the holders whose dues can fall due in
    /// the window (by UTC date with a day of slack either side, as the expiry scan), so the
    /// cost follows the rows, not the store.
    async fn dues_deadlines(
        &self,
        caller: &Caller,
        only_holder: Option<u64>,
        within: i64,
        as_of: Option<Date>,
    ) -> ServiceResult<Vec<Deadline>> {
        let mut holders = Vec::new();
        match only_holder {
            Some(id) => holders.push(self.holder(caller, id).await?),
            None => {
                let (from, to) = match as_of {
                    Some(day) => (day, day.checked_add(within.days()).unwrap_or(Date::MAX)),
                    None => {
                        let utc_today = self.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
                        (
                            utc_today.yesterday().unwrap_or(utc_today),
                            utc_today
                                .checked_add((within + 1).days())
                                .unwrap_or(Date::MAX),
                        )
                    }
                };
                let local: Vec<Program> = self
                    .store
                    .local_programs()
                    .await?
                    .into_iter()
                    .map(crate::catalog::in_force)
                    .collect();
                let ids = super::standing::dues_holders(&self.store, &local, &[(from, to)]).await?;
                let ids: Vec<u64> = ids.into_iter().filter(|id| caller.sees(*id)).collect();
                for chunk in ids.chunks(512) {
                    holders.extend(self.store.holders_by_id(chunk).await?);
                }
            }
        }
        let mut out = Vec::new();
        for holder in &holders {
            let today = as_of.unwrap_or_else(|| super::standing::today(holder, self.clock.now()));
            let mut standing = None;
            for credential in self.store.credentials_of(holder.id).await? {
                let Some(program) =
                    super::standing::program(&self.store, &credential.program).await?
                else {
                    continue;
                };
                let Some(dues) = program.dues else { continue };
                let Some(due_on) = program.next_dues_on(&credential, today) else {
                    continue;
                };
                let days_left = i64::from((due_on - today).get_days());
                if days_left > within {
                    continue;
                }
                if standing.is_none() {
                    standing = Some(self.standing(holder, as_of).await?);
                }
                let Some((_, compliance, _)) = standing
                    .as_ref()
                    .and_then(|s| s.iter().find(|(_, c, _)| c.credential_id == credential.id))
                else {
                    continue;
                };
                out.push(Deadline {
                    compliance: compliance.clone(),
                    credential,
                    holder_name: holder.name.clone(),
                    program,
                    dues: Some(DuesDue {
                        due_on,
                        days_left,
                        amount_cents: dues.amount_cents,
                    }),
                });
            }
        }
        Ok(out)
    }

    /// Reads the holders in `ids` not yet in `holders`, and their standings (on `as_of` or
    /// each one's today), in two batch reads and one of the stale standings' records, instead
    /// of reads per credential.
    async fn read_page_standings(
        &self,
        ids: impl Iterator<Item = u64>,
        as_of: Option<Date>,
        holders: &mut HashMap<u64, Holder>,
        standings: &mut HashMap<u64, Arc<Standing>>,
    ) -> ServiceResult<()> {
        let mut missing: Vec<u64> = ids.filter(|h| !standings.contains_key(h)).collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let unread: Vec<u64> = missing
            .iter()
            .copied()
            .filter(|h| !holders.contains_key(h))
            .collect();
        for holder in self.store.holders_by_id(&unread).await? {
            holders.insert(holder.id, holder);
        }
        let asked: Vec<(&Holder, Date)> = missing
            .iter()
            .filter_map(|h| holders.get(h))
            .map(|h| (h, as_of.unwrap_or_else(|| self.today(h))))
            .collect();
        let answers = self.standings.of_holders(&self.store, &asked).await?;
        for ((holder, _), answer) in asked.iter().zip(answers) {
            standings.insert(holder.id, answer);
        }
        Ok(())
    }
}
