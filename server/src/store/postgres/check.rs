//! `recertd check` on PostgreSQL: the constraints hold the references and unique keys, so the
//! check decodes every record and compares it with the columns stored beside it, and compares
//! the id sequences and the default holder with the records. Tokens, teams and history
//! entries are decoded and compared with their columns too.

use super::{PgStore, body, day, db_err, query, read_sql_id, sequence};
use crate::domain::{
    Alert, Channel, Course, Credential, HistoryEntry, Holder, IdKind, Program, Team, Token,
};
use crate::store::{COUNTED, CheckReport, Result, StoredRecord};
use deadpool_postgres::GenericClient;
use std::collections::{BTreeMap, BTreeSet};

/// Decodes every row of `table`, noting the rows that do not decode or whose columns
/// disagree with their record (`columns` says how, or `None`).
async fn records<T: StoredRecord, C: GenericClient + Sync>(
    c: &C,
    table: &str,
    select: &str,
    columns: impl Fn(&T, &tokio_postgres::Row) -> Option<String>,
    report: &mut CheckReport,
) -> Result<Vec<T>> {
    let rows = query(c, select, &[]).await?;
    report.records.insert(table.to_string(), rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        match body::<T>(row, 0) {
            Ok(record) => {
                if let Some(problem) = columns(&record, row) {
                    report.problems.push(format!("{table}: {problem}"));
                }
                out.push(record);
            }
            Err(e) => report.problems.push(format!("{table}: {e}")),
        }
    }
    Ok(out)
}

fn id_col(row: &tokio_postgres::Row, i: usize) -> u64 {
    row.try_get::<_, i64>(i).map_or(u64::MAX, read_sql_id)
}

/// Checks the database; with `repair`, first moves the id sequences past the highest ids and
/// sets the default holder if it is missing.
pub async fn check(store: &PgStore, repair: bool) -> Result<CheckReport> {
    let mut client = store.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(db_err)?;
    let mut report = CheckReport::default();
    let holders: Vec<Holder> = records(
        &tx,
        "holders",
        "SELECT body, id, time_zone FROM holders ORDER BY id",
        |h: &Holder, r| {
            (h.id != id_col(r, 1) || r.try_get::<_, &str>(2).ok() != Some(h.time_zone.as_str()))
                .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    let _: Vec<Program> = records(
        &tx,
        "programs",
        "SELECT body, slug FROM programs ORDER BY slug",
        |p: &Program, r| {
            (r.try_get::<_, &str>(1).ok() != Some(p.slug.as_str()))
                .then(|| format!("row {:?} disagrees with its record", p.slug))
        },
        &mut report,
    )
    .await?;
    let credentials: Vec<Credential> = records(
        &tx,
        "credentials",
        "SELECT body, id, holder_id, program, expires_on FROM credentials ORDER BY id",
        |c: &Credential, r| {
            (c.id != id_col(r, 1)
                || c.holder_id != id_col(r, 2)
                || r.try_get::<_, &str>(3).ok() != Some(c.program.as_str())
                || r.try_get::<_, i32>(4).ok() != Some(day(c.expires_on)))
            .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    let courses: Vec<Course> = records(
        &tx,
        "courses",
        "SELECT body, id, holder_id, completed_on FROM courses ORDER BY id",
        |c: &Course, r| {
            (c.id != id_col(r, 1)
                || c.holder_id != id_col(r, 2)
                || r.try_get::<_, i32>(3).ok() != Some(day(c.completed_on)))
            .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    let channels: Vec<Channel> = records(
        &tx,
        "channels",
        "SELECT body, id, holder_id, kind, target FROM channels ORDER BY id",
        |c: &Channel, r| {
            (c.id != id_col(r, 1)
                || c.holder_id != id_col(r, 2)
                || r.try_get::<_, &str>(3).ok() != Some(c.kind.name())
                || r.try_get::<_, &str>(4).ok() != Some(c.target.as_str()))
            .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    let alerts: Vec<Alert> = records(
        &tx,
        "alerts",
        "SELECT body, id, holder_id, credential_id, expires_on, threshold_days, next_attempt, subject, dedupe_key FROM alerts ORDER BY id",
        |a: &Alert, r| {
            (a.id != id_col(r, 1)
                || a.holder_id != id_col(r, 2)
                || a.credential_id != id_col(r, 3)
                || r.try_get::<_, i32>(4).ok() != Some(day(a.expires_on))
                || r.try_get::<_, i64>(5).ok() != Some(a.threshold_days)
                || r.try_get::<_, Option<i64>>(6).ok() != Some(a.next_attempt().map(|t| t.as_second()))
                || r.try_get::<_, String>(7).ok().as_deref() != Some(a.subject.kind())
                || r.try_get::<_, String>(8).ok() != Some(a.key()))
            .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    let _: Vec<Token> = records(
        &tx,
        "tokens",
        "SELECT body, id, hash FROM tokens ORDER BY id",
        |t: &Token, r| {
            (t.id != id_col(r, 1) || r.try_get::<_, &[u8]>(2).ok() != Some(t.hash.as_slice()))
                .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    let _: Vec<Team> = records(
        &tx,
        "teams",
        "SELECT body, id, name FROM teams ORDER BY id",
        |t: &Team, r| {
            (t.id != id_col(r, 1) || r.try_get::<_, &str>(2).ok() != Some(t.name.as_str()))
                .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    let _: Vec<HistoryEntry> = records(
        &tx,
        "history",
        "SELECT body, id, holder_id FROM history ORDER BY id",
        |e: &HistoryEntry, r| {
            (e.id != id_col(r, 1)
                || r.try_get::<_, Option<i64>>(2).ok() != Some(e.holder_id.map(super::sql_id)))
            .then(|| format!("row {} disagrees with its record", id_col(r, 1)))
        },
        &mut report,
    )
    .await?;
    for c in &courses {
        for pin in &c.credential_ids {
            if !credentials
                .iter()
                .any(|cr| cr.id == *pin && cr.holder_id == c.holder_id)
            {
                report.problems.push(format!(
                    "course {} is pinned to credential {pin}, not its holder's",
                    c.id
                ));
            }
        }
    }
    tick_marks(&tx, &holders, &credentials, repair, &mut report).await?;
    let highest = |kind: IdKind| -> u64 {
        match kind {
            IdKind::Holder => holders.iter().map(|h| h.id).max(),
            IdKind::Credential => credentials.iter().map(|c| c.id).max(),
            IdKind::Course => courses.iter().map(|c| c.id).max(),
            IdKind::Alert => alerts.iter().map(|a| a.id).max(),
            _ => channels.iter().map(|c| c.id).max(),
        }
        .unwrap_or(0)
    };
    for kind in COUNTED {
        let sql = format!("SELECT last_value, is_called FROM {}", sequence(kind));
        let rows = query(&tx, &sql, &[]).await?;
        let next = rows.first().map_or(1, |r| {
            let last = r.try_get::<_, i64>(0).map_or(0, read_sql_id);
            if r.try_get::<_, bool>(1).unwrap_or(true) {
                last + 1
            } else {
                last
            }
        });
        let top = highest(kind);
        if next <= top {
            if repair {
                let sql = format!("SELECT setval('{}', $1, true)", sequence(kind));
                query(&tx, &sql, &[&super::sql_id(top)]).await?;
            } else {
                report.problems.push(format!(
                    "sequence {} would hand out {next}, but {} {top} exists",
                    sequence(kind),
                    kind.noun()
                ));
            }
        }
    }
    let rows = query(
        &tx,
        "SELECT value FROM recert_meta WHERE key = 'default_holder'",
        &[],
    )
    .await?;
    let default = rows.first().map(|r| id_col(r, 0));
    let default_ok = match default {
        Some(id) => holders.iter().any(|h| h.id == id),
        None => holders.is_empty(),
    };
    if !default_ok {
        match holders.first() {
            Some(first) if repair => {
                super::execute(
                    &tx,
                    "INSERT INTO recert_meta (key, value) VALUES ('default_holder', $1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&super::sql_id(first.id)],
                )
                .await?;
            }
            _ if repair => {
                super::execute(
                    &tx,
                    "DELETE FROM recert_meta WHERE key = 'default_holder'",
                    &[],
                )
                .await?;
            }
            _ => report
                .problems
                .push(format!("the default holder {default:?} is not a holder")),
        }
    }
    tx.commit().await.map_err(db_err)?;
    Ok(report)
}

/// The tick's indexes: each credential's `dues_month` and each holder's `competencies_due`
/// rows against what their records call for; with `repair`, rewritten where they differ.
async fn tick_marks<C: GenericClient + Sync>(
    c: &C,
    holders: &[Holder],
    credentials: &[Credential],
    repair: bool,
    report: &mut CheckReport,
) -> Result<()> {
    let stored: BTreeMap<u64, Option<i32>> =
        query(c, "SELECT id, dues_month FROM credentials", &[])
            .await?
            .iter()
            .map(|r| (id_col(r, 0), r.try_get::<_, Option<i32>>(1).ok().flatten()))
            .collect();
    for credential in credentials {
        let want = crate::domain::dues_month(credential);
        let found = stored.get(&credential.id).copied().flatten();
        if found == Some(want) {
            continue;
        }
        if repair {
            super::execute(
                c,
                "UPDATE credentials SET dues_month = $2 WHERE id = $1",
                &[&super::sql_id(credential.id), &want],
            )
            .await?;
        } else {
            report.problems.push(format!(
                "credentials: row {} has dues month {found:?}, its record calls for {want}",
                credential.id
            ));
        }
    }
    let mut found: BTreeMap<u64, BTreeSet<i32>> = BTreeMap::new();
    let rows = query(c, "SELECT holder_id, due_on FROM competencies_due", &[]).await?;
    report
        .index_entries
        .insert("competencies_due".to_string(), rows.len());
    for r in &rows {
        found
            .entry(id_col(r, 0))
            .or_default()
            .insert(r.try_get::<_, i32>(1).map_err(db_err)?);
    }
    let competencies =
        crate::catalog::Competencies::new(super::records::stored_competencies(c).await?);
    report.problems.extend(competencies.problems(holders));
    report.records.insert(
        "competency_programs".to_string(),
        competencies
            .in_force()
            .iter()
            .filter(|(_, o)| *o == crate::catalog::CompetencyOrigin::Local)
            .count(),
    );
    let mut wrong = Vec::new();
    for h in holders {
        let want: BTreeSet<i32> = competencies.due_dates(h).into_iter().map(day).collect();
        let have = found.remove(&h.id).unwrap_or_default();
        if have != want {
            report.problems.push(format!(
                "competencies_due: holder {} has days {have:?}, its record calls for {want:?}",
                h.id
            ));
            wrong.push(h.clone());
        }
    }
    if repair && !wrong.is_empty() {
        super::records::write_tick_marks(c, &wrong).await?;
        report
            .problems
            .retain(|p| !p.starts_with("competencies_due:"));
    }
    Ok(())
}
