//! `--set network.default.loss=0.05`: patching one value in a scenario's RON text.
//!
//! The patch works on the text, not on a parsed and re-printed scenario, so everything
//! else in the file (comments, layout, field order) stays byte for byte as written, and
//! the result goes through the ordinary loader with its ordinary error messages.
//!
//! A small scanner understands just enough RON for that: strings (with escapes, raw
//! `r#"..."#` and byte strings), character literals, `//` and nested `/* */` comments,
//! and the three kinds of brackets. From those it builds a tree of values:
//! structs `Name(a: 1)` / `(a: 1)`, tuples `(1, 2)` and `Some(x)`, sequences `[..]`,
//! maps `{"k": v}`, and everything else as an opaque scalar.

use std::fmt;

/// Why `--set PATH=VALUE` could not be applied: the path up to the segment that failed,
/// and the reason.
///
/// Displays as `--set network.default.los: ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideError {
    /// The path up to and including the segment that failed (the whole path when the
    /// problem is the value or the scenario text).
    pub path: String,
    /// What went wrong, in words.
    pub reason: String,
}

impl fmt::Display for OverrideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--set {}: {}", self.path, self.reason)
    }
}

impl std::error::Error for OverrideError {}

/// Returns `text` (a RON scenario) with the value at `path` replaced by `value` (RON
/// text, e.g. `0.05`, `"2s"`, `Uniform(min: "1ms", max: "5ms")`).
///
/// `path` is dot-separated: struct field names, decimal indices into sequences and
/// tuples (`nodes.2.name`), or map keys (matching `"key"` or a bare `key`). A value
/// written as a variant with fields (`Random(n: 5)`) is descended into like any struct,
/// and a one-element wrapper around a bracketed value (`Some((a: 1))`, a newtype variant)
/// is transparent.
///
/// When the last field is missing from its struct it is added (`field: value`); when an
/// intermediate field is missing, nested structs are added for the rest of the path
/// (`a: (b: value)`), since that is how a field left at its default is written out.
/// Whether the added field exists in the schema is the loader's to say.
pub fn apply_override(text: &str, path: &str, value: &str) -> Result<String, OverrideError> {
    let error = |reason: String| OverrideError {
        path: path.to_owned(),
        reason,
    };
    let segments = split_path(path).map_err(error)?;
    let value = check_value(value).map_err(error)?;
    let root = parse_document(text).map_err(|e| {
        error(format!(
            "cannot patch the scenario, it is not valid RON at {}: {}",
            line_column(text, e.at),
            e.message
        ))
    })?;
    let edit = plan(text, &root, &segments, value)?;
    Ok(edit.apply(text))
}

/// Splits `a.b.0` into its segments, refusing empty ones.
fn split_path(path: &str) -> Result<Vec<&str>, String> {
    if path.trim().is_empty() {
        return Err("the path is empty; write e.g. `--set network.default.loss=0.05`".into());
    }
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err("the path has an empty segment (two dots in a row, or a dot at an end)".into());
    }
    Ok(segments)
}

/// Checks that `value` is exactly one well-formed RON value and returns it trimmed.
fn check_value(value: &str) -> Result<&str, String> {
    let bad = |why: String| format!("the value `{value}` is not valid RON: {why}");
    let lexed = lex(value).map_err(|e| bad(e.message))?;
    if lexed.has_line_comment {
        return Err(bad(
            "it contains a `//` comment, which would swallow the text after it".into(),
        ));
    }
    let mut parser = Parser::new(value, lexed.tokens);
    if parser.peek().is_none() {
        return Err(bad("it is empty".into()));
    }
    parser
        .value(0)
        .and_then(|_| parser.expect_end("after the value"))
        .map_err(|e| bad(e.message))?;
    Ok(value.trim())
}

/// Walks `segments` down from `root` and decides what to change in `text`.
fn plan(text: &str, root: &Node, segments: &[&str], value: &str) -> Result<Edit, OverrideError> {
    let mut node = root;
    for (i, &segment) in segments.iter().enumerate() {
        let here = segments[..=i].join(".");
        let parent = if i == 0 {
            "the scenario".to_owned()
        } else {
            format!("`{}`", segments[..i].join("."))
        };
        let fail = |reason: String| OverrideError {
            path: here.clone(),
            reason,
        };
        node = node.unwrap_transparent();
        node = match &node.kind {
            Kind::Struct(group) => match group.items.iter().find(|f| f.is_named(text, segment)) {
                Some(field) => &field.value,
                None => return add_field(text, group, &segments[i..], value).map_err(fail),
            },
            Kind::Seq(group) | Kind::Tuple(group) => {
                let kind = if matches!(node.kind, Kind::Seq(_)) {
                    "sequence"
                } else {
                    "tuple"
                };
                let len = group.items.len();
                let index: usize = segment.parse().map_err(|_| {
                    fail(format!(
                        "{parent} is a {kind} of {len} element(s), so the segment must be an \
                         index, not `{segment}`"
                    ))
                })?;
                group.items.get(index).ok_or_else(|| {
                    fail(format!(
                        "index {index} is past the end of {parent}, a {kind} of {len} element(s)"
                    ))
                })?
            }
            Kind::Map(group) => {
                let entry = group
                    .items
                    .iter()
                    .find(|e| e.key.matches_key(text, segment));
                &entry
                    .ok_or_else(|| fail(format!("{parent} is a map with no key `{segment}`")))?
                    .value
            }
            Kind::Scalar => {
                return Err(fail(format!(
                    "{parent} is `{}`, which has no fields or elements",
                    snippet(&text[node.start..node.end])
                )));
            }
        };
    }
    Ok(Edit::replace(node.start..node.end, value.to_owned()))
}

/// The edit that adds `rest[0]` (and nested structs for the rest of the path) to the
/// struct `group`.
fn add_field(text: &str, group: &Group<Field>, rest: &[&str], value: &str) -> Result<Edit, String> {
    if let Some(bad) = rest.iter().find(|s| !is_identifier(s)) {
        return Err(if bad == &rest[0] {
            format!("a struct has fields, not elements; `{bad}` is not a field name")
        } else {
            format!(
                "the struct has no field `{}` to index with `{bad}`; only missing struct \
                 fields can be created",
                rest[0]
            )
        });
    }
    let mut entry = value.to_owned();
    for name in rest[1..].iter().rev() {
        entry = format!("({name}: {entry})");
    }
    let entry = format!("{}: {entry}", rest[0]);
    Ok(group.insertion(text, entry))
}

/// A change to the text: replace `range` with `insert`, and optionally add a comma at
/// `comma_at` (the end of the previous entry, which lacked one).
struct Edit {
    range: std::ops::Range<usize>,
    insert: String,
    comma_at: Option<usize>,
}

impl Edit {
    /// Replaces `range` with `insert`.
    fn replace(range: std::ops::Range<usize>, insert: String) -> Edit {
        Edit {
            range,
            insert,
            comma_at: None,
        }
    }

    /// `text` with the edit made.
    fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.insert.len() + 1);
        let mut from = 0;
        if let Some(at) = self.comma_at {
            out.push_str(&text[..at]);
            out.push(',');
            from = at;
        }
        out.push_str(&text[from..self.range.start]);
        out.push_str(&self.insert);
        out.push_str(&text[self.range.end..]);
        out
    }
}

/// One RON value in the text: its byte range and its shape.
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

/// The shapes of value the path can go through.
enum Kind {
    /// A number, string, char, `true`, `None`, a unit variant: a leaf.
    Scalar,
    /// `(a: 1)`, `Name(a: 1)`, and `()`/`Name()` (so fields can be added to them).
    Struct(Group<Field>),
    /// `(1, 2)`, `Some(x)`, `Variant(x, y)`.
    Tuple(Group<Node>),
    /// `[a, b]`.
    Seq(Group<Node>),
    /// `{k: v}`.
    Map(Group<Entry>),
}

/// The inside of a bracket pair: the entries, where the closing bracket is, and the
/// comma after the last entry if there is one.
struct Group<T> {
    close: usize,
    items: Vec<T>,
    trailing_comma: Option<usize>,
}

/// `name: value` in a struct; `name` is the byte range of the field name.
struct Field {
    name: std::ops::Range<usize>,
    value: Node,
}

/// `key: value` in a map.
struct Entry {
    key: Node,
    value: Node,
}

impl Node {
    /// A bracketed value from `start` (its name or opening bracket) to its closing
    /// bracket.
    fn bracketed<T>(start: usize, group: Group<T>, kind: fn(Group<T>) -> Kind) -> Node {
        Node {
            start,
            end: group.close + 1,
            kind: kind(group),
        }
    }

    /// Looks through one-element wrappers (`Some(..)`, newtype variants) around a
    /// bracketed value: `Some([a, b]).1` is `b`. A wrapper around a scalar is not
    /// transparent, so `Some(5).0` is `5`.
    fn unwrap_transparent(&self) -> &Node {
        let mut node = self;
        while let Kind::Tuple(group) = &node.kind {
            match group.items.as_slice() {
                [inner] if !matches!(inner.kind, Kind::Scalar) => node = inner,
                _ => break,
            }
        }
        node
    }

    /// Whether this map key is `segment`, written as a string or a bare word/number.
    fn matches_key(&self, text: &str, segment: &str) -> bool {
        let key = &text[self.start..self.end];
        key == segment || key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) == Some(segment)
    }
}

impl Field {
    /// Whether this field is called `name` (also when written as raw `r#name`).
    fn is_named(&self, text: &str, name: &str) -> bool {
        let written = &text[self.name.clone()];
        written == name || written.strip_prefix("r#") == Some(name)
    }
}

impl Group<Field> {
    /// The edit that adds `entry` (`name: value`) as the struct's last field, in the
    /// struct's own style: on a line of its own with the same indentation when the
    /// struct is laid out one field per line, inline otherwise; with a trailing comma
    /// when the struct had one.
    fn insertion(&self, text: &str, entry: String) -> Edit {
        let Some(last) = self.items.last() else {
            return Edit::replace(self.close..self.close, entry);
        };
        let own_line = |at: usize| {
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            text[line_start..at]
                .chars()
                .all(char::is_whitespace)
                .then_some(line_start)
        };
        let comma = if self.trailing_comma.is_some() {
            ","
        } else {
            ""
        };
        let missing_comma = self.trailing_comma.is_none().then_some(last.value.end);
        if let (Some(key_line), Some(close_line)) =
            (own_line(last.name.start), own_line(self.close))
            && close_line > last.value.end
        {
            let indent = &text[key_line..last.name.start];
            let newline = if text[..close_line].ends_with("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            return Edit {
                range: close_line..close_line,
                insert: format!("{indent}{entry}{comma}{newline}"),
                comma_at: missing_comma,
            };
        }
        match self.trailing_comma {
            Some(at) => Edit::replace(at + 1..at + 1, format!(" {entry},")),
            None => Edit::replace(last.value.end..last.value.end, format!(", {entry}")),
        }
    }
}

/// A token: a bracket, `,`, `:`, or an atom (anything else: a number, a word, a string
/// or char literal), with its byte range.
#[derive(Clone, Copy)]
struct Token {
    kind: TokenKind,
    start: usize,
    end: usize,
}

/// The kinds of [`Token`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenKind {
    /// `(`, `[` or `{`.
    Open(u8),
    /// `)`, `]` or `}`.
    Close(u8),
    Comma,
    Colon,
    /// A word, number, or other run of characters that is not punctuation.
    Word,
    /// A string, byte string or char literal.
    Literal,
}

/// A lexical or structural problem at byte offset `at`.
#[derive(Debug)]
struct SyntaxError {
    at: usize,
    message: String,
}

/// The tokens of a text, and whether it had a `//` comment.
struct Lexed {
    tokens: Vec<Token>,
    has_line_comment: bool,
}

/// Splits RON text into tokens, skipping whitespace and comments.
fn lex(text: &str) -> Result<Lexed, SyntaxError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut has_line_comment = false;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = match bytes[i] {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                has_line_comment = true;
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i)?;
                continue;
            }
            b @ (b'(' | b'[' | b'{') => {
                i += 1;
                TokenKind::Open(b)
            }
            b @ (b')' | b']' | b'}') => {
                i += 1;
                TokenKind::Close(b)
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            b':' => {
                i += 1;
                TokenKind::Colon
            }
            _ => match literal_end(bytes, i)? {
                Some(end) => {
                    i = end;
                    TokenKind::Literal
                }
                None => {
                    i = word_end(bytes, i);
                    TokenKind::Word
                }
            },
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Ok(Lexed {
        tokens,
        has_line_comment,
    })
}

/// The end of the (possibly nested) block comment starting at `start`.
fn skip_block_comment(bytes: &[u8], start: usize) -> Result<usize, SyntaxError> {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => i += 1,
        }
    }
    Err(SyntaxError {
        at: start,
        message: "unclosed `/*` comment".into(),
    })
}

/// If a string, raw string, byte string or char literal starts at `start`, its end.
fn literal_end(bytes: &[u8], start: usize) -> Result<Option<usize>, SyntaxError> {
    let mut i = start;
    if bytes[i] == b'b' && matches!(bytes.get(i + 1), Some(b'"' | b'\'' | b'r')) {
        i += 1;
    }
    let unterminated = |what: &str| SyntaxError {
        at: start,
        message: format!("unterminated {what}"),
    };
    match bytes[i] {
        quote @ (b'"' | b'\'') => {
            i += 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b if b == quote => return Ok(Some(i + 1)),
                    _ => i += 1,
                }
            }
            Err(unterminated(if quote == b'"' {
                "string"
            } else {
                "character literal"
            }))
        }
        b'r' => {
            let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
            if bytes.get(i + 1 + hashes) != Some(&b'"') {
                // `r#name` is a raw identifier, `r` alone a word.
                return Ok(None);
            }
            let body = i + 2 + hashes;
            let closing: Vec<u8> = std::iter::once(b'"').chain(vec![b'#'; hashes]).collect();
            bytes[body..]
                .windows(closing.len())
                .position(|w| w == closing.as_slice())
                .map(|n| Some(body + n + closing.len()))
                .ok_or_else(|| unterminated("raw string"))
        }
        _ => Ok(None),
    }
}

/// The end of the word (number, identifier, `#!`, ...) starting at `start`.
fn word_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b if b.is_ascii_whitespace() => break,
            b'(' | b')' | b'[' | b']' | b'{' | b'}' | b',' | b':' | b'"' | b'\'' => break,
            b'/' if matches!(bytes.get(i + 1), Some(b'/' | b'*')) => break,
            _ => i += 1,
        }
    }
    i
}

/// Nesting deeper than this is refused instead of risking the stack.
const MAX_DEPTH: usize = 256;

/// A recursive-descent reader of values over tokens.
struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, tokens: Vec<Token>) -> Parser<'a> {
        Parser {
            text,
            tokens,
            next: 0,
        }
    }

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.next).copied()
    }

    fn peek_kind(&self, ahead: usize) -> Option<TokenKind> {
        self.tokens.get(self.next + ahead).map(|t| t.kind)
    }

    /// An error at `token`, or at the end of the text when there is none.
    fn error_at(&self, token: Option<Token>, message: String) -> SyntaxError {
        SyntaxError {
            at: token.map_or(self.text.len(), |t| t.start),
            message,
        }
    }

    /// Fails unless all tokens have been read.
    fn expect_end(&self, context: &str) -> Result<(), SyntaxError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(self.error_at(
                Some(t),
                format!(
                    "unexpected `{}` {context}",
                    snippet(&self.text[t.start..t.end])
                ),
            )),
        }
    }

    /// Reads one value.
    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error_at(self.peek(), "values are nested too deeply".into()));
        }
        let Some(token) = self.peek() else {
            return Err(self.error_at(None, "unexpected end, expected a value".into()));
        };
        self.next += 1;
        let start = token.start;
        match token.kind {
            TokenKind::Open(b'(') => self.parens(start, depth),
            TokenKind::Open(b'[') => {
                let group = self.group(b']', |p| p.value(depth + 1))?;
                Ok(Node::bracketed(start, group, Kind::Seq))
            }
            // `{`, the only bracket left.
            TokenKind::Open(_) => {
                let group = self.group(b'}', |p| {
                    let key = p.value(depth + 1)?;
                    p.expect_colon()?;
                    let value = p.value(depth + 1)?;
                    Ok(Entry { key, value })
                })?;
                Ok(Node::bracketed(start, group, Kind::Map))
            }
            TokenKind::Word if self.peek_kind(0) == Some(TokenKind::Open(b'(')) => {
                self.next += 1;
                self.parens(start, depth)
            }
            TokenKind::Word | TokenKind::Literal => Ok(Node {
                start,
                end: token.end,
                kind: Kind::Scalar,
            }),
            TokenKind::Close(_) | TokenKind::Comma | TokenKind::Colon => Err(self.error_at(
                Some(token),
                format!(
                    "unexpected `{}`, expected a value",
                    &self.text[token.start..token.end]
                ),
            )),
        }
    }

    /// Reads the inside of `(...)` (the `(` is read): a struct when it is empty or starts
    /// with `name:`, a tuple otherwise. `start` is where the value began (its name, if any).
    fn parens(&mut self, start: usize, depth: usize) -> Result<Node, SyntaxError> {
        let is_struct = matches!(
            (self.peek_kind(0), self.peek_kind(1)),
            (Some(TokenKind::Close(b')')), _) | (Some(TokenKind::Word), Some(TokenKind::Colon))
        );
        if !is_struct {
            let group = self.group(b')', |p| p.value(depth + 1))?;
            return Ok(Node::bracketed(start, group, Kind::Tuple));
        }
        let group = self.group(b')', |p| {
            let name = match p.peek() {
                Some(t) if t.kind == TokenKind::Word && is_identifier(&p.text[t.start..t.end]) => t,
                other => {
                    return Err(p.error_at(other, "expected `field: value` in a struct".into()));
                }
            };
            p.next += 1;
            p.expect_colon()?;
            let value = p.value(depth + 1)?;
            Ok(Field {
                name: name.start..name.end,
                value,
            })
        })?;
        Ok(Node::bracketed(start, group, Kind::Struct))
    }

    /// Reads comma-separated items up to the `close` bracket (the opening one is the
    /// previous token), allowing a trailing comma.
    fn group<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<Group<T>, SyntaxError> {
        let open = self.tokens[self.next - 1].start;
        let unclosed = || SyntaxError {
            at: open,
            message: format!(
                "`{}` is never closed",
                char::from(self.text.as_bytes()[open])
            ),
        };
        let mut items = Vec::new();
        let mut trailing_comma = None;
        loop {
            match self.peek() {
                Some(t) if t.kind == TokenKind::Close(close) => {
                    self.next += 1;
                    return Ok(Group {
                        close: t.start,
                        items,
                        trailing_comma,
                    });
                }
                None => return Err(unclosed()),
                Some(_) => {}
            }
            items.push(item(self)?);
            trailing_comma = None;
            match self.peek() {
                Some(t) if t.kind == TokenKind::Comma => {
                    self.next += 1;
                    trailing_comma = Some(t.start);
                }
                Some(t) if t.kind == TokenKind::Close(close) => {}
                None => return Err(unclosed()),
                other => {
                    return Err(
                        self.error_at(other, format!("expected `,` or `{}`", char::from(close)))
                    );
                }
            }
        }
    }

    /// Reads the `:` after a field name or map key.
    fn expect_colon(&mut self) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(t) if t.kind == TokenKind::Colon => {
                self.next += 1;
                Ok(())
            }
            other => Err(self.error_at(other, "expected `:`".into())),
        }
    }
}

/// Reads a whole scenario: `#![enable(...)]` attributes, then exactly one value.
fn parse_document(text: &str) -> Result<Node, SyntaxError> {
    let mut parser = Parser::new(text, lex(text)?.tokens);
    while let Some(t) = parser.peek() {
        if !text[t.start..t.end].starts_with("#!") {
            break;
        }
        parser.next += 1;
        parser.value(0)?;
    }
    let root = parser.value(0)?;
    parser.expect_end("after the scenario")?;
    Ok(root)
}

/// Whether `s` can be a RON field name.
fn is_identifier(s: &str) -> bool {
    let s = s.strip_prefix("r#").unwrap_or(s);
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// `line L, column C` (1-based, columns in characters) of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> String {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

/// `text` shortened to one line of at most 40 characters, for messages.
fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 40 {
        one_line
    } else {
        one_line.chars().take(37).collect::<String>() + "..."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r##"#![enable(implicit_some)]
// A ring of five peers. (Parens in comments: "( [ {" must not count.)
Scenario(
    name: "ring (small)",
    seed: 42,
    /* nested /* block */ comment with ) and ] */
    network: (
        default: Link(
            latency: Uniform(min: "1ms", max: "5ms"),
            loss: 0.01, // one percent
        ),
        links: {
            "a-b": (loss: 0.5),
            c: (loss: 0.2),
        },
    ),
    topology: Random(n: 5, density: 0.2),
    nodes: [
        (name: "a", kind: Peer),
        (name: "b\"(", kind: Peer),
        (name: r#"c")"#, kind: Gate, boot: Some((delay: "2s"))),
    ],
    tag: '(',
    limits: Some([1, 2, 3]),
    pair: (7, "x"),
    until: "1h",
)
"##;

    fn set(text: &str, path: &str, value: &str) -> String {
        match apply_override(text, path, value) {
            Ok(patched) => patched,
            Err(e) => panic!("{path}={value}: {e}"),
        }
    }

    fn set_err(text: &str, path: &str, value: &str) -> String {
        match apply_override(text, path, value) {
            Ok(patched) => panic!("{path}={value} should fail, gave:\n{patched}"),
            Err(e) => e.to_string(),
        }
    }

    /// `SCENARIO` with the first `from` replaced by `to`, checking `from` is there once.
    fn scenario_with(from: &str, to: &str) -> String {
        assert_eq!(SCENARIO.matches(from).count(), 1, "{from}");
        SCENARIO.replacen(from, to, 1)
    }

    #[test]
    fn replaces_values_in_place() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("seed", "7", "seed: 42,", "seed: 7,"),
            (
                "name",
                r#""other""#,
                r#"name: "ring (small)","#,
                r#"name: "other","#,
            ),
            ("network.default.loss", "0.05", "loss: 0.01,", "loss: 0.05,"),
            (
                "network.default.latency",
                r#"Constant("3ms")"#,
                r#"latency: Uniform(min: "1ms", max: "5ms"),"#,
                r#"latency: Constant("3ms"),"#,
            ),
            (
                "network.default.latency.max",
                r#""9ms""#,
                r#"max: "5ms""#,
                r#"max: "9ms""#,
            ),
            (
                "network.links.a-b.loss",
                "0.7",
                "(loss: 0.5)",
                "(loss: 0.7)",
            ),
            ("network.links.c.loss", "0.3", "(loss: 0.2)", "(loss: 0.3)"),
            ("topology.n", "50", "n: 5,", "n: 50,"),
            ("topology", "Ring", "Random(n: 5, density: 0.2)", "Ring"),
            (
                "nodes.1.kind",
                "Gate",
                r#""b\"(", kind: Peer"#,
                r#""b\"(", kind: Gate"#,
            ),
            ("nodes.2.name", r#""z""#, r##"r#"c")"#"##, r#""z""#),
            ("nodes.2.boot.delay", r#""3s""#, r#""2s""#, r#""3s""#),
            ("tag", "')'", "'('", "')'"),
            ("limits.2", "30", "[1, 2, 3]", "[1, 2, 30]"),
            ("pair.0", "8", "(7, \"x\")", "(8, \"x\")"),
            ("until", "  \"2h\"  ", "until: \"1h\"", "until: \"2h\""),
            (
                "nodes.0",
                "(name: \"q\",\n kind: Peer)",
                "(name: \"a\", kind: Peer)",
                "(name: \"q\",\n kind: Peer)",
            ),
        ];
        for &(path, value, from, to) in cases {
            assert_eq!(
                set(SCENARIO, path, value),
                scenario_with(from, to),
                "{path}"
            );
        }
    }

    #[test]
    fn adds_missing_fields_in_the_struct_style() {
        // One field per line, trailing comma, comment after the last field.
        assert_eq!(
            set(SCENARIO, "network.default.jitter", r#""1ms""#),
            scenario_with(
                "loss: 0.01, // one percent\n",
                "loss: 0.01, // one percent\n            jitter: \"1ms\",\n"
            )
        );
        // Intermediate fields become nested structs.
        assert_eq!(
            set(SCENARIO, "faults.crash.at", r#""5s""#),
            scenario_with(
                "    until: \"1h\",\n",
                "    until: \"1h\",\n    faults: (crash: (at: \"5s\")),\n"
            )
        );
        // Inline struct, through a variant.
        assert_eq!(
            set(SCENARIO, "topology.seed", "3"),
            scenario_with("density: 0.2)", "density: 0.2, seed: 3)")
        );
        // Inside a map value, and inside `Some(..)`.
        assert_eq!(
            set(SCENARIO, "network.links.c.mtu", "1500"),
            scenario_with("(loss: 0.2)", "(loss: 0.2, mtu: 1500)")
        );
        assert_eq!(
            set(SCENARIO, "nodes.2.boot.jitter", r#""1s""#),
            scenario_with(r#"(delay: "2s")"#, r#"(delay: "2s", jitter: "1s")"#)
        );
    }

    #[test]
    fn comma_handling_when_adding() {
        let cases: &[(&str, &str, &str)] = &[
            ("()", "a.b", "(a: (b: 1))"),
            ("Empty()", "a", "Empty(a: 1)"),
            ("(x: 0)", "a", "(x: 0, a: 1)"),
            ("(x: 0,)", "a", "(x: 0, a: 1,)"),
            ("(x: 0 /* c */)", "a", "(x: 0, a: 1 /* c */)"),
            ("(\n  x: 0,\n)", "a", "(\n  x: 0,\n  a: 1,\n)"),
            ("(\n  x: 0\n)", "a", "(\n  x: 0,\n  a: 1\n)"),
            ("(\n  x: 0 // c\n)", "a", "(\n  x: 0, // c\n  a: 1\n)"),
            (
                "(\n\tx: 0,\n\ty: 2,\n)",
                "a",
                "(\n\tx: 0,\n\ty: 2,\n\ta: 1,\n)",
            ),
            ("(x: 0,\n  y: 2)", "a", "(x: 0,\n  y: 2, a: 1)"),
            ("(\r\n  x: 0,\r\n)", "a", "(\r\n  x: 0,\r\n  a: 1,\r\n)"),
            ("(x: (y: 0))", "x.z", "(x: (y: 0, z: 1))"),
            ("(r#type: 0)", "type", "(r#type: 1)"),
        ];
        for &(text, path, expected) in cases {
            assert_eq!(set(text, path, "1"), expected, "{text:?} {path}");
        }
    }

    #[test]
    fn errors_name_the_segment_and_the_reason() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "seed.x",
                "1",
                "--set seed.x: `seed` is `42`, which has no fields or elements",
            ),
            (
                "nodes.3.name",
                "\"d\"",
                "--set nodes.3: index 3 is past the end of `nodes`, a sequence of 3 element(s)",
            ),
            (
                "nodes.name",
                "\"d\"",
                "--set nodes.name: `nodes` is a sequence of 3 element(s), so the segment \
                 must be an index, not `name`",
            ),
            (
                "pair.x",
                "1",
                "--set pair.x: `pair` is a tuple of 2 element(s), so the segment must be an \
                 index, not `x`",
            ),
            (
                "network.links.d.loss",
                "1",
                "--set network.links.d: `network.links` is a map with no key `d`",
            ),
            (
                "network.0",
                "1",
                "--set network.0: a struct has fields, not elements; `0` is not a field name",
            ),
            (
                "faults.0.at",
                "1",
                "--set faults: the struct has no field `faults` to index with `0`; only \
                 missing struct fields can be created",
            ),
            (
                "topology.n",
                "\"5",
                "--set topology.n: the value `\"5` is not valid RON: unterminated string",
            ),
            (
                "topology.n",
                "Some(5",
                "--set topology.n: the value `Some(5` is not valid RON: `(` is never closed",
            ),
            (
                "topology.n",
                "5)",
                "--set topology.n: the value `5)` is not valid RON: unexpected `)` after the value",
            ),
            (
                "topology.n",
                "1, 2",
                "--set topology.n: the value `1, 2` is not valid RON: unexpected `,` after the value",
            ),
            (
                "topology.n",
                "  ",
                "--set topology.n: the value `  ` is not valid RON: it is empty",
            ),
            (
                "topology.n",
                "5 // five",
                "--set topology.n: the value `5 // five` is not valid RON: it contains a `//` \
                 comment, which would swallow the text after it",
            ),
            (
                "topology.n",
                "[1, 2}",
                "--set topology.n: the value `[1, 2}` is not valid RON: expected `,` or `]`",
            ),
            (
                "topology..n",
                "5",
                "--set topology..n: the path has an empty segment (two dots in a row, or a \
                 dot at an end)",
            ),
            (
                "",
                "5",
                "--set : the path is empty; write e.g. `--set network.default.loss=0.05`",
            ),
        ];
        for &(path, value, message) in cases {
            assert_eq!(set_err(SCENARIO, path, value), message, "{path}={value}");
        }
    }

    #[test]
    fn broken_scenarios_are_reported_with_a_position() {
        let cases: &[(&str, &str)] = &[
            (
                "(a: \"x)",
                "--set a: cannot patch the scenario, it is not valid RON at line 1, column 5: \
                 unterminated string",
            ),
            (
                "(a: 1,\n /* x )",
                "--set a: cannot patch the scenario, it is not valid RON at line 2, column 2: \
                 unclosed `/*` comment",
            ),
            (
                "(a: 1",
                "--set a: cannot patch the scenario, it is not valid RON at line 1, column 1: \
                 `(` is never closed",
            ),
            (
                "(a: 1))",
                "--set a: cannot patch the scenario, it is not valid RON at line 1, column 7: \
                 unexpected `)` after the scenario",
            ),
            (
                "(a: 1, 2)",
                "--set a: cannot patch the scenario, it is not valid RON at line 1, column 8: \
                 expected `field: value` in a struct",
            ),
            (
                "(a 1)",
                "--set a: cannot patch the scenario, it is not valid RON at line 1, column 4: \
                 expected `,` or `)`",
            ),
            (
                "(a: r##\"x\"#)",
                "--set a: cannot patch the scenario, it is not valid RON at line 1, column 5: \
                 unterminated raw string",
            ),
        ];
        for &(text, message) in cases {
            assert_eq!(set_err(text, "a", "2"), message, "{text}");
        }
    }

    #[test]
    fn lexer_handles_literals_and_comments() {
        let text = r####"[ "a\\", "\")", r"x", r##"y"#z"##, b"q)", br#"]"#, 'x', '\'', b'(', /* /* ] */ */ r#raw, -1.5e3, 0x1F ]"####;
        let lexed = lex(text).unwrap();
        let kinds: Vec<TokenKind> = lexed.tokens.iter().map(|t| t.kind).collect();
        let words: Vec<&str> = lexed
            .tokens
            .iter()
            .filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::Literal))
            .map(|t| &text[t.start..t.end])
            .collect();
        assert_eq!(
            words,
            [
                r#""a\\""#,
                r#""\")""#,
                r#"r"x""#,
                r###"r##"y"#z"##"###,
                r#"b"q)""#,
                r##"br#"]"#"##,
                "'x'",
                r"'\''",
                "b'('",
                "r#raw",
                "-1.5e3",
                "0x1F"
            ]
        );
        assert_eq!(kinds.first(), Some(&TokenKind::Open(b'[')));
        assert_eq!(kinds.last(), Some(&TokenKind::Close(b']')));
        assert!(!lexed.has_line_comment);
        assert_eq!(set(text, "9", "r#other"), text.replace("r#raw", "r#other"));
    }

    #[test]
    fn non_ascii_text_is_preserved() {
        let text = "(name: \"Zürich ☃\", /* café */ n: 1)";
        assert_eq!(set(text, "n", "2"), text.replace("n: 1", "n: 2"));
        let err = set_err("(a: \"ü\", b: \"x)", "a", "1");
        assert!(err.contains("line 1, column 13"), "{err}");
    }

    #[test]
    fn patched_text_still_parses_with_ron() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Inner {
            b: Option<u32>,
            c: Option<u32>,
        }
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Outer {
            a: Option<Inner>,
            list: Vec<u32>,
        }
        let text = "#![enable(implicit_some)]\n(\n    // the list\n    list: [1, 2],\n)\n";
        let patched = set(text, "a.c", "5");
        let patched = set(&patched, "list.1", "20");
        let parsed: Outer = ron::from_str(&patched).unwrap();
        assert_eq!(
            parsed,
            Outer {
                a: Some(Inner {
                    b: None,
                    c: Some(5)
                }),
                list: vec![1, 20],
            }
        );
    }
}
