//! Times the embedded database: start with a cold template cache, start
//! with a warm one, and the replay of a workspace's current_schema.
//!
//! ```sh
//! cargo run --release --example bench_db -- /tmp/touchpoint-bench
//! ```

use std::time::Instant;
use touchpoint::db::embedded::{Embedded, Options};
use touchpoint::db::replay;
use touchpoint::schema::Schema;
use touchpoint::workspace::Workspace;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let cache = tempfile::tempdir().expect("temp dir");
    let opts = Options {
        cache_dir: Some(cache.path().to_path_buf()),
        temp_dir: None,
    };
    let t = Instant::now();
    let cold = Embedded::start_with(&opts).unwrap_or_else(|e| panic!("{e}"));
    println!("embedded start, cold cache (initdb):  {:8.1} ms", ms(t));
    drop(cold);
    let mut warm_times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let e = Embedded::start_with(&opts).unwrap_or_else(|e| panic!("{e}"));
        warm_times.push(ms(t));
        drop(e);
    }
    warm_times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "embedded start, warm cache (median):  {:8.1} ms",
        warm_times[1]
    );

    let ws = Workspace::open(std::path::Path::new(&root)).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let schema = Schema::load(&ws).unwrap_or_else(|e| panic!("{e}"));
    let parse_ms = ms(t);
    let bytes: usize = schema.files.iter().map(|f| f.text.len()).sum();
    let e = Embedded::start_with(&opts).unwrap_or_else(|e| panic!("{e}"));
    e.create_database("bench", None).unwrap();
    let mut c = e.connect("bench").unwrap();
    let t = Instant::now();
    replay::apply_prelude(&mut c, &ws.config.database.prelude).unwrap();
    replay::replay(&mut c, &schema.files).unwrap_or_else(|f| panic!("{f}"));
    println!(
        "parse {} KB of current_schema:        {:8.1} ms",
        bytes / 1024,
        parse_ms
    );
    println!("replay it on the embedded database:    {:8.1} ms", ms(t));
}
