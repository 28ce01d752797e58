//! What one cycle hands on from what it observed: the manager addresses a
//! joining node is given (published in SSM), and the volumes whose EFS file
//! system can be mounted (the swarm's services get its DNS name). Pure
//! decisions over the observed snapshots; `src/cycle.rs` calls them.

use std::collections::BTreeMap;

use crate::aws::names::efs_dns;
use crate::aws::spec::{ObservedFileSystem, TAG_NAME};
use crate::node_types::NodeRole;
use crate::observed::ObservedNode;

/// `ip:2377` of every reachable manager that says where it listens, sorted
/// (so the published value changes only when the managers do).
pub fn manager_addresses(nodes: &[ObservedNode]) -> Vec<String> {
    let mut out: Vec<String> = nodes
        .iter()
        .filter(|n| n.role == NodeRole::Manager && n.reachable)
        .filter_map(|n| n.manager_addr.clone())
        .collect();
    out.sort();
    out
}

/// Volume → the DNS name nodes mount it by, for each file system that is
/// mountable: it has a mount target and carries its volume's name tag.
pub fn mountable_volumes(file_systems: &[ObservedFileSystem], region: &str) -> BTreeMap<String, String> {
    file_systems
        .iter()
        .filter(|fs| !fs.mount_targets.is_empty())
        .filter_map(|fs| Some((fs.tags.get(TAG_NAME)?.clone(), efs_dns(&fs.id, region))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_types::{NodeAvailability, NodeState};

    fn node(id: &str, role: NodeRole, reachable: bool, addr: Option<&str>) -> ObservedNode {
        ObservedNode {
            id: id.into(),
            hostname: id.into(),
            role,
            availability: NodeAvailability::Active,
            state: NodeState::Ready,
            addr: String::new(),
            manager_addr: addr.map(str::to_owned),
            reachable,
            labels: BTreeMap::new(),
            engine_labels: BTreeMap::new(),
            updated_unix: None,
            leader: false,
        }
    }

    #[test]
    fn only_reachable_managers_with_an_address_are_published_sorted() {
        use NodeRole::*;
        let cases: Vec<(Vec<ObservedNode>, Vec<&str>)> = vec![
            (vec![], vec![]),
            (
                vec![node("m1", Manager, true, Some("10.0.0.9:2377"))],
                vec!["10.0.0.9:2377"],
            ),
            (
                vec![
                    node("m2", Manager, true, Some("10.0.0.7:2377")),
                    node("m1", Manager, true, Some("10.0.0.5:2377")),
                ],
                vec!["10.0.0.5:2377", "10.0.0.7:2377"],
            ),
            // Unreachable managers, workers and managers without an address are left out.
            (
                vec![
                    node("m1", Manager, false, Some("10.0.0.5:2377")),
                    node("w1", Worker, true, Some("10.0.0.6:2377")),
                    node("m2", Manager, true, None),
                    node("m3", Manager, true, Some("10.0.0.8:2377")),
                ],
                vec!["10.0.0.8:2377"],
            ),
        ];
        for (nodes, want) in cases {
            assert_eq!(manager_addresses(&nodes), want, "{nodes:?}");
        }
    }

    fn fs(id: &str, volume: Option<&str>, targets: &[&str]) -> ObservedFileSystem {
        ObservedFileSystem {
            id: id.into(),
            creation_token: format!("cloud-{id}"),
            tags: volume
                .map(|v| (TAG_NAME.to_owned(), v.to_owned()))
                .into_iter()
                .collect(),
            mount_targets: targets.iter().map(|s| (s.to_string(), format!("fsmt-{s}"))).collect(),
        }
    }

    /// File systems observed, and the volume → DNS name pairs expected.
    type Case = (Vec<ObservedFileSystem>, Vec<(&'static str, &'static str)>);

    #[test]
    fn a_file_system_is_mountable_with_a_mount_target_and_its_volume_tag() {
        let cases: Vec<Case> = vec![
            (vec![], vec![]),
            (
                vec![fs("fs-1", Some("data"), &["subnet-a"])],
                vec![("data", "fs-1.efs.eu-west-1.amazonaws.com")],
            ),
            // No mount target yet: not mountable.
            (vec![fs("fs-1", Some("data"), &[])], vec![]),
            // No volume tag: not one of ours to hand on.
            (vec![fs("fs-1", None, &["subnet-a"])], vec![]),
            (
                vec![
                    fs("fs-2", Some("uploads"), &["subnet-a", "subnet-b"]),
                    fs("fs-1", Some("data"), &["subnet-b"]),
                    fs("fs-3", Some("new"), &[]),
                ],
                vec![
                    ("data", "fs-1.efs.eu-west-1.amazonaws.com"),
                    ("uploads", "fs-2.efs.eu-west-1.amazonaws.com"),
                ],
            ),
        ];
        for (file_systems, want) in cases {
            let want: BTreeMap<String, String> = want.into_iter().map(|(v, d)| (v.into(), d.into())).collect();
            assert_eq!(mountable_volumes(&file_systems, "eu-west-1"), want, "{file_systems:?}");
        }
    }
}
