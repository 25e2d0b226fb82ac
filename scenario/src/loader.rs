//! The loader: scenario text to a scenario of a system, checked field by field, with
//! errors that name the file, line and column; the files the scenario names read beside
//! it (or among the shipped ones); and the scenario built once to check every node
//! reference.

use crate::load_error::LoadError;
use crate::memory;
use crate::runner::{LoadedScenario, Prepared};
use crate::schema::{Scenario, Topology};
use dsim_system::{LinkTable, NodeDecl, ScenarioFiles, Setup, System, TopologyRule, gml};
use hardware_models::{LINK_PRESETS, link_preset};
use sim_core::network::LinkPatch;
use sim_core::{Fault, LinkParams};
use std::collections::BTreeSet;
use std::path::Path;

/// Where the loader finds the files a scenario names (its topology's, and those of
/// [`System::files`]).
#[derive(Clone, Copy, Debug)]
pub enum FileSource<'a> {
    /// Beside the scenario file on disk (a path relative to the file's folder), else
    /// among the registry's shipped files. A library scenario (`<library>/NAME.ron`)
    /// sees only the shipped files.
    Disk(&'a ScenarioFiles),
    /// The files a trace, a sweep manifest or a counterexample carries with the
    /// scenario's text: a re-run reads exactly what the first run read.
    Carried(&'a ScenarioFiles),
}

/// The RON dialect of scenario files: `Some(..)` may be left out around optional values.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// [`load`], boxed as a scenario of any system: what a registry keeps per system.
pub fn load_boxed<S: System>(
    file: &str,
    text: &str,
    files: &FileSource<'_>,
) -> Result<Box<dyn LoadedScenario>, LoadError> {
    Ok(Box::new(load::<S>(file, text, files)?))
}

/// Read the files at `paths` (as the scenario `file` names them) from `source`: the
/// files, or the path at fault and the error.
fn read_files(
    file: &str,
    paths: &[String],
    source: &FileSource<'_>,
) -> Result<ScenarioFiles, (String, String)> {
    let mut out = ScenarioFiles::default();
    for path in paths {
        let path = path.clone();
        let text = match source {
            FileSource::Carried(files) => files.get(&path).map(str::to_owned).map_err(|_| {
                (
                    path.clone(),
                    format!("the scenario names the file {path:?}, which the trace or manifest does not carry"),
                )
            })?,
            FileSource::Disk(shipped) => {
                let beside = (!file.starts_with("<library>/"))
                    .then(|| Path::new(file).parent().unwrap_or(Path::new("")).join(&path));
                match beside {
                    Some(full) if full.is_file() => std::fs::read_to_string(&full).map_err(|e| {
                        (path.clone(), format!("cannot read {}: {e}", full.display()))
                    })?,
                    _ => match shipped.get(&path) {
                        Ok(text) => text.to_owned(),
                        Err(_) => {
                            let shipped: Vec<String> =
                                shipped.iter().map(|(p, _)| p.to_owned()).collect();
                            let looked = beside.map_or(String::new(), |f| {
                                format!("no such file {}, and ", f.display())
                            });
                            return Err((
                                path.clone(),
                                format!(
                                    "the scenario names the file {path:?}: {looked}no shipped file by that path (shipped: {})",
                                    list_or_none(&shipped)
                                ),
                            ));
                        }
                    },
                }
            }
        };
        out.insert(&path, text);
    }
    Ok(out)
}

/// Load the scenario in `text` (the contents of `file`) as one of system `S`, typed,
/// reading the files it names from `files`.
pub fn load<S: System>(
    file: &str,
    text: &str,
    files: &FileSource<'_>,
) -> Result<Prepared<S>, LoadError> {
    let mut scenario: Scenario<S::Params> = ron_options()
        .from_str(text)
        .map_err(|e| LoadError::from_ron(file, text, &e))?;
    let err = |path: &[&str], token: Option<&str>, message: String| {
        let (line, col) = locate(text, path, token);
        LoadError::at(file, text, line, col, message)
    };
    if scenario.duration.0 == 0 {
        return Err(err(&["duration"], None, "duration must be positive".into()));
    }
    check_memory::<S>(&scenario, file, text)?;
    let nodes = expand_nodes::<S>(&scenario).map_err(|(token, nth, m)| {
        let (line, col) = locate_nth(text, &["nodes"], Some(&token), nth);
        LoadError::at(file, text, line, col, m)
    })?;
    let names: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    // The files the scenario names: its topology's, then the system's.
    let mut topology_file = Vec::new();
    if let Topology::Gml(path) = &scenario.topology {
        topology_file.push(path.clone());
    }
    let mut scenario_files = read_files(file, &topology_file, files)
        .map_err(|(path, m)| err(&["topology"], Some(&path), m))?;
    let links = topology_links(&scenario.topology, &nodes, &scenario_files)
        .map_err(|(token, m)| err(&["topology"], Some(&token), m))?;
    check_topology::<S>(&nodes, &links).map_err(|m| err(&["topology"], None, m))?;
    let link_params =
        expand_presets(&mut scenario).map_err(|(path, token, m)| err(path, Some(&token), m))?;
    scenario.network.default_params().validate().map_err(|m| {
        err(
            &["network", "default"],
            None,
            format!("network.default: {m}"),
        )
    })?;
    for (i, o) in scenario.network.links.iter().enumerate() {
        for end in [&o.from, &o.to] {
            if !names.contains(end.as_str()) {
                return Err(err(
                    &["network", "links"],
                    Some(end),
                    format!("network.links[{i}] names unknown node {end:?}"),
                ));
            }
        }
        link_params[i].validate().map_err(|m| {
            err(
                &["network", "links"],
                Some(&o.from),
                format!("network.links[{i}]: {m}"),
            )
        })?;
    }
    let network = link_table(&scenario, &link_params);
    let system_files = read_files(file, &S::files(&scenario.params), files)
        .map_err(|(path, m)| err(&["params"], Some(&path), m))?;
    for (path, text) in system_files.iter() {
        scenario_files.insert(path, text.to_owned());
    }
    let setup = Setup {
        seed: scenario.seed,
        nodes: &nodes,
        links: &links,
        network: &network,
        files: &scenario_files,
    };
    S::validate(&scenario.params, &setup).map_err(|m| err(&["params"], None, m))?;
    let available: Vec<String> = S::invariants(&scenario.params)
        .iter()
        .map(|i| i.name().to_owned())
        .collect();
    for name in scenario.invariants.iter().flatten() {
        if !available.contains(name) {
            return Err(err(
                &["invariants"],
                Some(name),
                format!(
                    "unknown invariant {name:?}; {} has: {}",
                    S::NAME,
                    list_or_none(&available)
                ),
            ));
        }
    }
    for (i, f) in scenario.faults.iter().enumerate() {
        let at_fault = |m: String| {
            err(
                &["faults"],
                None,
                format!("faults[{i}] ({}): {m}", f.fault.name()),
            )
        };
        if f.at > scenario.duration {
            return Err(at_fault(format!(
                "it is scheduled at {} but the scenario ends at {}",
                f.at, scenario.duration
            )));
        }
        f.fault.validate().map_err(at_fault)?;
    }
    if let Some(budget) = &scenario.explore {
        budget
            .validate(scenario.duration)
            .map_err(|m| err(&["explore"], None, m))?;
    }
    let mut prepared = Prepared::<S> {
        scenario,
        nodes,
        links,
        network,
        files: scenario_files,
        built_names: Vec::new(),
    };
    // Build once: every fault must name a node the system actually has.
    let sim = prepared
        .build(prepared.scenario.seed, false, &[])
        .map_err(|(token, m)| err(&["faults"], Some(&token), m))?;
    let world = sim.world();
    prepared.built_names = world
        .nodes()
        .map(|(id, _, _)| world.name(id).to_owned())
        .collect();
    // Explore may target any node the system has, declared or built from its params.
    if let Some(budget) = &prepared.scenario.explore
        && let Some(unknown) = budget
            .nodes
            .iter()
            .find(|n| !prepared.built_names.contains(n))
    {
        return Err(err(
            &["explore"],
            Some(unknown),
            format!("explore.nodes names unknown node {unknown:?}"),
        ));
    }
    Ok(prepared)
}

/// An unknown link preset: the scenario path to point at, the preset name (the token
/// there), and the message listing the known presets.
type PresetError = (&'static [&'static str], String, String);

/// The scenario's links as a table: the default, and each `network.links` entry (both
/// directions unless `both_ways` is false) with its resolved parameters.
fn link_table<P>(scenario: &Scenario<P>, resolved: &[LinkParams]) -> LinkTable {
    let mut table = LinkTable {
        default: scenario.network.default_params(),
        ..LinkTable::default()
    };
    for (o, params) in scenario.network.links.iter().zip(resolved) {
        let mut set = |a: &str, b: &str| {
            table
                .overrides
                .insert((a.to_owned(), b.to_owned()), params.clone());
        };
        set(&o.from, &o.to);
        if o.both_ways {
            set(&o.to, &o.from);
        }
    }
    table
}

/// Replace every link preset name in `scenario` (the network default, each link's
/// `params`, and the patches of `SetLink` / `SetDefaultLink` faults) by the preset's
/// parameters from `hardware_models`, so the kernel never sees a name, and return the
/// resolved parameters of each `network.links` entry in order. A link naming a preset
/// starts from the preset, not from the network default, so fields the preset leaves
/// unlimited (`bandwidth_bps`, `queue_bytes`, `mtu`) stay unlimited. An unknown name is
/// an error.
fn expand_presets<P>(scenario: &mut Scenario<P>) -> Result<Vec<LinkParams>, PresetError> {
    fn expand(
        patch: &LinkPatch,
        path: &'static [&'static str],
        what: String,
    ) -> Result<LinkPatch, PresetError> {
        patch.expand_preset(link_preset).map_err(|_| {
            let name = patch.preset.clone().unwrap_or_default();
            let message = format!(
                "{what}: unknown link preset {name:?}; known presets: {}",
                LINK_PRESETS.join(", ")
            );
            (path, name, message)
        })
    }
    let network = &mut scenario.network;
    network.default = expand(
        &network.default,
        &["network", "default"],
        "network.default".into(),
    )?;
    let default = network.default_params();
    let mut resolved = Vec::with_capacity(network.links.len());
    for (i, o) in network.links.iter_mut().enumerate() {
        let what = format!("network.links[{i}]");
        let expanded = expand(&o.params, &["network", "links"], what)?;
        let own = LinkPatch {
            preset: None,
            ..o.params.clone()
        };
        resolved.push(match &o.params.preset {
            Some(name) => own.apply(&link_preset(name).expect("expanded above")),
            None => own.apply(&default),
        });
        o.params = expanded;
    }
    for (i, f) in scenario.faults.iter_mut().enumerate() {
        let what = format!("faults[{i}] ({})", f.fault.name());
        if let Fault::SetLink { params, .. } | Fault::SetDefaultLink(params) = &mut f.fault {
            *params = expand(params, &["faults"], what)?;
        }
    }
    Ok(resolved)
}

/// `names` joined by commas, or "none".
pub fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The declared nodes with `count` patterns expanded; errors carry the offending name
/// and which of its quoted occurrences in `nodes` to point at (0 for the first).
fn expand_nodes<S: System>(
    scenario: &Scenario<S::Params>,
) -> Result<Vec<NodeDecl>, (String, usize, String)> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, spec) in scenario.nodes.iter().enumerate() {
        // Earlier declarations written with the same name text: the caret goes to this
        // one, not to the first (a duplicate is reported where it is declared again).
        let nth = scenario.nodes[..index]
            .iter()
            .filter(|s| s.name == spec.name)
            .count();
        if !S::ROLES.contains(&spec.role.as_str()) {
            let roles = if S::ROLES.is_empty() {
                format!(
                    "{} declares no node roles (it builds its own nodes)",
                    S::NAME
                )
            } else {
                format!("{} roles are: {}", S::NAME, S::ROLES.join(", "))
            };
            return Err((
                spec.role.clone(),
                0,
                format!(
                    "node {:?} has unknown role {:?}; {roles}",
                    spec.name, spec.role
                ),
            ));
        }
        let names: Vec<String> = match spec.count {
            None => vec![spec.name.clone()],
            Some(n) if spec.name.contains("{}") => (0..n)
                .map(|i| spec.name.replace("{}", &i.to_string()))
                .collect(),
            Some(_) => {
                return Err((
                    spec.name.clone(),
                    nth,
                    format!(
                        "node {:?} has a count, so its name needs a {{}} where the number goes",
                        spec.name
                    ),
                ));
            }
        };
        for name in names {
            if name.is_empty() {
                return Err((spec.name.clone(), nth, "a node name cannot be empty".into()));
            }
            if !seen.insert(name.clone()) {
                return Err((
                    spec.name.clone(),
                    nth,
                    format!("node name {name:?} is declared twice"),
                ));
            }
            out.push(NodeDecl {
                name,
                role: spec.role.clone(),
                start: spec.start,
            });
        }
    }
    Ok(out)
}

/// The undirected links a topology stands for (empty for a full mesh).
fn topology_links(
    topology: &Topology,
    nodes: &[NodeDecl],
    files: &ScenarioFiles,
) -> Result<Vec<(String, String)>, (String, String)> {
    let names: Vec<&String> = nodes.iter().map(|n| &n.name).collect();
    let known = |n: &String| {
        if names.contains(&n) {
            Ok(())
        } else {
            Err((n.clone(), format!("topology names unknown node {n:?}")))
        }
    };
    let pairs =
        |v: Vec<(&String, &String)>| v.into_iter().map(|(a, b)| (a.clone(), b.clone())).collect();
    Ok(match topology {
        Topology::FullMesh => Vec::new(),
        Topology::Links(links) if links.is_empty() => {
            return Err((
                String::new(),
                "topology Links([]) has no links; write FullMesh for a network where every node reaches every other".into(),
            ));
        }
        Topology::Links(links) => {
            for (a, b) in links {
                known(a)?;
                known(b)?;
                if a == b {
                    return Err((a.clone(), format!("topology links {a:?} to itself")));
                }
            }
            links.clone()
        }
        Topology::Gml(path) => {
            let bad = |m: String| (path.clone(), format!("topology {path}: {m}"));
            let graph = gml::read_graph(files.get(path).map_err(bad)?).map_err(bad)?;
            let mut links = Vec::with_capacity(graph.edges.len());
            for (a, b, _, line) in &graph.edges {
                let (a, b) = (&graph.nodes[*a].1, &graph.nodes[*b].1);
                for end in [a, b] {
                    if !names.contains(&end) {
                        return Err(bad(format!(
                            "GML line {line}: node {end:?} is not a declared node"
                        )));
                    }
                }
                if a != b {
                    links.push((a.clone(), b.clone()));
                }
            }
            links
        }
        Topology::Line => pairs(names.windows(2).map(|w| (w[0], w[1])).collect()),
        Topology::Ring => {
            let mut v: Vec<_> = names.windows(2).map(|w| (w[0], w[1])).collect();
            if names.len() > 2 {
                v.push((names[names.len() - 1], names[0]));
            }
            pairs(v)
        }
        Topology::Star(hub) => {
            known(hub)?;
            pairs(
                names
                    .iter()
                    .filter(|n| **n != hub)
                    .map(|n| (hub, *n))
                    .collect(),
            )
        }
    })
}

/// Enforce the system's [`TopologyRule`] with petgraph.
fn check_topology<S: System>(nodes: &[NodeDecl], links: &[(String, String)]) -> Result<(), String> {
    if S::TOPOLOGY == TopologyRule::Any {
        return Ok(());
    }
    if links.is_empty() {
        return Err(format!(
            "{} needs a topology with links; this one has none",
            S::NAME
        ));
    }
    let mut g = petgraph::graph::UnGraph::<(), ()>::new_undirected();
    let idx: Vec<_> = nodes.iter().map(|_| g.add_node(())).collect();
    let pos = |n: &str| {
        nodes
            .iter()
            .position(|d| d.name == n)
            .expect("names checked")
    };
    for (a, b) in links {
        g.add_edge(idx[pos(a)], idx[pos(b)], ());
    }
    if petgraph::algo::connected_components(&g) != 1 {
        return Err(format!(
            "{} needs a connected topology; this one falls apart",
            S::NAME
        ));
    }
    if S::TOPOLOGY == TopologyRule::Tree && petgraph::algo::is_cyclic_undirected(&g) {
        return Err(format!(
            "{} needs a tree topology; this one has a cycle",
            S::NAME
        ));
    }
    Ok(())
}

/// Best-effort position of `token` (a quoted string) after the fields of `path`, else
/// of the last field of `path` found, else 1:1. Semantic errors use it to point at the
/// place the user wrote.
pub fn locate(text: &str, path: &[&str], token: Option<&str>) -> (usize, usize) {
    locate_nth(text, path, token, 0)
}

/// [`locate`], pointing at occurrence `nth` (0-based) of `token` after the fields of
/// `path`, or at the first when there are fewer.
fn locate_nth(text: &str, path: &[&str], token: Option<&str>, nth: usize) -> (usize, usize) {
    let mut offset = 0;
    for field in path {
        let pattern = format!("{field}:");
        if let Some(i) = text[offset..].find(&pattern) {
            offset += i;
        }
    }
    if let Some(tok) = token {
        let quoted = format!("{tok:?}");
        let found: Vec<usize> = text[offset..]
            .match_indices(&quoted)
            .map(|(i, _)| offset + i)
            .collect();
        if let Some(&i) = found.get(nth).or(found.first()) {
            offset = i;
        }
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Refuse a scenario whose nodes cannot fit in the memory the machine has
/// ([`memory::limit`]), before a node is allocated: the declared nodes, `count`
/// patterns included, and those the system generates from its parameters, at
/// [`System::BYTES_PER_NODE`] each. The error names the field with the most nodes.
fn check_memory<S: System>(
    scenario: &Scenario<S::Params>,
    file: &str,
    text: &str,
) -> Result<(), LoadError> {
    let declared: u64 = scenario
        .nodes
        .iter()
        .map(|spec| spec.count.map_or(1, u64::from))
        .sum();
    let generated = S::generated_nodes(&scenario.params);
    let total = declared.saturating_add(generated.map_or(0, |(n, _)| n));
    let Err(why) = memory::check_fits(total, S::BYTES_PER_NODE, S::NAME) else {
        return Ok(());
    };
    // Point at the field that declares the most nodes.
    let biggest = scenario
        .nodes
        .iter()
        .enumerate()
        .max_by_key(|(_, spec)| spec.count.unwrap_or(1));
    let (field, (line, col)) = match (generated, biggest) {
        (Some((n, field)), Some((_, spec))) if n >= u64::from(spec.count.unwrap_or(1)) => {
            (field.to_owned(), locate(text, &["params"], None))
        }
        (Some((_, field)), None) => (field.to_owned(), locate(text, &["params"], None)),
        (_, Some((i, spec))) => (
            format!("nodes[{i}].count"),
            locate_nth(text, &["nodes"], Some(&spec.name), 0),
        ),
        (None, None) => ("nodes".to_owned(), (1, 1)),
    };
    Err(LoadError::at(
        file,
        text,
        line,
        col,
        format!("{field}: the scenario has {why}"),
    ))
}
