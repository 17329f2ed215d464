//! Byte-level helpers for editing SQL text by lines and tokens.

use crate::sql::Span;

pub fn line_start(t: &str, off: usize) -> usize {
    t[..off.min(t.len())].rfind('\n').map_or(0, |p| p + 1)
}

/// Offset of the `\n` ending the line holding `off` (or the text's end).
pub fn line_end(t: &str, off: usize) -> usize {
    let off = off.min(t.len());
    t[off..].find('\n').map_or(t.len(), |p| off + p)
}

/// The line before the one starting at `ls`.
pub fn previous_line(t: &str, ls: usize) -> &str {
    if ls == 0 {
        return "";
    }
    let s = line_start(t, ls - 1);
    &t[s..ls - 1]
}

/// Leading whitespace of the line holding `off`.
pub fn indent_of(t: &str, off: usize) -> &str {
    let s = line_start(t, off);
    let line = &t[s..line_end(t, s)];
    &line[..line.len() - line.trim_start().len()]
}

/// Offset just after the `;` that ends a statement whose text ends at
/// `end` (whitespace and comments may sit between); `end` when there is
/// none.
pub fn statement_end(t: &str, end: usize) -> usize {
    let rest = &t[end..];
    let mut i = 0;
    let b = rest.as_bytes();
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if rest[i..].starts_with("--") {
            i += rest[i..].find('\n').unwrap_or(rest.len() - i);
        } else if b[i] == b';' {
            return end + i + 1;
        } else {
            break;
        }
    }
    end
}

/// The byte range to delete for removing a statement: its whole lines
/// (when it stands alone on them), the `;`, a comment trailing on the last
/// line, `-- Migration` note lines right above, and one surplus blank line.
pub fn statement_lines(t: &str, span: Span) -> (usize, usize) {
    let stmt_end = statement_end(t, span.end);
    let ls = line_start(t, span.start);
    let alone_before = t[ls..span.start].trim().is_empty();
    let le = line_end(t, stmt_end);
    let after = t[stmt_end..le].trim();
    let alone_after = after.is_empty() || after.starts_with("--");
    if !(alone_before && alone_after) {
        return (span.start, stmt_end);
    }
    let mut start = ls;
    loop {
        let prev = previous_line(t, start);
        if start > 0 && prev.trim_start().starts_with("-- Migration ") {
            start = line_start(t, start - 1);
        } else {
            break;
        }
    }
    let mut end = (le + 1).min(t.len());
    // Two blank lines would meet: drop one.
    let blank_before = start == 0 || previous_line(t, start).trim().is_empty();
    let next_end = line_end(t, end);
    if blank_before && end < t.len() && t[end..next_end].trim().is_empty() {
        end = (next_end + 1).min(t.len());
    }
    // The last statement of the file: the blank line that separated it
    // goes too, so the file ends as it did before it was added.
    if end >= t.len() && start > 0 && previous_line(t, start).trim().is_empty() {
        start = line_start(t, start - 1);
    }
    (start, end)
}

pub use crate::sql::ident_tokens;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_statement_takes_its_lines_and_notes() {
        let t = "a;\n\n-- Migration 03: x\ncreate index i on t (a); -- why\n\nb;\n";
        let start = t.find("create").unwrap();
        let end = t.find("(a)").unwrap() + 3;
        let (s, e) = statement_lines(t, Span { start, end });
        assert_eq!(format!("{}{}", &t[..s], &t[e..]), "a;\n\nb;\n");
    }

    #[test]
    fn identifiers_are_found_as_tokens() {
        let t = "check (status in ('status')) and \"status\" and statuses";
        let v = ident_tokens(
            t,
            Span {
                start: 0,
                end: t.len(),
            },
            "status",
        );
        assert_eq!(v.len(), 2);
    }
}
