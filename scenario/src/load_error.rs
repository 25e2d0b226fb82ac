//! Errors in scenario files, reported the way compilers report them: the file, line and
//! column, a message a person can act on, and the offending line with a caret under the
//! spot.
//!
//! ```text
//! error: scenarios/x.ron:12:15: expected a duration string such as "150ms", found the number `5`
//!    |
//! 12 |     duration: 5,
//!    |               ^
//! ```

use ron::error::{Error as RonError, Position, SpannedError};
use std::fmt;

/// A problem with a scenario file, located as precisely as it is known.
///
/// `line` and `column` are 1-based (the column counts characters, not bytes); both are
/// 0 when the problem has no position (a missing file, a semantic check on the whole
/// scenario). `source_line` is the text of line `line`, shown under the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file as the user named it, e.g. `scenarios/ring.ron`.
    pub file: String,
    /// 1-based line, or 0 when unknown.
    pub line: usize,
    /// 1-based column in characters, or 0 when unknown.
    pub column: usize,
    /// What is wrong, in words; starts in lower case, no trailing period.
    pub message: String,
    /// The text of the offending line, without its line break.
    pub source_line: Option<String>,
}

impl LoadError {
    /// Builds the error for a failed `ron` parse or deserialization of `text` (the
    /// contents of `file`), rewording ron's message where it is cryptic.
    pub fn from_ron(file: &str, text: &str, err: &SpannedError) -> LoadError {
        let Position { line, col } = first_token(text, err.span.start, err.span.end);
        LoadError::at(file, text, line, col, human_message(&err.code))
    }

    /// An error at `line`:`column` (1-based) of `text`, the contents of `file`; the
    /// source line is taken from `text` when the line exists.
    pub fn at(
        file: &str,
        text: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> LoadError {
        let source_line = line
            .checked_sub(1)
            .and_then(|index| text.lines().nth(index))
            .map(str::to_owned);
        LoadError {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
            source_line,
        }
    }

    /// An error about `file` as a whole (it cannot be read, or a check that has no single
    /// place failed).
    pub fn without_position(file: &str, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: message.into(),
            source_line: None,
        }
    }
}

impl fmt::Display for LoadError {
    /// `error: FILE:LINE:COL: MESSAGE`, then the source line in a gutter with a caret
    /// under the column; just `error: FILE: MESSAGE` without a position.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "error: {}: {}", self.file, self.message);
        }
        write!(
            f,
            "error: {}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        let Some(source) = &self.source_line else {
            return Ok(());
        };
        let width = self.line.to_string().len();
        // Keep tabs as tabs so the caret lines up however the terminal renders them.
        let pad: String = source
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(
            f,
            "\n{:width$} |\n{} | {}\n{:width$} | {pad}^",
            "",
            self.line,
            source.trim_end(),
            ""
        )
    }
}

impl std::error::Error for LoadError {}

/// The first non-blank character between `start` and `end` (inclusive), or `start`.
///
/// ron's span often starts before the blanks that precede the offending token (the
/// space after `name:` in `name: 5`); the caret belongs under the token.
fn first_token(text: &str, start: Position, end: Position) -> Position {
    let (mut line, mut col) = (1, 1);
    for c in text.chars() {
        let here = Position { line, col };
        if here > end {
            break;
        }
        if here >= start && !c.is_whitespace() {
            return here;
        }
        if c == '\n' {
            (line, col) = (line + 1, 1);
        } else {
            col += 1;
        }
    }
    start
}

/// ron's error message, reworded where its own is terse or reads like parser internals.
fn human_message(code: &RonError) -> String {
    match code {
        RonError::NoSuchStructField {
            expected,
            found,
            outer,
        } => format!(
            "unknown field `{found}`{}, {}{}",
            within(outer),
            one_of(expected, "fields"),
            did_you_mean(found, expected)
        ),
        RonError::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => format!(
            "unknown variant `{found}`{}, {}{}",
            within(outer),
            one_of(expected, "variants"),
            did_you_mean(found, expected)
        ),
        RonError::MissingStructField { field, outer } => {
            format!("missing field `{field}`{}", within(outer))
        }
        RonError::DuplicateStructField { field, outer } => {
            format!("field `{field}` is given more than once{}", within(outer))
        }
        RonError::ExpectedDifferentStructName { expected, found } => {
            format!("expected `{expected}(...)`, found `{found}(...)`")
        }
        RonError::ExpectedStructName(name) => {
            format!("expected the name `{name}` before `(`")
        }
        RonError::ExpectedNamedStructLike("") => "expected `(` to open a struct".to_owned(),
        RonError::ExpectedNamedStructLike(name) => {
            format!("expected `{name}(...)` or `(...)`")
        }
        RonError::InvalidValueForType { expected, found } => {
            format!("expected {expected}, found {}", plain_number(found))
        }
        RonError::ExpectedDifferentLength { expected, found } => {
            format!("expected {expected}, found {found} element(s)")
        }
        RonError::Eof => "unexpected end of file; a closing bracket may be missing".to_owned(),
        RonError::ExpectedComma => "expected `,` between entries".to_owned(),
        RonError::ExpectedStructLike => "expected `(`".to_owned(),
        RonError::ExpectedStructLikeEnd | RonError::ExpectedOptionEnd => {
            "expected `,` or `)`; a comma may be missing".to_owned()
        }
        RonError::ExpectedArray => "expected a list in `[...]`".to_owned(),
        RonError::ExpectedArrayEnd => "expected `,` or `]`; a comma may be missing".to_owned(),
        RonError::ExpectedMap => "expected a map in `{...}`".to_owned(),
        RonError::ExpectedMapEnd => "expected `,` or `}`; a comma may be missing".to_owned(),
        RonError::ExpectedMapColon => "expected `:` after the field name or key".to_owned(),
        RonError::ExpectedIdentifier => "expected a field or variant name".to_owned(),
        RonError::ExpectedOption => "expected `Some(...)` or `None`".to_owned(),
        RonError::ExpectedUnit => "expected `()`".to_owned(),
        RonError::ExpectedBoolean => "expected `true` or `false`".to_owned(),
        RonError::ExpectedInteger => "expected a whole number".to_owned(),
        RonError::ExpectedFloat => "expected a number".to_owned(),
        RonError::ExpectedString => "expected a string in double quotes".to_owned(),
        RonError::ExpectedStringEnd => {
            "unterminated string: the closing `\"` is missing".to_owned()
        }
        RonError::ExpectedChar => "expected a character in single quotes".to_owned(),
        RonError::IntegerOutOfBounds => "number is out of range for this field".to_owned(),
        RonError::UnexpectedChar(c) => format!("unexpected character {c:?}"),
        RonError::UnclosedBlockComment => "unclosed comment: the `*/` is missing".to_owned(),
        RonError::TrailingCharacters => "unexpected text after the end of the scenario".to_owned(),
        // Messages from our own types (durations, ...) are already written for people.
        RonError::Message(message) => message.clone(),
        other => lowercase_first(&other.to_string()),
    }
}

/// ` in `Outer`` when ron knows the enclosing struct or enum.
fn within(outer: &Option<String>) -> String {
    outer
        .as_ref()
        .map(|name| format!(" in `{name}`"))
        .unwrap_or_default()
}

/// "expected one of `a`, `b`, `c`" (or the one- and zero-alternative forms).
fn one_of(alternatives: &[&str], kind: &str) -> String {
    match alternatives {
        [] => format!("there are no {kind}"),
        [only] => format!("expected `{only}`"),
        many => {
            let quoted: Vec<String> = many.iter().map(|a| format!("`{a}`")).collect();
            format!("expected one of {}", quoted.join(", "))
        }
    }
}

/// "; did you mean `loss`?" when one alternative is a likely typo of `found`.
fn did_you_mean(found: &str, alternatives: &[&str]) -> String {
    alternatives
        .iter()
        .map(|a| (edit_distance(found, a), a))
        .filter(|&(distance, a)| distance <= 2 && distance < a.chars().count())
        .min()
        .map(|(_, a)| format!("; did you mean `{a}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// ron says "the unsigned integer `5`"; people say "the number `5`".
fn plain_number(found: &str) -> String {
    [
        "the unsigned integer ",
        "the signed integer ",
        "the floating point number ",
    ]
    .iter()
    .find_map(|prefix| found.strip_prefix(prefix))
    .map_or_else(|| found.to_owned(), |rest| format!("the number {rest}"))
}

/// ron's messages start with a capital; ours follow rustc and start in lower case.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // fields are only read by the deserializer
    struct Link {
        latency: sim_core::SimTime,
        loss: f64,
        jitter: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Topology {
        Ring,
        Random { n: u32 },
    }

    fn load<T: for<'de> Deserialize<'de> + fmt::Debug>(text: &str) -> LoadError {
        let err = ron::from_str::<T>(text).unwrap_err();
        LoadError::from_ron("x.ron", text, &err)
    }

    #[test]
    fn renders_like_a_compiler() {
        let text = (1..=11).map(|_| "\n").collect::<String>() + "    duration: 5,\n";
        let err = LoadError::at("scenarios/x.ron", &text, 12, 15, "expected a duration");
        assert_eq!(
            err.to_string(),
            "error: scenarios/x.ron:12:15: expected a duration\n   \
             |\n12 |     duration: 5,\n   |               ^"
        );
    }

    #[test]
    fn caret_follows_tabs_and_one_digit_gutters() {
        let err = LoadError::at("a.ron", "(\n\tloss: x)", 2, 8, "bad");
        assert_eq!(
            err.to_string(),
            "error: a.ron:2:8: bad\n  |\n2 | \tloss: x)\n  | \t      ^"
        );
    }

    #[test]
    fn without_a_position_or_past_the_end() {
        let err = LoadError::without_position("a.ron", "no such file");
        assert_eq!(err.to_string(), "error: a.ron: no such file");
        let err = LoadError::at("a.ron", "one line", 3, 1, "at the end");
        assert_eq!(err.source_line, None);
        assert_eq!(err.to_string(), "error: a.ron:3:1: at the end");
    }

    #[test]
    fn unknown_field_names_the_alternatives_and_the_likely_one() {
        let text = "(\n    latency: \"1ms\",\n    los: 0.5,\n)";
        let err = load::<Link>(text);
        assert_eq!((err.line, err.column), (3, 5));
        assert_eq!(
            err.message,
            "unknown field `los` in `Link`, expected one of `latency`, `loss`, `jitter`; \
             did you mean `loss`?"
        );
        assert_eq!(err.source_line.as_deref(), Some("    los: 0.5,"));
        assert_eq!(
            err.to_string(),
            "error: x.ron:3:5: unknown field `los` in `Link`, expected one of `latency`, `loss`, \
             `jitter`; did you mean `loss`?\n  |\n3 |     los: 0.5,\n  |     ^"
        );
    }

    #[test]
    fn wrong_type_and_missing_field() {
        let err = load::<Link>("(latency: 5, loss: 0.1)");
        assert_eq!(
            err.message,
            r#"expected a duration string such as "150ms", "2s" or "1h", found the number `5`"#
        );
        assert_eq!((err.line, err.column), (1, 11));

        let err = load::<Link>("(latency: \"5s\")");
        assert_eq!(err.message, "missing field `loss` in `Link`");

        let err = load::<Link>("(latency: \"5q\", loss: 0.1)");
        assert_eq!(
            err.message,
            r#"bad duration "5q": unknown unit "q" (use ns, us, ms, s, m, h or d)"#
        );
        // ron points just inside the string's opening quote.
        assert_eq!((err.line, err.column), (1, 12));
    }

    #[test]
    fn syntax_errors() {
        let err = load::<Link>("(latency: \"5s\"\n loss: 0.1)");
        assert_eq!(err.message, "expected `,` between entries");
        assert_eq!((err.line, err.column), (2, 2));

        let err = load::<Link>("(latency: \"5s, loss: 0.1)");
        assert_eq!(
            err.message,
            "unterminated string: the closing `\"` is missing"
        );

        let err = load::<Link>("(latency: \"5s\", loss: 0.1) x");
        assert_eq!(err.message, "unexpected text after the end of the scenario");
        assert_eq!(err.column, 28);

        // ron reports the blank before `5`; the caret goes under the `5`.
        let err = load::<Link>("(\n  latency: \"5s\",\n  loss:\t 5.0,\n  jitter: 3,\n)");
        assert_eq!(err.message, "expected `Some(...)` or `None`");
        assert_eq!(
            err.to_string(),
            "error: x.ron:4:11: expected `Some(...)` or `None`\n  |\n4 |   jitter: 3,\n  |           ^"
        );
    }

    #[test]
    fn unknown_variant() {
        let err = load::<Topology>("Rnig");
        assert_eq!(
            err.message,
            "unknown variant `Rnig` in `Topology`, expected one of `Ring`, `Random`; did you mean `Ring`?"
        );
        let err = load::<Topology>("Star");
        assert_eq!(
            err.message,
            "unknown variant `Star` in `Topology`, expected one of `Ring`, `Random`"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("los", "loss"), 1);
        assert_eq!(edit_distance("latnecy", "latency"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
