//! Fault plans drawn from a budget, swarm style: each plan first draws which kinds of
//! fault are on, then a number of fault episodes of those kinds, each with its own
//! start, length, targets and strength. Swarm testing (Groce et al., ISSTA 2012) finds
//! more bugs than always mixing every kind, because some bugs need a kind to be
//! absent (no crashes, say, so that a partition lasts).
//!
//! An [`Episode`] is one thing going wrong and, where it has one, its repair (a crash
//! and its restart, a partition and its heal, a loss burst and the loss restored); it
//! turns into [`ScheduledFault`]s with [`Episode::faults`]. Explorers shrink plans
//! episode by episode: drop one, shorten it, weaken it.
//!
//! The same episodes are available as a proptest strategy (`episodes`, behind the
//! `proptest` feature), so protocol tests can draw and shrink fault plans the same way
//! `dsim explore` does.

use crate::network::{LinkParams, LinkPatch};
use crate::rng::{SimRng, unit_f64};
use crate::time::{ClockOffset, SimTime};
use crate::{Fault, ScheduledFault};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// A kind of fault episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    /// Every default link loses a fraction of packets (up to `max_loss`), then recovers.
    Loss,
    /// Every default link duplicates packets (up to half), then stops.
    Duplication,
    /// Every default link reorders packets (up to half, held back up to `max_spike`).
    Reordering,
    /// Every default link gets extra jitter (up to `max_spike`), then recovers.
    DelaySpike,
    /// A symmetric partition into two groups, then a heal.
    Partition,
    /// One group cannot reach the rest (the reverse still works), then a heal.
    OneWayPartition,
    /// One node can neither send nor receive, then a heal.
    Isolation,
    /// One node crashes, then restarts.
    CrashRestart,
    /// One node pauses (a stop-the-world pause), then resumes.
    Pause,
    /// One node's clock drifts (up to `max_ppm`), then runs true again.
    ClockDrift,
    /// One node's clock jumps (up to `max_jump`, either way).
    ClockJump,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 11] = [
        FaultKind::Loss,
        FaultKind::Duplication,
        FaultKind::Reordering,
        FaultKind::DelaySpike,
        FaultKind::Partition,
        FaultKind::OneWayPartition,
        FaultKind::Isolation,
        FaultKind::CrashRestart,
        FaultKind::Pause,
        FaultKind::ClockDrift,
        FaultKind::ClockJump,
    ];

    /// Whether the episode needs target nodes.
    pub fn targets_nodes(self) -> bool {
        !matches!(
            self,
            FaultKind::Loss
                | FaultKind::Duplication
                | FaultKind::Reordering
                | FaultKind::DelaySpike
        )
    }
}

/// What plans may contain: the explorer's fault budget, as written in a scenario's
/// `explore: (...)` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultBudget {
    /// At most this many episodes per plan.
    pub max_faults: u32,
    /// Episodes start no earlier than this.
    pub from: SimTime,
    /// Episodes start no later than this (`None`: the scenario's duration).
    pub until: Option<SimTime>,
    /// An episode lasts at most this long.
    pub max_length: SimTime,
    /// The kinds plans may draw from.
    pub kinds: Vec<FaultKind>,
    /// Node names faults may target (`[]`: every declared node).
    pub nodes: Vec<String>,
    /// Largest loss probability of a `Loss` episode.
    pub max_loss: f64,
    /// Largest extra jitter of a `DelaySpike`, and hold-back of `Reordering`.
    pub max_spike: SimTime,
    /// Largest clock drift, parts per million.
    pub max_ppm: f64,
    /// Largest clock jump.
    pub max_jump: SimTime,
}

impl Default for FaultBudget {
    fn default() -> Self {
        FaultBudget {
            max_faults: 6,
            from: SimTime::ZERO,
            until: None,
            max_length: SimTime::from_secs(30),
            kinds: FaultKind::ALL.to_vec(),
            nodes: Vec::new(),
            max_loss: 0.5,
            max_spike: SimTime::from_millis(500),
            max_ppm: 1000.0,
            max_jump: SimTime::from_secs(5),
        }
    }
}

impl FaultBudget {
    /// Check the budget; the error names the field.
    pub fn validate(&self, duration: SimTime) -> Result<(), String> {
        let until = self.until.unwrap_or(duration);
        if self.from > until {
            return Err(format!(
                "explore.from {} is after explore.until {until}",
                self.from
            ));
        }
        if self.kinds.is_empty() {
            return Err("explore.kinds: at least one kind of fault is needed".into());
        }
        if !(0.0..=1.0).contains(&self.max_loss) {
            return Err(format!(
                "explore.max_loss {} is not a probability",
                self.max_loss
            ));
        }
        if !self.max_ppm.is_finite() || self.max_ppm < 0.0 {
            return Err(format!(
                "explore.max_ppm {} must be finite and not negative",
                self.max_ppm
            ));
        }
        Ok(())
    }
}

/// One fault episode: what goes wrong, from when, for how long, to whom, how badly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Episode<N> {
    /// The kind.
    pub kind: FaultKind,
    /// When it starts.
    pub at: SimTime,
    /// How long until the repair (ignored by `ClockJump`).
    pub length: SimTime,
    /// Target nodes: one node, or for partitions the group cut off.
    pub nodes: Vec<N>,
    /// Strength in `(0, 1]`, scaled by the budget's maximum for the kind (loss, jitter,
    /// ppm, jump; a negative sign makes drift and jumps go backwards).
    pub strength: f64,
}

impl<N: Clone + PartialEq> Episode<N> {
    /// The scheduled faults of this episode: the fault and its repair. `all` lists
    /// every node (partitions cut `nodes` from the rest); `base` is the default link
    /// as the scenario sets it, which network episodes restore.
    pub fn faults(
        &self,
        budget: &FaultBudget,
        all: &[N],
        base: &LinkParams,
    ) -> Vec<ScheduledFault<N>> {
        let end = self.at + self.length;
        let s = self.strength;
        let at = |t: SimTime, fault: Fault<N>| ScheduledFault { at: t, fault };
        let link = |patch: LinkPatch| Fault::SetDefaultLink(patch);
        let rest: Vec<N> = all
            .iter()
            .filter(|n| !self.nodes.contains(n))
            .cloned()
            .collect();
        let one = self.nodes.first().cloned();
        match (self.kind, one) {
            (FaultKind::Loss, _) => vec![
                at(
                    self.at,
                    link(LinkPatch {
                        loss: Some(s.abs() * budget.max_loss),
                        ..LinkPatch::default()
                    }),
                ),
                at(
                    end,
                    link(LinkPatch {
                        loss: Some(base.loss),
                        ..LinkPatch::default()
                    }),
                ),
            ],
            (FaultKind::Duplication, _) => vec![
                at(
                    self.at,
                    link(LinkPatch {
                        duplicate: Some(s.abs() * 0.5),
                        ..LinkPatch::default()
                    }),
                ),
                at(
                    end,
                    link(LinkPatch {
                        duplicate: Some(base.duplicate),
                        ..LinkPatch::default()
                    }),
                ),
            ],
            (FaultKind::Reordering, _) => vec![
                at(
                    self.at,
                    link(LinkPatch {
                        reorder: Some(s.abs() * 0.5),
                        reorder_delay: Some(scale(budget.max_spike, s)),
                        ..LinkPatch::default()
                    }),
                ),
                at(
                    end,
                    link(LinkPatch {
                        reorder: Some(base.reorder),
                        reorder_delay: Some(base.reorder_delay),
                        ..LinkPatch::default()
                    }),
                ),
            ],
            (FaultKind::DelaySpike, _) => vec![
                at(
                    self.at,
                    link(LinkPatch {
                        jitter: Some(scale(budget.max_spike, s)),
                        ..LinkPatch::default()
                    }),
                ),
                at(
                    end,
                    link(LinkPatch {
                        jitter: Some(base.jitter),
                        ..LinkPatch::default()
                    }),
                ),
            ],
            (_, None) => Vec::new(),
            (FaultKind::Partition, Some(_)) if !rest.is_empty() => vec![
                at(self.at, Fault::Partition(vec![self.nodes.clone(), rest])),
                at(end, Fault::Heal),
            ],
            (FaultKind::OneWayPartition, Some(_)) if !rest.is_empty() => vec![
                at(
                    self.at,
                    Fault::PartitionOneWay {
                        from: self.nodes.clone(),
                        to: rest,
                    },
                ),
                at(end, Fault::Heal),
            ],
            (FaultKind::Partition | FaultKind::OneWayPartition, Some(_)) => Vec::new(),
            (FaultKind::Isolation, Some(n)) => {
                vec![at(self.at, Fault::Isolate(n)), at(end, Fault::Heal)]
            }
            (FaultKind::CrashRestart, Some(n)) => {
                vec![
                    at(self.at, Fault::Crash(n.clone())),
                    at(end, Fault::Restart(n)),
                ]
            }
            (FaultKind::Pause, Some(n)) => vec![
                at(self.at, Fault::Pause(n.clone())),
                at(end, Fault::Resume(n)),
            ],
            (FaultKind::ClockDrift, Some(n)) => vec![
                at(
                    self.at,
                    Fault::ClockDrift {
                        node: n.clone(),
                        ppm: s * budget.max_ppm,
                    },
                ),
                at(end, Fault::ClockDrift { node: n, ppm: 0.0 }),
            ],
            (FaultKind::ClockJump, Some(n)) => {
                let by = (budget.max_jump.as_nanos() as f64 * s) as i64;
                vec![at(
                    self.at,
                    Fault::ClockJump {
                        node: n,
                        by: ClockOffset(by),
                    },
                )]
            }
        }
    }
}

/// `max` scaled by `|strength|`.
fn scale(max: SimTime, strength: f64) -> SimTime {
    SimTime::from_nanos((max.as_nanos() as f64 * strength.abs()) as u64)
}

/// The scheduled faults of a whole plan, in time order (ties keep plan order).
pub fn plan_faults<N: Clone + PartialEq>(
    plan: &[Episode<N>],
    budget: &FaultBudget,
    all: &[N],
    base: &LinkParams,
) -> Vec<ScheduledFault<N>> {
    let mut faults: Vec<ScheduledFault<N>> = plan
        .iter()
        .flat_map(|e| e.faults(budget, all, base))
        .collect();
    faults.sort_by_key(|f| f.at);
    faults
}

/// Draw a plan, swarm style: first the kinds that are on (each of the budget's kinds
/// with probability 1/2, at least one), then 1 to `max_faults` episodes of those kinds
/// in the window `[from, until]`. `targets` are the nodes faults may hit.
pub fn draw_plan<N: Clone>(
    budget: &FaultBudget,
    until: SimTime,
    targets: &[N],
    rng: &mut SimRng,
) -> Vec<Episode<N>> {
    let mut kinds: Vec<FaultKind> = budget
        .kinds
        .iter()
        .copied()
        .filter(|_| rng.random_bool(0.5))
        .collect();
    if kinds.is_empty() {
        kinds.push(budget.kinds[rng.random_range(0..budget.kinds.len())]);
    }
    let until = budget.until.unwrap_or(until).max(budget.from);
    let count = rng.random_range(1..=budget.max_faults.max(1));
    (0..count)
        .map(|_| {
            let kind = kinds[rng.random_range(0..kinds.len())];
            let at =
                SimTime::from_nanos(rng.random_range(budget.from.as_nanos()..=until.as_nanos()));
            let length = SimTime::from_nanos(rng.random_range(0..=budget.max_length.as_nanos()));
            let nodes = if kind.targets_nodes() && !targets.is_empty() {
                match kind {
                    FaultKind::Partition | FaultKind::OneWayPartition => {
                        let mut group: Vec<N> = targets
                            .iter()
                            .filter(|_| rng.random_bool(0.5))
                            .cloned()
                            .collect();
                        if group.is_empty() {
                            group.push(targets[rng.random_range(0..targets.len())].clone());
                        }
                        group
                    }
                    _ => vec![targets[rng.random_range(0..targets.len())].clone()],
                }
            } else {
                Vec::new()
            };
            let magnitude = 1.0 - unit_f64(rng);
            let strength = if rng.random_bool(0.5) {
                magnitude
            } else {
                -magnitude
            };
            Episode {
                kind,
                at,
                length,
                nodes,
                strength,
            }
        })
        .collect()
}

/// Fault plans as a proptest strategy: up to `budget.max_faults` episodes of the
/// budget's kinds over `targets`, in `[budget.from, until]`. Proptest shrinks them
/// structurally (fewer episodes, earlier, shorter, weaker).
#[cfg(feature = "proptest")]
pub fn episodes<N: Clone + std::fmt::Debug + 'static>(
    budget: &FaultBudget,
    until: SimTime,
    targets: Vec<N>,
) -> impl proptest::strategy::Strategy<Value = Vec<Episode<N>>> + use<N> {
    use proptest::prelude::*;
    let kinds = budget.kinds.clone();
    let from = budget.from.as_nanos();
    let until = budget.until.unwrap_or(until).as_nanos().max(from);
    let max_length = budget.max_length.as_nanos();
    let n = targets.len().max(1);
    let episode = (
        0..kinds.len(),
        from..=until,
        0..=max_length,
        prop::collection::vec(0..n, 1..=n),
        -1.0f64..=1.0,
    )
        .prop_map(move |(k, at, length, picks, strength)| {
            let kind = kinds[k];
            let mut picks = picks;
            if !matches!(kind, FaultKind::Partition | FaultKind::OneWayPartition) {
                picks.truncate(1);
            }
            picks.sort_unstable();
            picks.dedup();
            let nodes: Vec<N> = if kind.targets_nodes() && !targets.is_empty() {
                picks.into_iter().map(|i| targets[i].clone()).collect()
            } else {
                Vec::new()
            };
            Episode {
                kind,
                at: SimTime::from_nanos(at),
                length: SimTime::from_nanos(length),
                nodes,
                strength,
            }
        });
    prop::collection::vec(episode, 0..=budget.max_faults as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::component_rng;

    fn nodes() -> Vec<String> {
        (0..4).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn plans_are_a_function_of_the_stream() {
        let budget = FaultBudget::default();
        let draw = |seed| {
            draw_plan(
                &budget,
                SimTime::from_secs(60),
                &nodes(),
                &mut component_rng(seed, "plan"),
            )
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn every_kind_gives_valid_faults_within_the_budget() {
        let budget = FaultBudget {
            max_faults: 8,
            ..FaultBudget::default()
        };
        let base = LinkParams::default();
        let mut kinds_seen = std::collections::BTreeSet::new();
        for seed in 0..300 {
            let plan = draw_plan(
                &budget,
                SimTime::from_secs(60),
                &nodes(),
                &mut component_rng(seed, "plan"),
            );
            assert!((1..=8).contains(&plan.len()));
            let faults = plan_faults(&plan, &budget, &nodes(), &base);
            assert!(faults.windows(2).all(|w| w[0].at <= w[1].at), "sorted");
            for e in &plan {
                kinds_seen.insert(e.kind);
                assert!(e.at <= SimTime::from_secs(60) && e.length <= budget.max_length);
                assert!(e.strength.abs() <= 1.0 && e.strength != 0.0);
            }
            for f in &faults {
                f.fault
                    .validate()
                    .unwrap_or_else(|m| panic!("{:?}: {m}", f.fault));
                if let Fault::Partition(groups) = &f.fault {
                    assert!(groups.iter().all(|g| !g.is_empty()), "{groups:?}");
                }
                if let Fault::SetDefaultLink(p) = &f.fault {
                    assert!(p.loss.is_none_or(|l| l <= budget.max_loss));
                }
            }
        }
        assert_eq!(
            kinds_seen.len(),
            FaultKind::ALL.len(),
            "swarm draws reach every kind"
        );
    }

    #[test]
    fn network_episodes_restore_the_scenarios_link() {
        let base = LinkParams {
            loss: 0.01,
            ..LinkParams::default()
        };
        let e = Episode::<String> {
            kind: FaultKind::Loss,
            at: SimTime::from_secs(1),
            length: SimTime::from_secs(2),
            nodes: Vec::new(),
            strength: -0.5,
        };
        let faults = e.faults(&FaultBudget::default(), &nodes(), &base);
        assert_eq!(faults.len(), 2);
        assert_eq!(faults[1].at, SimTime::from_secs(3));
        let Fault::SetDefaultLink(on) = &faults[0].fault else {
            panic!()
        };
        let Fault::SetDefaultLink(off) = &faults[1].fault else {
            panic!()
        };
        assert_eq!((on.loss, off.loss), (Some(0.25), Some(0.01)));
    }
}
