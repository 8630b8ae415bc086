//! Team alerts (issue 14 point 2) through the real daemon, its frozen clock (`RECERT_NOW`,
//! moved by restarting) and real loopback webhook receivers: a team's channel gets every
//! member's alerts, each naming the person, and no other team's; only a lead or an admin
//! may add, list or remove a team's channels; export and import carry them.

use recert_tests::Daemon;
use recert_tests::sinks::WebhookSink;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const DAY0: &str = "2026-11-01T12:00:00Z";
const DAY1: &str = "2026-11-02T12:00:00Z";

/// Restarts `d` with its clock at `at`, so the ticks missed since run once.
fn restart_at(mut d: Daemon, at: &str) -> Daemon {
    assert_eq!(d.stop(), Some(0));
    Daemon::start(&d.data_dir, Some(at))
}

/// The next webhook body the receiver gets, within 30 s.
async fn next_body(hook: &mut WebhookSink) -> Value {
    let request = tokio::time::timeout(Duration::from_secs(30), hook.requests.recv())
        .await
        .expect("a webhook delivery")
        .unwrap();
    serde_json::from_slice(&request.body).unwrap()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A token's secret, made by the admin through the CLI.
fn token(d: &Daemon, args: &[&str]) -> String {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    d.json(&all)["token"].as_str().unwrap().to_string()
}

/// A holder in `team` with an NHA CPT certification expiring on 2026-11-20.
fn member(d: &Daemon, name: &str, team: &str) -> String {
    let h = id(&d.json(&["holder", "add", name, "--tz", "UTC"]));
    d.json(&["team", "add-member", team, &h]);
    d.json(&[
        "--holder",
        &h,
        "cert",
        "add",
        "nha-cpt",
        "--expires",
        "2026-11-20",
    ]);
    h
}

fn start(data: &Path) -> Daemon {
    Daemon::start(data, Some(DAY0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_channel_gets_each_members_alert_naming_them_and_no_other_teams() {
    let dir = tempfile::tempdir().unwrap();
    let mut day_hook = WebhookSink::start(None, 200).await;
    let mut night_hook = WebhookSink::start(None, 200).await;
    let d = start(&dir.path().join("data"));
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add", "Night lab"]);
    let lead = id(&d.json(&["holder", "add", "Lee Lead", "--tz", "UTC"]));
    d.json(&["team", "add-lead", "Day lab", &lead]);
    let ana = member(&d, "Ana Ruiz", "Day lab");
    let ola = member(&d, "Ola Other", "Night lab");

    // Who may touch a team's channels: its lead and an admin; a member of the team is
    // refused, one of another team is told the team is not found.
    let lead_token = token(&d, &["--role", "supervisor", "--holder", &lead]);
    let ana_token = token(&d, &["--role", "holder", "--holder", &ana]);
    let ola_token = token(&d, &["--role", "holder", "--holder", &ola]);
    let added = d.json_as(
        &lead_token,
        &[
            "notify",
            "add",
            "webhook",
            &day_hook.url,
            "--team",
            "Day lab",
        ],
    );
    assert_eq!(added["team_id"], "tm1", "{added}");
    assert!(added.get("holder_id").is_none(), "{added}");
    let night = d.json(&["notify", "add", "webhook", &night_hook.url, "--team", "tm2"]);
    assert_eq!(night["team_id"], "tm2", "{night}");
    let out = d.cli_as(
        Some(&ana_token),
        &[
            "notify",
            "add",
            "email",
            "ana@example.org",
            "--team",
            "Day lab",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("supervisor token of one of its leads"),
        "{err}"
    );
    let out = d.cli_as(Some(&ola_token), &["notify", "list", "--team", "Day lab"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not found"), "{err}");
    let out = d.cli_as(Some(&ola_token), &["notify", "remove", &id(&added)]);
    assert_eq!(out.status.code(), Some(1));
    let listed = d.json_as(&lead_token, &["notify", "list", "--team", "Day lab"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], added["id"]);
    // A duplicate is refused, naming the team.
    let out = d.cli(&[
        "notify",
        "add",
        "webhook",
        &day_hook.url,
        "--team",
        "Day lab",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("team tm1 already has"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 2026-11-02: both certifications cross their 30-day mark. Each team's channel gets its
    // own member's alert, naming them, and nothing of the other team's.
    let d = restart_at(d, DAY1);
    let body = next_body(&mut day_hook).await;
    assert_eq!(body["holder_id"], ana.as_str(), "{body:#}");
    assert_eq!(body["holder_name"], "Ana Ruiz");
    assert_eq!(body["team_id"], "tm1");
    assert!(
        body["title"].as_str().unwrap().starts_with("Ana Ruiz: "),
        "{body:#}"
    );
    let body = next_body(&mut night_hook).await;
    assert_eq!(body["holder_id"], ola.as_str(), "{body:#}");
    assert_eq!(body["holder_name"], "Ola Other");
    assert_eq!(body["team_id"], "tm2");
    for holder in [&ana, &ola] {
        let list = d.alerts_until(&["--holder", holder], |l| {
            l.len() == 1 && l[0]["status"] == "delivered"
        });
        assert_eq!(
            list[0]["deliveries"].as_array().unwrap().len(),
            1,
            "{list:#?}"
        );
    }
    assert!(
        day_hook.requests.try_recv().is_err(),
        "one delivery to Day lab"
    );
    assert!(
        night_hook.requests.try_recv().is_err(),
        "one delivery to Night lab"
    );

    // Export and import carry the team's channels.
    let file = dir.path().join("dump.jsonl");
    d.json(&["export", "--file", file.to_str().unwrap()]);
    let dump = std::fs::read_to_string(&file).unwrap();
    assert!(dump.contains(r#""team_id":"tm1""#), "{dump}");
    let copy = Daemon::start(&dir.path().join("copy"), Some(DAY1));
    let out = copy.cli(&["import", "--file", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = copy.json(&["notify", "list", "--team", "Night lab"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // The lead removes their team's channel.
    d.json_as(&lead_token, &["notify", "remove", &id(&added)]);
    let listed = d.json(&["notify", "list", "--team", "Day lab"]);
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");

    // `recertd check` finds both stores sound with a team's channel in them.
    for mut daemon in [d, copy] {
        assert_eq!(daemon.stop(), Some(0));
        let out = daemon.check_store(&[]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The digest body's lines after its title, up to the closing "Details" line.
fn digest_lines(body: &Value) -> Vec<String> {
    let text = body["body"].as_str().unwrap();
    text.lines()
        .skip(1)
        .take_while(|l| !l.starts_with("Details:"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leads_digest_arrives_once_per_period_with_a_line_per_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    // Sunday 2026-11-01; the default digest fires on Mondays at 08:00.
    let d = start(&dir.path().join("data"));
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add", "Night lab"]);
    let lead = id(&d.json(&["holder", "add", "Lee Lead", "--tz", "UTC"]));
    d.json(&["team", "add-lead", "Day lab", &lead]);
    d.json(&["--holder", &lead, "notify", "add", "webhook", &hook.url]);
    // A lead whose team has nothing to report gets no digest.
    let quiet = id(&d.json(&[
        "holder",
        "add",
        "Nia Night",
        "--tz",
        "UTC",
        "--email",
        "nia@example.org",
    ]));
    d.json(&["team", "add-lead", "Night lab", &quiet]);
    let fine = id(&d.json(&["holder", "add", "Fay Fine", "--tz", "UTC"]));
    d.json(&["team", "add-member", "Night lab", &fine]);

    // California CPT I has no grace: expired. AAMA CMA has 89 days: in grace.
    for (name, program) in [("Ed Expired", "ca-cpt1"), ("Gina Grace", "aama-cma")] {
        let h = id(&d.json(&["holder", "add", name, "--tz", "UTC"]));
        d.json(&["team", "add-member", "Day lab", &h]);
        d.json(&[
            "--holder",
            &h,
            "cert",
            "add",
            program,
            "--expires",
            "2026-10-20",
        ]);
    }
    // Hired 2026-05-20: the CLIA six-month assessment is due 2026-11-20.
    let cal = id(&d.json(&[
        "holder",
        "add",
        "Cal Comp",
        "--tz",
        "UTC",
        "--hired",
        "2026-05-20",
    ]));
    d.json(&["team", "add-member", "Day lab", &cal]);
    d.json(&[
        "competency",
        "assign",
        &cal,
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
    ]);

    // Monday 2026-11-02 12:00: the 08:00 tick sends the week's digest to the lead.
    let d = restart_at(d, DAY1);
    let body = next_body(&mut hook).await;
    assert_eq!(body["subject"], "digest", "{body:#}");
    assert_eq!(body["team_id"], "tm1");
    assert_eq!(body["holder_id"], lead.as_str());
    assert_eq!(
        body["idempotency_key"],
        format!("tm1/{lead}/digest/2026-11-02")
    );
    let lines = digest_lines(&body);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with("Ed Expired: ") && lines[0].ends_with("expired on 2026-10-20"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("Gina Grace: ") && lines[1].contains("in grace"),
        "{lines:#?}"
    );
    assert!(
        lines[2].starts_with("Cal Comp: competency Glucose meter")
            && lines[2].ends_with("due on 2026-11-20"),
        "{lines:#?}"
    );
    d.alerts_until(&["--holder", &lead], |l| {
        l.len() == 1 && l[0]["status"] == "delivered"
    });

    // Again on Monday, then Tuesday's tick: no second digest for the week. The next
    // delivery is the next Monday's, not a repeat.
    let d = restart_at(d, DAY1);
    let d = restart_at(d, "2026-11-03T12:00:00Z");
    let d = restart_at(d, "2026-11-09T12:00:00Z");
    let body = next_body(&mut hook).await;
    assert_eq!(
        body["idempotency_key"],
        format!("tm1/{lead}/digest/2026-11-09"),
        "{body:#}"
    );
    let list = d.alerts_until(&["--holder", &lead], |l| {
        l.len() == 2 && l.iter().all(|a| a["status"] == "delivered")
    });
    assert!(list.iter().all(|a| a["subject"] == "digest"), "{list:#?}");
    // Enqueued by the same ticks: the quiet team's lead got none.
    let none = d.json(&["--holder", &quiet, "alerts", "list", "--all"]);
    assert_eq!(none.as_array().unwrap().len(), 0, "{none:#}");
}

/// A team's new channel reaches the alerts its members already have that nothing could
/// reach (no channel, no address), as a holder's own new channel does; an outsider's stay
/// undeliverable, and a member's alert that reaches someone is left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_team_channel_reaches_the_members_undeliverable_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = WebhookSink::start(None, 200).await;
    let mut own_hook = WebhookSink::start(None, 200).await;
    let d = start(&dir.path().join("data"));
    d.json(&["team", "add", "Day lab"]);
    let lead = id(&d.json(&["holder", "add", "Lee Lead", "--tz", "UTC"]));
    d.json(&["team", "add-lead", "Day lab", &lead]);
    let ana = member(&d, "Ana Ruiz", "Day lab");
    let bo = member(&d, "Bo Bell", "Day lab");
    d.json(&["--holder", &bo, "notify", "add", "webhook", &own_hook.url]);
    let ola = id(&d.json(&["holder", "add", "Ola Outside", "--tz", "UTC"]));
    d.json(&[
        "--holder",
        &ola,
        "cert",
        "add",
        "nha-cpt",
        "--expires",
        "2026-11-20",
    ]);

    // 2026-11-02: the 30-day mark. Nothing reaches Ana or Ola; Bo's own channel gets his.
    let d = restart_at(d, DAY1);
    let body = next_body(&mut own_hook).await;
    assert_eq!(body["holder_id"], bo.as_str(), "{body:#}");
    for holder in [&ana, &ola] {
        d.alerts_until(&["--holder", holder], |l| {
            l.len() == 1 && l[0]["status"] == "undeliverable"
        });
    }
    d.alerts_until(&["--holder", &bo], |l| {
        l.len() == 1 && l[0]["status"] == "delivered"
    });

    let lead_token = token(&d, &["--role", "supervisor", "--holder", &lead]);
    let added = d.json_as(
        &lead_token,
        &["notify", "add", "webhook", &hook.url, "--team", "Day lab"],
    );
    let body = next_body(&mut hook).await;
    assert_eq!(body["holder_id"], ana.as_str(), "{body:#}");
    assert_eq!(body["holder_name"], "Ana Ruiz");
    assert_eq!(body["team_id"], "tm1");
    let list = d.alerts_until(&["--holder", &ana], |l| {
        l.len() == 1 && l[0]["status"] == "delivered"
    });
    let deliveries = list[0]["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{list:#?}");
    assert_eq!(deliveries[0]["channel_id"], added["id"], "{list:#?}");
    // Ola is in no team; Bo's alert already reached him and gains nothing.
    let list = d.json(&["--holder", &ola, "alerts", "list"]);
    assert_eq!(list[0]["status"], "undeliverable", "{list:#}");
    assert_eq!(list[0]["deliveries"].as_array().unwrap().len(), 0);
    let list = d.json(&["--holder", &bo, "alerts", "list"]);
    assert_eq!(
        list[0]["deliveries"].as_array().unwrap().len(),
        1,
        "{list:#}"
    );
    assert!(hook.requests.try_recv().is_err(), "one delivery: Ana's");
}

/// `alerts test --team T` sends a test through each of the team's channels and reports each,
/// as `alerts test` does for a holder's; only a lead of the team or an admin may (a member
/// is refused, an outsider told the team is not found).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_test_team_goes_through_each_team_channel_for_leads_and_admins() {
    use recert_proto::v1 as pb;
    use recert_proto::v1::alert_service_client::AlertServiceClient;
    let dir = tempfile::tempdir().unwrap();
    let mut first = WebhookSink::start(None, 200).await;
    let mut second = WebhookSink::start(None, 200).await;
    let mut own = WebhookSink::start(None, 200).await;
    let d = start(&dir.path().join("data"));
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add", "Night lab"]);
    let lead = id(&d.json(&["holder", "add", "Lee Lead", "--tz", "UTC"]));
    d.json(&["team", "add-lead", "Day lab", &lead]);
    d.json(&["--holder", &lead, "notify", "add", "webhook", &own.url]);
    let ana = member(&d, "Ana Ruiz", "Day lab");
    let ola = member(&d, "Ola Other", "Night lab");
    let lead_token = token(&d, &["--role", "supervisor", "--holder", &lead]);
    let ana_token = token(&d, &["--role", "holder", "--holder", &ana]);
    let ola_token = token(&d, &["--role", "holder", "--holder", &ola]);
    let mut channels = Vec::new();
    for url in [&first.url, &second.url] {
        let added = d.json_as(
            &lead_token,
            &["notify", "add", "webhook", url, "--team", "Day lab"],
        );
        channels.push(added["id"].clone());
    }

    let report = d.json_as(&lead_token, &["alerts", "test", "--team", "Day lab"]);
    let deliveries = report["deliveries"].as_array().unwrap();
    let ids: Vec<Value> = deliveries.iter().map(|x| x["channel_id"].clone()).collect();
    assert_eq!(ids, channels, "{report:#}");
    assert!(
        deliveries.iter().all(|x| x["status"] == "delivered"),
        "{report:#}"
    );
    for hook in [&mut first, &mut second] {
        let request = tokio::time::timeout(Duration::from_secs(30), hook.requests.recv())
            .await
            .expect("a test delivery")
            .unwrap();
        assert_eq!(request.header("x-recert-event"), Some("test"));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["test"], true, "{body:#}");
        assert_eq!(body["subject"], "test");
        assert_eq!(body["team_id"], "tm1");
        assert_eq!(body["holder_id"], "");
        assert!(
            body["idempotency_key"]
                .as_str()
                .unwrap()
                .starts_with("test/tm1/"),
            "{body:#}"
        );
        assert!(
            body["title"].as_str().unwrap().contains("Day lab"),
            "{body:#}"
        );
    }
    assert!(own.requests.try_recv().is_err(), "the lead's own channel");

    // An admin may too; within a minute each channel is not sent to again, as for a holder.
    let out = d.cli(&["alerts", "test", "--team", "tm1"]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.matches("not sent:").count(), 2, "{table}");
    let out = d.cli(&["alerts", "test", "--team", "Night lab"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Team Night lab has no alert channels"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = d.cli_as(Some(&ana_token), &["alerts", "test", "--team", "Day lab"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("supervisor token of one of its leads"),
        "{err}"
    );

    // The codes: a member PERMISSION_DENIED, an outsider NOT_FOUND, both fields at once
    // INVALID_ARGUMENT naming holder_id.
    let request = |holder: &str, team: &str| pb::SendTestAlertRequest {
        holder_id: holder.into(),
        team: team.into(),
    };
    for (token, holder, code) in [
        (&ana_token, "", tonic::Code::PermissionDenied),
        (&ola_token, "", tonic::Code::NotFound),
        (&lead_token, lead.as_str(), tonic::Code::InvalidArgument),
    ] {
        let channel = recert_tests::connect_as(&d.url, Some(token)).await;
        let status = AlertServiceClient::new(channel)
            .send_test_alert(request(holder, "Day lab"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        if code == tonic::Code::InvalidArgument {
            assert!(status.message().contains("holder_id"), "{status:?}");
        }
    }
}
