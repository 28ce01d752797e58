//! What `docker stack deploy` makes of compose details real-world stack
//! files use, as measured on the lab (`docker stack deploy --resolve-image
//! never`, then `docker service inspect`): swarmkeeper's desired services
//! carry the same. The lab comparison (tests/compat.rs) checks the specs
//! on a real engine; these pin the conversion.

mod support;

use support::load_files;
use swarmkeeper_plan::desired_swarm;

const ROOT: &str = "version: 1\nstacks:\n  s:\n    compose: s.yml\n";

fn service(compose: &str, name: &str) -> swarmkeeper_plan::spec::ServiceSpec {
    let d = desired_swarm(
        &load_files(&[("swarmkeeper.yaml", ROOT), ("s.yml", compose)]),
        &support::key(),
    );
    d.services
        .get(&format!("s_{name}"))
        .cloned()
        .unwrap_or_else(|| panic!("service s_{name} in {:?}", d.services.keys()))
}

#[test]
fn an_untagged_image_is_sent_with_latest_in_its_familiar_form() {
    let compose = "services:\n  a:\n    image: consul\n  b:\n    image: docker.io/library/busybox\n  c:\n    image: localhost:5000/app\n  d:\n    image: quay.io/prometheus/node-exporter:v1.8.1\n";
    for (name, sent) in [
        ("a", "consul:latest"),
        ("b", "busybox:latest"),
        ("c", "localhost:5000/app:latest"),
        ("d", "quay.io/prometheus/node-exporter:v1.8.1"),
    ] {
        let s = service(compose, name);
        assert_eq!(s.task.container.image, sent, "{name}");
    }
    // The stack label keeps the image as written, as docker's does.
    let a = service(compose, "a");
    assert_eq!(
        a.labels.get("com.docker.stack.image").map(String::as_str),
        Some("consul")
    );
}

#[test]
fn driver_opts_without_a_driver_stay_on_the_mount() {
    // The usual NFS volume of a swarm stack.
    let compose = "services:\n  app:\n    image: app:1\n    volumes: [data:/data]\nvolumes:\n  data:\n    driver_opts:\n      type: nfs\n      o: addr=10.0.0.1,rw\n      device: \":/export\"\n";
    let s = service(compose, "app");
    let mount = s.task.container.mounts.first().expect("a mount");
    assert_eq!(mount.volume_driver, None, "no driver named: the engine's default");
    let options: Vec<(&str, &str)> = mount
        .volume_driver_options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        options,
        vec![("device", ":/export"), ("o", "addr=10.0.0.1,rw"), ("type", "nfs")]
    );
}

#[test]
fn logging_options_without_a_driver_are_the_default_drivers() {
    let compose = "services:\n  app:\n    image: app:1\n    logging:\n      options:\n        max-size: 1m\n        max-file: \"3\"\n  quiet:\n    image: app:1\n    logging: {}\n";
    let s = service(compose, "app");
    let log = s.task.log_driver.expect("a log driver entry");
    assert_eq!(log.name, "", "the engine's default driver");
    assert_eq!(log.options.get("max-size").map(String::as_str), Some("1m"));
    assert_eq!(service(compose, "quiet").task.log_driver, None);
}

#[test]
fn zero_healthcheck_values_are_unset_as_the_engine_reads_them_back() {
    let compose = "services:\n  app:\n    image: app:1\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      retries: 0\n      interval: 0s\n";
    let h = service(compose, "app")
        .task
        .container
        .healthcheck
        .expect("a healthcheck");
    assert_eq!((h.retries, h.interval_ns), (None, None));
}
