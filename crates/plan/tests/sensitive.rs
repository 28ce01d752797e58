//! Plans never show the values of sensitive environment keys: neither the
//! text a person reads nor the JSON a pipeline posts on a pull request.

mod support;

use support::desired;
use swarmkeeper_plan::simulate::apply;
use swarmkeeper_plan::{ObservedSwarm, Plan, PlanOptions, diff};

/// Every value here is secret but PORT's and LANG's.
fn compose(v: u32) -> String {
    format!(
        "services:\n  app:\n    image: app:1\n    x-swarmkeeper-sensitive: [SMTP_LOGIN]\n    environment:\n      \
         DB_PASSWORD: hunter2-pw-{v}\n      github_token: ghp-tok-{v}\n      Api_Key: key-val-{v}\n      \
         AWS_SECRET_ACCESS_KEY: aws-sec-{v}\n      OIDC_CLIENT_CREDENTIAL: cred-val-{v}\n      \
         TLS_PRIVATE: priv-val-{v}\n      BASIC_AUTH: auth-val-{v}\n      SMTP_LOGIN: login-val-{v}\n      \
         PORT: \"80{v}0\"\n      LANG: lang-{v}\n"
    )
}

fn secrets(v: u32) -> Vec<String> {
    [
        "hunter2-pw",
        "ghp-tok",
        "key-val",
        "aws-sec",
        "cred-val",
        "priv-val",
        "auth-val",
        "login-val",
    ]
    .iter()
    .map(|s| format!("{s}-{v}"))
    .collect()
}

fn renderings(plan: &Plan) -> (String, String, String) {
    let text = swarmkeeper_plan::render::text(plan, false, true);
    let color = swarmkeeper_plan::render::text(plan, true, false);
    let json = serde_json::to_string(&swarmkeeper_plan::render::json(plan)).expect("json");
    (text, color, json)
}

#[test]
fn a_new_service_shows_no_sensitive_value() {
    let (_, d) = desired(&[("s", &compose(1))]);
    let plan = diff(&d, &ObservedSwarm::default(), &PlanOptions::default()).expect("plan");
    let (text, color, json) = renderings(&plan);
    for secret in secrets(1) {
        for (what, out) in [("text", &text), ("color", &color), ("json", &json)] {
            assert!(!out.contains(&secret), "{secret} in the {what} plan: {out}");
        }
    }
    assert!(json.contains("DB_PASSWORD=(sensitive)"), "{json}");
    assert!(json.contains("SMTP_LOGIN=(sensitive)"), "the listed key: {json}");
    assert!(
        json.contains("PORT=8010") && json.contains("LANG=lang-1"),
        "others are shown: {json}"
    );
    // The real value is still what the step sends.
    let swarmkeeper_plan::Action::CreateService { spec } = &plan.steps[1].action else {
        panic!("{:?}", plan.steps)
    };
    assert!(spec.task.container.env.contains(&"DB_PASSWORD=hunter2-pw-1".to_owned()));
}

#[test]
fn a_changed_sensitive_value_says_the_key_changed_without_either_value() {
    let (_, d1) = desired(&[("s", &compose(1))]);
    let mut swarm = ObservedSwarm::default();
    apply(&diff(&d1, &swarm, &PlanOptions::default()).expect("plan"), &mut swarm);
    let (_, d2) = desired(&[("s", &compose(2))]);
    let plan = diff(&d2, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(plan.steps.len(), 1, "{:?}", plan.steps);
    let (text, color, json) = renderings(&plan);
    for secret in secrets(1).into_iter().chain(secrets(2)) {
        for (what, out) in [("text", &text), ("color", &color), ("json", &json)] {
            assert!(!out.contains(&secret), "{secret} in the {what} plan: {out}");
        }
    }
    for key in ["DB_PASSWORD", "github_token", "Api_Key", "SMTP_LOGIN"] {
        assert!(text.contains(&format!("{key} (sensitive) changed")), "{key}: {text}");
    }
    assert!(text.contains("LANG: \"lang-1\" → \"lang-2\""), "{text}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let changed = &v["steps"][0]["changes"][0]["sensitive_changed"];
    assert!(changed.as_array().is_some_and(|a| a.len() == 8), "{changed}");
}
