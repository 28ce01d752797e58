//! The dashboard in a real browser: the controller (`swarmkeeper run`)
//! converges the example on the lab and serves its page at `/`; headless
//! Chromium (Debian's, off the network) shows the nodes, the services and
//! the sync status, follows a scale-up without a reload (server-sent
//! events), and logs no console error. The screenshot is kept in
//! `$CARGO_TARGET_DIR/test-artifacts/dashboard.png`.

mod common;

use std::process::{Child, Command, Stdio};

use common::webdriver::{Browser, artifacts};
use common::{DesiredDir, eventually, free_port, repo_root, reset, status};

/// A swarmkeeper process of the test: on drop it is stopped as a user
/// stops it (SIGTERM: the controller releases its lease, so the next test's
/// `reconcile` is not refused), killed only if it does not stop in time.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..60 {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_dashboard_shows_the_platform_and_follows_a_scale_up_without_a_reload() {
    let _serial = common::serial();
    let lab = common::lab("the_dashboard_shows_the_platform_and_follows_a_scale_up_without_a_reload");
    reset(&lab, &[]);
    // The example's instances stay moto records (the lab swarm is adopted).
    common::moto_only(&lab, &["cloud"]);
    common::ensure_example_aws(&lab);
    let dir = DesiredDir::new("dashboard-example");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(repo_root().join("manifests/examples/nextcloud/."))
        .arg(&dir.path)
        .status()
        .expect("cp");
    assert!(copied.success());
    // The lab's own image for both services (no registry outside the lab).
    let image = common::registry_image(&lab, "web:1");
    let port = free_port();
    let controller = Controller(
        Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
            .args([
                "run",
                "--adopt-swarm",
                &dir.arg(),
                "--resync",
                "2s",
                "--lease-ttl",
                "6s",
            ])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .envs(&lab)
            .env("NEXTCLOUD_IMAGE", &image)
            .env("POSTGRES_IMAGE", &image)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start swarmkeeper run"),
    );
    eventually(120, "the controller to apply the example", || {
        status(port).filter(|s| s["applied_revision"].is_string() && s["last_cycle"].is_object())
    });

    let browser = Browser::start();
    browser.open(&format!("http://127.0.0.1:{port}/"));
    let node = common::docker(&lab, &["node", "ls", "--format", "{{.Hostname}}"]);
    let hostname = node.stdout.lines().next().expect("a lab node").trim().to_owned();
    let shown = eventually(60, "the page to show the platform", || {
        let text = browser.text();
        (text.contains(&hostname) && text.contains("nextcloud_app") && text.contains("nextcloud_db")).then_some(text)
    });
    assert!(shown.contains("Stacks") && shown.contains("Platform"), "{shown}");
    assert!(
        ["Synced", "OutOfSync"].iter().any(|s| shown.contains(s)),
        "no sync status on the page: {shown}"
    );
    assert!(shown.contains("cloud.example.com"), "the routes: {shown}");
    assert!(shown.contains("Recent cycles") && shown.contains("History"), "{shown}");

    // A mark in the page: a reload would lose it.
    browser.run("window.__kept = 42; return null;");
    // Scale app (its volume is shared, so it may run more than one task).
    let compose = dir.path.join("stacks/nextcloud.yml");
    let text = std::fs::read_to_string(&compose).expect("read the compose file");
    assert!(text.contains("  app:\n"), "the example has no app service");
    dir.write("stacks/nextcloud.yml", &text.replacen("replicas: 1", "replicas: 2", 1));
    // The lab swarm has no worker for app's placement: its tasks wait, so
    // the page is asked for the tasks wanted.
    let tasks = eventually(90, "the page to show app scaled to 2", || {
        let cell = browser.run(
            "var c = document.querySelector('[data-service=\"nextcloud_app\"] .tasks'); return c ? c.innerText : '';",
        );
        let cell = cell.as_str().unwrap_or_default().to_owned();
        cell.split_whitespace()
            .next()
            .is_some_and(|t| t.ends_with("/2"))
            .then_some(cell)
    });
    assert!(tasks.contains("replicated"), "{tasks}");
    assert_eq!(
        browser.run("return window.__kept;"),
        serde_json::json!(42),
        "the page was reloaded"
    );
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.screenshot(&artifacts().join("dashboard.png"));

    drop(browser);
    // Stopped first: a controller still resyncing would put back what the
    // reset removes.
    drop(controller);
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn swarmkeeper_dashboard_serves_the_page_of_a_directory_from_a_laptop_and_changes_nothing() {
    let _serial = common::serial();
    let lab = common::lab("swarmkeeper_dashboard_serves_the_page_of_a_directory_from_a_laptop_and_changes_nothing");
    reset(&lab, &[]);
    let dir = DesiredDir::new("dashboard-local");
    dir.stacks(&[("shop", &common::web_compose(1))]);
    // --force: the lease of an earlier test's controller may not have
    // expired yet; this apply is the test's set-up.
    let applied = common::swarmkeeper(&lab, &["reconcile", &dir.arg(), "--force"]);
    assert_eq!(applied.code, Some(0), "{applied:?}");
    // A change the dashboard shows as pending, and must not apply.
    dir.stacks(&[("shop", &common::web_compose(2))]);
    let port = free_port();
    let _dashboard = Controller(
        Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
            .args(["dashboard", &dir.arg(), "--interval", "1s"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .envs(&lab)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start swarmkeeper dashboard"),
    );
    let page = eventually(60, "the local dashboard's page", || {
        common::get(port, "/").filter(|p| p.contains("shop_web"))
    });
    assert!(page.contains("OutOfSync"), "{page}");
    assert!(page.contains("changes pending"), "{page}");
    assert!(
        page.contains("Pending plan") && page.contains("swarmkeeper-lab/web:2"),
        "{page}"
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        common::service_image(&lab, "shop_web"),
        "swarmkeeper-lab/web:1",
        "the dashboard changed the service"
    );
    reset(&lab, &[]);
}
