//! Roster import: holders, their teams and their credentials from one spreadsheet
//! (`recert roster import`), every cell checked first, then written in one transaction
//! through [`Snapshots::restore`](crate::store::Snapshots::restore): all or nothing.
//!
//! Holders are matched by e-mail (case ignored) among the holders the caller may see; a
//! matched holder is left as it is (its name, zone and hire date are not changed), and gets
//! the row's team and credential when it lacks them. A credential of a program the holder
//! already holds is left as it is. An admin's rows may name teams that do not exist yet
//! (they are made); a supervisor's rows must each name a team the supervisor leads.

use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{
    Credential, FieldError, Holder, IdKind, Role, Team, parse_date, parse_team_id, team_id,
};
use crate::store::{Lookups, RestorePlan, Store, StoreView};
use jiff::civil::Date;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One row as the file gives it: every cell as text, checked here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterRow {
    /// The row's line in the file.
    pub line: u32,
    /// The holder's name.
    pub name: String,
    /// The holder's e-mail (how rows are matched to holders).
    pub email: String,
    /// IANA zone; empty for UTC.
    pub time_zone: String,
    /// Hire date or empty.
    pub hired_on: String,
    /// Team name or id, or empty.
    pub team: String,
    /// Program slug, or empty for no credential.
    pub program: String,
    /// Certificate number.
    pub number: String,
    /// Issue date or empty.
    pub issued_on: String,
    /// Expiry date (required with a program).
    pub expires_on: String,
}

/// One thing an import did, or would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterAction {
    /// `holder`, `credential`, `team` or `membership`.
    pub kind: &'static str,
    /// `created`, `existing` (left as it is) or `added`.
    pub outcome: &'static str,
    /// The record's id; for a new record in a dry run, the id it would get now.
    pub id: String,
    /// What it is.
    pub description: String,
    /// The first line it comes from.
    pub line: u32,
}

/// A holder of the roster: an existing one, or one to make.
#[derive(Debug, Clone)]
struct PlannedHolder {
    existing: Option<Holder>,
    new: Holder,
    line: u32,
}

/// A team of the roster: an existing one (as read), or one to make.
#[derive(Debug, Clone)]
struct PlannedTeam {
    existing: Option<Team>,
    name: String,
    line: u32,
}

/// Everything the rows ask for, checked, before ids are given.
#[derive(Debug, Default)]
struct Intent {
    holders: Vec<PlannedHolder>,
    teams: Vec<PlannedTeam>,
    /// (holder index, team index, line)
    memberships: Vec<(usize, usize, u32)>,
    /// (holder index, credential without ids, line, existing credential id)
    credentials: Vec<(usize, Credential, u32, Option<u64>)>,
}

impl Intent {
    /// What [`place`] looks up in the store: the existing holders the rows name (and their
    /// credentials), the existing teams, and the names of the teams to make.
    fn lookups(&self) -> Lookups {
        let mut w = Lookups::default();
        for e in self.holders.iter().filter_map(|h| h.existing.as_ref()) {
            w.holders.insert(e.id);
            w.credentials_of.insert(e.id);
        }
        for t in &self.teams {
            match &t.existing {
                Some(e) => {
                    w.teams.insert(e.id);
                }
                None => {
                    w.team_names.insert(t.name.clone());
                }
            }
        }
        w
    }
}

/// A cell's error: `rows[INDEX].COLUMN`, which the client turns into line and column.
fn cell(index: usize, column: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(format!("rows[{index}].{column}"), message)
}

impl<S: Store> Service<S> {
    /// Imports a roster (see the module): checks every row and answers every bad cell at
    /// once, or writes everything in one transaction; with `dry_run`, answers what it would
    /// do and writes nothing.
    pub async fn import_roster(
        &self,
        caller: &Caller,
        rows: Vec<RosterRow>,
        dry_run: bool,
    ) -> ServiceResult<Vec<RosterAction>> {
        let lead = match caller {
            Caller::Token(p) if p.role == Role::Holder => {
                return Err(ServiceError::PermissionDenied(
                    "importing a roster needs a supervisor or admin token".into(),
                ));
            }
            Caller::Token(p) if p.role == Role::Supervisor => Some(p.holder_id.unwrap_or(0)),
            _ => None,
        };
        if rows.is_empty() {
            return Err(ServiceError::invalid("rows", "the roster has no rows"));
        }
        let teams = self.store.teams().await?;
        // The visible holders the rows name, by e-mail (a page of holders at a time: what
        // stays is the roster's, not the store's).
        let named: HashSet<String> = rows
            .iter()
            .map(|r| r.email.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        let mut visible: HashMap<String, Holder> = HashMap::new();
        let mut after = None;
        loop {
            let page = self.list_holders(caller, after.as_ref(), 1000).await?;
            for e in page.items {
                let key = e.holder.email.to_lowercase();
                if named.contains(&key) {
                    visible.entry(key).or_insert(e.holder);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut programs: BTreeMap<String, bool> = BTreeMap::new();
        for r in &rows {
            let slug = r.program.trim().to_lowercase();
            if !slug.is_empty() && !programs.contains_key(&slug) {
                let known = crate::service::standing::program(&self.store, &slug)
                    .await?
                    .is_some();
                programs.insert(slug, known);
            }
        }
        let mut held: HashMap<u64, Vec<Credential>> = HashMap::new();
        for h in visible.values() {
            held.insert(h.id, self.store.credentials_of(h.id).await?);
        }
        let today = self.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        let intent = intent(&rows, &teams, &visible, &programs, &held, lead, today)?;
        if dry_run {
            return Ok(actions(&intent, None));
        }
        let mut wanted = intent.lookups();
        // Placing a new team tries the ids from 1 up: the stored teams' are at hand.
        wanted.teams.extend(teams.iter().map(|t| t.id));
        let done = self
            .store_as(caller)
            .restore(wanted, move |view| {
                let (plan, given) = place(view, &intent)?;
                Ok::<_, ServiceError>((plan, actions(&intent, Some(&given))))
            })
            .await?;
        self.wake_alerts();
        tracing::info!(by = %caller.who(), rows = rows.len(), "roster imported");
        Ok(done)
    }
}

/// Checks every row against the others and the store as read; every bad cell is reported.
fn intent(
    rows: &[RosterRow],
    teams: &[Team],
    visible: &HashMap<String, Holder>,
    programs: &BTreeMap<String, bool>,
    held: &HashMap<u64, Vec<Credential>>,
    lead: Option<u64>,
    today: Date,
) -> ServiceResult<Intent> {
    let mut errors = Vec::new();
    let mut out = Intent::default();
    let mut by_email: HashMap<String, usize> = HashMap::new();
    let mut by_team: HashMap<String, usize> = HashMap::new();
    let mut memberships = BTreeSet::new();
    let mut pairs: HashMap<(usize, String), u32> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let before = errors.len();
        let name = r.name.trim();
        let email = r.email.trim();
        let zone = match r.time_zone.trim() {
            "" => "UTC",
            z => z,
        };
        let hired_on = match r.hired_on.trim() {
            "" => None,
            d => match parse_date("hired_on", d) {
                Ok(d) if d > today => {
                    errors.push(cell(
                        i,
                        "hired_on",
                        format!("hired_on ({d}) is in the future"),
                    ));
                    None
                }
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(cell(i, "hired_on", e.message));
                    None
                }
            },
        };
        if email.is_empty() {
            errors.push(cell(
                i,
                "email",
                "email is required: holders are matched by it",
            ));
        }
        let candidate = Holder {
            id: 0,
            name: name.to_string(),
            email: email.to_string(),
            time_zone: zone.to_string(),
            hired_on,
            competencies: Vec::new(),
        };
        if let Err(es) = candidate.validate() {
            for e in es {
                let column = e.field.trim_start_matches("holder.").to_string();
                errors.push(cell(i, &column, e.message.replace("holder.", "")));
            }
        }
        // The holder: the first row of an e-mail decides; later rows must agree.
        let key = email.to_lowercase();
        let holder = if errors.len() > before && !by_email.contains_key(&key) {
            None
        } else if let Some(&h) = by_email.get(&key) {
            let first = &out.holders[h];
            let same = |a: &str, b: &str, column: &str, errors: &mut Vec<FieldError>| {
                if a != b {
                    errors.push(cell(
                        i,
                        column,
                        format!(
                            "{column} {a:?} differs from line {} ({b:?}) for the same e-mail",
                            first.line
                        ),
                    ));
                }
            };
            same(name, &first.new.name, "name", &mut errors);
            same(zone, &first.new.time_zone, "time_zone", &mut errors);
            if hired_on != first.new.hired_on {
                same(
                    r.hired_on.trim(),
                    &first
                        .new
                        .hired_on
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    "hired_on",
                    &mut errors,
                );
            }
            Some(h)
        } else {
            by_email.insert(key.clone(), out.holders.len());
            out.holders.push(PlannedHolder {
                existing: visible.get(&key).cloned(),
                new: candidate,
                line: r.line,
            });
            Some(out.holders.len() - 1)
        };

        // The team.
        let wanted = r.team.trim();
        let team = if wanted.is_empty() {
            if lead.is_some() {
                errors.push(cell(
                    i,
                    "team",
                    "team is required: a supervisor imports into a team they lead",
                ));
            }
            None
        } else {
            let found = teams
                .iter()
                .find(|t| Some(t.id) == parse_team_id(wanted) || t.name == wanted)
                .or_else(|| {
                    let mut m = teams.iter().filter(|t| t.name.eq_ignore_ascii_case(wanted));
                    match (m.next(), m.next()) {
                        (Some(t), None) => Some(t),
                        _ => None,
                    }
                });
            match (found, lead) {
                (Some(t), Some(l)) if !t.leads.contains(&l) => {
                    errors.push(cell(
                        i,
                        "team",
                        format!("team {wanted:?} is not a team you lead"),
                    ));
                    None
                }
                (None, Some(_)) => {
                    errors.push(cell(
                        i,
                        "team",
                        format!("team {wanted:?} is not a team you lead"),
                    ));
                    None
                }
                (Some(t), _) => {
                    let k = team_id(t.id);
                    Some(*by_team.entry(k).or_insert_with(|| {
                        out.teams.push(PlannedTeam {
                            existing: Some(t.clone()),
                            name: t.name.clone(),
                            line: r.line,
                        });
                        out.teams.len() - 1
                    }))
                }
                (None, None) => {
                    let new = Team {
                        id: 0,
                        name: wanted.to_string(),
                        members: Vec::new(),
                        leads: Vec::new(),
                    };
                    if parse_team_id(wanted).is_some() {
                        errors.push(cell(
                            i,
                            "team",
                            format!("team {wanted:?} is not a team (see: recert team list)"),
                        ));
                        None
                    } else if let Err(es) = new.validate() {
                        for e in es {
                            errors.push(cell(i, "team", e.message));
                        }
                        None
                    } else {
                        let k = wanted.to_lowercase();
                        Some(*by_team.entry(k).or_insert_with(|| {
                            out.teams.push(PlannedTeam {
                                existing: None,
                                name: wanted.to_string(),
                                line: r.line,
                            });
                            out.teams.len() - 1
                        }))
                    }
                }
            }
        };
        if let (Some(h), Some(t)) = (holder, team) {
            let member = out.holders[h]
                .existing
                .as_ref()
                .zip(out.teams[t].existing.as_ref())
                .is_some_and(|(h, t)| t.members.contains(&h.id));
            if !member && memberships.insert((h, t)) {
                out.memberships.push((h, t, r.line));
            }
        }

        // The credential.
        let slug = r.program.trim().to_lowercase();
        if slug.is_empty() {
            for (column, value) in [
                ("number", &r.number),
                ("issued_on", &r.issued_on),
                ("expires_on", &r.expires_on),
            ] {
                if !value.trim().is_empty() {
                    errors.push(cell(
                        i,
                        column,
                        format!("{column} is given but program is empty"),
                    ));
                }
            }
            continue;
        }
        if !programs.get(&slug).copied().unwrap_or(false) {
            errors.push(cell(
                i,
                "program",
                format!("program {slug:?} not found (see: recert program list)"),
            ));
        }
        let expires_on = match parse_date("expires_on", r.expires_on.trim()) {
            Ok(d) => Some(d),
            Err(_) if r.expires_on.trim().is_empty() => {
                errors.push(cell(
                    i,
                    "expires_on",
                    "expires_on is required with a program",
                ));
                None
            }
            Err(e) => {
                errors.push(cell(i, "expires_on", e.message));
                None
            }
        };
        let issued_on = match r.issued_on.trim() {
            "" => None,
            d => match parse_date("issued_on", d) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(cell(i, "issued_on", e.message));
                    None
                }
            },
        };
        let (Some(h), Some(expires_on)) = (holder, expires_on) else {
            continue;
        };
        let credential = Credential {
            id: 0,
            holder_id: 0,
            program: slug.clone(),
            number: r.number.trim().to_string(),
            issued_on,
            expires_on,
            history: Vec::new(),
            verifications: Vec::new(),
        };
        if let Err(es) = credential.validate() {
            for e in es {
                let column = e.field.trim_start_matches("credential.").to_string();
                errors.push(cell(i, &column, e.message.replace("credential.", "")));
            }
            continue;
        }
        if let Some(first) = pairs.get(&(h, slug.clone())) {
            errors.push(cell(
                i,
                "program",
                format!("program {slug:?} is already on line {first} for the same e-mail"),
            ));
            continue;
        }
        pairs.insert((h, slug.clone()), r.line);
        let existing = out.holders[h].existing.as_ref().and_then(|e| {
            held.get(&e.id)
                .and_then(|cs| cs.iter().find(|c| c.program == slug))
                .map(|c| c.id)
        });
        out.credentials.push((h, credential, r.line, existing));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

/// The ids given to new records: holder, team and credential index -> id.
#[derive(Debug, Default)]
struct Given {
    holders: Vec<u64>,
    teams: Vec<u64>,
    credentials: Vec<u64>,
}

/// Gives ids and makes the restore plan, on the store as it stands (another writer is kept
/// out); anything the rows were checked against that changed since is refused.
fn place(view: &dyn StoreView, intent: &Intent) -> Result<(RestorePlan, Given), ServiceError> {
    let changed = |what: String| {
        ServiceError::FailedPrecondition(format!(
            "{what} changed while the roster was checked; import it again"
        ))
    };
    let mut plan = RestorePlan::default();
    let mut given = Given::default();
    let next = view.next_ids()?;
    let (mut holder_id, mut credential_id) = (next.holder, next.credential);
    for h in &intent.holders {
        match &h.existing {
            Some(e) => {
                if !view.has_holder(e.id)? {
                    return Err(changed(format!("holder {}", IdKind::Holder.format(e.id))));
                }
                given.holders.push(e.id);
            }
            None => {
                while view.has_holder(holder_id)? {
                    holder_id += 1;
                }
                plan.holders.push(Holder {
                    id: holder_id,
                    ..h.new.clone()
                });
                given.holders.push(holder_id);
                holder_id += 1;
            }
        }
    }
    let mut team_id_next = 1;
    let mut new_teams = Vec::new();
    for t in &intent.teams {
        match &t.existing {
            Some(e) => {
                if view.team(e.id)?.as_ref() != Some(e) {
                    return Err(changed(format!("team {}", team_id(e.id))));
                }
                given.teams.push(e.id);
            }
            None => {
                if view.team_named(&t.name)?.is_some() {
                    return Err(changed(format!("team {:?}", t.name)));
                }
                while view.team(team_id_next)?.is_some() || given.teams.contains(&team_id_next) {
                    team_id_next += 1;
                }
                given.teams.push(team_id_next);
                new_teams.push(Team {
                    id: team_id_next,
                    name: t.name.clone(),
                    members: Vec::new(),
                    leads: Vec::new(),
                });
                team_id_next += 1;
            }
        }
    }
    let mut changed_teams: BTreeMap<usize, Team> = BTreeMap::new();
    for &(h, t, _) in &intent.memberships {
        let holder = given.holders[h];
        let team = match &intent.teams[t].existing {
            Some(e) => changed_teams.entry(t).or_insert_with(|| e.clone()),
            None => {
                let id = given.teams[t];
                new_teams
                    .iter_mut()
                    .find(|n| n.id == id)
                    .expect("a new team has a planned record")
            }
        };
        if !team.members.contains(&holder) {
            team.members.push(holder);
            team.members.sort_unstable();
        }
    }
    for (t, after) in changed_teams {
        let before = intent.teams[t].existing.clone().expect("an existing team");
        plan.changed_teams.push((before, after));
    }
    plan.teams = new_teams;
    for (h, c, _, existing) in &intent.credentials {
        if existing.is_some() {
            given.credentials.push(0);
            continue;
        }
        let holder = given.holders[*h];
        if intent.holders[*h].existing.is_some()
            && view
                .credentials_of(holder)?
                .iter()
                .any(|held| held.program == c.program)
        {
            return Err(changed(format!(
                "the credentials of holder {}",
                IdKind::Holder.format(holder)
            )));
        }
        while view.has_credential(credential_id)? {
            credential_id += 1;
        }
        plan.credentials.push(Credential {
            id: credential_id,
            holder_id: holder,
            ..c.clone()
        });
        plan.dirty_credentials.push(credential_id);
        given.credentials.push(credential_id);
        credential_id += 1;
    }
    // As `holder add` does: the first holder of a store becomes its default one.
    if view.default_holder()?.is_none() {
        plan.default_holder = plan.holders.first().map(|h| h.id);
    }
    if holder_id > next.holder {
        plan.counters.push((IdKind::Holder, holder_id));
    }
    if credential_id > next.credential {
        plan.counters.push((IdKind::Credential, credential_id));
    }
    Ok((plan, given))
}

/// What the intent does, with the ids given (`None` in a dry run: new records show `-`).
fn actions(intent: &Intent, given: Option<&Given>) -> Vec<RosterAction> {
    let mut out = Vec::new();
    let holder_id = |i: usize| match (&intent.holders[i].existing, given) {
        (Some(e), _) => IdKind::Holder.format(e.id),
        (None, Some(g)) => IdKind::Holder.format(g.holders[i]),
        (None, None) => "-".into(),
    };
    let holder_name = |i: usize| {
        let h = &intent.holders[i];
        h.existing.as_ref().unwrap_or(&h.new).name.clone()
    };
    for (i, h) in intent.holders.iter().enumerate() {
        let (outcome, description) = match &h.existing {
            Some(e) => (
                "existing",
                format!("{} <{}> (left as it is)", e.name, e.email),
            ),
            None => ("created", format!("{} <{}>", h.new.name, h.new.email)),
        };
        out.push(RosterAction {
            kind: "holder",
            outcome,
            id: holder_id(i),
            description,
            line: h.line,
        });
    }
    for (i, t) in intent.teams.iter().enumerate() {
        let id = match (&t.existing, given) {
            (Some(e), _) => team_id(e.id),
            (None, Some(g)) => team_id(g.teams[i]),
            (None, None) => "-".into(),
        };
        out.push(RosterAction {
            kind: "team",
            outcome: if t.existing.is_some() {
                "existing"
            } else {
                "created"
            },
            id,
            description: t.name.clone(),
            line: t.line,
        });
    }
    for &(h, t, line) in &intent.memberships {
        out.push(RosterAction {
            kind: "membership",
            outcome: "added",
            id: holder_id(h),
            description: format!("{} to team {}", holder_name(h), intent.teams[t].name),
            line,
        });
    }
    for (n, (h, c, line, existing)) in intent.credentials.iter().enumerate() {
        let (outcome, id) = match (existing, given) {
            (Some(e), _) => ("existing", IdKind::Credential.format(*e)),
            (None, Some(g)) => ("created", IdKind::Credential.format(g.credentials[n])),
            (None, None) => ("created", "-".into()),
        };
        out.push(RosterAction {
            kind: "credential",
            outcome,
            id,
            description: format!(
                "{} of {}, expires {}{}",
                c.program,
                holder_name(*h),
                c.expires_on,
                if existing.is_some() {
                    " (already held; left as it is)"
                } else {
                    ""
                }
            ),
            line: *line,
        });
    }
    out
}
