//! The bodies of the fuzz targets in `fuzz/`, kept in the library so that
//! the ordinary test suite runs exactly the same checks over the kept
//! regression inputs and over pseudo-random mutations of the seeds: the
//! cargo-fuzz build needs a nightly compiler (or `RUSTC_BOOTSTRAP`), the
//! test suite must not. Each function panics when an invariant breaks;
//! that panic is what a fuzzer reports as a crash.
//!
//! Not a stable API.

use crate::bridge::{self, facts::TableFacts, Tier};
use crate::header;
use crate::schema::Schema;
use crate::sql::{self, Piece, Span};
use std::path::Path;
use std::sync::OnceLock;

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// Name and body of every target, for harnesses that run them all.
pub const TARGETS: [(&str, Target); 3] = [("sql", sql), ("header", header), ("bridge", bridge)];

fn check_span(text: &str, s: &Span, what: &str) {
    assert!(
        s.start <= s.end && s.end <= text.len(),
        "{what} span {s:?} outside the text ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
        "{what} span {s:?} cuts a character"
    );
}

/// The statement splitter (`sql::split`), the element scanner and the
/// parser (`sql::parse`): spans stay inside the text on character
/// boundaries and in order; errors point inside the file.
pub fn sql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.matches('\n').count() + 1;
    match sql::split(text) {
        Ok(lexed) => {
            let mut prev = 0;
            for p in &lexed.pieces {
                let (Piece::Statement { span, .. } | Piece::Meta(span)) = p;
                check_span(text, span, "piece");
                assert!(span.start >= prev, "pieces overlap or go backwards");
                assert!(span.end > span.start, "empty piece {span:?}");
                prev = span.end;
            }
            let mut prev = 0;
            for c in &lexed.comments {
                check_span(text, c, "comment");
                assert!(c.start >= prev, "comments overlap");
                prev = c.end;
            }
        }
        Err(e) => assert!(
            e.offset < text.len() && text.is_char_boundary(e.offset),
            "lex error offset {} outside the text",
            e.offset
        ),
    }
    let (last, delim) = sql::element_end(text, 0, text.len());
    assert!(last <= text.len() && delim <= text.len() && text.is_char_boundary(last));
    match sql::parse(Path::new("fuzz.sql"), text.to_string()) {
        Ok(f) => {
            for s in &f.statements {
                check_span(text, &s.span, "statement");
                assert!(1 <= s.line && s.line <= s.end_line && s.end_line <= lines);
            }
            for m in &f.metas {
                assert!(1 <= m.line && m.line <= lines);
            }
        }
        Err(e) => {
            let d = e.diagnostic();
            if let Some(l) = d.line {
                assert!(
                    (1..=lines).contains(&l),
                    "error line {l} outside 1..={lines}"
                );
            }
        }
    }
}

/// Deterministic lines for a section body built from the input: plain words
/// and boxes, never anything the parser would read as a section, a field or
/// a banner, so that the body read back must equal what was written.
fn body_lines(data: &[u8]) -> Vec<String> {
    const WORDS: [&str; 8] = [
        "   [X] current_schema/06_job_coordination.sql",
        "      - line 12: added column c",
        "   [ ] bridge-schemas/source/t.md",
        "   [N/A] no doc (none exists)",
        "   free text",
        "",
        "  applied to dev on 2026-01-01",
        "   [x] reviewed",
    ];
    data.iter()
        .take(6)
        .map(|b| WORDS[(*b as usize) % WORDS.len()].to_string())
        .collect()
}

/// The header parser (`header::parse`) and the section editor
/// (`header::set_section_body`, used by research, approve and finalize):
/// line numbers stay inside the file; a section written is read back with
/// exactly the lines written, and the text after the header is untouched.
pub fn header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let nlines = text.lines().count();
    let Some(h) = header::parse(text) else {
        assert!(header::set_section_body(text, "PROBLEM", &[], None).is_err());
        return;
    };
    assert!(1 <= h.start_line && h.start_line <= h.end_line && h.end_line <= nlines);
    for s in &h.sections {
        assert!(h.start_line <= s.line && s.line <= h.end_line);
        let mut prev = s.line;
        for b in &s.body {
            assert!(b.line > prev && b.line <= h.end_line, "body lines in order");
            prev = b.line;
        }
        assert!(s.last_line() >= s.line);
    }
    let _ = h.state();
    let _ = h.review();
    let _ = header::unwritten_prose(&h);

    let pick = |i: usize| data.get(i).copied().unwrap_or(0) as usize;
    let names = header::REQUIRED_SECTIONS;
    let name = names[pick(0) % names.len()];
    let before = (pick(1) % 2 == 0).then(|| names[pick(2) % names.len()]);
    let lines = body_lines(data.get(3..).unwrap_or_default());
    let out = header::set_section_body(text, name, &lines, before)
        .expect("a file with a header takes a section");
    let h2 = header::parse(&out).expect("the edited file still has a header");
    let s = h2.section(name).expect("the section written is there");
    let got: Vec<&str> = s
        .body
        .iter()
        .map(|b| b.text.trim())
        .filter(|t| !t.is_empty())
        .collect();
    let want: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(got, want, "the section reads back as written");
    let tail: Vec<&str> = text.lines().skip(h.end_line).collect();
    let out_lines: Vec<&str> = out.lines().collect();
    assert!(
        out_lines.ends_with(&tail),
        "the text after the header is unchanged"
    );
}

/// Tables of every shape the facts know: defaults, identity, generated
/// columns, enum and check values, references, composite unique, comments
/// (inline and `COMMENT ON`), a column added by a later ALTER.
const FACTS_SQL: &str = "\
CREATE TYPE public.job_status AS ENUM ('pending', 'processing', 'completed', 'failed');
CREATE TABLE public.shell_files (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id uuid NOT NULL,
    file_name text NOT NULL, -- the name as uploaded
    page_count integer CHECK (page_count > 0),
    status text NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'processing', 'done')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient_id, file_name)
);
CREATE TABLE IF NOT EXISTS public.job_queue (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shell_file_id uuid REFERENCES public.shell_files(id) ON DELETE CASCADE,
    status public.job_status NOT NULL DEFAULT 'pending',
    priority integer NOT NULL DEFAULT 5,
    retry_count integer NOT NULL DEFAULT 0,
    doubled integer GENERATED ALWAYS AS (priority * 2) STORED,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    \"Quoted Name\" varchar(20)
);
COMMENT ON TABLE public.job_queue IS 'Work for the background workers';
COMMENT ON COLUMN public.job_queue.payload IS 'What the worker needs';
ALTER TABLE public.job_queue ADD COLUMN heartbeat_at timestamptz;
";

fn facts() -> &'static [TableFacts] {
    static FACTS: OnceLock<Vec<TableFacts>> = OnceLock::new();
    FACTS.get_or_init(|| {
        let file = sql::parse(
            Path::new("current_schema/01_fuzz.sql"),
            FACTS_SQL.to_string(),
        )
        .expect("the fuzz schema parses");
        let schema = Schema::build(vec![std::sync::Arc::new(file)]);
        schema
            .tables
            .iter()
            .map(|t| TableFacts::build(&schema, t))
            .collect()
    })
}

/// The bridge-doc merge of each tier (markdown, detailed JSON, minimal
/// JSON) with arbitrary existing text: never a panic, and regenerating its
/// own output changes nothing (design invariant 5).
pub fn bridge(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let all = facts();
    let facts = &all[(sel as usize) % all.len()];
    let tier = Tier::ALL[((sel as usize) >> 2) % 3];
    let renames: Vec<(String, String)> = if sel & 0x80 != 0 {
        vec![(facts.columns[1].name.clone(), "renamed_col".into())]
    } else {
        Vec::new()
    };
    let old = String::from_utf8_lossy(rest);
    if let Ok(new) = bridge::merge_text(tier, &old, facts, &renames) {
        let again = bridge::merge_text(tier, &new, facts, &[])
            .expect("touchpoint's own output merges again");
        assert!(
            again == new,
            "regenerating twice changed the {tier:?} doc:\n--- first\n{new}\n--- second\n{again}"
        );
    }
}

/// A small deterministic mutator for harnesses without libFuzzer: flips,
/// inserts of bytes and of tokens the parsers care about, deletions,
/// duplications and splices with another seed.
pub struct Mutator {
    state: u64,
}

const TOKENS: [&[u8]; 28] = [
    b"'",
    b"\"",
    b"$$",
    b"$tag$",
    b"/*",
    b"*/",
    b"--",
    b";",
    b"\n",
    b"\r\n",
    b"E'\\'",
    b"\\echo x\n",
    b"BEGIN ATOMIC ",
    b" END",
    b"-- ====================\n",
    b"-- PROBLEM:",
    b"-- MIGRATION EXECUTED:\n",
    b"--   [X] ",
    b"--   [ ] ",
    b"```sql\n",
    b"```\n",
    b"# ",
    b"{",
    b"}",
    b"\"fields\": {",
    b"[",
    b"\0",
    "\u{1F680}".as_bytes(),
];

impl Mutator {
    pub fn new(seed: u64) -> Mutator {
        Mutator {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// One to four mutations of `input`; `other` is spliced in sometimes.
    pub fn mutate(&mut self, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(v.len() + 1);
            match self.below(6) {
                0 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] ^= 1 << self.below(8);
                }
                1 => {
                    let t = TOKENS[self.below(TOKENS.len())];
                    v.splice(at..at, t.iter().copied());
                }
                2 if !v.is_empty() => {
                    let len = 1 + self.below(16.min(v.len() - at.min(v.len() - 1)));
                    let from = at.min(v.len() - 1);
                    v.drain(from..(from + len).min(v.len()));
                }
                3 if !v.is_empty() => {
                    let from = self.below(v.len());
                    let len = 1 + self.below(32.min(v.len() - from));
                    let chunk: Vec<u8> = v[from..from + len].to_vec();
                    v.splice(at..at, chunk);
                }
                4 if !other.is_empty() => {
                    let from = self.below(other.len());
                    let len = 1 + self.below(64.min(other.len() - from));
                    v.splice(at..at, other[from..from + len].iter().copied());
                }
                _ => {
                    let b = self.next_u64() as u8;
                    v.insert(at, b);
                }
            }
        }
        v
    }
}
