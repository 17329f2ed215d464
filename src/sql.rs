//! The SQL layer: split a file into statements and psql meta-commands, parse
//! every statement with the real PostgreSQL grammar (`pg_query`), and keep the
//! byte span and line range of each.
//!
//! The splitter is lexical (quotes, dollar quotes, nested comments, psql
//! backslash commands, `BEGIN ATOMIC` bodies) because the parser cannot see
//! psql meta-commands and must not be handed them; each statement is then
//! parsed on its own so that one bad statement is reported at its own line.

use crate::error::{Error, Result};
use crate::report::LineIndex;
use pg_query::NodeEnum;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }
}

/// What the splitter found, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A statement: from its first token to its last, without the `;`.
    Statement { span: Span, terminated: bool },
    /// A psql meta-command such as `\echo` or `\i file`, to the end of line.
    Meta(Span),
}

#[derive(Debug, Clone, Default)]
pub struct Lexed {
    pub pieces: Vec<Piece>,
    /// Every `--` and `/* */` comment outside quotes.
    pub comments: Vec<Span>,
}

/// A lexical error (unterminated quote or comment) at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub message: String,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Split SQL text into statements, meta-commands and comments.
pub fn split(src: &str) -> Result<Lexed, LexError> {
    let b = src.as_bytes();
    let n = b.len();
    let mut out = Lexed::default();
    let mut i = 0;
    // Current statement: first token start, last token end.
    let mut start: Option<usize> = None;
    let mut last_end = 0;
    // Leading words of the statement and BEGIN/CASE ... END depth, so that a
    // SQL-standard function body (BEGIN ATOMIC ... END) is not split at its
    // inner semicolons. This mirrors psql's own rule.
    let mut words: Vec<String> = Vec::new();
    let mut depth: i32 = 0;

    macro_rules! token {
        ($s:expr, $e:expr) => {{
            if start.is_none() {
                start = Some($s);
                words.clear();
                depth = 0;
            }
            last_end = $e;
        }};
    }
    macro_rules! flush {
        ($terminated:expr) => {{
            if let Some(s) = start.take() {
                out.pieces.push(Piece::Statement {
                    span: Span {
                        start: s,
                        end: last_end,
                    },
                    terminated: $terminated,
                });
            }
        }};
    }

    while i < n {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match atom(src, i)? {
            Atom::Comment(e) => {
                out.comments.push(Span { start: i, end: e });
                i = e;
                continue;
            }
            Atom::Literal(s, e) => {
                token!(s, e);
                i = e;
                continue;
            }
            Atom::None => {}
        }
        if c == b'\\' {
            // psql meta-command: runs to the end of the line. psql sends the
            // statement buffer first, so a statement in progress ends here.
            flush!(false);
            let e = src[i..].find('\n').map(|p| i + p).unwrap_or(n);
            let e = src[i..e].trim_end().len() + i;
            out.pieces.push(Piece::Meta(Span { start: i, end: e }));
            i = e;
        } else if c == b';' {
            if depth <= 0 {
                flush!(true);
            } else {
                last_end = i + 1;
            }
            i += 1;
        } else if is_ident_byte(c) && c != b'$' {
            let s = i;
            while i < n && is_ident_byte(b[i]) {
                i += 1;
            }
            token!(s, i);
            let w = src[s..i].to_ascii_uppercase();
            if words.len() < 4 {
                words.push(w.clone());
            }
            if is_routine(&words) {
                match w.as_str() {
                    "BEGIN" | "CASE" => depth += 1,
                    "END" => depth -= 1,
                    _ => {}
                }
            }
        } else {
            // Any other byte (operators, punctuation, a stray `$`): part of
            // the statement. Step over a whole UTF-8 character.
            let len = src[i..].chars().next().map(|ch| ch.len_utf8()).unwrap_or(1);
            token!(i, i + len);
            i += len;
        }
    }
    flush!(false);
    Ok(out)
}

enum Atom {
    /// A comment ending at the offset.
    Comment(usize),
    /// A quoted string, identifier or dollar-quoted body: start (which may
    /// be the `E` of `E'...'`) and end.
    Literal(usize, usize),
    None,
}

/// Recognise a comment or a quoted token starting at `i`.
fn atom(src: &str, i: usize) -> Result<Atom, LexError> {
    let b = src.as_bytes();
    let n = b.len();
    let c = b[i];
    let unterminated = |offset: usize, message: &str| LexError {
        offset,
        message: message.to_string(),
    };
    if c == b'-' && b.get(i + 1) == Some(&b'-') {
        return Ok(Atom::Comment(
            src[i..].find('\n').map(|p| i + p).unwrap_or(n),
        ));
    }
    if c == b'/' && b.get(i + 1) == Some(&b'*') {
        let (mut j, mut level) = (i, 0);
        loop {
            if j + 1 >= n {
                return Err(unterminated(i, "unterminated /* comment"));
            }
            if b[j] == b'/' && b[j + 1] == b'*' {
                level += 1;
                j += 2;
            } else if b[j] == b'*' && b[j + 1] == b'/' {
                level -= 1;
                j += 2;
                if level == 0 {
                    return Ok(Atom::Comment(j));
                }
            } else {
                j += 1;
            }
        }
    }
    if c == b'\'' {
        // E'...' strings take backslash escapes; standard strings do not
        // (standard_conforming_strings is on since PostgreSQL 9.1).
        let escapes =
            i > 0 && (b[i - 1] == b'E' || b[i - 1] == b'e') && (i < 2 || !is_ident_byte(b[i - 2]));
        let mut j = i + 1;
        loop {
            if j >= n {
                return Err(unterminated(i, "unterminated quoted string"));
            }
            if escapes && b[j] == b'\\' {
                j += 2;
            } else if b[j] == b'\'' {
                if b.get(j + 1) == Some(&b'\'') {
                    j += 2;
                } else {
                    return Ok(Atom::Literal(if escapes { i - 1 } else { i }, j + 1));
                }
            } else {
                j += 1;
            }
        }
    }
    if c == b'"' {
        let mut j = i + 1;
        loop {
            if j >= n {
                return Err(unterminated(i, "unterminated quoted identifier"));
            }
            if b[j] == b'"' {
                if b.get(j + 1) == Some(&b'"') {
                    j += 2;
                } else {
                    return Ok(Atom::Literal(i, j + 1));
                }
            } else {
                j += 1;
            }
        }
    }
    if c == b'$' {
        if let Some(len) = dollar_tag(b, i) {
            let tag = &src[i..i + len];
            return match src[i + len..].find(tag) {
                Some(p) => Ok(Atom::Literal(i, i + len + p + len)),
                None => Err(unterminated(
                    i,
                    &format!("unterminated dollar-quoted string (no closing {tag})"),
                )),
            };
        }
    }
    Ok(Atom::None)
}

/// Scan from `from` to the first `,` or `)` at parenthesis depth 0 (outside
/// quotes and comments), stopping at `limit`. Returns the end of the last
/// token before it and the offset of the delimiter (or `limit`).
pub fn element_end(src: &str, from: usize, limit: usize) -> (usize, usize) {
    let b = src.as_bytes();
    let (mut i, mut depth, mut last) = (from, 0i32, from);
    while i < limit {
        match atom(src, i) {
            Ok(Atom::Comment(e)) => {
                i = e;
                continue;
            }
            Ok(Atom::Literal(_, e)) => {
                i = e;
                last = e;
                continue;
            }
            Ok(Atom::None) => {}
            Err(_) => return (limit, limit),
        }
        match b[i] {
            b'(' => depth += 1,
            b')' if depth == 0 => return (last, i),
            b')' => depth -= 1,
            b',' if depth == 0 => return (last, i),
            _ => {}
        }
        if !b[i].is_ascii_whitespace() {
            last = i + src[i..].chars().next().map_or(1, char::len_utf8);
        }
        i += src[i..].chars().next().map_or(1, char::len_utf8);
    }
    (last, limit)
}

/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the only statements whose body
/// may hold bare semicolons (SQL-standard `BEGIN ATOMIC` bodies).
fn is_routine(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
    matches!(
        w.as_slice(),
        ["CREATE", "FUNCTION", ..]
            | ["CREATE", "PROCEDURE", ..]
            | ["CREATE", "OR", "REPLACE", "FUNCTION"]
            | ["CREATE", "OR", "REPLACE", "PROCEDURE"]
    )
}

/// Length of a dollar-quote opening tag (`$$` or `$tag$`) at `i`, if any.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_ident_byte(b[i - 1]) {
        return None; // `$` inside an identifier such as `a$b`
    }
    let mut j = i + 1;
    if j < b.len() && b[j].is_ascii_digit() {
        return None; // a parameter such as `$1`
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        j += 1;
    }
    (j < b.len() && b[j] == b'$').then_some(j + 1 - i)
}

/// One parsed statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub span: Span,
    /// 1-based first and last line.
    pub line: usize,
    pub end_line: usize,
    /// The parse tree. Locations inside it are relative to `span.start`.
    pub node: NodeEnum,
}

impl Statement {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        self.span.text(src)
    }
}

#[derive(Debug, Clone)]
pub struct MetaCommand {
    pub span: Span,
    pub line: usize,
}

/// A parsed SQL file.
#[derive(Debug, Clone)]
pub struct SqlFile {
    /// The path as shown to users (relative to the workspace root).
    pub path: PathBuf,
    pub text: String,
    pub index: LineIndex,
    pub statements: Vec<Statement>,
    pub metas: Vec<MetaCommand>,
    pub comments: Vec<Span>,
}

impl SqlFile {
    pub fn line(&self, offset: usize) -> usize {
        self.index.line(offset)
    }
    /// The `--` comment that starts on the given line (after code), if any.
    pub fn trailing_comment(&self, line: usize, after: usize) -> Option<&str> {
        // Comments are in file order: start at the first one after `after`.
        let first = self.comments.partition_point(|c| c.start < after);
        self.comments[first..]
            .iter()
            .take_while(|c| self.index.line(c.start) == line)
            .map(|c| c.text(&self.text))
            .find(|t| t.starts_with("--"))
            .map(|t| t.trim_start_matches('-').trim())
    }
}

/// Read and parse many files, in parallel over the machine's cores (parsing
/// dominates the time of every command on a large schema). Results keep the
/// order of `paths`; the first error in that order wins.
pub fn read_files(paths: &[(PathBuf, PathBuf)]) -> Result<Vec<SqlFile>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len().max(1));
    if workers <= 1 {
        return paths.iter().map(|(p, d)| read_file(p, d)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<SqlFile>>> = (0..paths.len()).map(|_| None).collect();
    let done: Vec<Vec<(usize, Result<SqlFile>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((p, d)) = paths.get(i) else { break };
                        out.push((i, read_file(p, d)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (i, r) in done.into_iter().flatten() {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|s| s.unwrap_or_else(|| Err(Error::new("internal", "a parser thread failed"))))
        .collect()
}

/// The largest SQL file touchpoint reads. Schema files and migrations are
/// DDL, a few megabytes even for a thousand tables; a file past this is a
/// data dump or a mistake, and parsing it statement by statement would
/// take minutes and gigabytes before saying so.
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// Refuse a file larger than [`MAX_FILE_BYTES`], before reading it.
pub fn check_size(path: &Path, display: &Path) -> Result<()> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(display, e))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(Error::new(
            "file-too-large",
            format!(
                "the file is {:.1} MiB; touchpoint reads SQL files up to {} MiB",
                len as f64 / (1 << 20) as f64,
                MAX_FILE_BYTES >> 20
            ),
        )
        .file(display)
        .help("schema files and migrations hold DDL; load data with psql, or split the file"));
    }
    Ok(())
}

/// Read and parse a SQL file. `display` is the path shown in messages.
pub fn read_file(path: &Path, display: &Path) -> Result<SqlFile> {
    check_size(path, display)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(display, e))?;
    parse(display, decode(bytes, display)?)
}

/// The text of a SQL file's bytes, or an error at the first byte that is
/// not UTF-8.
pub fn decode(bytes: Vec<u8>, display: &Path) -> Result<String> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::new("encoding", "the file is UTF-16, not UTF-8")
            .file(display)
            .at(1, 1)
            .help("save the file as UTF-8 (editors on Windows offer it under \"Save as\" or \"Encoding\")"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
        let (line, col) = LineIndex::new(&text).line_col(&text, offset);
        Error::new("encoding", "the file is not valid UTF-8")
            .file(display)
            .at(line, col)
            .help("save the file as UTF-8 (PostgreSQL schema files are expected in UTF-8)")
    })
}

/// Does every statement pass PostgreSQL's grammar? The same grammar as
/// [`parse`], without building the parse tree, which is most of the cost:
/// `check` validates every file of a long history this way and parses only
/// the files it needs the tree of (or the error position).
pub fn is_valid(text: &str) -> bool {
    if text.contains('\0') {
        return false;
    }
    let Ok(lexed) = split(text) else {
        return false;
    };
    lexed.pieces.iter().all(|p| match p {
        Piece::Statement { span, .. } => pg_query::split_with_parser(span.text(text)).is_ok(),
        Piece::Meta(_) => true,
    })
}

/// Parse SQL text that came from `path`.
pub fn parse(path: &Path, text: String) -> Result<SqlFile> {
    let index = LineIndex::new(&text);
    if let Some(p) = text.find('\0') {
        let (line, col) = index.line_col(&text, p);
        return Err(Error::new("encoding", "the file contains a NUL byte")
            .file(path)
            .at(line, col)
            .help("remove the NUL byte; it is not valid in SQL text"));
    }
    let lexed = split(&text).map_err(|e| {
        let (line, col) = index.line_col(&text, e.offset);
        Error::new("syntax-error", e.message.clone())
            .file(path)
            .at(line, col)
            .help("close it; everything after this point was read as part of it")
    })?;
    let mut statements = Vec::new();
    let mut metas = Vec::new();
    for piece in &lexed.pieces {
        match piece {
            Piece::Meta(span) => metas.push(MetaCommand {
                span: *span,
                line: index.line(span.start),
            }),
            Piece::Statement { span, .. } => {
                let stmt_text = span.text(&text);
                match pg_query::parse(stmt_text, 0) {
                    Ok(result) => {
                        for raw in result.protobuf.stmts {
                            if let Some(node) = raw.stmt.and_then(|n| n.node) {
                                statements.push(Statement {
                                    span: *span,
                                    line: index.line(span.start),
                                    end_line: index
                                        .line(span.end.saturating_sub(1).max(span.start)),
                                    node,
                                });
                            }
                        }
                    }
                    Err(e) => {
                        let message = match e {
                            pg_query::Error::Parse(m) => m,
                            other => other.to_string(),
                        };
                        let offset = span.start + error_offset(stmt_text);
                        let (line, col) = index.line_col(&text, offset);
                        return Err(Error::new("syntax-error", message)
                            .file(path)
                            .at(line, col)
                            .help(syntax_help(stmt_text)));
                    }
                }
            }
        }
    }
    Ok(SqlFile {
        path: path.to_path_buf(),
        text,
        index,
        statements,
        metas,
        comments: lexed.comments,
    })
}

/// Byte offset of the token where the parser gave up. libpg_query knows the
/// cursor position but the crate does not expose it, so find the shortest
/// token prefix that already fails for a reason other than ending early:
/// an LALR parser reports an error at the first token it cannot shift.
fn error_offset(stmt: &str) -> usize {
    let tokens = match pg_query::scan_tokens(stmt) {
        Ok(t) if !t.is_empty() => t,
        _ => return 0,
    };
    let fails = |k: usize| {
        let end = tokens[k - 1].end as usize;
        match pg_query::parse(&stmt[..end], 0) {
            Ok(_) => false,
            Err(pg_query::Error::Parse(m)) => !m.contains("at end of input"),
            Err(_) => true,
        }
    };
    let (mut lo, mut hi) = (1, tokens.len());
    if !fails(hi) {
        return stmt.len();
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    tokens[lo - 1].start as usize
}

/// The help line for a statement PostgreSQL rejects, specific where a common
/// mistake is recognised.
fn syntax_help(stmt: &str) -> String {
    let upper = stmt.to_ascii_uppercase();
    if upper.contains("ADD CONSTRAINT IF NOT EXISTS") {
        return "PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS: drop it first with \
                DROP CONSTRAINT IF EXISTS, or guard the ADD in a DO block that checks pg_constraint"
            .into();
    }
    if upper.contains("CREATE POLICY IF NOT EXISTS") {
        return "PostgreSQL has no CREATE POLICY IF NOT EXISTS: use DROP POLICY IF EXISTS first"
            .into();
    }
    "PostgreSQL's own grammar rejects this statement; fix it at the position shown".into()
}

/// Offsets of identifier tokens spelled `name` (case-insensitively when
/// unquoted) inside `span` of `t`.
pub fn ident_tokens(t: &str, span: Span, name: &str) -> Vec<Span> {
    let sub = &t[span.start..span.end];
    let Ok(tokens) = pg_query::scan_tokens(sub) else {
        return Vec::new();
    };
    tokens
        .iter()
        .filter_map(|tok| {
            let (s, e) = (tok.start as usize, tok.end as usize);
            let word = sub.get(s..e)?;
            let matches = if word.starts_with('"') {
                word.trim_matches('"') == name
            } else {
                word.eq_ignore_ascii_case(name)
                    && word
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            };
            matches.then_some(Span {
                start: span.start + s,
                end: span.start + e,
            })
        })
        .collect()
}

/// `text` with every identifier token spelled `old` written as `new`
/// (quoted when it needs to be): a renamed column in an expression.
pub fn rename_ident(text: &str, old: &str, new: &str) -> String {
    let mut out = text.to_string();
    for tok in ident_tokens(
        text,
        Span {
            start: 0,
            end: text.len(),
        },
        old,
    )
    .into_iter()
    .rev()
    {
        out.replace_range(tok.start..tok.end, &crate::analysis::ident(new));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmts(src: &str) -> Vec<&str> {
        split(src)
            .unwrap()
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Statement { span, .. } => span.text(src),
                Piece::Meta(span) => span.text(src),
            })
            .collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes() {
        let src = "select ';' ; -- a;b\nselect \"x;\" /* ; /* ; */ */;\nselect $f$ ; $f$;";
        assert_eq!(
            stmts(src),
            vec!["select ';'", "select \"x;\"", "select $f$ ; $f$"]
        );
    }

    #[test]
    fn keeps_meta_commands_opaque() {
        let src = "\\echo 'creating; tables'\ncreate table a (id int);\n  \\set x 1\n";
        assert_eq!(
            stmts(src),
            vec![
                "\\echo 'creating; tables'",
                "create table a (id int)",
                "\\set x 1"
            ]
        );
    }

    #[test]
    fn keeps_begin_atomic_bodies_whole() {
        let src = "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end; select 3;";
        assert_eq!(stmts(src).len(), 2);
    }

    #[test]
    fn escape_strings_and_parameters() {
        let src = "select E'it\\'s;', $1; select 'a''b;'";
        assert_eq!(stmts(src), vec!["select E'it\\'s;', $1", "select 'a''b;'"]);
    }

    #[test]
    fn unterminated_dollar_quote_is_an_error() {
        let src = "select 1;\ncreate function f() returns int as $body$ select 1";
        let e = split(src).unwrap_err();
        assert_eq!(e.offset, src.find("$body$").unwrap());
        assert!(e.message.contains("$body$"));
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let src = "create table t (id int);\n\nalter table t add constraint if not exists c check (id > 0);\n";
        let err = parse(Path::new("m.sql"), src.to_string()).unwrap_err();
        let d = err.diagnostic();
        assert_eq!(d.line, Some(3));
        // The column points at the token the parser names in its message.
        let near = d.message.split('"').nth(1).unwrap();
        let line3 = src.lines().nth(2).unwrap();
        assert_eq!(
            d.column,
            Some(line3.find(near).unwrap() + 1),
            "{}",
            d.message
        );
        assert!(d
            .help
            .as_deref()
            .unwrap()
            .contains("ADD CONSTRAINT IF NOT EXISTS"));
    }

    #[test]
    fn is_valid_agrees_with_parse() {
        for src in [
            "select 1;\n\\echo hi\ncreate table t (id int);",
            "alter table t add constraint if not exists c check (id > 0);",
            "select 'unterminated",
            "create function f() returns int language sql begin atomic select 1; end;",
            "",
        ] {
            assert_eq!(
                is_valid(src),
                parse(Path::new("x.sql"), src.to_string()).is_ok(),
                "{src}"
            );
        }
    }

    #[test]
    fn statement_lines_are_one_based() {
        let src = "-- header\n\ncreate table t (\n  id int\n);\nselect 1;";
        let f = parse(Path::new("x.sql"), src.to_string()).unwrap();
        assert_eq!((f.statements[0].line, f.statements[0].end_line), (3, 5));
        assert_eq!(f.statements[1].line, 6);
    }
}
