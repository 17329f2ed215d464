//! Generate a synthetic touchpoint workspace at scale, for benchmarks:
//!
//! ```sh
//! cargo run --release --example gen_workspace -- --tables 1000 --migrations 10000 --out /tmp/big
//! ```
//!
//! The statements are varied the way a real schema is (columns of many
//! types, foreign keys to earlier tables, inline checks and comments,
//! indexes, RLS policies, triggers, plpgsql functions, comments), not copies
//! of one line. Output is deterministic for the same arguments. Every
//! migration is a finalized one with a complete header, so `touchpoint check`
//! has the whole history to read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic and good enough for variety.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const TYPES: &[&str] = &[
    "text",
    "integer",
    "bigint",
    "numeric(12,2)",
    "boolean",
    "timestamptz",
    "date",
    "jsonb",
    "uuid",
    "text[]",
    "varchar(120)",
    "smallint",
];
const WORDS: &[&str] = &[
    "patient", "visit", "order", "invoice", "device", "report", "batch", "label", "sample",
    "result", "note", "claim", "shift", "ward", "dose", "alert", "review", "upload", "queue",
    "audit",
];
const DOMAINS: &[&str] = &[
    "clinical", "billing", "lab", "ops", "ai", "portal", "pharmacy", "imaging", "sched", "core",
];

fn main() {
    let mut tables = 1000usize;
    let mut migrations = 10000usize;
    let mut out = PathBuf::from("/tmp/touchpoint-bench");
    let mut docs = 100usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--tables" => tables = v.parse().expect("--tables N"),
            "--migrations" => migrations = v.parse().expect("--migrations N"),
            "--docs" => docs = v.parse().expect("--docs N"),
            "--out" => out = PathBuf::from(v),
            other => {
                panic!("unknown argument {other}; use --tables N --migrations N --docs N --out DIR")
            }
        }
        i += 2;
    }
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("clear the output folder");
    }
    let mut rng = Rng(0x5EED_0000_0000_0001 ^ tables as u64 ^ ((migrations as u64) << 20));
    let names = table_names(tables);
    write_schema(&out, &names, &mut rng);
    write_history(&out, &names, migrations, &mut rng);
    write_docs(&out, &names[..docs.min(names.len())]);
    std::fs::write(
        out.join("touchpoint.toml"),
        "[database]\nprelude = \"supabase\"\n",
    )
    .unwrap();
    let size: u64 = walk_size(&out.join("current_schema"));
    println!(
        "generated {} tables ({} KB of current_schema), {} migrations, docs for {} tables in {}",
        tables,
        size / 1024,
        migrations,
        docs.min(tables),
        out.display()
    );
}

fn table_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let d = DOMAINS[i % DOMAINS.len()];
            let w = WORDS[(i / DOMAINS.len()) % WORDS.len()];
            format!("{d}_{w}_{i:04}")
        })
        .collect()
}

fn file_of(i: usize, n: usize) -> usize {
    // Ten files in order; tables only reference earlier tables.
    i * 10 / n.max(1)
}

fn write_schema(out: &Path, names: &[String], rng: &mut Rng) {
    let dir = out.join("current_schema");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files: Vec<String> = (0..10).map(|_| String::new()).collect();
    files[0].push_str(
        "-- Foundations: extensions and helpers used by every later file.\n\\echo 'foundations'\nCREATE EXTENSION IF NOT EXISTS pgcrypto;\n\n\
         CREATE OR REPLACE FUNCTION public.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$;\n\n\
         CREATE TYPE public.record_state AS ENUM ('draft', 'active', 'archived');\n\n",
    );
    for (i, name) in names.iter().enumerate() {
        let f = &mut files[file_of(i, names.len())];
        let _ = writeln!(
            f,
            "-- {name}: one row per {}",
            name.split('_').nth(1).unwrap_or("thing")
        );
        let _ = writeln!(f, "CREATE TABLE IF NOT EXISTS public.{name} (");
        let _ = writeln!(
            f,
            "    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),"
        );
        if i > 0 && rng.below(3) > 0 {
            let parent = &names[rng.below(i)];
            let _ = writeln!(
                f,
                "    {parent}_id uuid REFERENCES public.{parent}(id) ON DELETE {}, -- owning {parent}",
                rng.pick(&["CASCADE", "SET NULL", "RESTRICT"])
            );
        }
        let _ = writeln!(
            f,
            "    state           public.record_state NOT NULL DEFAULT 'draft',"
        );
        let cols = 5 + rng.below(9);
        for c in 0..cols {
            let ty = rng.pick(TYPES);
            let w = rng.pick(WORDS);
            let extra = match rng.below(6) {
                0 => " NOT NULL DEFAULT 0".to_string(),
                1 if ty == "text" => format!(" CHECK (length({w}_{c}) < 500)"),
                2 => " NOT NULL".to_string(),
                _ => String::new(),
            };
            let extra = if extra.contains("DEFAULT 0")
                && !matches!(ty, "integer" | "bigint" | "smallint" | "numeric(12,2)")
            {
                String::new()
            } else {
                extra
            };
            let _ = writeln!(f, "    {w}_{c:<12} {ty}{extra}, -- the {w} as recorded");
        }
        let _ = writeln!(f, "    created_at      timestamptz NOT NULL DEFAULT now(),");
        let _ = writeln!(f, "    updated_at      timestamptz NOT NULL DEFAULT now()");
        let _ = writeln!(f, ");\n");
        let _ = writeln!(
            f,
            "CREATE INDEX IF NOT EXISTS idx_{name}_created ON public.{name} (created_at);"
        );
        let _ = writeln!(
            f,
            "CREATE TRIGGER {name}_touch BEFORE UPDATE ON public.{name}\n    FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();"
        );
        let _ = writeln!(f, "ALTER TABLE public.{name} ENABLE ROW LEVEL SECURITY;");
        let _ = writeln!(
            f,
            "CREATE POLICY {name}_read ON public.{name}\n    FOR SELECT TO authenticated USING (state <> 'archived');"
        );
        let _ = writeln!(
            f,
            "COMMENT ON TABLE public.{name} IS 'Synthetic table {i} of the benchmark workspace';"
        );
        if rng.below(4) == 0 {
            let _ = writeln!(
                f,
                "\nCREATE OR REPLACE FUNCTION public.{name}_count(p_state public.record_state)\nRETURNS bigint LANGUAGE plpgsql STABLE AS $fn$\nDECLARE\n    n bigint;\nBEGIN\n    SELECT count(*) INTO n FROM public.{name} WHERE state = p_state;\n    RETURN n;\nEND;\n$fn$;"
            );
        }
        f.push('\n');
    }
    for (i, text) in files.iter().enumerate() {
        std::fs::write(dir.join(format!("{:02}_{}.sql", i + 1, DOMAINS[i])), text).unwrap();
    }
}

fn write_history(out: &Path, names: &[String], n: usize, rng: &mut Rng) {
    let base = out.join("migration_history");
    for k in 1..=n {
        let t = &names[rng.below(names.len())];
        let (slug, sql) = match rng.below(5) {
            0 => (format!("add_note_{k}"), format!("ALTER TABLE public.{t} ADD COLUMN IF NOT EXISTS note_{k} text;")),
            1 => (
                format!("index_{k}"),
                format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_{t}_{k} ON public.{t} (updated_at);"),
            ),
            2 => (
                format!("policy_{k}"),
                format!(
                    "DROP POLICY IF EXISTS {t}_p{k} ON public.{t};\nCREATE POLICY {t}_p{k} ON public.{t} FOR UPDATE TO authenticated\n    USING (state = 'active') WITH CHECK (state <> 'archived');"
                ),
            ),
            3 => (
                format!("comment_{k}"),
                format!("COMMENT ON COLUMN public.{t}.created_at IS 'Insert time, revision {k}';"),
            ),
            _ => (
                format!("function_{k}"),
                format!(
                    "CREATE OR REPLACE FUNCTION public.f_{k}(p_id uuid)\nRETURNS boolean LANGUAGE plpgsql AS $$\nBEGIN\n    RETURN EXISTS (SELECT 1 FROM public.{t} WHERE id = p_id);\nEND;\n$$;"
                ),
            ),
        };
        // Dates walk forward from 2020 so monthly folders fill up.
        let day = k * 3650 / n.max(1);
        let date =
            chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(day as u64);
        let folder = base.join(date.format("%Y-%m").to_string());
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join(format!("{}_{k:05}_{slug}.sql", date.format("%Y-%m-%d")));
        let text = format!(
            "-- ============================================================================\n\
-- Migration: {slug}\n-- Date: {date}\n-- Issue: BENCH-{k}\n--\n\
-- PROBLEM:\n--   Synthetic change {k} for the benchmark.\n--\n\
-- SOLUTION:\n--   One statement on public.{t}.\n--\n\
-- AFFECTED TABLES:\n--   - public.{t}\n--\n\
-- SOURCE OF TRUTH SCHEMA UPDATED:\n--   [X] current_schema/01_clinical.sql\n--      - Line 1: benchmark entry\n--\n\
-- SCHEMA DOCUMENTATION UPDATED:\n--   [N/A] no bridge docs exist for the affected tables\n--\n\
-- IMPACT ANALYSIS:\n--   1. line 40: generated\n--\n\
-- LOCKS AND REWRITES:\n--   1. line 40: generated\n--\n\
-- MIGRATION STRATEGY:\n--   Runs in one transaction through touchpoint finalize.\n--\n\
-- REVIEW:\n--   [X] Reviewed by bench on {date}\n--\n\
-- MIGRATION EXECUTED:\n--   [X] Applied to embedded throwaway database on {date} via touchpoint finalize\n\
-- ============================================================================\n\n{sql}\n\n\
-- ============================================================================\n-- ROLLBACK SCRIPT\n\
-- ============================================================================\n/*\n-- write by hand\n*/\n"
        );
        std::fs::write(file, text).unwrap();
    }
    std::fs::create_dir_all(&base).unwrap();
}

fn write_docs(out: &Path, names: &[String]) {
    for name in names {
        let md = out.join("bridge-schemas/source/group-a");
        let detailed = out.join("bridge-schemas/detailed/group-a");
        let minimal = out.join("bridge-schemas/minimal/group-a");
        for d in [&md, &detailed, &minimal] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(
            md.join(format!("{name}.md")),
            format!("# {name}\n\n**Database Source:** current_schema/01_clinical.sql (lines 1-2)\n\n## Purpose\n\nSynthetic.\n\n## Table Structure\n\n```sql\nCREATE TABLE x ();\n```\n"),
        )
        .unwrap();
        std::fs::write(detailed.join(format!("{name}.json")), format!("{{\n  \"table_name\": \"{name}\",\n  \"description\": \"Synthetic.\",\n  \"fields\": {{}}\n}}\n")).unwrap();
        std::fs::write(
            minimal.join(format!("{name}.json")),
            format!("{{\n  \"table\": \"{name}\",\n  \"required\": [],\n  \"fields\": {{}}\n}}\n"),
        )
        .unwrap();
    }
}

fn walk_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
