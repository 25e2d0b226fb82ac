//! The Topology Zoo graphs shipped with dsim (`scenarios/topologies/`, CC BY 4.0, see
//! the README there), compiled in so that scenarios run from anywhere without reading
//! files at run time.

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

/// The GML text of the shipped topology `file`; the error lists the shipped ones.
pub fn shipped(file: &str) -> Result<&'static str, String> {
    SHIPPED
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, text)| *text)
        .ok_or_else(|| {
            let known: Vec<&str> = SHIPPED.iter().map(|(f, _)| *f).collect();
            format!(
                "params.graph: no shipped topology {file:?}; shipped: {}",
                known.join(", ")
            )
        })
}
