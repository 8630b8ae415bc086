//! Integrity check and repair: every record decodes, every index matches the primary
//! records, references resolve, and id counters are ahead of every id.

use super::indexes::{Entry, Indexed};
use super::keys::{Record, decode, id_key, read_id};
use super::{
    ALERT_KEYS, ALERT_RETRY, ALERT_SETTINGS, ALERTS, ALERTS_BY_HOLDER, CHANNELS,
    CHANNELS_BY_HOLDER, CHANNELS_BY_TEAM, COMPETENCY_PROGRAMS, COURSE_BY_DAY, COURSE_BY_HOLDER,
    COURSES, CRED_BY_DUES, CRED_BY_EXPIRY, CRED_BY_HOLDER, CREDENTIALS, HISTORY, HISTORY_BY_HOLDER,
    HOLDERS, HOLDERS_BY_DUE, HOLDERS_BY_ZONE, META, META_DEFAULT_HOLDER, PROGRAMS, Result,
    StoreError, TEAMS, TOKENS, TOKENS_BY_HASH, TREE_NAMES,
};
use crate::domain::{
    Alert, AlertSettings, Channel, Course, Credential, HistoryEntry, Holder, IdKind, Program, Team,
    Token,
};
use serde::Serialize;
use sled::Transactional;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::{BTreeMap, BTreeSet};

/// The index trees that are derived from primary records and can be rebuilt.
pub(super) const INDEXES: [usize; 14] = [
    CRED_BY_HOLDER,
    CRED_BY_DUES,
    HOLDERS_BY_DUE,
    COURSE_BY_HOLDER,
    COURSE_BY_DAY,
    CRED_BY_EXPIRY,
    HOLDERS_BY_ZONE,
    ALERT_KEYS,
    ALERTS_BY_HOLDER,
    ALERT_RETRY,
    CHANNELS_BY_HOLDER,
    CHANNELS_BY_TEAM,
    TOKENS_BY_HASH,
    HISTORY_BY_HOLDER,
];

/// What a check found.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// Records per primary tree.
    pub records: BTreeMap<String, usize>,
    /// Entries per index tree.
    pub index_entries: BTreeMap<String, usize>,
    /// Every problem, in words.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The primary records, decoded; problems noted for those that do not decode.
struct Primaries {
    holders: Vec<Holder>,
    credentials: Vec<Credential>,
    courses: Vec<Course>,
    alerts: Vec<Alert>,
    channels: Vec<Channel>,
    tokens: Vec<Token>,
    history: Vec<HistoryEntry>,
    /// The competency programs in force (what holders' index entries derive from).
    competencies: crate::catalog::Competencies,
}

fn read_all<T: Record>(tree: &Tree, name: &str, report: &mut CheckReport) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for entry in tree.iter() {
        let (key, value) = entry?;
        match decode::<T>(&value) {
            Ok(v) => out.push(v),
            Err(e) => report.problems.push(format!("{name}: key {key:?}: {e}")),
        }
    }
    report.records.insert(name.to_string(), tree.len());
    Ok(out)
}

fn primaries(trees: &[Tree], report: &mut CheckReport) -> Result<Primaries> {
    let p = Primaries {
        holders: read_all(&trees[HOLDERS], TREE_NAMES[HOLDERS], report)?,
        credentials: read_all(&trees[CREDENTIALS], TREE_NAMES[CREDENTIALS], report)?,
        courses: read_all(&trees[COURSES], TREE_NAMES[COURSES], report)?,
        alerts: read_all(&trees[ALERTS], TREE_NAMES[ALERTS], report)?,
        channels: read_all(&trees[CHANNELS], TREE_NAMES[CHANNELS], report)?,
        tokens: read_all(&trees[TOKENS], TREE_NAMES[TOKENS], report)?,
        history: read_all(&trees[HISTORY], TREE_NAMES[HISTORY], report)?,
        competencies: crate::catalog::Competencies::new(read_all(
            &trees[COMPETENCY_PROGRAMS],
            TREE_NAMES[COMPETENCY_PROGRAMS],
            report,
        )?),
    };
    read_all::<Team>(&trees[TEAMS], TREE_NAMES[TEAMS], report)?;
    read_all::<Program>(&trees[PROGRAMS], TREE_NAMES[PROGRAMS], report)?;
    read_all::<AlertSettings>(&trees[ALERT_SETTINGS], TREE_NAMES[ALERT_SETTINGS], report)?;
    Ok(p)
}

/// Every index entry the primary records call for: tree -> key -> value.
fn expected(p: &Primaries) -> BTreeMap<usize, BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut out: BTreeMap<usize, BTreeMap<Vec<u8>, Vec<u8>>> =
        INDEXES.iter().map(|&i| (i, BTreeMap::new())).collect();
    let mut put = |entries: Vec<Entry>| {
        for (tree, key, value) in entries {
            out.entry(tree).or_default().insert(key, value);
        }
    };
    p.holders
        .iter()
        .for_each(|r| put(r.entries(&p.competencies)));
    p.credentials
        .iter()
        .for_each(|r| put(r.entries(&p.competencies)));
    p.courses
        .iter()
        .for_each(|r| put(r.entries(&p.competencies)));
    p.alerts
        .iter()
        .for_each(|r| put(r.entries(&p.competencies)));
    p.channels
        .iter()
        .for_each(|r| put(r.entries(&p.competencies)));
    p.tokens
        .iter()
        .for_each(|r| put(r.entries(&p.competencies)));
    p.history
        .iter()
        .for_each(|r| put(r.entries(&p.competencies)));
    out
}

fn references(p: &Primaries, report: &mut CheckReport) {
    let holders: BTreeSet<u64> = p.holders.iter().map(|h| h.id).collect();
    let credentials: BTreeMap<u64, u64> =
        p.credentials.iter().map(|c| (c.id, c.holder_id)).collect();
    let h = |id| IdKind::Holder.format(id);
    for problem in p.competencies.problems(&p.holders) {
        report.problems.push(problem);
    }
    for c in &p.credentials {
        if !holders.contains(&c.holder_id) {
            report.problems.push(format!(
                "credential {} belongs to missing holder {}",
                IdKind::Credential.format(c.id),
                h(c.holder_id)
            ));
        }
    }
    for c in &p.courses {
        if !holders.contains(&c.holder_id) {
            report.problems.push(format!(
                "course {} belongs to missing holder {}",
                IdKind::Course.format(c.id),
                h(c.holder_id)
            ));
        }
        for pin in &c.credential_ids {
            if credentials.get(pin) != Some(&c.holder_id) {
                report.problems.push(format!(
                    "course {} is pinned to {}, which is not a credential of its holder",
                    IdKind::Course.format(c.id),
                    IdKind::Credential.format(*pin)
                ));
            }
        }
    }
    for c in &p.channels {
        if c.team_id == 0 && !holders.contains(&c.holder_id) {
            report.problems.push(format!(
                "channel {} belongs to missing holder {}",
                IdKind::Channel.format(c.id),
                h(c.holder_id)
            ));
        }
    }
}

/// Counter keys in `meta` and the highest id each must stay above.
fn counters(p: &Primaries) -> Vec<(IdKind, u64)> {
    let max = |ids: &mut dyn Iterator<Item = u64>| ids.max().unwrap_or(0);
    vec![
        (IdKind::Holder, max(&mut p.holders.iter().map(|x| x.id))),
        (
            IdKind::Credential,
            max(&mut p.credentials.iter().map(|x| x.id)),
        ),
        (IdKind::Course, max(&mut p.courses.iter().map(|x| x.id))),
        (IdKind::Alert, max(&mut p.alerts.iter().map(|x| x.id))),
        (IdKind::Channel, max(&mut p.channels.iter().map(|x| x.id))),
    ]
}

fn counter_key(kind: IdKind) -> Vec<u8> {
    super::keys::next_id_key(kind)
}

/// Checks the trees; changes nothing.
pub(super) fn check(trees: &[Tree]) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let p = primaries(trees, &mut report)?;
    references(&p, &mut report);
    for (tree, want) in expected(&p) {
        let name = TREE_NAMES[tree];
        let mut have = BTreeMap::new();
        for entry in trees[tree].iter() {
            let (k, v) = entry?;
            have.insert(k.to_vec(), v.to_vec());
        }
        report.index_entries.insert(name.to_string(), have.len());
        let missing = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .count();
        let extra = have.keys().filter(|k| !want.contains_key(*k)).count();
        if missing > 0 {
            report
                .problems
                .push(format!("{name}: {missing} entr(ies) missing or wrong"));
        }
        if extra > 0 {
            report
                .problems
                .push(format!("{name}: {extra} entr(ies) point at nothing"));
        }
    }
    for (kind, max) in counters(&p) {
        let next = trees[META]
            .get(counter_key(kind))?
            .and_then(|v| read_id(&v))
            .unwrap_or(1);
        if next <= max {
            report.problems.push(format!(
                "id counter of {} is {next}, not above the highest id {max}",
                kind.noun()
            ));
        }
    }
    let default = trees[META]
        .get(META_DEFAULT_HOLDER)?
        .and_then(|v| read_id(&v));
    match default {
        Some(id) if !p.holders.iter().any(|h| h.id == id) => {
            report.problems.push(format!(
                "the default holder {} does not exist",
                IdKind::Holder.format(id)
            ));
        }
        None if !p.holders.is_empty() => report.problems.push("no default holder is set".into()),
        _ => {}
    }
    Ok(report)
}

/// Rebuilds every index, the id counters and the default holder from the primary records,
/// in one transaction. Records that do not decode are left as they are (and still reported).
pub(super) fn repair(trees: &[Tree]) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let p = primaries(trees, &mut report)?;
    let want = expected(&p);
    let mut stale: Vec<(usize, Vec<u8>)> = Vec::new();
    for &tree in &INDEXES {
        for key in trees[tree].iter().keys() {
            stale.push((tree, key?.to_vec()));
        }
    }
    let counters = counters(&p);
    let mut meta_puts: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (kind, max) in &counters {
        let key = counter_key(*kind);
        let next = trees[META]
            .get(&key)?
            .and_then(|v| read_id(&v))
            .unwrap_or(1);
        if next <= *max {
            meta_puts.push((key, id_key(max + 1).to_vec()));
        }
    }
    let default = trees[META]
        .get(META_DEFAULT_HOLDER)?
        .and_then(|v| read_id(&v));
    if !default.is_some_and(|id| p.holders.iter().any(|h| h.id == id))
        && let Some(first) = p.holders.iter().map(|h| h.id).min()
    {
        meta_puts.push((META_DEFAULT_HOLDER.to_vec(), id_key(first).to_vec()));
    }
    trees.transaction(|t: &Vec<TransactionalTree>| {
        for (tree, key) in &stale {
            t[*tree].remove(key.as_slice())?;
        }
        for (tree, entries) in &want {
            for (k, v) in entries {
                t[*tree].insert(k.as_slice(), v.as_slice())?;
            }
        }
        for (k, v) in &meta_puts {
            t[META].insert(k.as_slice(), v.as_slice())?;
        }
        Ok::<(), ConflictableTransactionError<StoreError>>(())
    })?;
    check(trees)
}
