//! The JSON Schema of `swarmkeeper.yaml`, for editors (`swarmkeeper schema`).
//!
//! Derived from the typed [`Config`]; a test keeps its properties and the
//! decoder's key lists identical, so the schema never drifts from what
//! `swarmkeeper validate` accepts.

use crate::config::Config;

/// The schema as a JSON value (draft 2020-12).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Config);
    serde_json::to_value(&schema).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use std::collections::BTreeSet;

    fn properties(schema: &serde_json::Value, def: Option<&str>) -> BTreeSet<String> {
        let node = match def {
            Some(name) => &schema["$defs"][name],
            None => schema,
        };
        node["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{def:?} has properties"))
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn schema_and_decoder_accept_the_same_keys() {
        let schema = json_schema();
        let table: &[(Option<&str>, &[&str])] = &[
            (None, TOP_KEYS),
            (Some("Cluster"), CLUSTER_KEYS),
            (Some("Network"), NETWORK_KEYS),
            (Some("Ssh"), SSH_KEYS),
            (Some("Pool"), POOL_KEYS),
            (Some("RootVolume"), ROOT_VOLUME_KEYS),
            (Some("VolumeSpec"), VOLUME_KEYS),
            (Some("Ingress"), INGRESS_KEYS),
            (Some("Route"), ROUTE_KEYS),
            (Some("HealthCheck"), HEALTH_CHECK_KEYS),
            (Some("StackRef"), STACK_KEYS),
            (Some("Maintenance"), MAINTENANCE_KEYS),
            (Some("SystemPrune"), SYSTEM_PRUNE_KEYS),
            (Some("Logging"), LOGGING_KEYS),
            (Some("CloudWatch"), CLOUDWATCH_KEYS),
            (Some("RegistryCredentials"), REGISTRY_KEYS),
            (Some("Ecr"), ECR_KEYS),
            (Some("Notification"), NOTIFICATION_KEYS),
        ];
        for (def, keys) in table {
            let want: BTreeSet<String> = keys.iter().map(|k| k.to_string()).collect();
            assert_eq!(properties(&schema, *def), want, "{def:?}");
            let node = def.map_or(&schema, |d| &schema["$defs"][d]);
            assert_eq!(
                node["additionalProperties"],
                serde_json::Value::Bool(false),
                "{def:?} is closed"
            );
        }
    }
}
