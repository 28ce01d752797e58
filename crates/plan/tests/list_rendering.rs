//! A text plan shows what differs in a list element by element: the one
//! changed mount with its changed field, an added or removed element on a
//! line of its own, never a list cut with `…` where the two sides differ.

mod support;

use support::load_files;
use swarmkeeper_plan::simulate::apply;
use swarmkeeper_plan::{DesiredSwarm, ObservedSwarm, PlanOptions, desired_swarm, diff};

fn state(compose: &str) -> DesiredSwarm {
    desired_swarm(
        &load_files(&[
            ("swarmkeeper.yaml", "version: 1\nstacks:\n  s:\n    compose: s.yml\n"),
            ("s.yml", compose),
        ]),
        &support::key(),
    )
}

/// The text plan of going from `before` (applied) to `after`.
fn plan_text(before: &str, after: &str) -> String {
    let mut swarm = ObservedSwarm::default();
    let plan = diff(&state(before), &swarm, &PlanOptions::default()).expect("plan");
    apply(&plan, &mut swarm);
    let plan = diff(&state(after), &swarm, &PlanOptions::default()).expect("plan");
    swarmkeeper_plan::render::text(&plan, false, false)
}

fn app(volumes: &[&str]) -> String {
    let long = "x".repeat(150);
    let mut compose =
        format!("services:\n  app:\n    image: app:1\n    command: [\"run\", \"--flag={long}\"]\n    volumes:\n");
    for v in volumes {
        compose.push_str(&format!("      - {v}\n"));
    }
    compose
}

#[test]
fn a_changed_mount_is_shown_by_its_target_with_the_field_that_changed() {
    let text = plan_text(
        &app(&["/srv/a:/a", "/srv/b:/b", "/srv/c:/c", "/srv/d:/d"]),
        &app(&["/srv/a:/a", "/srv/b:/b", "/srv/c2:/c", "/srv/d:/d"]),
    );
    assert!(
        text.contains(r#"~ task.container.mounts[2] (target=/c): source: "/srv/c" → "/srv/c2""#),
        "{text}"
    );
    assert!(!text.contains('…'), "{text}");
}

#[test]
fn added_and_removed_mounts_have_lines_of_their_own() {
    let text = plan_text(&app(&["/srv/a:/a", "/srv/b:/b"]), &app(&["/srv/a:/a", "/srv/n:/n"]));
    // The one element left on each side is one changed element.
    assert!(
        text.contains(r#"~ task.container.mounts[1] (target=/n): source: "/srv/b" → "/srv/n""#),
        "{text}"
    );
    let text = plan_text(&app(&["/srv/a:/a"]), &app(&["/srv/a:/a", "/srv/n:/n:ro"]));
    assert!(
        text.contains(
            r#"+ task.container.mounts[1]: {"kind":"bind","read_only":true,"source":"/srv/n","target":"/n"}"#
        ),
        "{text}"
    );
    let text = plan_text(&app(&["/srv/a:/a", "/srv/n:/n"]), &app(&["/srv/a:/a"]));
    assert!(text.contains("- task.container.mounts[1]: {"), "{text}");
}

#[test]
fn a_long_value_is_elided_away_from_where_it_differs() {
    let before = app(&["/srv/a:/a"]);
    let after = before.replace("--flag=xxx", "--flag=yxx");
    let text = plan_text(&before, &after);
    let line = text
        .lines()
        .find(|l| l.contains("task.container.args"))
        .unwrap_or_else(|| panic!("an args line in {text}"));
    assert!(line.contains("=xxx") && line.contains("=yxx"), "{line}");
    assert!(line.contains('…'), "cut, and cut elsewhere: {line}");
    assert!(line.chars().count() < 200, "{line}");
}
