//! The AWS side against the lab's moto: from an empty account to the
//! cluster, idempotence, changes, volumes under retain and delete, drift,
//! ownership and crash safety. AWS state is read back with boto3 (the lab's
//! venv), an instrument independent of swarmkeeper's own provider.

mod common;

use std::collections::BTreeMap;

use common::{DesiredDir, boto, reset, reset_moto, swarmkeeper};
use serde_json::Value;

type Lab = BTreeMap<String, String>;

fn cluster(workers: u32, instance_type: &str, volumes: &str) -> String {
    format!(
        "version: 1
cluster:
  name: lab
  region: eu-west-1
  managers:
    count: 1
    instance_type: t3.small
    ami: ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
    root_volume: {{ size_gb: 20, type: gp3 }}
  workers:
    count: {workers}
    instance_type: {instance_type}
    ami: ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
{volumes}logging:
  cloudwatch: {{ group: lab-logs, retention_days: 14 }}
"
    )
}

fn groups(lab: &Lab) -> Value {
    boto(
        lab,
        "c = boto3.client('autoscaling', **kw)\nprint(json.dumps({g['AutoScalingGroupName']: [g['MinSize'], g['DesiredCapacity'], g['MaxSize']] for g in c.describe_auto_scaling_groups()['AutoScalingGroups']}))",
    )
}

fn file_systems(lab: &Lab) -> Value {
    boto(
        lab,
        "c = boto3.client('efs', **kw)\nprint(json.dumps(sorted(f['CreationToken'] for f in c.describe_file_systems()['FileSystems'])))",
    )
}

fn json(run: &common::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("JSON output: {e}\n{run:?}"))
}

fn setup(test: &str) -> Lab {
    let lab = common::lab(test);
    reset(&lab, &[]);
    reset_moto(&lab);
    common::moto_only(&lab, &["lab"]);
    common::ensure_example_aws(&lab);
    lab
}

/// A cluster with a load balancer and the given routes to stack `web`.
fn routed(routes: &str) -> String {
    format!(
        "{}ingress:\n  type: load_balancer\n  certificate: cloud.example.com\nroutes:\n{routes}stacks:\n  web:\n    compose: web.yml\n",
        cluster(1, "t3.small", "")
    )
}

const WEB_STACK: &str = "services:\n  site:\n    image: swarmkeeper-lab/web:1\n    ports:\n      - target: 80\n        published: 18301\n        mode: host\n  api:\n    image: swarmkeeper-lab/web:2\n    ports:\n      - target: 80\n        published: 18302\n        mode: host\n";

fn rules(lab: &Lab) -> Value {
    boto(
        lab,
        "e = boto3.client('elbv2', **kw)\nlb = e.describe_load_balancers(Names=['lab'])['LoadBalancers'][0]['LoadBalancerArn']\nout = {}\nfor l in e.describe_listeners(LoadBalancerArn=lb)['Listeners']:\n    for r in e.describe_rules(ListenerArn=l['ListenerArn'])['Rules']:\n        if r['IsDefault']: continue\n        c = {x['Field']: (x.get('HostHeaderConfig') or x.get('PathPatternConfig') or {}).get('Values', x.get('Values')) for x in r['Conditions']}\n        out[str(l['Port']) + '/' + r['Priority']] = [c.get('host-header'), c.get('path-pattern')]\nprint(json.dumps(out))",
    )
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn empty_account_to_cluster_then_nothing_to_do() {
    let _serial = common::serial();
    let lab = setup("empty_account_to_cluster_then_nothing_to_do");
    let dir = DesiredDir::new("aws-full");
    dir.write(
        "swarmkeeper.yaml",
        &cluster(2, "t3.small", "volumes:\n  shared-data:\n    type: shared\n"),
    );

    // The lab's DOCKER_HOST reaches a swarm the cluster has not recorded:
    // refused (a dry-run too), and nothing is created or published, so no
    // instance could ever join that swarm by mistake.
    for args in [&["reconcile", &dir.arg()][..], &["reconcile", &dir.arg(), "--dry-run"]] {
        let run = swarmkeeper(&lab, args);
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(run.stderr.contains("which is not cluster `lab`'s"), "{run:?}");
        assert!(run.stderr.contains("--adopt-swarm"), "what to do next: {run:?}");
    }
    let published = common::boto(
        &lab,
        "print(json.dumps([p['Name'] for p in boto3.client('ssm', **kw).describe_parameters()['Parameters'] if p['Name'].startswith('/swarmkeeper/')]))",
    );
    // (The example's database password, under /swarmkeeper-values/, is the test's.)
    assert_eq!(published, serde_json::json!([]), "nothing published");
    assert_eq!(groups(&lab), serde_json::json!({}), "nothing created");

    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    for line in [
        "+ security group \"lab-nodes\"",
        "+ launch template \"lab-workers\"",
        "+ auto scaling group \"lab-managers\"",
        "+ efs file system \"shared-data\"",
        "+ log group \"lab-logs\"",
        "+ ssm parameter \"/swarmkeeper/lab/join-token/worker\"",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    // Adopted: the swarm's id is recorded first, so later runs need no flag.
    let swarm_id = common::docker(&lab, &["info", "--format", "{{.Swarm.Cluster.ID}}"]);
    let recorded = common::boto(
        &lab,
        "print(json.dumps(boto3.client('ssm', **kw).get_parameter(Name='/swarmkeeper/lab/swarm-id')['Parameter']['Value']))",
    );
    assert_eq!(recorded, serde_json::json!(swarm_id.stdout.trim()));
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]).code, Some(0));

    assert_eq!(
        groups(&lab),
        serde_json::json!({"lab-managers": [1, 1, 1], "lab-workers": [2, 2, 2]})
    );
    assert_eq!(file_systems(&lab), serde_json::json!(["lab-shared-data"]));
    let instances = boto(
        &lab,
        "c = boto3.client('ec2', **kw)\nr = c.describe_instances(Filters=[{'Name': 'tag:swarmkeeper:cluster', 'Values': ['lab']}, {'Name': 'instance-state-name', 'Values': ['running']}])\nprint(json.dumps(sum(len(x['Instances']) for x in r['Reservations'])))",
    );
    assert_eq!(instances, 3, "instances carry the cluster tag");
    let token = boto(
        &lab,
        "c = boto3.client('ssm', **kw)\np = c.get_parameter(Name='/swarmkeeper/lab/join-token/worker', WithDecryption=True)['Parameter']\nprint(json.dumps([p['Type'], p['Value'].startswith('SWMTKN-')]))",
    );
    assert_eq!(token, serde_json::json!(["SecureString", true]));
    let retention = boto(
        &lab,
        "c = boto3.client('logs', **kw)\nprint(json.dumps([g.get('retentionInDays') for g in c.describe_log_groups(logGroupNamePrefix='lab-logs')['logGroups']]))",
    );
    assert_eq!(retention, serde_json::json!([14]));
    let user_data = boto(
        &lab,
        "import base64, gzip\nc = boto3.client('ec2', **kw)\nv = c.describe_launch_template_versions(LaunchTemplateName='lab-workers', Versions=['$Default'])['LaunchTemplateVersions'][0]\nraw = base64.b64decode(v['LaunchTemplateData']['UserData'])\nu = gzip.decompress(raw).decode()\nprint(json.dumps(['SWARMKEEPER_ROLE=worker' in u, 'SWARMKEEPER_SSM_PREFIX=/swarmkeeper/lab' in u, 'SWARMKEEPER_LOG_GROUP=lab-logs' in u, len(raw) <= 16384]))",
    );
    // gzip (cloud-init unpacks it), under EC2's 16 KiB on the raw bytes.
    assert_eq!(user_data, serde_json::json!([true, true, true, true]));

    // Nothing to do now: dry-run exits 0 and a reconcile writes nothing.
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report = json(&run);
    assert_eq!(report["api_calls"]["aws"]["writes"], 0, "{report:#}");
    assert_eq!(report["api_calls"]["swarm"]["writes"], 0, "{report:#}");
    // Secrets never reach the output.
    assert!(!run.stdout.contains("SWMTKN-"));
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn counts_and_instance_type_change() {
    let _serial = common::serial();
    let lab = setup("counts_and_instance_type_change");
    let dir = DesiredDir::new("aws-change");
    dir.write("swarmkeeper.yaml", &cluster(2, "t3.small", ""));
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );

    // Scale first, then change the type: moto cannot launch instances from
    // a launch template version made by CreateLaunchTemplateVersion (it
    // stores that version's user data in a form its own launcher rejects),
    // so a scale-out after a new version fails there, not in AWS.
    dir.write("swarmkeeper.yaml", &cluster(3, "t3.small", ""));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stdout
            .contains("~ auto scaling group \"lab-workers\"  # size 2/2/2 → 3/3/3"),
        "{run:?}"
    );
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    assert_eq!(groups(&lab)["lab-workers"], serde_json::json!([3, 3, 3]));

    dir.write("swarmkeeper.yaml", &cluster(3, "t3.medium", ""));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stdout.contains("~ launch template \"lab-workers\""), "{run:?}");
    assert!(run.stdout.contains("instance_type"), "{run:?}");
    assert!(
        !run.stdout.contains("auto scaling group"),
        "the group launches $Default: {run:?}"
    );
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    let lt = boto(
        &lab,
        "c = boto3.client('ec2', **kw)\nt = c.describe_launch_templates(LaunchTemplateNames=['lab-workers'])['LaunchTemplates'][0]\nv = c.describe_launch_template_versions(LaunchTemplateName='lab-workers', Versions=['$Default'])['LaunchTemplateVersions'][0]\nprint(json.dumps([t['DefaultVersionNumber'], v['LaunchTemplateData']['InstanceType']]))",
    );
    assert_eq!(lt, serde_json::json!([2, "t3.medium"]));
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]).code,
        Some(0)
    );
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn volumes_are_kept_under_retain_and_deleted_under_delete() {
    let _serial = common::serial();
    let lab = setup("volumes_are_kept_under_retain_and_deleted_under_delete");
    let dir = DesiredDir::new("aws-volumes");
    let kept = "volumes:\n  kept:\n    type: shared\n";
    dir.write("swarmkeeper.yaml", &cluster(1, "t3.small", kept));
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    assert_eq!(file_systems(&lab), serde_json::json!(["lab-kept"]));
    // A shared volume added to a running cluster.
    let both = "volumes:\n  kept:\n    type: shared\n  scratch:\n    type: shared\n    deletion_policy: delete\n";
    dir.write("swarmkeeper.yaml", &cluster(1, "t3.small", both));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert!(run.stdout.contains("+ efs file system \"scratch\""), "{run:?}");
    assert!(!run.stdout.contains("\"kept\""), "{run:?}");
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    assert_eq!(file_systems(&lab), serde_json::json!(["lab-kept", "lab-scratch"]));

    dir.write("swarmkeeper.yaml", &cluster(1, "t3.small", ""));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert!(run.stdout.contains("- efs file system \"scratch\""), "{run:?}");
    assert!(run.stdout.contains("volume `kept`"), "{run:?}");
    assert!(run.stdout.contains("is retained"), "{run:?}");
    assert!(!run.stdout.contains("- efs file system \"kept\""), "{run:?}");
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    assert_eq!(file_systems(&lab), serde_json::json!(["lab-kept"]));
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn drift_behind_swarmkeepers_back_is_put_back() {
    let _serial = common::serial();
    let lab = setup("drift_behind_swarmkeepers_back_is_put_back");
    let dir = DesiredDir::new("aws-drift");
    dir.write(
        "swarmkeeper.yaml",
        &cluster(2, "t3.small", "volumes:\n  shared-data:\n    type: shared\n"),
    );
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );

    // Someone scales the workers by hand and removes the NFS rule.
    boto(
        &lab,
        "a = boto3.client('autoscaling', **kw)\na.update_auto_scaling_group(AutoScalingGroupName='lab-workers', DesiredCapacity=5, MaxSize=5)\ne = boto3.client('ec2', **kw)\ng = e.describe_security_groups(Filters=[{'Name': 'group-name', 'Values': ['lab-efs']}])['SecurityGroups'][0]\ne.revoke_security_group_ingress(GroupId=g['GroupId'], IpPermissions=g['IpPermissions'])\nprint('{}')",
    );
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    // The group is not shrunk directly (it would pick the instances): the
    // three extra ones, which never joined the swarm, are terminated with
    // the group shrinking each time.
    assert_eq!(run.stdout.matches("- instance \"").count(), 3, "{run:?}");
    assert!(run.stdout.contains("this instance is in no swarm"), "{run:?}");
    assert!(
        run.stdout
            .contains("+ security group rule \"lab-efs: tcp/2049-2049 from lab-nodes\""),
        "{run:?}"
    );
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    assert_eq!(groups(&lab)["lab-workers"], serde_json::json!([2, 2, 2]));
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]).code,
        Some(0)
    );
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn resources_without_the_cluster_tag_are_never_touched() {
    let _serial = common::serial();
    let lab = setup("resources_without_the_cluster_tag_are_never_touched");
    // An untagged group that happens to carry the name swarmkeeper wants, and
    // an unrelated one.
    boto(
        &lab,
        "e = boto3.client('ec2', **kw)\ne.create_security_group(GroupName='lab-nodes', Description='hand made')\ne.create_security_group(GroupName='unrelated', Description='hand made')\nprint('{}')",
    );
    let dir = DesiredDir::new("aws-owned");
    dir.write("swarmkeeper.yaml", &cluster(1, "t3.small", ""));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("lab-nodes"), "{run:?}");
    let names = boto(
        &lab,
        "e = boto3.client('ec2', **kw)\nprint(json.dumps(sorted(g['GroupName'] for g in e.describe_security_groups()['SecurityGroups'] if g['GroupName'] != 'default')))",
    );
    assert_eq!(
        names,
        serde_json::json!(["lab-nodes", "unrelated"]),
        "nothing created, nothing deleted"
    );
    assert_eq!(groups(&lab), serde_json::json!({}));
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_run_killed_mid_apply_then_run_again_leaves_no_duplicates() {
    use std::io::BufRead;
    let _serial = common::serial();
    let lab = setup("a_run_killed_mid_apply_then_run_again_leaves_no_duplicates");
    let dir = DesiredDir::new("aws-crash");
    dir.write(
        "swarmkeeper.yaml",
        &cluster(2, "t3.small", "volumes:\n  shared-data:\n    type: shared\n"),
    );

    // One action at a time, killed (SIGKILL: no cleanup) right after the
    // first action completed.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(["reconcile", "--adopt-swarm", &dir.arg(), "--concurrency", "1"])
        .envs(&lab)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start reconcile");
    let stderr = child.stderr.take().expect("stderr");
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap_or_default();
        if line.contains("✓ created") {
            let _ = child.kill();
            break;
        }
    }
    let _ = child.wait();
    let partial = groups(&lab);
    assert!(
        partial.as_object().is_some_and(|g| g.len() < 2),
        "killed before the end: {partial}"
    );

    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let counts = boto(
        &lab,
        "e = boto3.client('ec2', **kw)\nf = [{'Name': 'tag:swarmkeeper:cluster', 'Values': ['lab']}]\nsgs = [g['GroupName'] for g in e.describe_security_groups(Filters=f)['SecurityGroups']]\nlts = [t['LaunchTemplateName'] for t in e.describe_launch_templates(Filters=f)['LaunchTemplates']]\nr = e.describe_instances(Filters=f + [{'Name': 'instance-state-name', 'Values': ['running']}])\nn = sum(len(x['Instances']) for x in r['Reservations'])\nfs = [x['CreationToken'] for x in boto3.client('efs', **kw).describe_file_systems()['FileSystems']]\nmt = sum(len(boto3.client('efs', **kw).describe_mount_targets(FileSystemId=x['FileSystemId'])['MountTargets']) for x in boto3.client('efs', **kw).describe_file_systems()['FileSystems'])\nprint(json.dumps({'sgs': sorted(sgs), 'lts': sorted(lts), 'instances': n, 'fs': fs, 'mount_targets': mt}))",
    );
    assert_eq!(
        counts,
        serde_json::json!({
            "sgs": ["lab-efs", "lab-nodes"],
            "lts": ["lab-managers", "lab-workers"],
            "instances": 3,
            "fs": ["lab-shared-data"],
            "mount_targets": 3
        })
    );
    assert_eq!(
        groups(&lab),
        serde_json::json!({"lab-managers": [1, 1, 1], "lab-workers": [2, 2, 2]})
    );
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]).code,
        Some(0)
    );
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn routes_through_the_load_balancer_are_added_changed_and_removed() {
    let _serial = common::serial();
    let lab = setup("routes_through_the_load_balancer_are_added_changed_and_removed");
    let dir = DesiredDir::new("aws-routes");
    dir.write("web.yml", WEB_STACK);
    let one =
        "  - host: cloud.example.com\n    service: web/site\n    port: 80\n    health_check: { path: /index.html }\n";
    dir.write("swarmkeeper.yaml", &routed(one));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    for line in [
        "+ load balancer \"lab\"",
        "+ listener \"HTTP 80\"",
        "+ listener \"HTTPS 443\"",
        "+ listener rule \"10 cloud.example.com /*\"",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        rules(&lab),
        serde_json::json!({"443/10": [["cloud.example.com"], ["/*"]]})
    );
    // Port 80 redirects to 443; the health check is on the service's own
    // published port, never on an agent port.
    let shape = boto(
        &lab,
        "e = boto3.client('elbv2', **kw)\nlb = e.describe_load_balancers(Names=['lab'])['LoadBalancers'][0]['LoadBalancerArn']\nls = {l['Port']: l['DefaultActions'][0]['Type'] for l in e.describe_listeners(LoadBalancerArn=lb)['Listeners']}\ntg = [[t['Port'], t['HealthCheckPath']] for t in e.describe_target_groups()['TargetGroups']]\na = boto3.client('autoscaling', **kw)\ng = {x['AutoScalingGroupName']: len(x.get('TargetGroupARNs', [])) for x in a.describe_auto_scaling_groups()['AutoScalingGroups']}\nprint(json.dumps([ls.get(80), ls.get(443), tg, g]))",
    );
    assert_eq!(
        shape,
        serde_json::json!(["redirect", "fixed-response", [[18301, "/index.html"]], {"lab-managers": 0, "lab-workers": 1}])
    );
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]).code,
        Some(0)
    );

    // Add a second route.
    let two = format!("{one}  - host: api.example.com\n    path: /v1\n    service: web/api\n    port: 80\n");
    dir.write("swarmkeeper.yaml", &routed(&two));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        rules(&lab),
        serde_json::json!({"443/10": [["cloud.example.com"], ["/*"]], "443/20": [["api.example.com"], ["/v1", "/v1/*"]]})
    );

    // A rule edited behind swarmkeeper's back is planned back.
    boto(
        &lab,
        "e = boto3.client('elbv2', **kw)\nlb = e.describe_load_balancers(Names=['lab'])['LoadBalancers'][0]['LoadBalancerArn']\nl = [x for x in e.describe_listeners(LoadBalancerArn=lb)['Listeners'] if x['Port'] == 443][0]\nr = [x for x in e.describe_rules(ListenerArn=l['ListenerArn'])['Rules'] if x['Priority'] == '10'][0]\ne.modify_rule(RuleArn=r['RuleArn'], Conditions=[{'Field': 'host-header', 'HostHeaderConfig': {'Values': ['evil.example.com']}}, {'Field': 'path-pattern', 'PathPatternConfig': {'Values': ['/*']}}])\nprint('{}')",
    );
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stdout.contains("~ listener rule \"10 cloud.example.com /*\""),
        "{run:?}"
    );
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]).code,
        Some(0)
    );
    assert_eq!(
        rules(&lab)["443/10"],
        serde_json::json!([["cloud.example.com"], ["/*"]])
    );

    // Remove the first route: its rule and target group go, and the other
    // route takes priority 10 (priorities follow the route list).
    let only_api = "  - host: api.example.com\n    path: /v1\n    service: web/api\n    port: 80\n";
    dir.write("swarmkeeper.yaml", &routed(only_api));
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        rules(&lab),
        serde_json::json!({"443/10": [["api.example.com"], ["/v1", "/v1/*"]]})
    );
    let tgs = boto(
        &lab,
        "e = boto3.client('elbv2', **kw)\nprint(json.dumps(sorted(t['Port'] for t in e.describe_target_groups()['TargetGroups'])))",
    );
    assert_eq!(tgs, serde_json::json!([18302]));
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]).code,
        Some(0)
    );
    reset(&lab, &[]);
}
