//! The lab is reachable the way swarmkeeper reaches production: the Engine
//! API through bollard (and the engine is an active swarm manager), and AWS
//! (moto) through the AWS SDK.

mod common;

#[tokio::test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
async fn docker_engine_is_an_active_swarm_manager() {
    let vars = common::lab("docker_engine_is_an_active_swarm_manager");
    let engine = common::engine(&vars).await;
    let state = engine.swarm_state().await.expect("GET /info");
    assert_eq!(state.local_node_state, "active", "{state:?}");
    assert!(state.is_manager, "{state:?}");
    assert!(state.node_id.is_some());
}

#[tokio::test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
async fn moto_answers_through_the_aws_sdk() {
    let vars = common::lab("moto_answers_through_the_aws_sdk");
    assert!(
        vars.get("AWS_ENDPOINT_URL")
            .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
    );
    let aws = common::aws(&vars).await;
    let vpcs = aws.list_vpcs().await.expect("DescribeVpcs against moto");
    // moto starts every region with its default VPC.
    assert!(vpcs.iter().any(|v| v.is_default), "{vpcs:?}");
}
