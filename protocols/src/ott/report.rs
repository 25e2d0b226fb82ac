//! End-of-run metrics of the OTT system, from the nodes' final state.

use super::client::Client;
use super::invariants::{feeders, path_to_server};
use super::overlay::{Overlay, OverlayStats};
use super::{OttNode, OttParams};
use sim_core::{Metrics, Role, SimTime, World};

/// Write the OTT metrics: what the viewers saw (startup delay, stalls, loss, outages),
/// the shape of the trees (depth, duplicate feeds) and the cost of control.
pub(super) fn report(params: &OttParams, world: &World<'_, OttNode>, metrics: &mut Metrics) {
    let end = world.now();
    let (mut watched, mut stalled) = (0.0_f64, 0.0_f64);
    let (mut received, mut expected) = (0u64, 0u64);
    let mut outages: Vec<(SimTime, f64)> = Vec::new();
    let mut never_started = 0u64;
    let mut moves = 0u64;
    for (_, _, n) in world.nodes() {
        let Some(c) = Client::of(n) else { continue };
        moves += c.moves;
        for s in &c.sessions {
            let stop = s.ended_at.unwrap_or(end);
            let (Some(first), Some(last)) = (s.first_video, s.last_video) else {
                never_started += 1;
                continue;
            };
            metrics.observe("startup_delay_ms", (first - s.asked_at).as_millis_f64());
            watched += stop.saturating_sub(first).as_secs_f64();
            stalled += s.stalled.as_secs_f64();
            // A gap still open when the watch ended counts as frozen too.
            let open = stop.saturating_sub(last);
            if open > params.stall_after {
                stalled += (open - params.stall_after).as_secs_f64();
            }
            received += s.packets;
            expected += s.seqs.1 - s.seqs.0 + 1;
            outages.extend(s.outages.iter().map(|&(a, b)| (a, (b - a).as_millis_f64())));
        }
    }
    outages.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for &(_, ms) in &outages {
        metrics.observe("recovery_time_ms", ms);
    }
    for (k, &(at, ms)) in outages.iter().enumerate() {
        metrics.set(
            &format!("recovery_time_ms.{}_at_{:.0}s", k + 1, at.as_secs_f64()),
            ms,
        );
    }
    metrics.set("outages", outages.len() as f64);
    metrics.set("sessions_never_started", never_started as f64);
    metrics.set(
        "stall_ratio",
        if watched > 0.0 {
            stalled / watched
        } else {
            0.0
        },
    );
    metrics.set(
        "video_loss_ratio",
        if expected > 0 {
            1.0 - received as f64 / expected as f64
        } else {
            0.0
        },
    );
    metrics.set("client_pop_moves", moves as f64);

    // Tree depth: overlay links from the server to each client receiving a stream.
    let mut depth = 0usize;
    for (_, n) in world.live_nodes() {
        let Some(c) = Client::of(n) else { continue };
        for (&v, s) in &c.streams {
            if let Some(pop) = s.pop
                && let Ok(links) = path_to_server(world, pop, v)
            {
                depth = depth.max(links + 1);
            }
        }
    }
    metrics.set("tree_depth", depth as f64);
    let duplicates: usize = feeders(world, params.video_timeout)
        .values()
        .map(|f| f.len() - 1)
        .sum();
    metrics.set("duplicate_stream_links", duplicates as f64);

    let secs = end.as_secs_f64().max(1e-9);
    let control: u64 = world
        .nodes()
        .map(|(_, _, n)| n.host().endpoint.stats().bytes_sent)
        .sum();
    let video: u64 = world
        .nodes()
        .map(|(_, _, n)| n.host().video_bytes_sent)
        .sum();
    metrics.set("control_overhead_bps", control as f64 * 8.0 / secs);
    metrics.set("video_link_bps", video as f64 * 8.0 / secs);
    let mut stat = |name: &str, f: &dyn Fn(&OverlayStats) -> u64| {
        let total: u64 = world
            .nodes()
            .filter_map(|(_, _, n)| Overlay::of(n).map(|o| f(&o.stats)))
            .sum();
        metrics.set(name, total as f64);
    };
    stat("floods_forwarded", &|s| s.floods_forwarded);
    stat("parent_switches", &|s| s.parent_switches);
    stat("catastrophic_deaths", &|s| s.catastrophic);
    stat("new_neighbour_packets", &|s| s.new_neighbours_sent);
    stat("video_rerequests", &|s| s.rerequests);
    stat("clients_dropped", &|s| s.clients_dropped);
    stat("stray_video_datagrams", &|s| s.video_stray);
    stat("parents_dropped", &|s| s.parents_dropped);
}
