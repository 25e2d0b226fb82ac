//! What the machine has, for refusing a scenario too big for it before anything is
//! allocated: the smallest of the memory available now, the cgroup's limit and the
//! process's address-space limit (Linux; elsewhere none is known and nothing is
//! refused). `DSIM_MAX_MEMORY` (bytes, or with a K, M, G or T suffix) replaces it for a
//! deliberate big run.

/// The environment variable that sets the memory a run may assume.
pub const MAX_MEMORY_VAR: &str = "DSIM_MAX_MEMORY";

/// The memory a run may use, in bytes, and where the figure comes from; `None` when
/// nothing is known. An unreadable `DSIM_MAX_MEMORY` is the error.
pub fn limit() -> Result<Option<(u64, String)>, String> {
    if let Ok(text) = std::env::var(MAX_MEMORY_VAR) {
        let bytes = parse_bytes(&text).ok_or_else(|| {
            format!("{MAX_MEMORY_VAR}={text:?}: expected bytes, or a number with K, M, G or T")
        })?;
        return Ok(Some((bytes, format!("{MAX_MEMORY_VAR}={text}"))));
    }
    let mut found: Vec<(u64, &str)> = Vec::new();
    if let Some(kib) = read_field("/proc/meminfo", "MemAvailable:") {
        found.push((kib.saturating_mul(1024), "available memory"));
    }
    if let Some(bytes) = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
    {
        found.push((bytes, "the cgroup's memory limit"));
    }
    if let Some(bytes) = address_space_limit() {
        found.push((bytes, "the address-space limit"));
    }
    Ok(found
        .into_iter()
        .min_by_key(|(bytes, _)| *bytes)
        .map(|(bytes, what)| (bytes, what.to_owned())))
}

/// `Err` with the sizes and what the machine has, when `nodes` nodes of `bytes_per_node`
/// bytes each (a node of `system`) do not fit in [`limit`]: "4,000,000,000 nodes, about
/// 3.7 TiB at ~1024 bytes each (ping-pong); this machine has 21.9 GiB (available
/// memory); set DSIM_MAX_MEMORY=SIZE (e.g. 64G) to run it anyway".
pub fn check_fits(nodes: u64, bytes_per_node: u64, system: &str) -> Result<(), String> {
    let Some((limit, source)) = limit()? else {
        return Ok(());
    };
    let need = nodes.saturating_mul(bytes_per_node);
    if need <= limit {
        return Ok(());
    }
    Err(format!(
        "{} nodes, about {} at ~{bytes_per_node} bytes each ({system}); this machine has {} ({source}); set {MAX_MEMORY_VAR}=SIZE (e.g. 64G) to run it anyway",
        grouped(nodes),
        human(need),
        human(limit),
    ))
}

/// `Max address space` of `/proc/self/limits` (the soft limit), when it is a number.
fn address_space_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    line["Max address space".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The number after `field` in a `/proc` file of `name: value` lines.
fn read_field(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// `1234`, `64K`, `512M`, `23G`, `2T` (binary multiples) as bytes.
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.chars().last()?.to_ascii_uppercase() {
        'K' => (&text[..text.len() - 1], 10),
        'M' => (&text[..text.len() - 1], 20),
        'G' => (&text[..text.len() - 1], 30),
        'T' => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// `bytes` for people: `2.4 TB`-style, in binary units (`23.4 GiB`).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `n` with thousands separators: `4,000,000,000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_bytes("1234"), Some(1234));
        assert_eq!(parse_bytes("64K"), Some(64 << 10));
        assert_eq!(parse_bytes("23g"), Some(23 << 30));
        assert_eq!(parse_bytes("2T"), Some(2 << 40));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("99999999999T"), None);
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(23 << 30), "23.0 GiB");
        assert_eq!(grouped(4_000_000_000), "4,000,000,000");
        assert_eq!(grouped(999), "999");
    }
}
