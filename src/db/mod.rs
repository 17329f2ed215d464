//! The database layer: connecting (with passwords kept out of every message),
//! the embedded throwaway cluster, replaying SQL files, introspecting the
//! catalog and the tracking table that records executed migrations.
//!
//! Everything here talks to a real PostgreSQL server through the synchronous
//! `postgres` crate, without TLS: plain TCP or Unix sockets.

pub mod catalog;
pub mod embedded;
pub mod replay;
pub mod tracking;

use crate::error::{Error, Result};
use crate::workspace::Config;
use postgres::config::Host;
use postgres::{Client, NoTls};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

pub use embedded::Embedded;

const REDACTED: &str = "***";

/// The connection string with every password replaced by `***`, fit for
/// messages and logs. Works on URLs (`postgres://user:pass@host/db`, and a
/// `password=` query parameter) and on `key=value` connection strings.
pub fn redact(url: &str) -> String {
    redact_with_secrets(url).0
}

/// Redacted text plus the passwords that were removed, so that messages
/// coming back from the driver can be scrubbed of them too.
fn redact_with_secrets(url: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let lower = url.to_ascii_lowercase();
    let scheme_end = ["postgres://", "postgresql://"]
        .iter()
        .find(|s| lower.trim_start().starts_with(*s))
        .map(|s| url.len() - url.trim_start().len() + s.len());
    let text = match scheme_end {
        Some(start) => {
            // The userinfo ends at the last `@` before the query string: a
            // password typed without percent-encoding may itself hold `@`
            // or `/`, and hiding too much is better than leaking.
            let query_at = url[start..]
                .find('?')
                .map(|q| start + q)
                .unwrap_or(url.len());
            let mut out = url.to_string();
            if let Some(at) = url[start..query_at].rfind('@').map(|a| start + a) {
                if let Some(colon) = url[start..at].find(':').map(|c| start + c) {
                    secrets.push(url[colon + 1..at].to_string());
                    out = format!("{}{REDACTED}{}", &url[..colon + 1], &url[at..]);
                }
            }
            static QUERY_PW: OnceLock<Regex> = OnceLock::new();
            let re = QUERY_PW
                .get_or_init(|| Regex::new(r"(?i)([?&]password=)([^&#]*)").expect("valid regex"));
            for c in re.captures_iter(&out) {
                secrets.push(c[2].to_string());
            }
            re.replace_all(&out, format!("${{1}}{REDACTED}"))
                .into_owned()
        }
        None => {
            static KV_PW: OnceLock<Regex> = OnceLock::new();
            let re = KV_PW.get_or_init(|| {
                Regex::new(r"(?i)\b(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s']*)")
                    .expect("valid regex")
            });
            for c in re.captures_iter(url) {
                secrets.push(c[2].trim_matches('\'').to_string());
            }
            re.replace_all(url, format!("${{1}}{REDACTED}"))
                .into_owned()
        }
    };
    secrets.retain(|s| !s.is_empty());
    (text, secrets)
}

/// Remove every occurrence of the given secrets (raw and percent-decoded).
fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for s in secrets {
        for form in [s.clone(), percent_decode(s)] {
            if !form.is_empty() {
                out = out.replace(&form, REDACTED);
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The database to use: `--database-url`, then `DATABASE_URL`, then
/// `[database] url` in touchpoint.toml. `None` means the embedded cluster.
pub fn resolve_url(cli: Option<&str>, config: &Config) -> Option<String> {
    let non_empty = |s: &str| !s.trim().is_empty();
    cli.filter(|s| non_empty(s))
        .map(str::to_string)
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| non_empty(s)))
        .or_else(|| config.database.url.clone().filter(|s| non_empty(s)))
}

/// Connect without TLS. Accepts URLs (`postgres://user:pass@host:port/db`,
/// `postgresql:///db?host=/socket/dir`) and `key=value` strings. Missing
/// parts come from the libpq environment (`PGHOST`, `PGPORT`, `PGUSER`,
/// `PGDATABASE`, `PGPASSWORD`) and the password file (`PGPASSFILE` or
/// `~/.pgpass`), as psql would find them.
pub fn connect(url: &str) -> Result<Client> {
    connect_with_env(url, &|k| std::env::var(k).ok())
}

/// The process environment, or a stand-in for it in tests: environment
/// variables are process-wide and tests run in parallel.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn connect_with_env(url: &str, env: Env) -> Result<Client> {
    let (target, secrets) = redact_with_secrets(url);
    let mut config = postgres::Config::from_str(url).map_err(|e| {
        Error::new(
            "database",
            format!(
                "invalid connection string {target}: {}",
                scrub(&e.to_string(), &secrets)
            ),
        )
        .help("use postgres://user:password@host:port/dbname or host=... dbname=... user=...")
    })?;
    fill_defaults(&mut config, env);
    if config.get_password().is_none() {
        if let Some(pw) = password_from_environment(&config, env) {
            config.password(pw);
        }
    }
    // Notices ("relation already exists, skipping") are expected noise.
    config.notice_callback(|_| {});
    config
        .connect(NoTls)
        .map_err(|e| connect_error(&target, &config, &e, &secrets, env))
}

fn fill_defaults(config: &mut postgres::Config, env: Env) {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        match env("PGHOST") {
            Some(hosts) => {
                for h in hosts.split(',') {
                    config.host(h);
                }
            }
            // libpq's default on Debian-family systems is this socket
            // directory; elsewhere it is TCP on localhost.
            None if Path::new("/var/run/postgresql").is_dir() => {
                config.host_path("/var/run/postgresql");
            }
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(p) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(p);
        }
    }
    if config.get_user().is_none() {
        if let Some(u) = env("PGUSER") {
            config.user(&u);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(d) = env("PGDATABASE") {
            config.dbname(&d);
        }
    }
    if config.get_application_name().is_none() {
        config.application_name("touchpoint");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
}

fn current_user(env: Env) -> String {
    env("USER")
        .filter(|u| !u.is_empty())
        .or_else(|| {
            let out = std::process::Command::new("id").arg("-un").output().ok()?;
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .unwrap_or_default()
}

/// `PGPASSWORD`, else the first matching line of the password file.
fn password_from_environment(config: &postgres::Config, env: Env) -> Option<String> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(pw) = var("PGPASSWORD") {
        return Some(pw);
    }
    let file = var("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let (host, is_socket) = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => (h.clone(), false),
        Some(Host::Unix(p)) => (p.display().to_string(), true),
        None => ("localhost".to_string(), false),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config
        .get_user()
        .map(str::to_string)
        .unwrap_or_else(|| current_user(env));
    let dbname = config
        .get_dbname()
        .map(str::to_string)
        .unwrap_or_else(|| user.clone());
    pgpass_lookup(&text, &host, is_socket, &port, &dbname, &user)
}

/// libpq's rules: `host:port:db:user:password`, `*` matches anything, `\`
/// escapes `:` and `\`, and a socket connection also matches `localhost`.
fn pgpass_lookup(
    text: &str,
    host: &str,
    is_socket: bool,
    port: &str,
    db: &str,
    user: &str,
) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let m = |f: &str, v: &str| f == "*" || f == v;
        let host_ok = m(&fields[0], host) || (is_socket && fields[0] == "localhost");
        if host_ok && m(&fields[1], port) && m(&fields[2], db) && m(&fields[3], user) {
            return Some(fields[4].clone());
        }
    }
    None
}

fn connect_error(
    target: &str,
    config: &postgres::Config,
    e: &postgres::Error,
    secrets: &[String],
    env: Env,
) -> Error {
    let user = config
        .get_user()
        .map(str::to_string)
        .unwrap_or_else(|| current_user(env));
    if let Some(db) = e.as_db_error() {
        let message = scrub(&db_error_text(db), secrets);
        let help = match db.code().code() {
            "28P01" => format!(
                "wrong password for user \"{user}\": check the password in the URL, PGPASSWORD or ~/.pgpass"
            ),
            "28000" => "the server refused this user or client address: check the user name and pg_hba.conf".into(),
            "3D000" => "the database does not exist: create it or fix the database name in the URL".into(),
            "57P03" => "the server is starting up or shutting down: try again in a moment".into(),
            "53300" => "the server has no free connection slots: close other sessions or raise max_connections".into(),
            _ => "check --database-url / DATABASE_URL".into(),
        };
        return Error::new("database", format!("cannot connect to {target}: {message}")).help(help);
    }
    let text = scrub(&error_chain(e), secrets);
    let help = if text.contains("password missing") {
        format!("the server asks for a password for user \"{user}\": put it in the URL, PGPASSWORD or ~/.pgpass")
    } else if text.to_ascii_lowercase().contains("tls") {
        "touchpoint connects without TLS: use sslmode=disable or prefer, or reach the server through a local tunnel"
            .to_string()
    } else {
        "is the server running? check --database-url / DATABASE_URL".to_string()
    };
    Error::new("database", format!("cannot connect to {target}: {text}")).help(help)
}

/// The driver's message with its causes, which hold the useful part
/// ("Connection refused", "No such file or directory").
fn error_chain(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// A server error as users need it: message, then detail and hint.
pub fn db_error_text(db: &postgres::error::DbError) -> String {
    let mut text = db.message().to_string();
    if let Some(d) = db.detail() {
        text.push_str("\nDETAIL: ");
        text.push_str(d);
    }
    if let Some(h) = db.hint() {
        text.push_str("\nHINT: ");
        text.push_str(h);
    }
    text
}

/// The message of any driver error: the server's text when there is one.
pub fn error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db_error_text(db),
        None => error_chain(e),
    }
}

/// A failed query that is not the user's SQL (catalog reads, tracking rows).
pub(crate) fn query_error(what: &str, e: &postgres::Error) -> Error {
    let help = if e.is_closed() || e.as_db_error().is_none() {
        "the connection to the server was lost: check that it is still running"
    } else {
        "check that the connected role may read the catalog and write the tracking schema"
    };
    Error::new("database", format!("{what}: {}", error_text(e))).help(help)
}

/// Quote an identifier the way `quote_ident` does, always.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quote a string literal (standard_conforming_strings is on).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// 1-based line and column of the `char_pos`-th character (1-based, as the
/// server reports positions) of `text`, which starts at `line:column`.
pub(crate) fn position_in(
    text: &str,
    line: usize,
    column: usize,
    char_pos: usize,
) -> (usize, usize) {
    let (mut l, mut c) = (line, column);
    for ch in text.chars().take(char_pos.saturating_sub(1)) {
        if ch == '\n' {
            l += 1;
            c = 1;
        } else {
            c += 1;
        }
    }
    (l, c)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! One embedded server per test process, one fresh database per test.

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static SERVER: OnceLock<Embedded> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);

    pub fn server() -> &'static Embedded {
        SERVER.get_or_init(|| Embedded::start().unwrap_or_else(|e| panic!("embedded server: {e}")))
    }

    /// A new empty database and its URL.
    pub fn fresh_db() -> String {
        let srv = server();
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        srv.create_database(&name, Some("template0"))
            .expect("create database");
        srv.url(&name)
    }

    pub fn client(url: &str) -> Client {
        connect(url).unwrap_or_else(|e| panic!("connect: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect_err(url: &str) -> Error {
        match connect(url) {
            Ok(_) => panic!("connected to {url}"),
            Err(e) => e,
        }
    }

    #[test]
    fn redacts_url_passwords() {
        assert_eq!(
            redact("postgres://app:s3cr%40t@db.example.com:5432/prod"),
            "postgres://app:***@db.example.com:5432/prod"
        );
        // An unencoded `@` or `/` in the password is still hidden.
        let r = redact("postgresql://app:pa@ss/wd@db:5432/prod?sslmode=disable");
        assert_eq!(r, "postgresql://app:***@db:5432/prod?sslmode=disable");
        assert_eq!(
            redact("postgres://app@db/prod?user=x&password=hunter2&port=1"),
            "postgres://app@db/prod?user=x&password=***&port=1"
        );
        assert_eq!(redact("postgres://db:5432/prod"), "postgres://db:5432/prod");
        assert_eq!(redact("POSTGRES://u:p@h/d"), "POSTGRES://u:***@h/d");
    }

    #[test]
    fn redacts_conninfo_passwords() {
        assert_eq!(
            redact("host=db user=app password=hunter2 dbname=prod"),
            "host=db user=app password=*** dbname=prod"
        );
        assert_eq!(
            redact("host=db password = 'a b\\' c' dbname=prod"),
            "host=db password = *** dbname=prod"
        );
        assert_eq!(redact("PASSWORD=x"), "PASSWORD=***");
        assert_eq!(redact("host=/tmp dbname=x"), "host=/tmp dbname=x");
    }

    #[test]
    fn connect_errors_never_show_the_password() {
        // Nothing listens on port 1; the error must name the target without
        // the password and say what to check.
        let err = connect_err("postgres://app:hunter2@127.0.0.1:1/db?connect_timeout=2");
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("postgres://app:***@127.0.0.1:1/db"), "{text}");
        assert_eq!(err.diagnostic().code, "database");
        assert!(err
            .diagnostic()
            .help
            .as_deref()
            .unwrap()
            .contains("is the server running"));

        let err = connect_err("host=127.0.0.1 port=1 password=hunter2 connect_timeout=2");
        assert!(!err.to_string().contains("hunter2"));
        let err = connect_err("postgres://app:hunter2@127.0.0.1:notaport/db");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn pgpass_rules() {
        let file = "# comment\n\
                    db.example.com:5432:prod:app:first\n\
                    *:*:*:app:any\\:thing\n\
                    localhost:5433:*:*:sock\n";
        assert_eq!(
            pgpass_lookup(file, "db.example.com", false, "5432", "prod", "app").as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass_lookup(file, "other", false, "5432", "prod", "app").as_deref(),
            Some("any:thing")
        );
        assert_eq!(
            pgpass_lookup(file, "/run/pg", true, "5433", "x", "bob").as_deref(),
            Some("sock")
        );
        assert_eq!(
            pgpass_lookup(file, "/run/pg", true, "5432", "x", "bob"),
            None
        );
    }

    #[test]
    fn resolve_url_precedence() {
        let mut config = Config::default();
        config.database.url = Some("postgres://from-config/db".into());
        assert_eq!(
            resolve_url(Some("postgres://cli/db"), &config).as_deref(),
            Some("postgres://cli/db")
        );
        // DATABASE_URL is process-wide; only the variable-free cases are
        // asserted so that tests running in parallel cannot disturb this one.
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(
                resolve_url(None, &config).as_deref(),
                Some("postgres://from-config/db")
            );
            assert_eq!(resolve_url(Some(""), &Config::default()), None);
        }
    }

    #[test]
    fn positions_map_to_lines() {
        let text = "select\n  1 +\n  x";
        assert_eq!(position_in(text, 10, 5, 1), (10, 5));
        assert_eq!(position_in(text, 10, 5, 16), (12, 3));
    }

    #[test]
    fn password_authentication_pgpassword_and_pgpass() {
        let srv = test_support::server();
        let mut admin = test_support::client(&srv.url("postgres"));
        admin
            .batch_execute(
                "do $$ begin if not exists (select 1 from pg_roles where rolname = 'pw_user') then \
                 create role pw_user login password 'right-pw'; end if; end $$",
            )
            .unwrap();
        // Password authentication for this one role; the other tests keep
        // connecting as postgres with trust.
        let hba = srv.socket_dir().join("data/pg_hba.conf");
        let text = std::fs::read_to_string(&hba).unwrap();
        if !text.starts_with("local all pw_user") {
            std::fs::write(&hba, format!("local all pw_user scram-sha-256\n{text}")).unwrap();
            admin.batch_execute("select pg_reload_conf()").unwrap();
        }
        let base = format!(
            "host={} port={} dbname=postgres user=pw_user",
            srv.socket_dir().display(),
            srv.port()
        );
        let no_env = |_: &str| None;
        // The reload is asynchronous: wait until a connection without a
        // password is refused.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let err = loop {
            match connect_with_env(&base, &no_env) {
                Err(e) => break e,
                Ok(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Ok(_) => panic!("pg_hba.conf change not picked up"),
            }
        };
        assert!(
            err.diagnostic()
                .help
                .as_deref()
                .unwrap()
                .contains("asks for a password"),
            "{err}"
        );

        let err = match connect_with_env(&format!("{base} password=wrong-pw"), &no_env) {
            Err(e) => e,
            Ok(_) => panic!("wrong password accepted"),
        };
        let help = err.diagnostic().help.as_deref().unwrap();
        assert!(
            help.contains("wrong password for user \"pw_user\""),
            "{err}"
        );
        assert!(!err.to_string().contains("wrong-pw"), "{err}");

        connect_with_env(&format!("{base} password=right-pw"), &no_env).unwrap();
        connect_with_env(&base, &|k| {
            (k == "PGPASSWORD").then(|| "right-pw".to_string())
        })
        .unwrap();
        // A socket connection matches `localhost` in the password file.
        let dir = tempfile::tempdir().unwrap();
        let pgpass = dir.path().join("pgpass");
        std::fs::write(
            &pgpass,
            format!("localhost:{}:*:pw_user:right-pw\n", srv.port()),
        )
        .unwrap();
        let file = pgpass.display().to_string();
        connect_with_env(&base, &|k| (k == "PGPASSFILE").then(|| file.clone())).unwrap();
    }

    #[test]
    fn connects_through_socket_url_and_conninfo() {
        let srv = test_support::server();
        let mut c = test_support::client(&srv.url("postgres"));
        let one: i32 = c.query_one("select 1", &[]).unwrap().get(0);
        assert_eq!(one, 1);
        let kv = format!(
            "host={} port={} user=postgres dbname=postgres",
            srv.socket_dir().display(),
            srv.port()
        );
        test_support::client(&kv);
        let err = connect_err(&srv.url("no_such_db"));
        assert!(
            err.diagnostic()
                .help
                .as_deref()
                .unwrap()
                .contains("does not exist"),
            "{err}"
        );
    }
}
