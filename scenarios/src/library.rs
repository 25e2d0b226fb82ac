//! The built-in scenario library: the `.ron` files next to this crate's manifest, compiled
//! into the binary so `dsim list` and `dsim run NAME` work from anywhere.

/// (file name, file text) of every library scenario, in `dsim list` order.
pub const LIBRARY: &[(&str, &str)] = &[
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
    ("ott.ron", include_str!("../ott.ron")),
    ("ott-failures.ron", include_str!("../ott-failures.ron")),
];

/// The library scenario called `name` (with or without `.ron`).
pub fn find(name: &str) -> Option<(&'static str, &'static str)> {
    let file = name.strip_suffix(".ron").unwrap_or(name);
    LIBRARY
        .iter()
        .find(|(f, _)| f.strip_suffix(".ron") == Some(file))
        .copied()
}

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
