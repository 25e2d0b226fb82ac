//! The protocol's parameters, as a scenario's `params: (...)` writes them.

use dsim::SimTime;
use serde::{Deserialize, Serialize};

/// Leader-lease parameters; every duration is written like `"2s"` or `"150ms"`.
///
/// A leader counts its lease from the moment it *sent* its request, for
/// `lease - drift_margin` of its own clock; a replica keeps its promise for
/// `lease + guard` of its own clock from the moment it granted. With every clock within
/// `rho` of true rate, two leases never overlap while
/// `(lease - drift_margin)(1 + rho) <= (lease + guard)(1 - rho)`; see
/// [`LeaseParams::tolerated_drift_ppm`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaseParams {
    /// How long a granted lease lasts. Default 2 s.
    pub lease: SimTime,
    /// How much longer than `lease` a replica keeps a promise. Default 100 ms.
    pub guard: SimTime,
    /// How much earlier than `lease` a leader gives its lease up. Default 100 ms.
    pub drift_margin: SimTime,
    /// How often the leader renews; renewals are its heartbeat. Default 500 ms.
    pub renew_every: SimTime,
    /// How long a round of requests waits for a majority. Default 100 ms.
    pub request_timeout: SimTime,
    /// Shortest randomized wait before a follower stands for election. Default 150 ms.
    pub election_timeout_min: SimTime,
    /// Longest randomized wait before a follower stands for election. Default 300 ms.
    pub election_timeout_max: SimTime,
}

impl Default for LeaseParams {
    fn default() -> Self {
        LeaseParams {
            lease: SimTime::from_secs(2),
            guard: SimTime::from_millis(100),
            drift_margin: SimTime::from_millis(100),
            renew_every: SimTime::from_millis(500),
            request_timeout: SimTime::from_millis(100),
            election_timeout_min: SimTime::from_millis(150),
            election_timeout_max: SimTime::from_millis(300),
        }
    }
}

impl LeaseParams {
    /// How long a leader believes in a lease, in its own time, after sending its request.
    pub fn held_for(&self) -> SimTime {
        self.lease - self.drift_margin
    }

    /// How long a replica keeps a promise, in its own time, after granting it.
    pub fn promised_for(&self) -> SimTime {
        self.lease + self.guard
    }

    /// The largest clock rate error, in parts per million, under which leases cannot
    /// overlap: `rho = (guard + drift_margin) / (2 lease + guard - drift_margin)`
    /// (50,000 ppm with the defaults). Clock jumps are outside this bound.
    pub fn tolerated_drift_ppm(&self) -> f64 {
        let (l, g, m) = (
            self.lease.as_secs_f64(),
            self.guard.as_secs_f64(),
            self.drift_margin.as_secs_f64(),
        );
        (g + m) / (2.0 * l + g - m) * 1e6
    }

    /// Check the parameters against each other; the error names the parameter.
    pub fn check(&self) -> Result<(), String> {
        for (name, t) in [
            ("lease", self.lease),
            ("renew_every", self.renew_every),
            ("request_timeout", self.request_timeout),
            ("election_timeout_min", self.election_timeout_min),
        ] {
            if t == SimTime::ZERO {
                return Err(format!("params.{name} must be positive"));
            }
        }
        if self.drift_margin >= self.lease {
            return Err("params.drift_margin must be shorter than params.lease".into());
        }
        if self.renew_every + self.request_timeout >= self.held_for() {
            return Err(format!(
                "params.renew_every + params.request_timeout ({}) must be shorter than \
                 lease - drift_margin ({}), or the lease runs out before a renewal",
                self.renew_every + self.request_timeout,
                self.held_for()
            ));
        }
        if self.election_timeout_min > self.election_timeout_max {
            return Err("params.election_timeout_min exceeds params.election_timeout_max".into());
        }
        Ok(())
    }
}
