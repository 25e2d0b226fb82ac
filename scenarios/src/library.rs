//! The built-in scenario library: the `.ron` files next to this crate's manifest, compiled
//! into the binary so `dsim list` and `dsim run NAME` work from anywhere.

/// (file name, file text) of every library scenario, in `dsim list` order.
pub(crate) const LIBRARY: &[(&str, &str)] = &[
    ("ping-pong.ron", include_str!("../ping-pong.ron")),
    ("phold.ron", include_str!("../phold.ron")),
    ("transport.ron", include_str!("../transport.ron")),
    (
        "arq-stop-and-wait.ron",
        include_str!("../arq-stop-and-wait.ron"),
    ),
    ("parking.ron", include_str!("../parking.ron")),
    (
        "parking-ricart-agrawala.ron",
        include_str!("../parking-ricart-agrawala.ron"),
    ),
    (
        "parking-server-crash.ron",
        include_str!("../parking-server-crash.ron"),
    ),
    ("bully.ron", include_str!("../bully.ron")),
    ("cityos.ron", include_str!("../cityos.ron")),
    (
        "cityos-join-concurrent.ron",
        include_str!("../cityos-join-concurrent.ron"),
    ),
    (
        "cityos-join-while-leave.ron",
        include_str!("../cityos-join-while-leave.ron"),
    ),
    (
        "cityos-join-during-election.ron",
        include_str!("../cityos-join-during-election.ron"),
    ),
    (
        "cityos-leave-during-election.ron",
        include_str!("../cityos-leave-during-election.ron"),
    ),
    (
        "cityos-offline-node.ron",
        include_str!("../cityos-offline-node.ron"),
    ),
    (
        "cityos-offline-coordinator.ron",
        include_str!("../cityos-offline-coordinator.ron"),
    ),
    (
        "cityos-coordinator-leaves.ron",
        include_str!("../cityos-coordinator-leaves.ron"),
    ),
    (
        "cityos-server-offline.ron",
        include_str!("../cityos-server-offline.ron"),
    ),
    ("image-cloud.ron", include_str!("../image-cloud.ron")),
    (
        "image-cloud-experiment.ron",
        include_str!("../image-cloud-experiment.ron"),
    ),
    ("widest-path.ron", include_str!("../widest-path.ron")),
    (
        "widest-path-belnet.ron",
        include_str!("../widest-path-belnet.ron"),
    ),
    ("ott.ron", include_str!("../ott.ron")),
    ("ott-failures.ron", include_str!("../ott-failures.ron")),
];

#[cfg(test)]
mod tests {
    /// Every `.ron` file in the library folder is compiled in (none forgotten).
    #[test]
    fn every_scenario_file_is_in_the_library() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("crate dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".ron"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = super::LIBRARY.iter().map(|(f, _)| f.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }
}
