//! Fault injection where moto cannot help: it never throttles. A wrapper
//! around the SDK's HTTP client answers the first requests with EC2's
//! `RequestLimitExceeded` (HTTP 503), as AWS does under load. The SDK's own
//! standard retry mode must absorb it — one logical call, several
//! attempts, bounded — with no retry layer of swarmkeeper's around it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

type Lab = std::collections::BTreeMap<String, String>;

const THROTTLED: &str = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault-injected</RequestID></Response>";

/// Throttles the first `faults` requests, then passes requests through.
#[derive(Debug, Clone)]
struct Throttling {
    inner: SharedHttpClient,
    faults: usize,
    seen: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct ThrottlingConnector {
    inner: SharedHttpConnector,
    faults: usize,
    seen: Arc<AtomicUsize>,
}

impl HttpConnector for ThrottlingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        if n < self.faults {
            let status = StatusCode::try_from(503u16).unwrap_or_else(|_| unreachable!("503 is a status"));
            return HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from(THROTTLED))));
        }
        self.inner.call(request)
    }
}

impl HttpClient for Throttling {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(ThrottlingConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults,
            seen: self.seen.clone(),
        })
    }
}

async fn aws_with_faults(lab: &Lab, faults: usize) -> (swarmkeeper_aws::Aws, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let client = Throttling {
        inner: aws_smithy_http_client::Builder::new().build_http(),
        faults,
        seen: seen.clone(),
    };
    (common::aws_with(lab, SharedHttpClient::new(client)).await, seen)
}

#[tokio::test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
async fn throttling_is_retried_by_the_sdk_within_its_bound() {
    let lab = common::lab("throttling_is_retried_by_the_sdk_within_its_bound");
    let (aws, seen) = aws_with_faults(&lab, 3).await;
    let vpcs = aws.list_vpcs().await.expect("succeeds after three throttled attempts");
    assert!(!vpcs.is_empty());
    assert_eq!(
        seen.load(Ordering::SeqCst),
        4,
        "three throttled attempts, then the real one"
    );
    assert_eq!(
        aws.calls().by_call.get("ec2:DescribeVpcs"),
        Some(&1),
        "one logical call"
    );
}

#[tokio::test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
async fn persistent_throttling_gives_up_after_the_bounded_attempts() {
    let lab = common::lab("persistent_throttling_gives_up_after_the_bounded_attempts");
    let (aws, seen) = aws_with_faults(&lab, usize::MAX).await;
    let err = aws.list_vpcs().await.expect_err("throttled every time");
    assert_eq!(err.code, "RequestLimitExceeded", "{err}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        swarmkeeper_aws::client::MAX_ATTEMPTS as usize,
        "exactly the SDK's bounded attempts, no extra layer"
    );
}

/// AWS's answer to a second CreateAutoScalingGroup for a name that exists
/// (moto instead replaces the group silently, orphaning its instances).
const ALREADY_EXISTS: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>AlreadyExists</Code><Message>AutoScalingGroup by this name already exists</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>";

/// Lets the first CreateAutoScalingGroup reach moto but loses its answer
/// (HTTP 500, so the SDK sends it again), then answers like AWS.
#[derive(Debug, Clone)]
struct LostCreate {
    inner: SharedHttpClient,
    creates: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct LostCreateConnector {
    inner: SharedHttpConnector,
    creates: Arc<AtomicUsize>,
}

impl HttpConnector for LostCreateConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let is_create = request
            .body()
            .bytes()
            .is_some_and(|b| String::from_utf8_lossy(b).contains("Action=CreateAutoScalingGroup"));
        if !is_create {
            return self.inner.call(request);
        }
        let n = self.creates.fetch_add(1, Ordering::SeqCst);
        if n == 0 {
            let forwarded = self.inner.call(request);
            return HttpConnectorFuture::new(async move {
                let _ = forwarded.await?;
                let status = StatusCode::try_from(500u16).unwrap_or_else(|_| unreachable!("500 is a status"));
                Ok(HttpResponse::new(status, SdkBody::from("connection lost")))
            });
        }
        let status = StatusCode::try_from(400u16).unwrap_or_else(|_| unreachable!("400 is a status"));
        HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from(ALREADY_EXISTS))))
    }
}

impl HttpClient for LostCreate {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(LostCreateConnector {
            inner: self.inner.http_connector(settings, components),
            creates: self.creates.clone(),
        })
    }
}

#[tokio::test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
async fn a_create_whose_answer_was_lost_does_not_duplicate_the_group() {
    use swarmkeeper_plan::aws::AwsAction;
    use swarmkeeper_plan::aws::spec::AutoScalingGroupSpec;

    let lab = common::lab("a_create_whose_answer_was_lost_does_not_duplicate_the_group");
    common::moto_only(&lab, &["faults"]);
    let creates = Arc::new(AtomicUsize::new(0));
    let client = LostCreate {
        inner: aws_smithy_http_client::Builder::new().build_http(),
        creates: creates.clone(),
    };
    let aws = common::aws_with(&lab, SharedHttpClient::new(client)).await;
    let plain = common::aws(&lab).await;

    // A launch template and subnets for the group, made by the provider.
    let lt = swarmkeeper_plan::aws::spec::LaunchTemplateSpec {
        name: "faults-lt".into(),
        image_id: "ami-0aaaaaaaaaaaaaaaa".into(),
        instance_type: "t3.small".into(),
        key_name: None,
        user_data: "#!/bin/sh\n".into(),
        user_data_hash: String::new(),
        root_volume_gb: None,
        root_volume_type: None,
        instance_profile: None,
        security_groups: vec![],
    };
    let vpcs = plain.list_vpcs().await.expect("vpcs");
    let vpc = vpcs.iter().find(|v| v.is_default).expect("default vpc").id.clone();
    let mut ids = swarmkeeper_aws::AwsIds {
        cluster: "faults".into(),
        vpc,
        ..Default::default()
    };
    let made = plain
        .execute(&AwsAction::CreateLaunchTemplate { spec: lt }, &ids)
        .await
        .expect("launch template");
    ids.record(&made);
    let name = format!("faults-{}", std::process::id());
    let spec = AutoScalingGroupSpec {
        name: name.clone(),
        launch_template: "faults-lt".into(),
        min: 2,
        max: 2,
        desired: 2,
        subnets: subnets(&plain).await,
        pool: "workers".into(),
        target_groups: vec![],
    };
    aws.execute(&AwsAction::CreateGroup { spec }, &ids)
        .await
        .expect("AlreadyExists after a lost answer means done");
    assert_eq!(creates.load(Ordering::SeqCst), 2, "the SDK sent the create again");

    let observed = plain
        .observe("faults", "/swarmkeeper/faults", None)
        .await
        .expect("observe");
    let groups: Vec<_> = observed.groups.iter().filter(|g| g.name == name).collect();
    assert_eq!(groups.len(), 1);
    let instances = observed.instances.iter().filter(|i| i.group == name).count();
    assert_eq!(instances, 2);
    // Counted in EC2 as well: a silently replaced group would leave orphans.
    let script = format!(
        "import boto3\ne = boto3.client('ec2', endpoint_url='{}', region_name='eu-west-1')\nr = e.describe_instances(Filters=[{{'Name': 'tag:aws:autoscaling:groupName', 'Values': ['{name}']}}, {{'Name': 'instance-state-name', 'Values': ['running']}}])\nprint(sum(len(x['Instances']) for x in r['Reservations']))",
        lab["AWS_ENDPOINT_URL"]
    );
    let out = std::process::Command::new(&lab["SWARMKEEPER_LAB_PYTHON"])
        .args(["-c", &script])
        .envs(&lab)
        .output()
        .expect("boto3");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2",
        "no orphaned instances"
    );
}

async fn subnets(aws: &swarmkeeper_aws::Aws) -> Vec<String> {
    let config = swarmkeeper_model::Config {
        version: 1,
        name: None,
        cluster: None,
        volumes: Default::default(),
        ingress: None,
        routes: vec![],
        stacks: Default::default(),
        maintenance: None,
        logging: None,
        registries: Default::default(),
        notifications: Default::default(),
    };
    aws.network(&config).await.expect("default subnets").1
}
