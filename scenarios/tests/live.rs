//! `dsim live` on loopback: a short run of real sockets, bounded in time (each run lasts
//! its `--for`, a second or two), garbage datagrams thrown at a live node, and the
//! command line around it (trace, verify, report, refusals).

mod common;

use common::{arg, dsim, scratch};
use dsim::live::LiveOptions;
use dsim::live::codec::{self, HEADER_BYTES, MAGIC};
use dsim::{SimTime, scenario::runner::RunReport};
use std::net::UdpSocket;
use std::time::Duration;

/// Ping-pong over lossy, jittery links, few enough pings to finish in a second: the
/// network model acts live at the sender. `ghost` is a pinger that the garbage test
/// hosts nowhere (its address is a socket the test holds).
const PING_PONG: &str = r#"Scenario(
    name: "live-ping-pong",
    seed: 3,
    duration: "1500ms",
    system: "ping-pong",
    params: (count: 10, interval: "50ms", timeout: "60ms", max_tries: 5, size_bytes: 64),
    nodes: [
        (name: "client", role: "pinger"),
        (name: "echo", role: "ponger"),
        (name: "ghost", role: "pinger"),
    ],
    network: (default: (latency: Constant("5ms"), jitter: "2ms", loss: 0.1)),
)"#;

fn metric(report: &RunReport, name: &str) -> f64 {
    report
        .metric(name)
        .unwrap_or_else(|| panic!("no metric {name} in {:?}", report.metrics))
}

fn run_live(text: &str, options: &LiveOptions) -> RunReport {
    let registry = scenarios::registry();
    let scenario = registry.load_live("live.ron", text).expect("loads");
    scenario.run_live(text, options).expect("runs").report
}

/// A port on loopback nobody uses right now.
fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

#[test]
fn a_short_live_run_on_loopback_pings_through_the_network_model() {
    let started = std::time::Instant::now();
    let report = run_live(
        PING_PONG,
        &LiveOptions {
            keep_trace: true,
            ..LiveOptions::default()
        },
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded in time"
    );
    report.assert_clean();
    // Both pingers resolve all 10 pings; the 10% loss forced retransmissions that the
    // model decided at the sender, and every datagram sent arrived over loopback.
    assert_eq!(
        metric(&report, "pingpong.acked") + metric(&report, "pingpong.lost"),
        20.0
    );
    assert!(metric(&report, "pingpong.retransmissions") > 0.0);
    assert!(metric(&report, "net.dropped.loss") > 0.0);
    let sent = metric(&report, "live.datagrams_sent");
    assert!(sent > 20.0);
    assert_eq!(metric(&report, "live.datagrams_received"), sent);
    assert_eq!(metric(&report, "net.messages_delivered"), sent);
    // RTTs are the model's 5-7 ms each way plus the real path's own fraction of a ms.
    let rtt = report.metrics["pingpong.rtt_ms"]["min"].as_f64().unwrap();
    assert!((10.0..14.0).contains(&rtt), "min rtt {rtt} ms");
    assert!(report.records.iter().any(|r| r.label == "pong"));
}

#[test]
fn garbage_datagrams_are_counted_and_dropped() {
    let registry = scenarios::registry();
    // The ghost's socket: a known sender that speaks garbage.
    let ghost = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (client, echo) = (free_port(), free_port());
    let addresses = format!(
        "client 127.0.0.1:{client}\necho 127.0.0.1:{echo}\nghost {}\n",
        ghost.local_addr().unwrap()
    );
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let thrower = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        let to = format!("127.0.0.1:{echo}");
        let tag = codec::run_tag(PING_PONG, 3);
        let mut foreign = MAGIC.to_vec();
        foreign.extend_from_slice(&(tag ^ 1).to_le_bytes());
        foreign.push(0);
        let mut huge_vec = MAGIC.to_vec();
        huge_vec.extend_from_slice(&tag.to_le_bytes());
        huge_vec.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        for datagram in [
            &b""[..],
            &b"hello"[..],
            &[0u8; HEADER_BYTES][..],
            &huge_vec[..],
            &foreign[..],
            &[7u8; 1000][..],
        ] {
            ghost.send_to(datagram, &to).unwrap();
        }
        stranger.send_to(b"who am I", &to).unwrap();
    });
    let scenario = registry.load_live("live.ron", PING_PONG).unwrap();
    let options = LiveOptions {
        addresses: Some(("addresses.txt".into(), addresses)),
        host: vec!["client".into(), "echo".into()],
        max_datagram: 512,
        ..LiveOptions::default()
    };
    let outcome = scenario.run_live(PING_PONG, &options).expect("runs");
    thrower.join().unwrap();
    let report = outcome.report;
    assert_eq!(outcome.hosted, ["client", "echo"]);
    assert_eq!(metric(&report, "live.dropped.undecodable"), 4.0);
    assert_eq!(metric(&report, "live.dropped.foreign_run"), 1.0);
    assert_eq!(metric(&report, "live.dropped.oversized"), 1.0);
    assert_eq!(metric(&report, "live.dropped.unknown_sender"), 1.0);
    // The hosted pair went on undisturbed; the ghost, hosted nowhere, never started.
    assert_eq!(
        metric(&report, "pingpong.acked") + metric(&report, "pingpong.lost"),
        10.0
    );
    report.assert_clean();
}

#[test]
fn the_command_line_writes_a_live_trace_that_report_draws_and_verify_refuses() {
    let dir = scratch("live-cli");
    let scenario = dir.join("pp.ron");
    std::fs::write(&scenario, PING_PONG).unwrap();
    let trace = dir.join("traces/live.jsonl");
    let (s, t) = (scenario.to_str().unwrap(), trace.to_str().unwrap());
    let run = dsim(&["live", s, "--for", "1s", "--trace", t, "--json"]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert!(json["metrics"]["live.datagrams_sent"].as_f64().unwrap() > 0.0);
    let header = std::fs::read_to_string(&trace).unwrap();
    let header: serde_json::Value = serde_json::from_str(header.lines().next().unwrap()).unwrap();
    assert!(
        header["live"]["note"]
            .as_str()
            .unwrap()
            .contains("not deterministic")
    );
    // It carries the key metrics over time, which a report cannot re-run to get.
    assert!(!header["live"]["timeline"].as_array().unwrap().is_empty());
    dsim(&["verify", t]).expect_usage_error(&["live run", "not deterministic"]);
    let traces = dir.join("traces");
    let report = dsim(&["report", traces.to_str().unwrap()]);
    report.expect_code(0);
    let page = traces.join("live.report/report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("live-ping-pong"));
}

#[test]
fn faults_without_a_live_meaning_and_bad_address_files_are_refused() {
    // The library's ping-pong drifts a clock at 50 s: refused within the run...
    dsim(&["live", "ping-pong", "--for", "60s"]).expect_usage_error(&[
        "faults[4]",
        "clock_drift",
        "no live meaning",
        "--for",
    ]);
    let dir = scratch("live-refusals");
    let addresses = dir.join("addresses.txt");
    std::fs::write(&addresses, "client-0 127.0.0.1:7000\necho localhost\n").unwrap();
    dsim(&[
        "live",
        "ping-pong",
        "--for",
        "1s",
        "--addresses",
        addresses.to_str().unwrap(),
    ])
    .expect_usage_error(&["addresses.txt:2: field 2 (address)", "\"localhost\""]);
    // A port another socket holds.
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let book = format!(
        "client-0 127.0.0.1:{}\nclient-1 127.0.0.1:{}\nclient-2 127.0.0.1:{}\necho {}\n",
        free_port(),
        free_port(),
        free_port(),
        taken.local_addr().unwrap()
    );
    std::fs::write(&addresses, book).unwrap();
    dsim(&[
        "live",
        "ping-pong",
        "--for",
        "1s",
        "--addresses",
        addresses.to_str().unwrap(),
    ])
    .expect_usage_error(&["cannot bind node echo to 127.0.0.1:"]);
    dsim(&["live", "ping-pong", "--for", "1s", "--host", "echo"])
        .expect_usage_error(&["--host", "--addresses"]);
    dsim(&["live", "ping-pong", "--max-datagram", "4"]).expect_usage_error(&["--max-datagram"]);
}

#[test]
fn sim_time_survives_a_binary_codec_and_stays_a_string_in_ron_and_json() {
    let t = SimTime::from_millis(1500);
    assert_eq!(serde_json::to_string(&t).unwrap(), "\"1.5s\"");
    let mut buf = Vec::new();
    codec::encode(1, &t, &mut buf).unwrap();
    assert_eq!(codec::decode::<SimTime>(1, &buf), Ok(t));
    assert!(serde_json::from_str::<SimTime>("1500").is_err());
}

#[test]
fn two_processes_run_one_system_from_an_address_file() {
    let dir = scratch("live-two-processes");
    let scenario = dir.join("pp.ron");
    std::fs::write(&scenario, PING_PONG).unwrap();
    let addresses = dir.join("addresses.txt");
    let book: String = ["client", "echo", "ghost"]
        .iter()
        .map(|n| format!("{n} 127.0.0.1:{}\n", free_port()))
        .collect();
    std::fs::write(&addresses, book).unwrap();
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 2.0;
    let args = |hosts: &str| -> Vec<String> {
        let (s, a) = (arg(&scenario), arg(&addresses));
        let start = start.to_string();
        [
            "live",
            &s,
            "--for",
            "1500ms",
            "--json",
            "--addresses",
            &a,
            "--host",
            hosts,
        ]
        .iter()
        .map(|x| x.to_string())
        .chain(["--start-at".to_owned(), start])
        .collect()
    };
    let process = |args: Vec<String>| {
        std::thread::spawn(move || {
            let run = dsim(&args);
            run.expect_code(0);
            run.json()
        })
    };
    let (echo, pingers) = (process(args("echo")), process(args("client,ghost")));
    let (echo, pingers) = (echo.join().unwrap(), pingers.join().unwrap());
    let m = |r: &serde_json::Value, k: &str| r["metrics"][k].as_f64().unwrap_or(0.0);
    // The pingers' process resolved its 20 pings through the echo's process.
    assert_eq!(
        m(&pingers, "pingpong.acked") + m(&pingers, "pingpong.lost"),
        20.0
    );
    assert!(m(&pingers, "pingpong.acked") > 0.0);
    assert_eq!(
        m(&echo, "pingpong.pings"),
        0.0,
        "no pinger runs in the echo's process"
    );
    assert_eq!(
        m(&echo, "live.datagrams_sent"),
        m(&pingers, "live.datagrams_received")
    );
    assert_eq!(
        m(&pingers, "live.datagrams_sent"),
        m(&echo, "live.datagrams_received")
    );
}

#[test]
fn a_transport_chunk_travels_as_one_byte_string_with_its_checksum() {
    use protocols::transport::{Payload, Segment, SegmentBody, TransferId};
    let bytes: Vec<u8> = (0..60_508u32).map(|i| (i * 7) as u8).collect();
    let shared: std::sync::Arc<[u8]> = bytes.into();
    // A slice of a shared buffer, as the sender makes its chunks.
    let chunk = Payload::slice_of(&shared, 1000..61_000.min(shared.len()));
    let segment = Segment::new(
        2,
        60_516,
        SegmentBody::Data {
            transfer: TransferId(1),
            seq: 3,
            payload: chunk.clone(),
        },
    );
    let mut buf = Vec::new();
    codec::encode(5, &segment, &mut buf).unwrap();
    // Header, epoch, size, variant, transfer, seq, a 3-byte length, the bytes, checksum.
    assert!(
        buf.len() < HEADER_BYTES + chunk.len() + 24,
        "{} bytes",
        buf.len()
    );
    let back: Segment = codec::decode(5, &buf).unwrap();
    assert_eq!(back, segment);
    let SegmentBody::Data { payload, .. } = back.body() else {
        panic!("a data segment")
    };
    assert!(payload.verify());
    assert_eq!(payload.as_bytes(), chunk.as_bytes());
}

#[test]
fn faults_act_at_their_wall_clock_times() {
    // The echo is down from 200 ms to 400 ms; a SetLink makes every ping from the
    // client lost between 500 ms and 600 ms.
    let text = PING_PONG.replace(
        "network: (default: (latency: Constant(\"5ms\"), jitter: \"2ms\", loss: 0.1)),",
        r#"network: (default: (latency: Constant("5ms"))),
    faults: [
        (at: "200ms", fault: Crash("echo")),
        (at: "400ms", fault: Restart("echo")),
        (at: "500ms", fault: SetLink(from: "client", to: "echo", params: (loss: 1.0))),
        (at: "600ms", fault: SetLink(from: "client", to: "echo", params: (loss: 0.0))),
    ],"#,
    );
    assert_ne!(text, PING_PONG);
    let report = run_live(
        &text,
        &LiveOptions {
            keep_trace: true,
            ..LiveOptions::default()
        },
    );
    report.assert_clean();
    assert!(metric(&report, "net.dropped.node_down") > 0.0);
    assert!(metric(&report, "net.dropped.loss") > 0.0);
    assert_eq!(
        metric(&report, "pingpong.acked") + metric(&report, "pingpong.lost"),
        20.0
    );
    let at = |label: &str| {
        report
            .records
            .iter()
            .find(|r| r.label == label)
            .map(|r| SimTime(r.time_ns))
            .unwrap_or_else(|| panic!("no {label} record"))
    };
    // Each fault acted at its time (the loop runs it within a fraction of a ms; the
    // bound leaves room for a loaded machine).
    assert!((SimTime::from_millis(200)..SimTime::from_millis(250)).contains(&at("crash")));
    assert!((SimTime::from_millis(400)..SimTime::from_millis(450)).contains(&at("restart")));
    // While the echo was down, nothing reached it; every drop there was node_down.
    let delivered_to_echo_while_down = report.records.iter().any(|r| {
        r.kind == dsim::RecordKind::Deliver
            && r.node == 1
            && (200_000_000..400_000_000).contains(&r.time_ns)
    });
    assert!(!delivered_to_echo_while_down);
}
