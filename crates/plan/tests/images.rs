//! Image pinning (`swarmkeeper_plan::images`): which tags are looked up,
//! what each service is sent with, and what the plan says — table-driven
//! over the policy, what the service runs now and what the registry said.

mod support;

use support::load_files;
use swarmkeeper_plan::images::{self, Lookup, Lookups};
use swarmkeeper_plan::{ObservedSwarm, PlanOptions, desired_swarm, diff, simulate};

const ROOT: &str = "version: 1\nstacks:\n  s:\n    compose: s.yml\n";
const AAA: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BBB: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn compose(image: &str, policy: &str) -> String {
    let policy = if policy.is_empty() {
        String::new()
    } else {
        format!("    x-swarmkeeper-image: {policy}\n")
    };
    format!("services:\n  app:\n    image: {image}\n{policy}")
}

fn desired(image: &str, policy: &str) -> swarmkeeper_plan::DesiredSwarm {
    desired_swarm(
        &load_files(&[("swarmkeeper.yaml", ROOT), ("s.yml", &compose(image, policy))]),
        &support::key(),
    )
}

/// The swarm after the desired state was applied, its service running
/// `running` (a tag, or tag@digest).
fn deployed(image: &str, policy: &str, running: &str) -> ObservedSwarm {
    let d = desired(image, policy);
    let mut swarm = ObservedSwarm::default();
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    simulate::apply(&plan, &mut swarm);
    for s in &mut swarm.services {
        s.spec.task.container.image = running.to_owned();
    }
    swarm
}

fn found(image: &str, lookup: Lookup) -> Lookups {
    Lookups::from([(image.to_owned(), lookup)])
}

#[test]
fn which_tags_are_looked_up() {
    let none = ObservedSwarm::default();
    let image = "reg.example:5000/app:1";
    let digested = format!("{image}@{AAA}");
    let running = deployed(image, "", &digested);
    let followed = deployed(image, "{follow: true}", &digested);
    let table: [(&str, &str, &ObservedSwarm, bool, &str); 7] = [
        (image, "", &none, true, "a new service"),
        ("reg.example:5000/app:2", "", &running, true, "the image changed"),
        (image, "", &running, false, "unchanged: never re-resolved"),
        (image, "{follow: true}", &followed, true, "followed: every plan"),
        (image, "{resolve: never}", &none, false, "resolve: never"),
        (&digested, "", &none, false, "written with a digest"),
        ("app", "", &none, true, "untagged: looked up as app:latest"),
    ];
    for (image, policy, observed, looked_up, why) in table {
        let got = images::lookups(&desired(image, policy), observed);
        assert_eq!(!got.is_empty(), looked_up, "{why}: {got:?}");
    }
    let got = images::lookups(&desired("app", ""), &none);
    assert_eq!(got.into_iter().collect::<Vec<_>>(), vec!["app:latest".to_owned()]);
}

#[test]
fn a_new_service_is_pinned_to_the_digest_its_tag_names() {
    let image = "reg.example:5000/app:1";
    let mut d = desired(image, "");
    let pinned = images::pin(
        &mut d,
        &ObservedSwarm::default(),
        &found(image, Lookup::Digest(AAA.into())),
    )
    .expect("pins");
    assert!(pinned.warnings.is_empty() && pinned.moved.is_empty(), "{pinned:?}");
    assert_eq!(d.services["s_app"].task.container.image, format!("{image}@{AAA}"));
    // The stack label keeps the image as written, as docker's does.
    assert_eq!(d.services["s_app"].labels["com.docker.stack.image"], image);
}

#[test]
fn an_unchanged_image_keeps_what_runs_so_a_resync_writes_nothing() {
    let image = "reg.example:5000/app:1";
    for running in [format!("{image}@{AAA}"), image.to_owned()] {
        let observed = deployed(image, "", &running);
        let mut d = desired(image, "");
        // Even with the tag moved in the registry: nothing was looked up.
        let pinned = images::pin(&mut d, &observed, &found(image, Lookup::Digest(BBB.into()))).expect("pins");
        assert!(pinned.moved.is_empty());
        assert_eq!(d.services["s_app"].task.container.image, running);
        let plan = diff(&d, &observed, &PlanOptions::default()).expect("plan");
        assert!(plan.steps.is_empty(), "running {running}: {:?}", plan.steps);
    }
}

#[test]
fn a_followed_tag_that_moved_rolls_the_service_and_the_plan_says_so() {
    let image = "reg.example:5000/app:1";
    let observed = deployed(image, "{follow: true}", &format!("{image}@{AAA}"));
    let mut d = desired(image, "{follow: true}");
    let pinned = images::pin(&mut d, &observed, &found(image, Lookup::Digest(BBB.into()))).expect("pins");
    assert_eq!(pinned.moved.len(), 1);
    let mut plan = diff(&d, &observed, &PlanOptions::default()).expect("plan");
    images::annotate(&mut plan, &pinned);
    let [step] = plan.steps.as_slice() else {
        panic!("one update: {:?}", plan.steps)
    };
    let swarmkeeper_plan::action::Action::UpdateService { changes, notes, .. } = &step.action else {
        panic!("an update: {step:?}")
    };
    let fields: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(fields, vec!["task.container.image"], "only the image: {changes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("the tag moved from sha256:aaaaaaaaaaaa to sha256:bbbbbbbbbbbb")),
        "{notes:?}"
    );
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(
        text.contains(&format!("{image}@{AAA}")) && text.contains(&format!("{image}@{BBB}")),
        "{text}"
    );

    // Not moved: nothing to do.
    let mut d = desired(image, "{follow: true}");
    let pinned = images::pin(&mut d, &observed, &found(image, Lookup::Digest(AAA.into()))).expect("pins");
    assert!(pinned.moved.is_empty());
    assert!(
        diff(&d, &observed, &PlanOptions::default())
            .expect("plan")
            .steps
            .is_empty()
    );
}

#[test]
fn an_unreachable_registry_warns_and_blocks_nothing() {
    let image = "reg.example:5000/app:1";
    let down = Lookup::Unreachable("connection refused".into());
    // New: the tag, with a warning saying what that means.
    let mut d = desired(image, "");
    let pinned = images::pin(&mut d, &ObservedSwarm::default(), &found(image, down.clone())).expect("no error");
    assert_eq!(d.services["s_app"].task.container.image, image);
    assert!(
        pinned.warnings[0].contains("each node pulls the tag itself"),
        "{:?}",
        pinned.warnings
    );
    // Followed and running: keeps its image.
    let running = format!("{image}@{AAA}");
    let observed = deployed(image, "{follow: true}", &running);
    let mut d = desired(image, "{follow: true}");
    let pinned = images::pin(&mut d, &observed, &found(image, down)).expect("no error");
    assert_eq!(d.services["s_app"].task.container.image, running);
    assert!(
        pinned.warnings[0].contains(&format!("keeps `{running}`")),
        "{:?}",
        pinned.warnings
    );
    assert!(
        diff(&d, &observed, &PlanOptions::default())
            .expect("plan")
            .steps
            .is_empty()
    );
}

#[test]
fn refused_credentials_or_a_missing_tag_are_errors_naming_the_registry() {
    let image = "reg.example:5000/app:1";
    for (lookup, says) in [
        (
            Lookup::Denied("unauthorized: authentication required".into()),
            "refused access",
        ),
        (Lookup::NotFound("manifest unknown".into()), "has no image"),
    ] {
        let mut d = desired(image, "");
        let errors = images::pin(&mut d, &ObservedSwarm::default(), &found(image, lookup)).expect_err("an error");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("registry reg.example:5000") && errors[0].contains(says),
            "{errors:?}"
        );
    }
}

#[test]
fn resolve_never_and_digests_are_sent_as_written() {
    let mut d = desired("reg.example:5000/app:1", "{resolve: never}");
    images::pin(&mut d, &ObservedSwarm::default(), &Lookups::new()).expect("pins");
    assert_eq!(d.services["s_app"].task.container.image, "reg.example:5000/app:1");
    let written = format!("reg.example:5000/app:1@{AAA}");
    let mut d = desired(&written, "");
    images::pin(&mut d, &ObservedSwarm::default(), &Lookups::new()).expect("pins");
    assert_eq!(d.services["s_app"].task.container.image, written);
}

#[test]
fn registries_of_images() {
    for (image, registry) in [
        ("consul", "docker.io"),
        ("prom/prometheus:v2", "docker.io"),
        ("ghcr.io/org/app:1", "ghcr.io"),
        ("10.213.0.1:45125/lab/web:1", "10.213.0.1:45125"),
        ("localhost/app", "localhost"),
    ] {
        assert_eq!(images::registry_of(image), registry, "{image}");
    }
}

#[test]
fn short_digests() {
    assert_eq!(images::short_digest(AAA), "sha256:aaaaaaaaaaaa");
    assert_eq!(images::short_digest("sha256:abc"), "sha256:abc");
}

fn at(now_unix: u64) -> PlanOptions {
    PlanOptions {
        nodes: swarmkeeper_plan::nodes::NodeContext {
            now_unix,
            local_node: None,
        },
        ..PlanOptions::default()
    }
}

const SENT: &str = "io.swarmkeeper.credentials-sent";

#[test]
fn expiring_pull_credentials_are_renewed_on_the_service_before_they_expire() {
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1";
    let ecr = || {
        let mut d = desired(image, "{resolve: never}");
        d.expiring_credentials
            .insert("123456789012.dkr.ecr.eu-west-1.amazonaws.com".into());
        d
    };
    let start = 1_800_000_000;
    // Created: the time its credentials were sent is recorded.
    let mut swarm = ObservedSwarm::default();
    let plan = diff(&ecr(), &swarm, &at(start)).expect("plan");
    simulate::apply(&plan, &mut swarm);
    assert_eq!(swarm.services[0].spec.labels[SENT], start.to_string());

    // Unchanged and recent: nothing to do, at any time before renewal is due.
    let due = images::CREDENTIALS_RENEW_AFTER_SECS;
    for later in [0, 60, due - 1] {
        let plan = diff(&ecr(), &swarm, &at(start + later)).expect("plan");
        assert!(plan.steps.is_empty(), "{later} s later: {:?}", plan.steps);
    }
    // Due: one update that changes no field, only sends fresh credentials.
    let plan = diff(&ecr(), &swarm, &at(start + due)).expect("plan");
    let [step] = plan.steps.as_slice() else {
        panic!("one renewal: {:?}", plan.steps)
    };
    let swarmkeeper_plan::action::Action::UpdateService { changes, spec, .. } = &step.action else {
        panic!("an update: {step:?}")
    };
    assert!(changes.is_empty(), "{changes:?}");
    assert!(step.reason.contains("renew the pull credentials"), "{}", step.reason);
    assert_eq!(spec.labels[SENT], (start + due).to_string());
    simulate::apply(&plan, &mut swarm);
    assert!(
        diff(&ecr(), &swarm, &at(start + due + 1))
            .expect("plan")
            .steps
            .is_empty()
    );

    // A registry whose credentials do not expire is never renewed.
    let plain = desired(image, "{resolve: never}");
    assert!(
        diff(&plain, &swarm, &at(start + 10 * due))
            .expect("plan")
            .steps
            .is_empty()
    );
}

#[test]
fn renewal_is_due_by_age_and_for_unreadable_or_future_stamps() {
    let now = 1_800_000_000u64;
    let due = images::CREDENTIALS_RENEW_AFTER_SECS;
    for (sent, renew) in [
        (None, true),
        (Some("garbage".to_owned()), true),
        (Some(now.to_string()), false),
        (Some((now - due + 1).to_string()), false),
        (Some((now - due).to_string()), true),
        (Some((now + 3600).to_string()), true),
    ] {
        assert_eq!(images::credentials_due(sent.as_deref(), now), renew, "{sent:?}");
    }
}
