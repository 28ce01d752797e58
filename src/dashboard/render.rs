//! The dashboard page as HTML, from the controller's status and the last
//! snapshot of the platform. Pure and self-contained: one document with
//! its style and a few lines of script inline (no asset from anywhere),
//! every value escaped, nothing shown that `/status` or a plan would not
//! show (the plan text is the redacted one). Without JavaScript the page
//! refreshes itself; with it, `/events` replaces `<main>` as things change.

use std::fmt::Write;

use swarmkeeper_plan::dashboard::{Dashboard, NodeView, StackView};

use super::Snapshot;
use crate::controller::status::Status;

/// How often the page without JavaScript reloads, in seconds.
pub const REFRESH_SECS: u64 = 10;

/// `text` safe in HTML text and attribute values.
pub fn escape(text: &str) -> String {
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
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --card: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0;
  --line: #30363d; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --card: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header, main { padding: 12px 16px; max-width: 1200px; margin: auto; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0 0 6px; } h2 { font-size: 15px; margin: 18px 0 8px; }
.muted { color: var(--muted); } code, pre { font: 12px/1.4 ui-monospace, monospace; }
pre { background: var(--card); border: 1px solid var(--line); padding: 8px; overflow-x: auto; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; border: 1px solid currentColor; margin-right: 6px; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.zones { display: flex; flex-wrap: wrap; gap: 12px; }
.zone { border: 1px dashed var(--line); padding: 8px; flex: 1 1 320px; }
.nodes { display: flex; flex-wrap: wrap; gap: 8px; }
.node { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; flex: 1 1 150px; min-width: 0; }
.node ul { margin: 4px 0 0; padding-left: 16px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
.scroll { overflow-x: auto; }
"#;

/// The script: `/events` sends the new `<main>` as it changes. On error the
/// browser's EventSource reconnects by itself.
const SCRIPT: &str = r#"
(function () {
  if (!window.EventSource) return;
  var events = new EventSource("events");
  events.addEventListener("page", function (e) {
    var main = document.getElementById("live");
    if (main) main.innerHTML = e.data;
  });
})();
"#;

/// The whole document.
pub fn page(status: &Status, snapshot: Option<&Snapshot>) -> String {
    let title = snapshot.map_or("swarmkeeper", |s| s.origin.as_str());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — swarmkeeper</title>\n\
         <noscript><meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\"></noscript>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>{}</h1><div class=\"muted\">swarmkeeper dashboard · read-only · {}</div></header>\n\
         <main id=\"live\">{}</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title),
        escape(title),
        escape(status.source.as_deref().unwrap_or("")),
        main(status, snapshot)
    )
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge {class}\">{}</span>", escape(text))
}

/// What `<main>` holds: the part that changes.
pub fn main(status: &Status, snapshot: Option<&Snapshot>) -> String {
    let mut out = String::new();
    summary(&mut out, status, snapshot);
    match snapshot {
        None => out.push_str("<p class=\"muted\">Nothing observed yet: the first cycle has not finished.</p>"),
        Some(snapshot) => {
            platform(&mut out, &snapshot.view);
            stacks(&mut out, &snapshot.view.stacks);
            volumes(&mut out, &snapshot.view);
            pending(&mut out, snapshot);
            history(&mut out, &snapshot.history);
        }
    }
    cycles(&mut out, &status.recent_cycles);
    out
}

fn cycles(out: &mut String, cycles: &[crate::controller::status::RecentCycle]) {
    if cycles.is_empty() {
        return;
    }
    out.push_str("<section id=\"cycles\"><h2>Recent cycles</h2><div class=\"scroll\"><table><tr><th>when</th><th>trigger</th><th>outcome</th></tr>");
    for c in cycles.iter().rev() {
        let outcome = match &c.error {
            Some(e) => format!("<span class=\"bad\">failed: {}</span>", escape(e)),
            None => format!(
                "<span class=\"ok\">ok</span> · {} added, {} changed, {} removed",
                c.applied[0], c.applied[1], c.applied[2]
            ),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{outcome}</td></tr>",
            ago(c.at_unix),
            escape(&c.trigger)
        );
    }
    out.push_str("</table></div></section>");
}

fn history(out: &mut String, history: &[swarmkeeper_plan::control::Applied]) {
    if history.is_empty() {
        return;
    }
    out.push_str("<section id=\"history\"><h2>History</h2><div class=\"scroll\"><table><tr><th>revision</th><th>when</th><th>outcome</th><th>changes</th></tr>");
    for a in history.iter().rev() {
        let (class, outcome) = match a.outcome {
            swarmkeeper_plan::control::Outcome::Applied => ("ok", "applied"),
            swarmkeeper_plan::control::Outcome::Failed => ("bad", "failed"),
        };
        let _ = write!(
            out,
            "<tr><td><code>{}</code>{}</td><td>{}</td><td class=\"{class}\">{outcome}</td><td>{} added, {} changed, {} removed</td></tr>",
            escape(a.revision.get(..12).unwrap_or(&a.revision)),
            if a.pinned { " (pinned)" } else { "" },
            ago(a.at_unix),
            a.counts[0],
            a.counts[1],
            a.counts[2]
        );
    }
    out.push_str("</table></div></section>");
}

fn summary(out: &mut String, status: &Status, snapshot: Option<&Snapshot>) {
    let sync = status.sync_status.to_string();
    let sync_class = match sync.as_str() {
        "Synced" => "ok",
        "Suspended" => "warn",
        _ => "bad",
    };
    let health = status.health_status.to_string();
    let health_class = if health == "Healthy" { "ok" } else { "bad" };
    let _ = write!(
        out,
        "<section id=\"summary\"><p>{}{}",
        badge(sync_class, &sync),
        badge(health_class, &health)
    );
    if let Some(view) = snapshot.map(|s| &s.view) {
        let (reachable, managers) = view.managers;
        let class = if view.quorum { "ok" } else { "bad" };
        out.push_str(&badge(class, &format!("quorum {reachable}/{managers} managers")));
    }
    let _ = write!(
        out,
        "revision <code>{}</code>",
        escape(status.applied_revision.as_deref().unwrap_or("(none)"))
    );
    if let Some(s) = snapshot {
        let _ = write!(out, " <span class=\"muted\">· observed {}</span>", ago(s.at_unix));
    }
    out.push_str("</p>");
    if let Some(pin) = &status.pinned {
        let _ = write!(
            out,
            "<p class=\"warn\">Pinned to <code>{}</code> by {}: the branch is not followed until <code>swarmkeeper unpin</code>.</p>",
            escape(&pin.revision),
            escape(&pin.mark.by)
        );
    }
    if let Some(suspended) = &status.suspended {
        let _ = write!(
            out,
            "<p class=\"warn\">Suspended: {}; changes are observed and held.</p>",
            escape(&suspended.describe())
        );
    }
    if let Some(cycle) = &status.last_cycle {
        let _ = write!(
            out,
            "<p>Last cycle: {} ({}), {} added, {} changed, {} removed.</p>",
            escape(&cycle.trigger),
            ago(cycle.at_unix),
            cycle.applied[0],
            cycle.applied[1],
            cycle.applied[2]
        );
    }
    if let Some(error) = &status.last_error {
        let _ = write!(out, "<p class=\"bad\">Last error: {}</p>", escape(error));
    }
    for e in &status.validation_errors {
        let _ = write!(out, "<p class=\"bad\">Invalid: {}</p>", escape(e));
    }
    if !status.unhealthy_services.is_empty() {
        let _ = write!(
            out,
            "<p class=\"bad\">Short of running tasks: {}</p>",
            escape(&status.unhealthy_services.join(", "))
        );
    }
    if let Some(nodes) = &status.nodes {
        for p in &nodes.problems {
            let _ = write!(out, "<p class=\"warn\">Node: {}</p>", escape(p));
        }
        for p in &nodes.progress {
            let _ = write!(out, "<p>In progress: {}</p>", escape(p));
        }
    }
    if let Some(m) = &status.maintenance {
        let _ = write!(out, "<p>Scheduled prune: {}", escape(m.state));
        if let Some(run) = &m.last_run {
            let _ = write!(out, "; last run: {}", escape(&run.summary()));
        }
        if let Some(p) = &m.problem {
            let _ = write!(out, " — {}", escape(p));
        }
        out.push_str("</p>");
    }
    out.push_str("</section>");
}

fn platform(out: &mut String, view: &Dashboard) {
    out.push_str("<section id=\"platform\"><h2>Platform</h2>");
    if let Some(entry) = &view.entry {
        let _ = write!(
            out,
            "<p>Entry: {} <code>{}</code></p>",
            escape(&entry.kind.replace('_', " ")),
            escape(entry.name.as_deref().unwrap_or("(not created yet)"))
        );
        if !entry.routes.is_empty() {
            out.push_str(
                "<div class=\"scroll\"><table><tr><th>host</th><th>path</th><th>service</th><th>port</th></tr>",
            );
            for r in &entry.routes {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    escape(&r.host),
                    escape(&r.path),
                    escape(&r.service),
                    r.port
                );
            }
            out.push_str("</table></div>");
        }
    }
    out.push_str("<div class=\"zones\">");
    for zone in &view.zones {
        let _ = write!(
            out,
            "<div class=\"zone\"><div class=\"muted\">{}</div><div class=\"nodes\">",
            escape(&zone.name)
        );
        for node in &zone.nodes {
            node_card(out, node);
        }
        out.push_str("</div></div>");
    }
    out.push_str("</div>");
    if !view.unplaced.is_empty() {
        let mut counts: std::collections::BTreeMap<(&str, &str), usize> = std::collections::BTreeMap::new();
        for t in &view.unplaced {
            *counts.entry((t.service.as_str(), t.state.as_str())).or_default() += 1;
        }
        out.push_str("<p class=\"warn\">Waiting for a node: ");
        let list: Vec<String> = counts
            .iter()
            .map(|((service, state), n)| format!("{} ×{n} ({})", escape(service), escape(state)))
            .collect();
        out.push_str(&list.join(", "));
        out.push_str("</p>");
    }
    out.push_str("</section>");
}

fn node_card(out: &mut String, node: &NodeView) {
    let class = if node.state == "ready" && node.availability == "active" {
        "ok"
    } else {
        "bad"
    };
    let _ = write!(
        out,
        "<div class=\"node\" data-node=\"{}\"><strong>{}</strong>{}<br><span class=\"{class}\">{}</span> · {} · {}",
        escape(&node.id),
        escape(&node.hostname),
        if node.leader { " ★ leader" } else { "" },
        escape(&node.state),
        escape(&node.availability),
        escape(&node.role),
    );
    if let Some(pool) = &node.pool {
        let _ = write!(out, " · {}", escape(pool));
    }
    if let Some(t) = &node.instance_type {
        let _ = write!(out, "<br><span class=\"muted\">{}</span>", escape(t));
    }
    if let Some(i) = &node.instance {
        let _ = write!(out, " <span class=\"muted\">{}</span>", escape(i));
    }
    if !node.tasks.is_empty() {
        out.push_str("<ul>");
        for t in &node.tasks {
            let class = if t.running { "ok" } else { "warn" };
            let _ = write!(
                out,
                "<li>{} <span class=\"{class}\">{}</span></li>",
                escape(&t.service),
                escape(&t.state)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
}

fn stacks(out: &mut String, stacks: &[StackView]) {
    out.push_str("<section id=\"stacks\"><h2>Stacks</h2>");
    if stacks.is_empty() {
        out.push_str("<p class=\"muted\">No stack is deployed.</p>");
    }
    for stack in stacks {
        let _ = write!(
            out,
            "<h3>{}</h3><div class=\"scroll\"><table><tr><th>service</th><th>image</th><th>tasks</th><th>health</th><th>revision</th><th>plan</th></tr>",
            escape(&stack.name)
        );
        for s in &stack.services {
            let (class, health) = if s.healthy {
                ("ok", "healthy")
            } else {
                ("bad", "degraded")
            };
            let _ = write!(
                out,
                "<tr data-service=\"{}\"><td>{}</td><td><code>{}</code>{}</td><td class=\"tasks\">{}/{} <span class=\"muted\">{}</span></td>\
                 <td class=\"{class}\">{health}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&s.name),
                escape(&s.name),
                escape(&s.image),
                s.digest
                    .as_deref()
                    .map(|d| format!(" <span class=\"muted\">@{}</span>", escape(d)))
                    .unwrap_or_default(),
                s.running,
                s.wanted,
                s.mode,
                escape(s.revision.as_deref().map_or("", |r| r.get(..12).unwrap_or(r))),
                if s.pending {
                    "<span class=\"warn\">changes pending</span>"
                } else {
                    ""
                }
            );
        }
        out.push_str("</table></div>");
    }
    out.push_str("</section>");
}

fn volumes(out: &mut String, view: &Dashboard) {
    if view.volumes.is_empty() {
        return;
    }
    out.push_str("<section id=\"volumes\"><h2>Volumes</h2><div class=\"scroll\"><table><tr><th>volume</th><th>type</th><th>resource</th><th>used by</th></tr>");
    for v in &view.volumes {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&v.name),
            v.kind,
            escape(v.resource.as_deref().unwrap_or("(not created yet)")),
            escape(&v.used_by.join(", "))
        );
    }
    out.push_str("</table></div></section>");
}

fn pending(out: &mut String, snapshot: &Snapshot) {
    out.push_str("<section id=\"plan\"><h2>Pending plan</h2>");
    match &snapshot.plan_text {
        None => out.push_str("<p class=\"ok\">Nothing to do: the platform matches the desired state.</p>"),
        Some(text) => {
            let _ = write!(out, "<pre>{}</pre>", escape(text));
        }
    }
    out.push_str("</section>");
}

fn ago(at_unix: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = now.saturating_sub(at_unix);
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        _ => format!("{}h ago", secs / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn a_snapshot_shows_nodes_services_and_the_pending_plan_escaped() {
        use swarmkeeper_plan::dashboard::{NodeView, ServiceView, StackView, TaskView, ZoneView};
        let view = Dashboard {
            zones: vec![ZoneView {
                name: "eu-west-1a".into(),
                nodes: vec![NodeView {
                    hostname: "ip-10-0-0-5".into(),
                    id: "abc".into(),
                    pool: Some("workers".into()),
                    role: "worker".into(),
                    state: "ready".into(),
                    availability: "active".into(),
                    leader: false,
                    instance_type: Some("t3.small".into()),
                    instance: Some("i-1".into()),
                    tasks: vec![TaskView {
                        service: "app_web".into(),
                        state: "running".into(),
                        running: true,
                    }],
                }],
            }],
            stacks: vec![StackView {
                name: "app".into(),
                services: vec![ServiceView {
                    name: "app_<b>".into(),
                    image: "web:1".into(),
                    digest: Some("sha256:aaaaaaaaaaaa".into()),
                    mode: "replicated",
                    running: 1,
                    wanted: 2,
                    healthy: false,
                    revision: Some("0123456789abcdef".into()),
                    pending: true,
                }],
            }],
            managers: (1, 1),
            quorum: true,
            ..Dashboard::default()
        };
        let snapshot = Snapshot {
            origin: "cloud".into(),
            view,
            plan_text: Some("~ service app_<b>".into()),
            at_unix: 0,
            history: vec![],
        };
        let html = main(&Status::default(), Some(&snapshot));
        for want in [
            "ip-10-0-0-5",
            "t3.small",
            "eu-west-1a",
            "app_&lt;b&gt;",
            "data-service=\"app_&lt;b&gt;\"",
            "1/2",
            "degraded",
            "changes pending",
            "0123456789ab<",
            "<pre>~ service app_&lt;b&gt;</pre>",
        ] {
            assert!(html.contains(want), "{want} is not in {html}");
        }
        assert!(!html.contains("app_<b>"), "{html}");
    }

    #[test]
    fn a_page_before_the_first_cycle_says_so_and_loads_nothing_from_anywhere() {
        let status = Status {
            source: Some("/srv/<state>".into()),
            ..Status::default()
        };
        let html = page(&status, None);
        assert!(html.contains("Nothing observed yet"), "{html}");
        assert!(html.contains("/srv/&lt;state&gt;"), "{html}");
        assert!(!html.contains("src=") && !html.contains("href="), "{html}");
        assert!(html.contains("http-equiv=\"refresh\""));
    }
}
