//! Scheduled maintenance (`maintenance.system_prune`): when a prune is due,
//! how long each node waits before it prunes, and what a node's prune
//! reports. No I/O: the controller keeps the record in the swarm, starts
//! the global job and reads its output; `swarmkeeper prune-node` calls the
//! engine.
//!
//! The schedule is a window every hour (at minute MM of `at`), every day
//! (at `at`, UTC) or every week (Sundays at `at`, UTC). The swarm records
//! the last window a prune ran for ([`WINDOW_LABEL`]). A window that passed
//! after it is due: run once, however many windows were missed while no
//! controller ran. With no record yet (the schedule was just declared), the
//! current window counts as done: the first run is at the next one, not
//! the moment the section lands.

use serde::{Deserialize, Serialize};
use swarmkeeper_model::config::Schedule;

/// The swarm config whose labels record the maintenance runs.
pub const RECORD_NAME: &str = "swarmkeeper-maintenance";
/// On [`RECORD_NAME`]: the window (unix seconds) the last prune ran for.
pub const WINDOW_LABEL: &str = "io.swarmkeeper.prune.window";
/// On [`RECORD_NAME`]: when the last prune finished (unix seconds).
pub const FINISHED_LABEL: &str = "io.swarmkeeper.prune.finished";
/// On [`RECORD_NAME`]: the bytes the last prune reclaimed, all nodes.
pub const RECLAIMED_LABEL: &str = "io.swarmkeeper.prune.reclaimed";

/// The global job's service name.
pub const JOB_NAME: &str = "swarmkeeper-prune";
/// What starts each line a node's prune prints with its report.
pub const REPORT_MARKER: &str = "swarmkeeper-prune-report ";

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;

/// Seconds between two windows.
pub fn period(schedule: Schedule) -> u64 {
    match schedule {
        Schedule::Hourly => HOUR,
        Schedule::Daily => DAY,
        Schedule::Weekly => WEEK,
    }
}

/// `HH:MM` as seconds after midnight (`None`: not such a time; the
/// validator lets none through).
pub fn time_of_day(at: &str) -> Option<u64> {
    let (h, m) = at.split_once(':')?;
    let (h, m): (u64, u64) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * HOUR + m * 60)
}

/// The start of the latest window at or before `now` (unix seconds).
pub fn window_at_or_before(schedule: Schedule, at: u64, now: u64) -> u64 {
    // The offset of a window inside its period, from the period's start.
    let (start, offset) = match schedule {
        Schedule::Hourly => (now - now % HOUR, at % HOUR),
        Schedule::Daily => (now - now % DAY, at),
        // 1970-01-01 was a Thursday: weeks start on Sundays, 4 days later.
        Schedule::Weekly => {
            let since_sunday = (now + 4 * DAY) % WEEK;
            (now - since_sunday, at)
        }
    };
    let window = start + offset;
    if window <= now {
        window
    } else {
        window.saturating_sub(period(schedule))
    }
}

/// What to do about the prune now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// No run recorded yet: record `window` as done, run at the next one.
    Baseline { window: u64 },
    /// The last window ran; the next one starts at `next`.
    NotYet { next: u64 },
    /// `window` passed since the last run: run now, once.
    Now { window: u64 },
}

/// Whether a prune is due at `now`, given the last window one ran for.
pub fn due(schedule: Schedule, at: u64, last_window: Option<u64>, now: u64) -> Due {
    let window = window_at_or_before(schedule, at, now);
    match last_window {
        None => Due::Baseline { window },
        Some(last) if last >= window => Due::NotYet {
            next: window + period(schedule),
        },
        Some(_) => Due::Now { window },
    }
}

/// How long the node `node_id` waits before it prunes: a fixed share of
/// `max` (FNV-1a of the ID), so nodes spread out and one node waits as
/// long at every run.
pub fn stagger_secs(node_id: &str, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let hash = node_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % (max + 1)
}

/// What one node's prune did, as `swarmkeeper prune-node` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePrune {
    /// The swarm node ID.
    pub node: String,
    #[serde(default)]
    pub hostname: String,
    /// Bytes freed: containers, images, build cache (and volumes, if asked).
    pub reclaimed_bytes: u64,
    pub containers: u64,
    pub images: u64,
    pub networks: u64,
    #[serde(default)]
    pub volumes: u64,
    #[serde(default)]
    pub build_cache_bytes: u64,
    /// Parts that failed (`build cache: …`); the others still ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl NodePrune {
    /// The line `prune-node` prints.
    pub fn to_line(&self) -> String {
        format!(
            "{REPORT_MARKER}{}",
            serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
        )
    }
}

/// The reports in a job's output (the log lines of all its tasks; other
/// lines are ignored), one per node: the last a node printed wins.
pub fn reports(output: &str) -> Vec<NodePrune> {
    let mut found: std::collections::BTreeMap<String, NodePrune> = std::collections::BTreeMap::new();
    for line in output.lines() {
        let Some((_, json)) = line.split_once(REPORT_MARKER) else {
            continue;
        };
        if let Ok(report) = serde_json::from_str::<NodePrune>(json.trim()) {
            found.insert(report.node.clone(), report);
        }
    }
    found.into_values().collect()
}

/// One scheduled run, as status, metrics and the notification tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneRun {
    /// The window it ran for, and when it finished (unix seconds).
    pub window: u64,
    pub finished: u64,
    /// Per node that reported.
    pub nodes: Vec<NodePrune>,
    /// Nodes whose task failed or never reported, with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

impl PruneRun {
    pub fn reclaimed_bytes(&self) -> u64 {
        self.nodes.iter().map(|n| n.reclaimed_bytes).sum()
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "system prune: {} reclaimed on {} node{}",
            human_bytes(self.reclaimed_bytes()),
            self.nodes.len(),
            if self.nodes.len() == 1 { "" } else { "s" }
        );
        let errors: usize = self.nodes.iter().map(|n| n.errors.len()).sum();
        if errors > 0 {
            line.push_str(&format!(
                " ({errors} part{} failed)",
                if errors == 1 { "" } else { "s" }
            ));
        }
        if !self.failed.is_empty() {
            line.push_str(&format!("; not pruned: {}", self.failed.join("; ")));
        }
        line
    }
}

/// `1.5 GiB`, `312 MiB`, `0 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-04 (a Friday) 03:40:00 UTC.
    const FRI_0340: u64 = 1_796_355_600;

    #[test]
    fn the_clock_the_tests_use_is_what_they_say() {
        assert_eq!(FRI_0340 % DAY, 3 * HOUR + 40 * 60);
        // Thursday is day 0 of the epoch: Friday is 1 modulo 7.
        assert_eq!((FRI_0340 / DAY) % 7, 1);
    }

    #[test]
    fn windows_by_schedule() {
        let day = FRI_0340 - FRI_0340 % DAY;
        let sunday = day - 5 * DAY;
        let table = [
            (Schedule::Daily, "01:42", day + 6120, "today's, passed"),
            (
                Schedule::Daily,
                "04:00",
                day - DAY + 4 * HOUR,
                "today's is ahead: yesterday's",
            ),
            (Schedule::Daily, "03:40", FRI_0340, "exactly now"),
            (
                Schedule::Hourly,
                "00:15",
                day + 3 * HOUR + 900,
                "minute 15 of this hour",
            ),
            (
                Schedule::Hourly,
                "22:50",
                day + 2 * HOUR + 3000,
                "minute 50: the last hour's",
            ),
            (Schedule::Weekly, "02:00", sunday + 2 * HOUR, "last Sunday"),
        ];
        for (schedule, at, want, why) in table {
            let at = time_of_day(at).expect("a time");
            assert_eq!(window_at_or_before(schedule, at, FRI_0340), want, "{why}");
        }
        // On a Sunday before its time: the Sunday before.
        let sunday_0100 = sunday + HOUR;
        assert_eq!(
            window_at_or_before(Schedule::Weekly, 2 * HOUR, sunday_0100),
            sunday - WEEK + 2 * HOUR
        );
    }

    #[test]
    fn due_runs_a_missed_window_once_and_a_new_schedule_waits_for_its_next() {
        let at = time_of_day("01:42").expect("a time");
        let today = window_at_or_before(Schedule::Daily, at, FRI_0340);
        assert_eq!(
            due(Schedule::Daily, at, None, FRI_0340),
            Due::Baseline { window: today }
        );
        assert_eq!(
            due(Schedule::Daily, at, Some(today), FRI_0340),
            Due::NotYet { next: today + DAY }
        );
        // A controller away for three days runs once, for today's window.
        assert_eq!(
            due(Schedule::Daily, at, Some(today - 3 * DAY), FRI_0340),
            Due::Now { window: today }
        );
        // Once recorded, the same window is not run again.
        assert!(matches!(
            due(Schedule::Daily, at, Some(today), today + 1),
            Due::NotYet { .. }
        ));
    }

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day("00:00"), Some(0));
        assert_eq!(time_of_day("23:59"), Some(DAY - 60));
        for bad in ["24:00", "12:60", "noon", "12"] {
            assert_eq!(time_of_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn stagger_is_fixed_per_node_bounded_and_spread() {
        assert_eq!(stagger_secs("abc", 0), 0);
        assert_eq!(stagger_secs("abc", 60), stagger_secs("abc", 60));
        let delays: std::collections::BTreeSet<u64> = (0..50).map(|i| stagger_secs(&format!("node{i}"), 60)).collect();
        assert!(delays.iter().all(|d| *d <= 60));
        assert!(delays.len() > 20, "{delays:?}");
    }

    #[test]
    fn reports_are_read_from_the_job_output_one_per_node() {
        let a = NodePrune {
            node: "n1".into(),
            reclaimed_bytes: 10,
            containers: 1,
            ..NodePrune::default()
        };
        let mut b = NodePrune {
            node: "n2".into(),
            reclaimed_bytes: 5,
            ..NodePrune::default()
        };
        let first_b = b.to_line();
        b.reclaimed_bytes = 7;
        let output = format!(
            "waiting 3s\n{}\nnot json: {REPORT_MARKER}{{\n{first_b}\n{}\n",
            a.to_line(),
            b.to_line()
        );
        let found = reports(&output);
        assert_eq!(found, vec![a, b]);
    }

    #[test]
    fn a_run_says_what_it_reclaimed_and_what_failed() {
        let run = PruneRun {
            window: 0,
            finished: 0,
            nodes: vec![
                NodePrune {
                    node: "n1".into(),
                    reclaimed_bytes: 3 << 30,
                    ..NodePrune::default()
                },
                NodePrune {
                    node: "n2".into(),
                    reclaimed_bytes: 1 << 29,
                    errors: vec!["build cache: no builder".into()],
                    ..NodePrune::default()
                },
            ],
            failed: vec!["n3: no report".into()],
        };
        assert_eq!(
            run.summary(),
            "system prune: 3.5 GiB reclaimed on 2 nodes (1 part failed); not pruned: n3: no report"
        );
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(312 << 20), "312 MiB");
    }
}
