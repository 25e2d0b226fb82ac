//! Tests of the parking lot against the report's figures and queueing theory.

use super::*;
use dsim_system::{LinkTable, NodeDecl};
use sim_core::{Fault, Recorder};

fn decls(roles: &[(&str, &str)]) -> Vec<NodeDecl> {
    roles
        .iter()
        .map(|(name, role)| NodeDecl {
            name: (*name).into(),
            role: (*role).into(),
            start: Some(SimTime::ZERO),
        })
        .collect()
}

fn lot(mode: Mode) -> Vec<NodeDecl> {
    let mut roles = vec![
        ("gate-in-0", "entry"),
        ("gate-in-1", "entry"),
        ("gate-out-0", "exit"),
        ("gate-out-1", "exit"),
        ("display", "display"),
    ];
    if mode == Mode::LockServer {
        roles.push(("server", "server"));
    }
    decls(&roles)
}

/// Build and run; returns the simulation, the metrics (report included) and the
/// violation, if any.
fn run(
    params: &ParkingParams,
    nodes: &[NodeDecl],
    seed: u64,
    until: SimTime,
    faults: &[(SimTime, Fault<String>)],
) -> (Simulation<ParkingNode>, Metrics, Option<String>) {
    let setup = Setup {
        seed,
        nodes,
        links: &[],
        network: &LinkTable::default(),
        files: dsim_system::ScenarioFiles::none(),
    };
    let done = dsim_system::run_to::<Parking>(params, &setup, until, faults).expect("valid");
    let violation = done
        .violation
        .map(|v| format!("{}: {}", v.invariant, v.message));
    (done.sim, done.metrics, violation)
}

fn summary_mean(m: &Metrics, name: &str) -> f64 {
    match m.get(name) {
        Some(sim_core::Metric::Samples(s)) => s.iter().sum::<f64>() / s.len() as f64,
        other => panic!("{name}: {other:?}"),
    }
}

/// The report's figures: 3 messages per entry, client delay 2, sync delay 2.
#[test]
fn lock_server_costs_match_the_report() {
    let params = ParkingParams {
        cars_per_gate: 300,
        arrival_mean: SimTime::from_secs(2),
        ..Default::default()
    };
    let (_, m, v) = run(
        &params,
        &lot(Mode::LockServer),
        3,
        SimTime::from_secs(3600),
        &[],
    );
    assert_eq!(v, None);
    let (per, client, sync) = (
        m.value("messages_per_entry"),
        summary_mean(&m, "client_delay_messages"),
        summary_mean(&m, "sync_delay_messages"),
    );
    println!("lock server: {per} messages/entry, client delay {client}, sync delay {sync}");
    assert_eq!(m.value("entries"), 1200.0);
    assert_eq!(per, 3.0);
    assert_eq!(client, 2.0);
    assert_eq!(sync, 2.0);
    assert!(m.value("cars_admitted") > 0.0);
}

/// Ricart-Agrawala: 2(N-1) messages per entry with N gates; sync delay 1 message.
#[test]
fn ricart_agrawala_costs_2_n_minus_1() {
    let params = ParkingParams {
        mode: Mode::RicartAgrawala,
        cars_per_gate: 300,
        arrival_mean: SimTime::from_secs(2),
        ..Default::default()
    };
    let nodes = lot(Mode::RicartAgrawala);
    let (_, m, v) = run(&params, &nodes, 5, SimTime::from_secs(3600), &[]);
    assert_eq!(v, None);
    let n = 4.0;
    let per = m.value("messages_per_entry");
    println!(
        "ricart-agrawala N=4: {per} messages/entry (theory {}), client delay {}, sync delay {}",
        2.0 * (n - 1.0),
        summary_mean(&m, "client_delay_messages"),
        summary_mean(&m, "sync_delay_messages"),
    );
    assert_eq!(m.value("entries"), 1200.0);
    assert_eq!(per, 2.0 * (n - 1.0));
    assert_eq!(summary_mean(&m, "client_delay_messages"), 2.0);
    assert_eq!(summary_mean(&m, "sync_delay_messages"), 1.0);
}

/// M/G/1: one gate, Poisson arrivals, exponential hold h, constant one-way delay d; the
/// lock is busy S = h' + 2d per request, so E[S] = h + 2d, E[S^2] = h^2 + (h + 2d)^2, and
/// Pollaczek-Khinchine gives the mean wait at the server W = lambda E[S^2] / (2(1 - rho)).
#[test]
fn lock_wait_matches_pollaczek_khinchine() {
    let (h, d) = (10.0_f64, 1.0_f64); // ms
    let es = h + 2.0 * d;
    let es2 = h * h + es * es;
    for rho in [0.5, 0.8] {
        let lambda = rho / es; // per ms
        let cars = 200_000;
        let params = ParkingParams {
            capacity: 1_000_000,
            cars_per_gate: cars,
            arrival_mean: SimTime::from_nanos((1e6 / lambda).round() as u64),
            hold_mean: Some(SimTime::from_millis(h as u64)),
            ..Default::default()
        };
        let nodes = decls(&[("gate", "entry"), ("server", "server")]);
        let (_, m, v) = run(&params, &nodes, 7, SimTime::from_secs(100_000), &[]);
        assert_eq!(v, None);
        let got = summary_mean(&m, "lock_wait_ms");
        let theory = lambda * es2 / (2.0 * (1.0 - rho));
        println!("rho {rho}: mean lock wait {got:.3} ms, M/G/1 {theory:.3} ms");
        assert!(
            (got / theory - 1.0).abs() < 0.05,
            "rho {rho}: {got} vs {theory}"
        );
    }
}

/// Without replication, a crashed lock server stops every gate: liveness is lost.
#[test]
fn crashed_lock_server_loses_liveness() {
    let params = ParkingParams::default();
    let faults = [(SimTime::from_secs(60), Fault::Crash("server".to_string()))];
    let (_, _, v) = run(
        &params,
        &lot(Mode::LockServer),
        1,
        SimTime::from_secs(600),
        &faults,
    );
    let v = v.expect("liveness violation");
    assert!(v.starts_with("lock_liveness"), "{v}");
}

#[test]
fn same_seed_same_fingerprint() {
    let fp = |seed, mode| {
        let params = ParkingParams {
            mode,
            ..Default::default()
        };
        let (sim, _, v) = run(&params, &lot(mode), seed, SimTime::from_secs(600), &[]);
        assert_eq!(v, None);
        sim.fingerprint()
    };
    for mode in [Mode::LockServer, Mode::RicartAgrawala] {
        assert_eq!(fp(1, mode), fp(1, mode));
        assert_ne!(fp(1, mode), fp(2, mode));
    }
    let replicated = |seed| {
        let params = ParkingParams {
            mode: Mode::Replicated,
            ..Default::default()
        };
        let faults = [(SimTime::from_secs(60), Fault::Crash("server-2".to_string()))];
        let (sim, _, v) = run(
            &params,
            &replicated_lot(3),
            seed,
            SimTime::from_secs(300),
            &faults,
        );
        assert_eq!(v, None);
        sim.fingerprint()
    };
    assert_eq!(replicated(1), replicated(1));
    assert_ne!(replicated(1), replicated(2));
}

fn replicated_lot(replicas: usize) -> Vec<NodeDecl> {
    let mut nodes = lot(Mode::Replicated);
    for k in 0..replicas {
        nodes.push(NodeDecl {
            name: format!("server-{k}"),
            role: "server".into(),
            start: Some(SimTime::ZERO),
        });
    }
    nodes
}

/// Bully with n replicas, the primary (highest rank) crashing and every backup noticing
/// at the same heartbeat: backup i sends ELECTION to the n-1-i higher ranks
/// (sum = n(n-1)/2), each live backup j answers its j lower ranks
/// (sum over j < n-1 = (n-1)(n-2)/2), and the winner (rank n-2) sends COORDINATOR to the
/// n-1 others: n(n-1)/2 + (n-1)(n-2)/2 + (n-1) = n(n-1) messages. The restart adds none
/// (a restarted replica rejoins as a backup). Nothing admitted is forgotten and the lot
/// stays live.
#[test]
fn replicated_server_survives_primary_crash_with_bully_count() {
    for n in [3usize, 4] {
        let params = ParkingParams {
            mode: Mode::Replicated,
            ..Default::default()
        };
        let primary = format!("server-{}", n - 1);
        let faults = [
            (SimTime::from_secs(60), Fault::Crash(primary.clone())),
            (SimTime::from_secs(120), Fault::Restart(primary)),
        ];
        let (_, m, v) = run(
            &params,
            &replicated_lot(n),
            9,
            SimTime::from_secs(300),
            &faults,
        );
        assert_eq!(v, None);
        let got = m.value("election_messages");
        let theory = (n * (n - 1)) as f64;
        println!(
            "bully n={n}: {got} election messages (closed form n(n-1) = {theory}); {} admitted",
            m.value("cars_admitted")
        );
        assert_eq!(got, theory);
        assert_eq!(m.value("elections_won"), 1.0);
    }
}

/// Admin operations: a closed gate sends cars away without asking for the lock, the
/// chat is one question and one answer, and the server takes the new number of places.
#[test]
fn admin_operations_take_effect() {
    let params = ParkingParams {
        arrival_mean: SimTime::from_secs(5),
        capacity: 200,
        admin: vec![
            AdminAction {
                at: SimTime::from_secs(10),
                op: AdminOp::Close("gate-in-1".into()),
            },
            AdminAction {
                at: SimTime::from_secs(20),
                op: AdminOp::Chat("gate-in-0".into()),
            },
            AdminAction {
                at: SimTime::from_secs(200),
                op: AdminOp::SetPlaces(150),
            },
        ],
        ..Default::default()
    };
    let mut nodes = lot(Mode::LockServer);
    nodes.extend(decls(&[("admin", "admin")]));
    let (sim, m, v) = run(&params, &nodes, 4, SimTime::from_secs(300), &[]);
    assert_eq!(v, None);
    assert!(m.value("cars_at_closed_gate") > 0.0);
    assert_eq!(m.value("chat_messages"), 2.0);
    let server = sim.lookup("server").expect("server");
    let s = Server::of(sim.node(server).1).expect("the server");
    assert_eq!(s.capacity, 150);
}

fn gates(sim: &Simulation<ParkingNode>) -> Vec<&Gate> {
    sim.world()
        .nodes()
        .filter_map(|(_, _, n)| Gate::of(n))
        .collect()
}

/// The gates sense each car with the bouncing photo-interrupter: far more raw edges than
/// two per car, yet every car that drove through gives exactly one debounced break and
/// one debounced restore, and the barrier starts closing only after the car's L / v (and
/// at most response + bounce window + debounce later).
#[test]
fn debounced_sensor_gives_one_break_and_restore_per_car() {
    let params = ParkingParams {
        arrival_mean: SimTime::from_secs(10),
        cars_per_gate: 60,
        initial_occupied: 20,
        ..Default::default()
    };
    // Arrivals stop after 60 cars per gate; the end leaves every passage finished.
    let (sim, m, v) = run(
        &params,
        &lot(Mode::LockServer),
        5,
        SimTime::from_secs(3600),
        &[],
    );
    assert_eq!(v, None);
    let (mut cars, mut raw) = (0, 0);
    for g in gates(&sim) {
        assert!(g.in_cs.is_none() && g.waiting.is_empty());
        let through = g.admitted + g.left;
        assert_eq!(g.beam_breaks, through);
        assert_eq!(g.beam_restores, through);
        assert_eq!(g.closed_before_passage, 0);
        cars += through;
        raw += g.raw_edges;
    }
    assert!(cars > 100, "{cars} cars drove through");
    assert!(raw > 2 * cars + cars / 2, "{raw} raw edges for {cars} cars");
    let lv = params.passage_time().as_millis_f64();
    let slack =
        (params.sensor.response + params.sensor.bounce.window + params.debounce).as_millis_f64();
    let Some(sim_core::Metric::Samples(passages)) = m.get("gate_passage_ms") else {
        panic!("no gate_passage_ms");
    };
    assert_eq!(passages.len() as u64, cars);
    for &p in passages {
        assert!(p >= lv && p <= lv + slack, "passage {p} ms, L/v {lv} ms");
    }
    println!(
        "sensor: {cars} cars, {raw} raw edges, passage mean {:.3} ms (L/v {lv:.3} ms)",
        passages.iter().sum::<f64>() / passages.len() as f64
    );
}

/// A daily profile through the whole system: over 3 simulated days every gate sees the
/// profile's daily total of cars within 4 standard errors, and the invariants hold.
#[test]
fn daily_profile_arrivals_through_the_system() {
    let rates: Vec<f64> = (0..24)
        .map(|h| match h {
            7..=9 => 30.0,
            16..=18 => 25.0,
            0..=5 => 0.0,
            _ => 6.0,
        })
        .collect();
    let days = 3.0;
    let expected = days * rates.iter().sum::<f64>();
    let params = ParkingParams {
        arrivals: Arrivals::DailyProfile {
            hourly_rates: rates,
        },
        capacity: 1000,
        initial_occupied: 500,
        ..Default::default()
    };
    let end = SimTime::from_secs(3 * 24 * 3600);
    let (sim, _, v) = run(&params, &lot(Mode::LockServer), 11, end, &[]);
    assert_eq!(v, None);
    for g in gates(&sim) {
        let n = g.next_car as f64;
        println!("daily profile: {n} cars at a gate, expected {expected}");
        assert!(
            (n - expected).abs() <= 4.0 * expected.sqrt(),
            "{n} vs {expected}"
        );
        assert_eq!(g.beam_breaks, g.admitted + g.left);
    }
}

/// One gate alone, under a [`Recorder`]: a car at the gate asks the lock server for the
/// lock; the grant opens the barrier for it; a car at a full lot is turned away and the
/// lock released at once, with no change to the counter.
#[test]
fn a_gate_asks_the_lock_server_for_each_car() {
    let mut ctx = Recorder::new(&["gate-in-0", "server"], "gate-in-0", 7);
    let server = NodeId(1);
    let params = ParkingParams::default();
    let mut gate = Gate::new(&params, GateKind::Entry);
    gate.server = Some(server);
    gate.on_start(&mut ctx);
    let (_, gap, timer) = ctx.timers[0].clone();
    assert_eq!(timer, ParkTimer::CarArrives);
    assert!(ctx.sent.is_empty());

    ctx.advance_to(gap);
    gate.on_timer(&mut ctx, ParkTimer::CarArrives);
    assert_eq!(ctx.take_sent(), vec![(server, ParkMsg::Request { car: 0 })]);
    assert_eq!(ctx.metrics.value("mutex_messages"), 1.0);
    // The request is repeated until granted (a lost one would hold the car for ever),
    // and the next car is due.
    let later: Vec<&ParkTimer> = ctx.timers[1..].iter().map(|(_, _, t)| t).collect();
    assert!(
        later.contains(&&ParkTimer::RequestRetry { car: 0 }),
        "{later:?}"
    );
    assert!(
        later.contains(&&ParkTimer::CarArrives),
        "the next car is due: {later:?}"
    );

    let grant = |car, occupied| ParkMsg::Grant {
        car,
        occupied,
        capacity: params.capacity,
        cause: GrantCause::Request,
    };
    gate.on_message(&mut ctx, server, grant(0, 3));
    assert_eq!(gate.in_cs, Some((0, 1)));
    let (_, after, _) = ctx
        .timers
        .iter()
        .find(|(_, _, t)| *t == ParkTimer::BarrierOpen { car: 0 })
        .expect("the grant opens the barrier");
    assert_eq!(*after, params.barrier.open_time());

    // Car 1 comes while car 0 drives in; when it gets the lock the lot is full.
    gate.on_timer(&mut ctx, ParkTimer::CarArrives);
    assert_eq!(ctx.take_sent(), vec![(server, ParkMsg::Request { car: 1 })]);
    gate.on_timer(&mut ctx, ParkTimer::Done { car: 0 });
    let release = ParkMsg::Release {
        car: 0,
        delta: 1,
        seq: 1,
    };
    assert_eq!(ctx.take_sent(), vec![(server, release)]);
    gate.on_message(&mut ctx, server, grant(1, params.capacity));
    let release = ParkMsg::Release {
        car: 1,
        delta: 0,
        seq: 2,
    };
    assert_eq!(ctx.take_sent(), vec![(server, release)]);
    assert_eq!((gate.admitted, gate.turned_away, gate.in_cs), (1, 1, None));
}

/// The display alone: a `Show` starts the LCD write, and the count is shown once the
/// write is done; a message not meant for it is ignored.
#[test]
fn the_display_shows_the_count_after_the_lcd_write() {
    let mut ctx = Recorder::new(&["server", "display"], "display", 1);
    let params = ParkingParams::default();
    let mut display = Display {
        lcd: params.lcd.clone(),
        shown: None,
    };
    display.on_message(&mut ctx, NodeId(0), ParkMsg::Election);
    assert!(ctx.timers.is_empty());
    display.on_message(&mut ctx, NodeId(0), ParkMsg::Show { free: 12 });
    assert_eq!(ctx.timers[0].1, params.lcd.full_rewrite());
    assert_eq!(ctx.timers[0].2, ParkTimer::LcdWritten { free: 12 });
    assert_eq!(display.shown, None);
    display.on_timer(&mut ctx, ParkTimer::LcdWritten { free: 12 });
    assert_eq!(display.shown, Some(12));
}
