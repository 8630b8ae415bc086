//! `recert report --html FILE [--team T]`: one self-contained, printable page per holder or
//! team, for an inspection (CAP, CLIA, the Joint Commission).
//!
//! Rendered here from the RPCs every other command uses (holders, compliance, alerts,
//! competency status), not by a new RPC: the server already checks who may see each of them,
//! on both engines, and the page is a presentation of their answers like `deadlines --ics`.
//! The page fetches nothing (inline CSS and SVG); a small inline script lists any element that
//! overflows its box in `#overflow-findings`, so a check in a browser can read it.

use super::Context;
use crate::cli::ReportArgs;
use crate::error::Error;
use crate::model::{Alert, AlertFilter, AlertQuery, CompetencyRow, Compliance, Credential, Holder};
use jiff::civil::Date;
use std::fmt::Write as _;

/// One person's data for the page.
struct Person {
    holder: Holder,
    compliance: Vec<Compliance>,
    alerts: Vec<Alert>,
    competencies: Vec<CompetencyRow>,
    credentials: Vec<Credential>,
}

/// Runs `report`.
pub async fn run(context: &Context, args: ReportArgs) -> Result<String, Error> {
    let api = &context.api;
    let (title, ids) = match &args.team {
        Some(team) => {
            let team = api.team(team).await?;
            (format!("Team {}", team.name), team.member_ids)
        }
        None => {
            let holder = context.holder().await?;
            (holder.name.clone(), vec![holder.id])
        }
    };
    let mut people = Vec::new();
    for id in &ids {
        let holder = api.holder(id).await?;
        let compliance = api.compliance(id, None).await?;
        let query = AlertQuery {
            holder_id: Some(id.clone()),
            filter: AlertFilter::All,
        };
        let alerts = api.alerts(&query, None).await?;
        let competencies = api.competency_status(id, None).await?;
        let credentials = api.credentials(id, None).await?;
        people.push(Person {
            holder,
            compliance,
            alerts,
            competencies,
            credentials,
        });
    }
    let page = render(&title, &people);
    std::fs::write(&args.html, page).map_err(Error::Output)?;
    let out = context.out;
    let written = serde_json::json!({
        "file": args.html.display().to_string(),
        "holders": people.len(),
        "credentials": people.iter().map(|p| p.compliance.len()).sum::<usize>(),
    });
    Ok(out.record(&written, || {
        format!(
            "Wrote {} ({} of {} people)",
            args.html.display(),
            title,
            people.len()
        )
    }))
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{font:10.5pt/1.35 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1b1b;margin:0;padding:12mm;max-width:190mm}
h1{font-size:16pt;margin:0 0 2mm}
h2{font-size:13pt;margin:0 0 1mm}
h3{font-size:11pt;margin:3mm 0 1mm}
.meta{color:#555;font-size:9pt;margin-bottom:4mm}
.person{border:1px solid #ccc;border-radius:2mm;padding:4mm;margin:0 0 5mm;break-inside:avoid;page-break-inside:avoid;overflow-wrap:anywhere}
.credential{margin:2mm 0 3mm;break-inside:avoid}
.status{display:inline-block;padding:0 2mm;border-radius:1mm;font-size:9pt;font-weight:600}
.s-met,.s-current{background:#d9f2dd;color:#14501f}
.s-on_track{background:#e3ecfa;color:#163b73}
.s-at_risk,.s-due_soon{background:#fff0c2;color:#6b4b00}
.s-in_grace{background:#ffdcc2;color:#7a3300}
.s-expired,.s-overdue{background:#f9d0d0;color:#7a0d0d}
.s-unscheduled,.s-unknown{background:#eee;color:#444}
svg.timeline{display:block;width:100%;height:auto;max-width:100%}
.bar{display:flex;align-items:center;gap:2mm;font-size:9pt;margin:0.8mm 0}
.bar .label{flex:0 0 45mm;overflow-wrap:anywhere}
.bar .track{flex:1 1 auto;height:3mm;background:#e6e6e6;border-radius:1.5mm;overflow:hidden;min-width:20mm}
.bar .fill{height:100%;background:#3a7bd5}
.bar .fill.done{background:#2e9a48}
.bar .num{flex:0 0 28mm;text-align:right}
table{border-collapse:collapse;width:100%;font-size:9pt;table-layout:fixed}
th,td{border-bottom:1px solid #ddd;padding:1mm;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.verification{font-size:9pt;color:#555;border-left:2px dashed #999;padding-left:2mm;margin-top:2mm}
#overflow-findings{display:none}
@page{margin:12mm}
@media print{body{padding:0;max-width:none}.person{border-color:#999}a{color:inherit;text-decoration:none}}
"#;

/// Finds elements wider than their parent or the page, and lists them in the DOM.
const OVERFLOW_CHECK: &str = r#"
(function(){
  var found=[];
  var limit=document.documentElement.clientWidth;
  document.querySelectorAll('body *').forEach(function(el){
    if(el.id==='overflow-findings'||el.closest('svg')&&el.tagName.toLowerCase()!=='svg')return;
    var r=el.getBoundingClientRect();
    if(r.width===0&&r.height===0)return;
    if(r.right>limit+0.5||el.scrollWidth>el.clientWidth+1&&getComputedStyle(el).overflowX!=='hidden'){
      found.push((el.tagName+'.'+el.className+' '+(el.textContent||'').slice(0,40)).trim());
    }
  });
  var out=document.getElementById('overflow-findings');
  out.setAttribute('data-count',String(found.length));
  out.textContent=found.join('\n');
})();
"#;

/// The whole page.
fn render(title: &str, people: &[Person]) -> String {
    let mut html = String::new();
    let as_of = people
        .iter()
        .flat_map(|p| p.compliance.first())
        .map(|c| c.as_of.clone())
        .next()
        .unwrap_or_default();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>recert report: {}</title><style>{STYLE}</style></head><body>\
         <h1>Credentials and competency: {}</h1>\
         <div class=\"meta\">{} people; as of {} (each person's today). Made by recert.</div>",
        esc(title),
        esc(title),
        people.len(),
        esc(&as_of),
    );
    for person in people {
        person_section(&mut html, person);
    }
    let _ = writeln!(
        html,
        "<div id=\"overflow-findings\" data-count=\"unchecked\"></div>\
         <script>{OVERFLOW_CHECK}</script></body></html>"
    );
    html
}

fn person_section(html: &mut String, p: &Person) {
    let h = &p.holder;
    let hired = h
        .hired_on
        .map(|d| format!(", hired {d}"))
        .unwrap_or_default();
    let _ = write!(
        html,
        "<section class=\"person\" data-holder=\"{}\"><h2>{}</h2>\
         <div class=\"meta\">{}{}{}</div>",
        esc(&h.id),
        esc(&h.name),
        esc(&h.id),
        esc(&hired),
        h.email
            .as_deref()
            .map(|e| format!(", {}", esc(e)))
            .unwrap_or_default(),
    );
    if p.compliance.is_empty() {
        html.push_str("<p>No credentials recorded.</p>");
    }
    for c in &p.compliance {
        let record = p.credentials.iter().find(|r| r.id == c.credential_id);
        credential(html, c, &p.alerts, record);
    }
    html.push_str("<h3>Competency assessments</h3>");
    if p.competencies.is_empty() {
        html.push_str("<p>No competencies tracked.</p>");
    } else {
        html.push_str(
            "<table><thead><tr><th>Program</th><th>Skill</th><th>Last assessed</th>\
             <th>Result</th><th>Next due</th><th>Status</th></tr></thead><tbody>",
        );
        for r in &p.competencies {
            let date = |d: Option<Date>| d.map_or("-".to_owned(), |d| d.to_string());
            let _ = write!(
                html,
                "<tr data-competency=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td><span class=\"status s-{}\">{}</span></td></tr>",
                esc(&r.skill),
                esc(&r.program),
                esc(&r.skill),
                date(r.last_assessed_on),
                esc(r.last_result.as_deref().unwrap_or("-")),
                date(r.next_due),
                esc(&r.status),
                esc(&r.status.replace('_', " ")),
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</section>");
}

fn credential(html: &mut String, c: &Compliance, alerts: &[Alert], record: Option<&Credential>) {
    let status = serde_json::to_value(c.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    let _ = write!(
        html,
        "<div class=\"credential\" data-credential=\"{}\"><h3>{} <small>({}, {})</small> \
         <span class=\"status s-{}\">{}</span></h3>",
        esc(&c.credential_id),
        esc(&c.program_name),
        esc(&c.program),
        esc(&c.credential_id),
        esc(&status),
        esc(&status.replace('_', " ")),
    );
    let days = if c.days_left < 0 {
        format!("expired {} days ago", -c.days_left)
    } else {
        format!("{} days left", c.days_left)
    };
    let _ = write!(
        html,
        "<div class=\"meta\">cycle {} to {}; {}{}</div>",
        esc(&c.window_start),
        esc(&c.expires_on),
        days,
        c.status_reason
            .as_deref()
            .map(|r| format!("; {}", esc(r)))
            .unwrap_or_default(),
    );
    let marks: Vec<&Alert> = alerts
        .iter()
        .filter(|a| {
            a.credential_id.as_deref() == Some(c.credential_id.as_str())
                && a.subject == "credential"
        })
        .collect();
    timeline(html, c, &marks);
    bar(
        html,
        &format!("CE ({})", c.unit),
        c.earned.hundredths(),
        c.required.hundredths(),
        &format!("{} / {}", c.earned, c.required),
    );
    for cat in &c.categories {
        bar(
            html,
            &cat.category,
            cat.earned.hundredths(),
            cat.required.hundredths(),
            &format!("{} / {}", cat.earned, cat.required),
        );
    }
    verification(html, record);
    html.push_str("</div>");
}

/// The last check of the credential against the issuing body (`cert verify`), and whether
/// it vouches for the current cycle.
fn verification(html: &mut String, record: Option<&Credential>) {
    let Some(v) = record.and_then(|r| r.last_verification.as_ref()) else {
        html.push_str(
            "<div class=\"verification\" data-verification=\"none\" data-verified=\"false\">\
             Last verification with the issuing body: none recorded (unverified).</div>",
        );
        return;
    };
    let verified = record.is_some_and(|r| r.verified);
    let source = v
        .source
        .as_deref()
        .map(|s| format!(" at {}", esc(s)))
        .unwrap_or_default();
    let _ = write!(
        html,
        "<div class=\"verification\" data-verification=\"{}\" data-verified=\"{verified}\">\
         Last verification with the issuing body: {} on {} by {}{source}{}</div>",
        esc(&v.result),
        esc(&v.result),
        esc(&v.on),
        esc(&v.by),
        if verified {
            ".".to_owned()
        } else if record.is_some_and(|r| r.expires_on == v.cycle_expires_on) {
            "; <strong>unverified</strong>.".to_owned()
        } else {
            format!(
                "; <strong>unverified</strong>: renewed since (the check was for the cycle ending {})",
                esc(&v.cycle_expires_on)
            )
        },
    );
}

fn bar(html: &mut String, label: &str, earned: i64, required: i64, text: &str) {
    let pct = if required <= 0 {
        100
    } else {
        (earned.max(0) * 100 / required).min(100)
    };
    let done = if earned >= required { " done" } else { "" };
    let _ = write!(
        html,
        "<div class=\"bar\" data-progress=\"{pct}\"><span class=\"label\">{}</span>\
         <span class=\"track\"><span class=\"fill{done}\" style=\"display:block;width:{pct}%\">\
         </span></span><span class=\"num\">{}</span></div>",
        esc(label),
        esc(text),
    );
}

/// The cycle as a line from its window's start to its expiry, with today and each alert's
/// mark on it (a little past the expiry when today or a mark is later).
fn timeline(html: &mut String, c: &Compliance, alerts: &[&Alert]) {
    let (Ok(start), Ok(end)) = (c.window_start.parse::<Date>(), c.expires_on.parse::<Date>())
    else {
        return;
    };
    let today = c.as_of.parse::<Date>().ok();
    let marks: Vec<(Date, &Alert)> = alerts
        .iter()
        .filter_map(|a| a.due_on.parse::<Date>().ok().map(|d| (d, *a)))
        .collect();
    let last = marks
        .iter()
        .map(|(d, _)| *d)
        .chain(today)
        .chain([end])
        .max()
        .unwrap_or(end);
    let first = marks
        .iter()
        .map(|(d, _)| *d)
        .chain(today)
        .chain([start])
        .min()
        .unwrap_or(start);
    let span = (last - first).get_days().max(1) as f64;
    let (left, width) = (10.0, 580.0);
    let x = |d: Date| left + width * f64::from((d - first).get_days()) / span;
    let _ = write!(
        html,
        "<svg class=\"timeline\" viewBox=\"0 0 600 44\" role=\"img\" \
         aria-label=\"cycle {} to {}\"><rect x=\"{:.1}\" y=\"18\" width=\"{:.1}\" height=\"6\" \
         fill=\"#9fbbe6\"/>",
        esc(&c.window_start),
        esc(&c.expires_on),
        x(start),
        (x(end) - x(start)).max(1.0),
    );
    if last > end {
        let _ = write!(
            html,
            "<rect x=\"{:.1}\" y=\"18\" width=\"{:.1}\" height=\"6\" fill=\"#f2b8b8\"/>",
            x(end),
            (x(last) - x(end)).max(1.0),
        );
    }
    let _ = write!(
        html,
        "<text x=\"{:.1}\" y=\"40\" font-size=\"10\" text-anchor=\"start\">{}</text>\
         <text x=\"{:.1}\" y=\"40\" font-size=\"10\" text-anchor=\"end\">{}</text>",
        x(start).min(500.0),
        esc(&c.window_start),
        x(end).max(100.0),
        esc(&c.expires_on),
    );
    for (d, a) in &marks {
        let _ = write!(
            html,
            "<g class=\"alert-mark\"><title>{} {}</title><path d=\"M{:.1} 8 l-4 -6 h8 z\" \
             fill=\"#d98a00\"/></g>",
            esc(&a.mark),
            d,
            x(*d),
        );
    }
    if let Some(t) = today {
        let _ = write!(
            html,
            "<g class=\"today\"><title>today {t}</title><line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"10\" \
             y2=\"30\" stroke=\"#c00\" stroke-width=\"2\"/></g>",
            x(t),
        );
    }
    html.push_str("</svg>");
}
