//! A minimal reader of GML, the Internet Topology Zoo's format: `key value` pairs where
//! a value is a number, a quoted string or a list `[ ... ]` of pairs. Errors name the
//! line. [`read_graph`] gives a graph's nodes and edges; systems that read more
//! attributes (link speeds, say) walk the items from [`parse`].

/// `(key, value, line)` items of a GML list, in file order.
pub type Items = Vec<(String, Value, usize)>;

/// A GML value.
#[derive(Debug, PartialEq)]
pub enum Value {
    /// A number (GML's integers and reals alike).
    Number(f64),
    /// A quoted string.
    Text(String),
    /// A list `[ ... ]` of `(key, value, line)` items.
    List(Items),
}

/// Parse a whole file into its top-level `(key, value, line)` items.
pub fn parse(text: &str) -> Result<Items, String> {
    let tokens = tokenize(text)?;
    let mut pos = 0;
    let items = list(&tokens, &mut pos)?;
    if let Some((t, line)) = tokens.get(pos) {
        return Err(format!("GML line {line}: unexpected {t:?}"));
    }
    Ok(items)
}

/// The first number under `key` in `list`.
pub fn number(list: &[(String, Value, usize)], key: &str) -> Option<f64> {
    list.iter().find_map(|(k, v, _)| match v {
        Value::Number(x) if k == key => Some(*x),
        _ => None,
    })
}

/// The first whole number under `key` in `list`.
pub fn int(list: &[(String, Value, usize)], key: &str) -> Option<i64> {
    number(list, key)
        .filter(|x| x.fract() == 0.0)
        .map(|x| x as i64)
}

/// The first string (or number, as text) under `key` in `list`.
pub fn string(list: &[(String, Value, usize)], key: &str) -> Option<String> {
    list.iter().find_map(|(k, v, _)| match v {
        Value::Text(s) if k == key => Some(s.clone()),
        Value::Number(x) if k == key => Some(x.to_string()),
        _ => None,
    })
}

/// A GML graph's nodes, as `(id, label)` in file order (a node without a label is
/// `node<id>`), and its edges as `(source, target, items)`: indices into the nodes, and
/// the edge's own items.
#[derive(Debug, PartialEq)]
pub struct Graph {
    /// `(id, label)` of every node, in file order.
    pub nodes: Vec<(i64, String)>,
    /// `(source, target, the edge's items, line)`, sources and targets as indices into
    /// `nodes`, in file order.
    pub edges: Vec<(usize, usize, Items, usize)>,
}

/// Read the `graph [ ... ]` block of a GML file: nodes need an integer `id` (unique),
/// edges an integer `source` and `target` that are node ids. Errors name the line.
pub fn read_graph(text: &str) -> Result<Graph, String> {
    let items = parse(text)?;
    let graph = items
        .into_iter()
        .find_map(|(k, v, _)| match (k.as_str(), v) {
            ("graph", Value::List(l)) => Some(l),
            _ => None,
        })
        .ok_or("GML: no `graph [ ... ]` block")?;
    let mut nodes: Vec<(i64, String)> = Vec::new();
    let mut edges = Vec::new();
    for (key, value, line) in &graph {
        if key != "node" {
            continue;
        }
        let Value::List(node) = value else {
            return Err(format!("GML line {line}: `node` must be a list [ ... ]"));
        };
        let id = int(node, "id")
            .ok_or_else(|| format!("GML line {line}: node without an integer `id`"))?;
        if nodes.iter().any(|(other, _)| *other == id) {
            return Err(format!("GML line {line}: node id {id} is used twice"));
        }
        let label = string(node, "label").unwrap_or_else(|| format!("node{id}"));
        nodes.push((id, label));
    }
    for (key, value, line) in graph {
        if key != "edge" {
            continue;
        }
        let Value::List(edge) = value else {
            return Err(format!("GML line {line}: `edge` must be a list [ ... ]"));
        };
        let end = |field: &str| -> Result<usize, String> {
            let id = int(&edge, field)
                .ok_or_else(|| format!("GML line {line}: edge without an integer `{field}`"))?;
            nodes
                .iter()
                .position(|(n, _)| *n == id)
                .ok_or_else(|| format!("GML line {line}: edge {field} {id} is not a node id"))
        };
        let (a, b) = (end("source")?, end("target")?);
        edges.push((a, b, edge, line));
    }
    Ok(Graph { nodes, edges })
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    Text(String),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => while chars.next_if(|&c| c != '\n').is_some() {},
            '[' | ']' => {
                chars.next();
                out.push((if c == '[' { Token::Open } else { Token::Close }, line));
            }
            '"' => {
                chars.next();
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            s.push(ch);
                        }
                        None => {
                            return Err(format!("GML line {start}: unterminated string"));
                        }
                    }
                }
                out.push((Token::Text(s), start));
            }
            _ => {
                let mut word = String::new();
                while let Some(ch) =
                    chars.next_if(|&ch| !ch.is_whitespace() && !matches!(ch, '[' | ']' | '"'))
                {
                    word.push(ch);
                }
                let token = if word.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_') {
                    Token::Word(word)
                } else {
                    Token::Number(word.parse().map_err(|_| {
                        format!("GML line {line}: {word:?} is neither a key nor a number")
                    })?)
                };
                out.push((token, line));
            }
        }
    }
    Ok(out)
}

fn list(tokens: &[(Token, usize)], pos: &mut usize) -> Result<Items, String> {
    let mut items = Vec::new();
    while let Some((token, line)) = tokens.get(*pos) {
        let key = match token {
            Token::Close => return Ok(items),
            Token::Word(w) => w.clone(),
            other => return Err(format!("GML line {line}: expected a key, found {other:?}")),
        };
        *pos += 1;
        let value = match tokens.get(*pos) {
            Some((Token::Number(x), _)) => Value::Number(*x),
            Some((Token::Text(s), _)) => Value::Text(s.clone()),
            Some((Token::Open, open_line)) => {
                *pos += 1;
                let inner = list(tokens, pos)?;
                if tokens.get(*pos).map(|(t, _)| t) != Some(&Token::Close) {
                    return Err(format!(
                        "GML line {open_line}: `{key} [` is never closed with `]`"
                    ));
                }
                Value::List(inner)
            }
            Some((other, l)) => {
                return Err(format!(
                    "GML line {l}: `{key}` has no value (found {other:?})"
                ));
            }
            None => return Err(format!("GML line {line}: `{key}` has no value")),
        };
        *pos += 1;
        items.push((key, value, *line));
    }
    Ok(items)
}
