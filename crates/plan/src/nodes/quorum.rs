//! The managers' quorum: how many there are, how many are reachable, and
//! whether that is a majority.

use crate::node_types::{NodeRole, Quorum};
use crate::observed::ObservedNode;

/// The managers of `nodes` and whether a majority of them is reachable.
pub fn quorum_of(nodes: &[ObservedNode]) -> Quorum {
    let managers = nodes.iter().filter(|n| n.role == NodeRole::Manager).count();
    let reachable = nodes
        .iter()
        .filter(|n| n.role == NodeRole::Manager && n.reachable)
        .count();
    Quorum {
        managers,
        reachable,
        ok: managers == 0 || reachable * 2 > managers,
    }
}

/// The problem reported while no majority of managers is reachable.
pub fn quorum_lost(quorum: &Quorum) -> String {
    format!(
        "MANAGER QUORUM LOST: {} of {} managers reachable. swarmkeeper takes no action on nodes until a majority is back; \
         see docs/operations.md (\"Quorum lost\") to recover with --force-new-cluster",
        quorum.reachable, quorum.managers
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::node_types::{NodeAvailability, NodeState};

    fn node(role: NodeRole, reachable: bool) -> ObservedNode {
        ObservedNode {
            id: String::new(),
            hostname: String::new(),
            role,
            availability: NodeAvailability::Active,
            state: NodeState::Ready,
            addr: String::new(),
            manager_addr: None,
            reachable,
            labels: BTreeMap::new(),
            engine_labels: BTreeMap::new(),
            updated_unix: None,
            leader: false,
        }
    }

    #[test]
    fn a_majority_of_reachable_managers_is_a_quorum() {
        use NodeRole::*;
        // (managers reachable, managers unreachable, workers) → ok
        for (up, down, workers, ok) in [
            (0, 0, 2, true),
            (1, 0, 0, true),
            (0, 1, 3, false),
            (2, 1, 0, true),
            (1, 1, 0, false),
            (1, 2, 5, false),
            (3, 2, 0, true),
        ] {
            let mut nodes = vec![];
            nodes.extend((0..up).map(|_| node(Manager, true)));
            nodes.extend((0..down).map(|_| node(Manager, false)));
            nodes.extend((0..workers).map(|_| node(Worker, false)));
            let q = quorum_of(&nodes);
            assert_eq!(
                (q.managers, q.reachable, q.ok),
                (up + down, up, ok),
                "{up} up, {down} down"
            );
        }
    }
}
