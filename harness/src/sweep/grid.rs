//! The shape of a sweep: the parameter grid, the seed range, how run indices map to
//! (point, seed), and which runs a shard owns. Also the parsers of `--seeds`,
//! `--set PATH=V1,V2,...` and `--shard I/N`, so bad flags fail with a clear message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The seeds of a sweep: `first..last`, inclusive at both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRange {
    /// The first seed.
    pub first: u64,
    /// The last seed (included).
    pub last: u64,
}

impl SeedRange {
    /// How many seeds.
    pub fn count(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Parses `A..B` (inclusive, as bash's `{A..B}` and Slurm's `--array=A-B`),
    /// `A..=B` (the same), or a single seed `A`.
    pub fn parse(text: &str) -> Result<SeedRange, String> {
        let usage = "write --seeds A..B (both included, e.g. --seeds 1..5) or --seeds A";
        let number = |s: &str| {
            s.trim().parse::<u64>().map_err(|_| {
                format!(
                    "--seeds {text:?}: {:?} is not a seed (a whole number 0 to 2^64-1); {usage}",
                    s.trim()
                )
            })
        };
        let (first, last) = match text.split_once("..") {
            Some((a, b)) => (number(a)?, number(b.strip_prefix('=').unwrap_or(b))?),
            None => {
                let seed = number(text)?;
                (seed, seed)
            }
        };
        if first > last || last - first == u64::MAX {
            return Err(format!(
                "--seeds {text:?}: the range is empty or too large (first seed must not exceed the last); {usage}"
            ));
        }
        Ok(SeedRange { first, last })
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// One swept field: a dotted path (as `dsim run --set`) and the RON values it takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The dotted path, e.g. `network.default.loss`.
    pub path: String,
    /// The values, as RON text, in the order given.
    pub values: Vec<String>,
}

impl Parameter {
    /// Parses `PATH=V1,V2,...`. Values are split at commas outside brackets and strings,
    /// so `--set x=Uniform(min: "1ms", max: "5ms"),Constant("2ms")` is two values.
    pub fn parse(text: &str) -> Result<Parameter, String> {
        let Some((path, values)) = text.split_once('=') else {
            return Err(format!(
                "--set {text:?}: expected PATH=V1,V2,..., e.g. --set network.default.loss=0,0.1,0.2"
            ));
        };
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("--set {text:?}: the path before '=' is empty"));
        }
        let values = split_top_level(values);
        if let Some(i) = values.iter().position(String::is_empty) {
            return Err(format!(
                "--set {text:?}: value {} is empty (two commas in a row, or a comma at an end)",
                i + 1
            ));
        }
        Ok(Parameter {
            path: path.to_owned(),
            values,
        })
    }
}

/// `text` split at the commas that are outside brackets and string literals, trimmed.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else {
            match c {
                '"' => in_string = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    parts.push(current.trim().to_owned());
                    current.clear();
                    continue;
                }
                _ => {}
            }
        }
        current.push(c);
    }
    parts.push(current.trim().to_owned());
    parts
}

/// Which slice of the runs one process makes: runs whose index `i` has
/// `i % count == index`. Round robin rather than contiguous blocks, so that every shard
/// gets its share of each parameter point (points can differ a lot in cost).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// The whole sweep as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let usage = "write --shard I/N with 0 <= I < N, e.g. --shard 0/3 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)";
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index < count => Ok(Shard { index, count }),
            Some(_) => Err(format!(
                "--shard {text:?}: the shard index must be below the shard count (shards count from 0); {usage}"
            )),
            None => Err(format!("--shard {text:?}: not of the form I/N; {usage}")),
        }
    }

    /// Whether run `run` belongs to this shard.
    pub fn owns(&self, run: u64) -> bool {
        run % self.count == self.index
    }

    /// The name of this shard's runs file, `runs-I-of-N.jsonl`.
    pub fn file_name(&self) -> String {
        format!("runs-{}-of-{}.jsonl", self.index, self.count)
    }

    /// The shard a runs file name stands for, if it is one.
    pub fn from_file_name(name: &str) -> Option<Shard> {
        let (i, n) = name
            .strip_prefix("runs-")?
            .strip_suffix(".jsonl")?
            .split_once("-of-")?;
        let (index, count) = (i.parse().ok()?, n.parse().ok()?);
        (index < count).then_some(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The points of the grid: every combination of the parameters' values, the first
/// parameter varying slowest (as nested loops written in flag order). Each point is
/// the list of (path, value) pairs in parameter order.
pub fn points(parameters: &[Parameter]) -> Vec<Vec<(String, String)>> {
    let mut points = vec![Vec::new()];
    for p in parameters {
        points = points
            .into_iter()
            .flat_map(|point| {
                p.values.iter().map(move |v| {
                    let mut next = point.clone();
                    next.push((p.path.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_inclusive_ranges_or_single_seeds() {
        assert_eq!(SeedRange::parse("1..5").unwrap().count(), 5);
        assert_eq!(
            SeedRange::parse("1..=5").unwrap(),
            SeedRange::parse("1..5").unwrap()
        );
        assert_eq!(
            SeedRange::parse("7").unwrap(),
            SeedRange { first: 7, last: 7 }
        );
        for bad in [
            "5..1",
            "a..3",
            "1..",
            "",
            "-1..2",
            "0..18446744073709551615",
        ] {
            assert!(SeedRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_split_at_top_level_commas_only() {
        let p =
            Parameter::parse(r#"x = Uniform(min: "1ms", max: "5ms"), "a,\"b", [1, 2]"#).unwrap();
        assert_eq!(p.path, "x");
        assert_eq!(
            p.values,
            [r#"Uniform(min: "1ms", max: "5ms")"#, r#""a,\"b""#, "[1, 2]"]
        );
        assert!(Parameter::parse("x=1,,2").is_err());
        assert!(Parameter::parse("x").is_err());
        assert!(Parameter::parse("=1").is_err());
    }

    #[test]
    fn shards_partition_the_runs() {
        assert!(Shard::parse("3/2").is_err());
        assert!(Shard::parse("2/2").is_err());
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x/2").is_err());
        let shards: Vec<Shard> = (0..3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for run in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns(run)).count(), 1);
        }
        for s in &shards {
            assert_eq!(Shard::from_file_name(&s.file_name()), Some(*s));
        }
        assert_eq!(Shard::from_file_name("runs-3-of-3.jsonl"), None);
    }

    #[test]
    fn the_grid_is_the_cartesian_product_first_parameter_slowest() {
        let params = [
            Parameter::parse("a=1,2").unwrap(),
            Parameter::parse("b=x,y,z").unwrap(),
        ];
        let points = points(&params);
        assert_eq!(points.len(), 6);
        let show: Vec<String> = points
            .iter()
            .map(|p| p.iter().map(|(_, v)| v.as_str()).collect())
            .collect();
        assert_eq!(show, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        assert_eq!(super::points(&[]), vec![Vec::new()]);
    }
}
