//! Tests of the image cloud: the encryption job end to end, the four balancing modes
//! against what their mechanisms predict, the offline token, sharing through the cache,
//! determinism, and the report's experiment.

use super::*;
use crate::transport::TransportConfig;
use dsim_system::{LinkTable, NodeDecl};
use sim_core::{Fault, Latency, LinkParams, Node, Recorder, Role};

fn decls(servers: usize, clients: usize) -> Vec<NodeDecl> {
    let node = |name: String, role: &str| NodeDecl {
        name,
        role: role.into(),
        start: Some(SimTime::ZERO),
    };
    (0..servers)
        .map(|i| node(format!("server-{i}"), "server"))
        .chain((0..clients).map(|i| node(format!("client-{i}"), "client")))
        .collect()
}

/// A LAN: latency uniform in [min, max] microseconds, 100 Mb/s, loss `loss`.
fn lan(min_us: u64, max_us: u64, loss: f64) -> LinkParams {
    LinkParams {
        latency: Latency::Uniform {
            min: SimTime::from_micros(min_us),
            max: SimTime::from_micros(max_us),
        },
        bandwidth_bps: Some(100_000_000),
        loss,
        ..LinkParams::default()
    }
}

struct Run {
    sim: Simulation<CloudNode>,
    metrics: Metrics,
    violation: Option<String>,
}

fn run(
    params: &ImageCloudParams,
    nodes: &[NodeDecl],
    link: LinkParams,
    seed: u64,
    until: SimTime,
    faults: &[(SimTime, Fault<String>)],
) -> Run {
    let network = LinkTable {
        default: link,
        ..LinkTable::default()
    };
    run_on(params, nodes, &network, seed, until, faults)
}

/// Links between clients and servers (both ways) get `lossy`; the cloud's own LAN
/// (server to server) keeps the default.
fn lossy_clients(nodes: &[NodeDecl], default: LinkParams, lossy: &LinkParams) -> LinkTable {
    let mut t = LinkTable {
        default,
        ..LinkTable::default()
    };
    for s in nodes.iter().filter(|n| n.role == "server") {
        for c in nodes.iter().filter(|n| n.role == "client") {
            for (a, b) in [(s, c), (c, s)] {
                t.overrides
                    .insert((a.name.clone(), b.name.clone()), lossy.clone());
            }
        }
    }
    t
}

fn run_on(
    params: &ImageCloudParams,
    nodes: &[NodeDecl],
    network: &LinkTable,
    seed: u64,
    until: SimTime,
    faults: &[(SimTime, Fault<String>)],
) -> Run {
    let setup = Setup {
        seed,
        nodes,
        links: &[],
        network,
        files: dsim_system::ScenarioFiles::none(),
    };
    let done = dsim_system::run_to::<ImageCloud>(params, &setup, until, faults).expect("valid");
    let violation = done
        .violation
        .map(|v| format!("{}: {}", v.invariant, v.message));
    Run {
        sim: done.sim,
        metrics: done.metrics,
        violation,
    }
}

fn params(balancing: Balancing) -> ImageCloudParams {
    ImageCloudParams {
        balancing,
        image_bytes: 1024,
        cover_bytes: 8232,
        workers: 4,
        queue_limit: 400,
        request_timeout: SimTime::from_millis(300),
        job_timeout: SimTime::from_secs(2),
        start_spread: SimTime::from_millis(20),
        ..ImageCloudParams::default()
    }
}

fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

/// With room to spare, the round-robin mode handles every request whose control
/// messages get through: each image goes up in chunks by stop-and-wait over a link
/// losing 5% of its packets (so chunks and ACKs are retransmitted), comes back hidden
/// in a cover, and decodes to the exact bytes (the `jobs_return_exact_bytes`
/// invariant checks each one); nothing is taken twice. A request fails only when its
/// single `Elected` datagram is lost (UDP, no retransmission, as in the report): about
/// 5% of them, and the client then never uploads.
#[test]
fn every_request_is_handled_and_decodes_exactly() {
    let p = ImageCloudParams {
        image_bytes: 70_000,
        cover_bytes: 560_100,
        transport: TransportConfig {
            timeout: SimTime::from_millis(20),
            max_tries: 20,
            ..TransportConfig::default()
        },
        ..params(Balancing::TokenRing)
    };
    let nodes = decls(3, 20);
    let network = lossy_clients(&nodes, lan(1000, 3000, 0.0), &lan(1000, 3000, 0.05));
    let r = run_on(&p, &nodes, &network, 4, secs(10), &[]);
    let m = &r.metrics;
    assert_eq!(r.violation, None);
    let (total, handled) = (m.value("requests_total"), m.value("requests_handled"));
    println!(
        "lossy: {handled} of {total} handled, {} retransmissions",
        m.value("retransmissions")
    );
    assert_eq!(total, 100.0);
    assert!(handled >= 85.0, "{handled}");
    assert_eq!(
        m.value("requests_failed"),
        m.value("requests_unanswered"),
        "only lost answers fail"
    );
    assert_eq!(m.value("duplicate_handling"), 0.0);
    assert!(m.value("retransmissions") > 0.0, "5% loss retransmits");
    // Two chunks each way (70,022 bytes with the envelope): a transfer up and one down
    // per handled request.
    let Some(sim_core::Metric::Samples(t)) = m.get("transfer_time_ms") else {
        panic!("transfer times recorded");
    };
    assert_eq!(t.len() as f64, 2.0 * handled);
    // Every server took a share of the work.
    for (_, _, n) in r.sim.world().nodes() {
        if let Some(s) = Server::of(n) {
            assert!(s.stats.encoded > 10, "{}", s.stats.encoded);
        }
    }
}

/// The replicated queues stay in step when every server sees the requests in the same
/// order (constant latency): exactly round robin, no duplicates, none dropped.
#[test]
fn replicated_queues_agree_when_arrival_orders_agree() {
    let constant = LinkParams {
        latency: Latency::Constant(SimTime::from_millis(1)),
        ..LinkParams::default()
    };
    let r = run(
        &params(Balancing::Queues),
        &decls(3, 60),
        constant,
        1,
        secs(5),
        &[],
    );
    let m = &r.metrics;
    assert_eq!(r.violation, None);
    assert_eq!(m.value("requests_handled"), 300.0);
    assert_eq!(m.value("duplicate_handling"), 0.0);
    for (_, _, n) in r.sim.world().nodes() {
        if let Some(s) = Server::of(n) {
            assert_eq!(s.accepted.len(), 100, "one request in three");
        }
    }
}

/// Fault tolerance by announcements shifts the copies even when arrival orders agree:
/// with constant latency, the replicated queues without fault tolerance stay in step
/// through the offline token (nothing handled twice; the sleeping server just drops what
/// it is elected for), while with it every copy takes the sleeping server out (and back)
/// at a different point of its rotation (the announcement arrives 1 ms after the
/// sleeper removed itself), so from then on copies disagree: requests are handled
/// twice, and the sleeper loses nothing. (The token changes hands in the middle of the
/// request bursts, so requests arrive during that millisecond.)
#[test]
fn offline_announcements_desynchronize_the_replicated_queues() {
    let constant = LinkParams {
        latency: Latency::Constant(SimTime::from_millis(1)),
        ..LinkParams::default()
    };
    let offline = Some(OfflineToken {
        start: SimTime::from_millis(105),
        sleep: SimTime::from_millis(100),
        awake: SimTime::from_millis(100),
    });
    let go = |balancing| {
        let p = ImageCloudParams {
            offline_token: offline.clone(),
            ..params(balancing)
        };
        let r = run(&p, &decls(3, 60), constant.clone(), 1, secs(5), &[]);
        assert_eq!(r.violation, None);
        r.metrics
    };
    let no_ft = go(Balancing::Queues);
    assert_eq!(no_ft.value("duplicate_handling"), 0.0);
    assert!(no_ft.value("requests_dropped_offline") > 0.0);
    let ft = go(Balancing::QueuesFt);
    println!(
        "constant latency: without FT {} lost to the sleeper, 0 twice; with FT {} twice, {} failed",
        no_ft.value("requests_dropped_offline"),
        ft.value("duplicate_handling"),
        ft.value("requests_failed")
    );
    assert_eq!(ft.value("requests_dropped_offline"), 0.0);
    assert!(ft.value("duplicate_handling") > 0.0);
    // Here the cure is worse than the illness, as in the report (31% against 29.5%).
    assert!(ft.value("requests_failed") > no_ft.value("requests_failed"));
}

/// When the requests of 200 clients reach the servers in scrambled orders (latency
/// jitter far above the gap between requests), each copy of the queue elects a server
/// for a request independently and uniformly, so with n = 3 servers a request is
/// elected by nobody with probability (1 - 1/n)^n = 8/27 (dropped) and by two or more
/// with 1 - 8/27 - 3 (1/3)(2/3)^2 = 7/27 (handled twice). Measured on 1,000 requests
/// (binomial standard error 1.4%), with capacity to spare so only the election loses
/// requests; the round-robin invariant flags the duplicates.
#[test]
fn scrambled_replicated_queues_drop_and_duplicate_as_predicted() {
    let p = params(Balancing::Queues);
    let r = run(&p, &decls(3, 200), lan(1000, 3000, 0.0), 6, secs(5), &[]);
    let m = &r.metrics;
    assert_eq!(r.violation, None);
    let total = m.value("requests_total");
    let dropped = m.value("requests_unanswered") / total;
    let twice = m.value("duplicate_handling") / total;
    println!(
        "scrambled queues: dropped {dropped:.3} (theory {:.3}), handled twice {twice:.3} (theory {:.3})",
        8.0 / 27.0,
        7.0 / 27.0
    );
    assert_eq!(total, 1000.0);
    assert!((dropped - 8.0 / 27.0).abs() < 0.045, "{dropped}");
    assert!((twice - 7.0 / 27.0).abs() < 0.045, "{twice}");
    assert_eq!(m.value("requests_dropped_full"), 0.0);
    assert_eq!(m.value("failure_rate"), dropped);

    // The round-robin invariant, checked on this run, catches the duplicates.
    let mut inv = invariants::NoRequestHandledTwice::default();
    let e = inv.check(&r.sim.world()).unwrap_err();
    assert!(e.contains("accepted by server-"), "{e}");
}

/// The offline token with fault tolerance: the sleeping server announces it and the
/// token skips it, so no request is lost to it; without fault tolerance the replicated
/// queues keep electing it and lose the requests it is elected for.
#[test]
fn the_offline_token_costs_nothing_with_fault_tolerance() {
    let offline = Some(OfflineToken {
        start: SimTime::from_millis(50),
        sleep: SimTime::from_millis(100),
        awake: SimTime::from_millis(100),
    });
    let ft = ImageCloudParams {
        offline_token: offline.clone(),
        ..params(Balancing::TokenRing)
    };
    let r = run(&ft, &decls(3, 100), lan(1000, 3000, 0.0), 2, secs(5), &[]);
    assert_eq!(r.violation, None);
    assert!(r.metrics.value("offline_periods") >= 4.0);
    assert_eq!(r.metrics.value("requests_dropped_offline"), 0.0);
    assert_eq!(r.metrics.value("requests_handled"), 500.0);

    let no_ft = ImageCloudParams {
        offline_token: offline,
        ..params(Balancing::Queues)
    };
    let r = run(
        &no_ft,
        &decls(3, 100),
        lan(1000, 3000, 0.0),
        2,
        secs(5),
        &[],
    );
    assert_eq!(r.violation, None);
    assert!(r.metrics.value("requests_dropped_offline") > 20.0);
}

/// Sharing: the owner's first encrypted image goes to an online receiver directly and
/// to an offline one through the cloud cache (preview first, then the image), rights
/// changes too; views are granted while rights last and refused after; the invariants
/// replay every receiver's rights against the oracle.
#[test]
fn sharing_goes_through_the_cache_and_rights_are_enforced() {
    let at = |ms: u64, op: Op| Action {
        at: SimTime::from_millis(ms),
        op,
    };
    let c = |i: u32| format!("client-{i}");
    let share = |r, views| Op::Share {
        owner: c(0),
        receiver: c(r),
        views,
    };
    let set = |r, views| Op::SetViews {
        owner: c(0),
        receiver: c(r),
        views,
    };
    let view = |r| Op::View {
        receiver: c(r),
        owner: c(0),
    };
    let p = ImageCloudParams {
        requests: 1,
        actions: vec![
            at(10, set(2, 9)), // the owner has no encrypted image yet: skipped
            at(100, view(2)),  // nothing shared yet: refused
            at(1000, Op::Logout(c(1))),
            at(2000, share(1, 2)), // cached
            at(2000, share(2, 1)), // direct
            at(2500, set(2, 3)),
            at(3000, view(2)),
            at(3001, view(2)),
            at(3002, view(2)),
            at(3003, view(2)), // refused: 3 views
            at(4000, Op::Login(c(1))),
            at(5000, view(1)),
            at(5001, view(1)),
            at(5002, view(1)), // refused: 2 views
            at(6000, Op::Logout(c(1))),
            at(6500, set(1, 1)), // cached
            at(7000, Op::Login(c(1))),
            at(8000, view(1)),
            at(8001, view(1)), // refused
        ],
        ..params(Balancing::TokenRing)
    };
    let r = run(&p, &decls(3, 3), lan(1000, 3000, 0.0), 5, secs(9), &[]);
    let m = &r.metrics;
    assert_eq!(r.violation, None);
    assert_eq!(m.value("cached_deliveries"), 3.0, "preview, image, rights");
    assert_eq!(m.value("previews_received"), 2.0);
    assert_eq!(m.value("previews_before_image"), 2.0);
    assert_eq!(m.value("views_granted"), 6.0);
    assert_eq!(m.value("views_refused"), 4.0);
    assert_eq!(m.value("shares_skipped"), 1.0);
    assert_eq!(m.value("shared_items_dropped_offline"), 0.0);
    assert_eq!(m.value("cache_pending"), 0.0, "all delivered");
    let receiver = r.sim.lookup("client-1").unwrap();
    let owner = r.sim.lookup("client-0").unwrap();
    let rc = Client::of(r.sim.node(receiver).1).expect("a client");
    let g = rc.rights.grant(owner).expect("rights held");
    assert_eq!((g.version, g.remaining), (1, 0));
}

/// Same seed, same trace; another seed, another trace.
#[test]
fn runs_are_deterministic() {
    let p = ImageCloudParams {
        offline_token: Some(OfflineToken {
            start: SimTime::from_millis(50),
            sleep: SimTime::from_millis(100),
            awake: SimTime::from_millis(100),
        }),
        ..params(Balancing::QueuesFt)
    };
    let go = |seed| {
        let r = run(&p, &decls(3, 30), lan(1000, 3000, 0.01), seed, secs(3), &[]);
        (r.sim.fingerprint(), r.metrics)
    };
    let (f1, m1) = go(8);
    let (f2, m2) = go(8);
    let (f3, _) = go(9);
    assert_eq!(f1, f2);
    assert_eq!(m1, m2);
    assert_ne!(f1, f3);
}

#[test]
fn bad_parameters_are_refused_naming_the_field() {
    let refuse = |p: ImageCloudParams, nodes: &[NodeDecl]| {
        let setup = Setup {
            seed: 0,
            nodes,
            links: &[],
            network: &LinkTable::default(),
            files: dsim_system::ScenarioFiles::none(),
        };
        ImageCloud::validate(&p, &setup).unwrap_err()
    };
    let nodes = decls(2, 2);
    let d = || params(Balancing::TokenRing);
    let e = refuse(
        ImageCloudParams {
            cover_bytes: 8223,
            ..d()
        },
        &nodes,
    );
    assert!(e.starts_with("params.cover_bytes (8223)"), "{e}");
    assert!(e.contains("= 8224"), "{e}");
    let e = refuse(ImageCloudParams { workers: 0, ..d() }, &nodes);
    assert!(e.starts_with("params.workers"), "{e}");
    let e = refuse(
        ImageCloudParams {
            job_timeout: SimTime::from_millis(1),
            ..d()
        },
        &nodes,
    );
    assert!(e.starts_with("params.job_timeout"), "{e}");
    let e = refuse(
        ImageCloudParams {
            actions: vec![Action {
                at: SimTime::ZERO,
                op: Op::Login("server-0".into()),
            }],
            ..d()
        },
        &nodes,
    );
    assert!(e.starts_with("params.actions[0] names \"server-0\""), "{e}");
    let e = refuse(d(), &decls(2, 0));
    assert!(e.contains("role \"client\""), "{e}");
    let mtu = LinkTable {
        default: LinkParams {
            mtu: Some(1500),
            ..LinkParams::default()
        },
        ..LinkTable::default()
    };
    let setup = Setup {
        seed: 0,
        nodes: &nodes,
        links: &[],
        network: &mtu,
        files: dsim_system::ScenarioFiles::none(),
    };
    let e = ImageCloud::validate(&d(), &setup).unwrap_err();
    assert!(e.starts_with("the link server-0 -> client-0"), "{e}");
}

// ----- roles alone, under a Recorder (no kernel) -----

/// A client alone: it logs in with every server when it starts, sends its first request
/// to every server (round robin) when the timer fires, with its deadlines, uploads to the
/// first server elected, declines the second, and counts a result that never came back
/// as late.
#[test]
fn a_client_alone_logs_in_asks_every_server_and_declines_a_second_election() {
    let p = Arc::new(ImageCloudParams::default());
    let mut client = Client::new(Arc::clone(&p), 1, Vec::new());
    client.servers = vec![NodeId(0), NodeId(1)];
    let mut ctx = Recorder::new(&["server-0", "server-1", "client-0"], "client-0", 1);
    client.on_start(&mut ctx);
    assert!(client.online);
    assert_eq!(
        ctx.take_sent(),
        vec![(NodeId(0), CloudMsg::Login), (NodeId(1), CloudMsg::Login)]
    );
    let (_, first, timer) = &ctx.timers[0];
    assert_eq!(timer, &CloudTimer::NextRequest);
    assert!(*first < p.start_spread, "{first}");

    client.on_timer(&mut ctx, CloudTimer::NextRequest);
    let request = CloudMsg::Request { seq: 0 };
    assert_eq!(
        ctx.take_sent(),
        vec![(NodeId(0), request.clone()), (NodeId(1), request)]
    );
    let set: Vec<(SimTime, CloudTimer)> = ctx.timers[1..]
        .iter()
        .map(|(_, after, t)| (*after, t.clone()))
        .collect();
    assert_eq!(
        set,
        vec![
            (p.request_interval, CloudTimer::NextRequest),
            (p.request_timeout, CloudTimer::RequestTimeout(0)),
            (p.job_timeout, CloudTimer::JobTimeout(0)),
        ]
    );

    client.on_message(&mut ctx, NodeId(1), CloudMsg::Elected { seq: 0 });
    let upload = ctx.take_sent();
    assert!(!upload.is_empty());
    assert!(
        upload
            .iter()
            .all(|(to, m)| *to == NodeId(1) && matches!(m, CloudMsg::Transport(_))),
        "{upload:?}"
    );
    client.on_message(&mut ctx, NodeId(0), CloudMsg::Elected { seq: 0 });
    assert_eq!(
        ctx.take_sent(),
        vec![(NodeId(0), CloudMsg::Decline { seq: 0 })]
    );

    client.on_timer(&mut ctx, CloudTimer::RequestTimeout(0));
    assert_eq!(client.stats.unanswered, 0, "a server answered");
    client.on_timer(&mut ctx, CloudTimer::JobTimeout(0));
    assert_eq!((client.stats.late, client.stats.failed), (1, 1));
}

/// A server alone, without balancing: it elects itself for requests while it has slots
/// (`workers + queue_limit`), drops the rest, and answers directory queries by the
/// logins it has seen.
#[test]
fn a_server_alone_takes_requests_while_it_has_slots_and_answers_the_directory() {
    let p = Arc::new(ImageCloudParams {
        balancing: Balancing::NoBalancing,
        workers: 1,
        queue_limit: 1,
        ..ImageCloudParams::default()
    });
    let mut server = Server::new(0, Arc::clone(&p), 1, "server-0");
    server.servers = vec![NodeId(0)];
    let mut ctx = Recorder::new(&["server-0", "client-0", "client-1"], "server-0", 1);
    server.on_start(&mut ctx);
    assert!(ctx.timers.is_empty(), "no token without the ring");
    let (c0, c1) = (NodeId(1), NodeId(2));
    for seq in 0..3 {
        server.on_message(&mut ctx, c0, CloudMsg::Request { seq });
    }
    assert_eq!(
        ctx.take_sent(),
        vec![
            (c0, CloudMsg::Elected { seq: 0 }),
            (c0, CloudMsg::Elected { seq: 1 })
        ]
    );
    assert_eq!(server.stats.dropped_full, 1);
    assert_eq!(server.load(), 2);
    assert!(
        ctx.timers
            .iter()
            .all(|(_, after, t)| *after == p.job_timeout
                && matches!(t, CloudTimer::JobExpire(id) if id.client == c0))
    );

    let ask = CloudMsg::WhoIsOnline { client: c0 };
    server.on_message(&mut ctx, c1, ask.clone());
    server.on_message(&mut ctx, c0, CloudMsg::Login);
    server.on_message(&mut ctx, c1, ask);
    let presence = |online| (c1, CloudMsg::Presence { client: c0, online });
    assert_eq!(ctx.take_sent(), vec![presence(false), presence(true)]);
}
