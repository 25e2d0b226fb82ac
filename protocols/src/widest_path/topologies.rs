//! The Topology Zoo graphs shipped with dsim (`scenarios/topologies/`, CC BY 4.0, see
//! the README there), compiled in: the `dsim` binary registers them as shipped files,
//! so that library scenarios run from anywhere and any scenario may name them.

/// `(path relative to the scenario files, GML text)` of every shipped topology.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "topologies/Abilene.gml",
        include_str!("../../../scenarios/topologies/Abilene.gml"),
    ),
    (
        "topologies/Belnet2006.gml",
        include_str!("../../../scenarios/topologies/Belnet2006.gml"),
    ),
    (
        "topologies/Eenet.gml",
        include_str!("../../../scenarios/topologies/Eenet.gml"),
    ),
];
