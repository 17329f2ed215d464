//! A throwaway PostgreSQL cluster started from the local server binaries.
//!
//! Each start copies an initialized template cluster from the cache (initdb
//! takes seconds, a copy a fraction of one) into a fresh temporary directory
//! and starts it there, listening only on a Unix socket in that directory.
//! Nothing outlives the process: `Drop` stops the server and removes the
//! directory, and a small watchdog does the same if the process is killed
//! before `Drop` runs (SIGKILL, or a `static` that is never dropped).

use crate::error::{Error, Result};
use postgres::Client;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

/// Prefix of every cluster directory, so stale ones can be found again.
const DIR_PREFIX: &str = "touchpoint-pg-";
/// File in a cluster directory naming the process that owns it.
const OWNER_FILE: &str = "touchpoint.pid";
/// Server settings for a database nobody needs to survive a crash.
const SETTINGS: &str = "
# touchpoint: throwaway cluster, durability traded for speed
listen_addresses = ''
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
autovacuum = off
shared_buffers = 32MB
log_min_messages = warning
";

/// Where the server binaries live and which version they are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dir: PathBuf,
    /// As `postgres --version` reports it, e.g. `15.13`.
    pub version: String,
    pub major: u32,
}

impl Binaries {
    /// The highest version among `$TOUCHPOINT_PG_BIN`, the directories on
    /// PATH that hold `initdb` and `pg_ctl`, and `/usr/lib/postgresql/*/bin`.
    pub fn find() -> Result<Binaries> {
        // Probing runs `postgres --version` per candidate; once per process
        // is enough.
        static FOUND: std::sync::OnceLock<Result<Binaries>> = std::sync::OnceLock::new();
        FOUND.get_or_init(Self::search).clone()
    }

    fn search() -> Result<Binaries> {
        if let Some(dir) = std::env::var_os("TOUCHPOINT_PG_BIN") {
            let dir = PathBuf::from(dir);
            return Self::probe(&dir).ok_or_else(|| {
                Error::new(
                    "embedded-database",
                    format!("TOUCHPOINT_PG_BIN={} holds no usable initdb, pg_ctl and postgres", dir.display()),
                )
                .help("point it at the bin directory of a PostgreSQL server installation, or unset it")
            });
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(path) = std::env::var_os("PATH") {
            for d in std::env::split_paths(&path) {
                // Resolve symlinks such as /usr/local/bin/initdb so that
                // pg_ctl and postgres are taken from the same installation.
                if let Ok(real) = d.join("initdb").canonicalize() {
                    if let Some(parent) = real.parent() {
                        dirs.push(parent.to_path_buf());
                    }
                }
            }
        }
        if let Ok(rd) = fs::read_dir("/usr/lib/postgresql") {
            let mut found: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect();
            found.sort();
            dirs.extend(found);
        }
        Self::best_of(&dirs)
    }

    /// The highest version found in `dirs`.
    fn best_of(dirs: &[PathBuf]) -> Result<Binaries> {
        let mut best: Option<Binaries> = None;
        let mut seen = std::collections::HashSet::new();
        for d in dirs.iter().filter(|d| seen.insert(*d)) {
            if let Some(b) = Self::probe(d) {
                if best
                    .as_ref()
                    .is_none_or(|cur| version_key(&b.version) > version_key(&cur.version))
                {
                    best = Some(b);
                }
            }
        }
        best.ok_or_else(|| {
            Error::new(
                "embedded-database",
                "no PostgreSQL server binaries found (initdb, pg_ctl and postgres on PATH or under /usr/lib/postgresql/*/bin)",
            )
            .help("install PostgreSQL server binaries: apt-get install postgresql; or pass --database-url")
        })
    }

    fn probe(dir: &Path) -> Option<Binaries> {
        if !["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
        {
            return None;
        }
        let out = Command::new(dir.join("postgres"))
            .arg("--version")
            .output()
            .ok()?;
        // "postgres (PostgreSQL) 15.13 (Debian 15.13-1)"
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text.split_whitespace().nth(2)?.to_string();
        let major = version
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        Some(Binaries {
            dir: dir.to_path_buf(),
            version,
            major,
        })
    }
}

fn version_key(v: &str) -> Vec<u32> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The account the server processes run as when touchpoint runs as root:
/// initdb and postgres refuse to run as root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// A running throwaway cluster. Dropping it stops the server and removes
/// every file it wrote.
#[derive(Debug)]
pub struct Embedded {
    bin: Binaries,
    run_as: Option<RunAs>,
    dir: Option<tempfile::TempDir>,
    port: u16,
    watchdog: Option<Child>,
    /// The cached template this cluster was copied from.
    template: Option<PathBuf>,
}

/// Where and how to start; `Embedded::start` uses the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Template cache directory; default `$XDG_CACHE_HOME/touchpoint` or
    /// `~/.cache/touchpoint`. `None` there as well: no cache, initdb each time.
    pub cache_dir: Option<PathBuf>,
    /// Parent of the cluster directory; default the system temp directory.
    pub temp_dir: Option<PathBuf>,
}

impl Embedded {
    /// Start a throwaway cluster with the default cache and temp locations.
    pub fn start() -> Result<Embedded> {
        Self::start_with(&Options::default())
    }

    pub fn start_with(options: &Options) -> Result<Embedded> {
        let bin = Binaries::find()?;
        let run_as = if effective_uid() == Some(0) {
            Some(postgres_account()?)
        } else {
            None
        };
        let temp_base = options
            .temp_dir
            .clone()
            .unwrap_or_else(|| default_temp_base(run_as.is_some()));
        reap_stale(&temp_base);
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir_in(&temp_base)
            .map_err(|e| {
                Error::io(&temp_base, e)
                    .help("touchpoint needs a writable temporary directory (TMPDIR)")
            })?;
        fs::write(dir.path().join(OWNER_FILE), std::process::id().to_string())
            .map_err(|e| Error::io(dir.path(), e))?;
        let mut this = Embedded {
            bin,
            run_as,
            dir: Some(dir),
            port: free_port(),
            watchdog: None,
            template: None,
        };
        this.watchdog = this.spawn_watchdog();

        let data = this.data_dir();
        let cache_root = options.cache_dir.clone().or_else(default_cache_root);
        // An unwritable cache costs speed, not the cluster.
        let template = match cache_root.map(|root| this.template(&root)) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) if e.diagnostic().code != "io" => return Err(e),
            _ => None,
        };
        // A cluster initialized by this start (for the cache) is ours:
        // moved into place instead of copied back from the cache, which
        // saves a first start a second copy of a thousand files.
        let fresh = this.socket_dir().join("template");
        match &template {
            _ if fresh.join("PG_VERSION").is_file() => {
                fs::rename(&fresh, &data).map_err(|e| Error::io(&fresh, e))?
            }
            Some(t) => copy_tree(t, &data).map_err(|e| {
                Error::new(
                    "embedded-database",
                    format!("copying the template cluster: {e}"),
                )
                .help(format!("remove {} to have it rebuilt", t.display()))
            })?,
            None => this.initdb(&data)?,
        }
        this.template = template;
        let socket = this.socket_dir().display().to_string();
        append(
            &data.join("postgresql.conf"),
            &format!(
                "port = {}\nunix_socket_directories = '{}'\n",
                this.port,
                socket.replace('\'', "''")
            ),
        )?;
        this.give_to_server(this.socket_dir())?;
        this.start_server()?;
        Ok(this)
    }

    /// URL of a database in this cluster, usable with `db::connect`.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://postgres@/{}?host={}&port={}",
            url_encode(dbname),
            url_encode(&self.socket_dir().display().to_string()),
            self.port
        )
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("/nonexistent"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn version(&self) -> &str {
        &self.bin.version
    }

    pub fn connect(&self, dbname: &str) -> Result<Client> {
        super::connect(&self.url(dbname))
    }

    /// `CREATE DATABASE name [TEMPLATE template]`.
    pub fn create_database(&self, name: &str, template: Option<&str>) -> Result<()> {
        let mut client = self.connect("postgres")?;
        let mut sql = format!("CREATE DATABASE {}", super::quote_ident(name));
        if let Some(t) = template {
            sql.push_str(&format!(" TEMPLATE {}", super::quote_ident(t)));
        }
        client
            .batch_execute(&sql)
            .map_err(|e| super::query_error(&format!("creating database {name}"), &e))
    }

    fn data_dir(&self) -> PathBuf {
        self.socket_dir().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.dir.join(program));
        if let Some(r) = self.run_as {
            cmd.uid(r.uid).gid(r.gid);
        }
        // The server account may not be able to enter the caller's working
        // directory; the cluster directory is always its own.
        cmd.current_dir(self.socket_dir());
        cmd.env("LC_ALL", "C").env_remove("PGDATA");
        cmd
    }

    fn give_to_server(&self, path: &Path) -> Result<()> {
        if let Some(r) = self.run_as {
            chown_tree(path, r).map_err(|e| {
                Error::new(
                    "embedded-database",
                    format!("handing {} to the postgres account: {e}", path.display()),
                )
                .help("run touchpoint as an ordinary user, or check the temporary directory")
            })?;
        }
        Ok(())
    }

    fn initdb(&self, data: &Path) -> Result<()> {
        self.give_to_server(data.parent().unwrap_or(data))?;
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions", "--wal-segsize=1"])
            .output()
            .map_err(|e| spawn_error("initdb", &e))?;
        if !out.status.success() {
            return Err(Error::new(
                "embedded-database",
                format!(
                    "initdb failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            )
            .help("check that the PostgreSQL server binaries work: initdb --version"));
        }
        append(&data.join("postgresql.conf"), SETTINGS)
    }

    /// The cached template cluster of this version, built on first use.
    /// Built elsewhere and renamed into place, so a concurrent process sees
    /// either no template or a complete one. A cluster built here is left
    /// in `socket_dir()/template` for `start_with` to use.
    fn template(&self, cache_root: &Path) -> Result<PathBuf> {
        let target = cache_root.join(format!("pg-{}", self.bin.version));
        if target.join("PG_VERSION").is_file() {
            return Ok(target);
        }
        fs::create_dir_all(cache_root).map_err(|e| Error::io(cache_root, e))?;
        // initdb runs in the cluster directory, which the server account can
        // reach even when the cache lies in root's home.
        let built = self.socket_dir().join("template");
        self.initdb(&built)?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".pg-{}-", self.bin.version))
            .tempdir_in(cache_root)
            .map_err(|e| Error::io(cache_root, e))?;
        copy_tree(&built, staging.path()).map_err(|e| {
            Error::new(
                "embedded-database",
                format!("writing the template cache: {e}"),
            )
            .help(format!("check that {} is writable", cache_root.display()))
        })?;
        match fs::rename(staging.path(), &target) {
            Ok(()) => {
                let _ = staging.keep();
            }
            // Another process finished first; its template is as good.
            Err(_) if target.join("PG_VERSION").is_file() => {}
            Err(e) => return Err(Error::io(&target, e)),
        }
        Ok(target)
    }

    fn start_server(&self) -> Result<()> {
        let data = self.data_dir();
        let log = self.socket_dir().join("server.log");
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-s", "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| spawn_error("pg_ctl", &e))?;
        if !status.status.success() {
            let log_text = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = log_text.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Error::new(
                "embedded-database",
                format!(
                    "the embedded PostgreSQL server did not start: {}{}",
                    String::from_utf8_lossy(&status.stderr).trim(),
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!("\n{}", tail.join("\n"))
                    }
                ),
            )
            .help(match &self.template {
                Some(t) => format!(
                    "if this persists, remove the template cache {} to have it rebuilt, or pass --database-url",
                    t.display()
                ),
                None => "pass --database-url to use an existing server instead".to_string(),
            }));
        }
        Ok(())
    }

    /// A detached shell that waits for this process to exit, then stops the
    /// server and removes the directory. Killed by `Drop` in the normal case.
    fn spawn_watchdog(&self) -> Option<Child> {
        // A zombie counts as gone: it holds no resources, and under an init
        // that does not reap orphans it would otherwise never go away.
        const SCRIPT: &str = r#"
alive() {
  if [ -d /proc/self ]; then
    s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) && [ -n "$s" ] && [ "$s" != Z ]
  else
    kill -0 "$1" 2>/dev/null
  fi
}
while alive "$1"; do sleep 1; done
if [ -f "$2/postmaster.pid" ]; then
  pm=$(head -n 1 "$2/postmaster.pid")
  if [ ! -d /proc/self ] || [ "$(cat /proc/$pm/comm 2>/dev/null)" = postgres ]; then
    kill -QUIT "$pm" 2>/dev/null
    i=0
    while alive "$pm" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  fi
fi
rm -rf "$3"
"#;
        Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("touchpoint-watchdog")
            .arg(std::process::id().to_string())
            .arg(self.data_dir())
            .arg(self.socket_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: Ctrl-C on the terminal must not kill the
            // watchdog before it has cleaned up.
            .process_group(0)
            .spawn()
            .ok()
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        // The watchdog goes last: a process killed while it stops the
        // server or removes the directory leaves that work to the watchdog,
        // which only acts once this process is gone.
        if self.data_dir().join("postmaster.pid").exists() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "-s", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let removed = self.dir.take().is_none_or(|d| d.close().is_ok());
        // A directory that could not be removed stays the watchdog's job.
        if let Some(mut w) = self.watchdog.take().filter(|_| removed) {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn spawn_error(program: &str, e: &std::io::Error) -> Error {
    Error::new("embedded-database", format!("cannot run {program}: {e}")).help(
        "install PostgreSQL server binaries: apt-get install postgresql; or pass --database-url",
    )
}

fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io(path, e))
}

/// The effective user id, from /proc or `id -u`.
fn effective_uid() -> Option<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            return line.split_whitespace().nth(2).and_then(|v| v.parse().ok());
        }
    }
    let out = Command::new("id").arg("-u").output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn postgres_account() -> Result<RunAs> {
    let from_passwd = fs::read_to_string("/etc/passwd").ok().and_then(|text| {
        let fields: Vec<&str> = text
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&"postgres"))?;
        Some(RunAs {
            uid: fields.get(2)?.parse().ok()?,
            gid: fields.get(3)?.parse().ok()?,
        })
    });
    let from_id = || {
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        Some(RunAs {
            uid: id("-u")?,
            gid: id("-g")?,
        })
    };
    match from_passwd.or_else(from_id) {
        Some(r) if r.uid != 0 => Ok(r),
        _ => Err(Error::new(
            "embedded-database",
            "running as root, and there is no unprivileged `postgres` account to run the embedded server as",
        )
        .help("run touchpoint as an ordinary user, create the account (useradd --system postgres), or pass --database-url")),
    }
}

fn default_cache_root() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .map(|h| h.join(".cache"))
    })?;
    Some(base.join("touchpoint"))
}

fn default_temp_base(as_root: bool) -> PathBuf {
    let t = std::env::temp_dir();
    // The server account must be able to reach the directory (TMPDIR may lie
    // in root's home), and a socket path must stay under ~100 bytes.
    if (as_root || t.as_os_str().len() > 60) && Path::new("/tmp").is_dir() {
        PathBuf::from("/tmp")
    } else {
        t
    }
}

/// A port number nobody is using right now. Only the socket file is named
/// after it (there is no TCP listener), but the server also derives its
/// shared memory key from it, so distinct numbers avoid needless collisions.
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(5432 + (std::process::id() % 1000) as u16)
}

/// Whether a process exists and is not a zombie.
fn process_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // The state follows the command name, which is in parentheses and
        // may itself contain spaces or parentheses.
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        return state.flatten().is_some_and(|s| s != 'Z');
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(true)
}

/// Remove cluster directories whose owning process is gone and whose
/// watchdog did not clean up (for instance after a reboot or a killed
/// process group), stopping a server still running there.
fn reap_stale(base: &Path) {
    let Ok(rd) = fs::read_dir(base) else { return };
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for entry in rd.filter_map(|e| e.ok()) {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(DIR_PREFIX) || !path.is_dir() {
            continue;
        }
        let stale = match fs::read_to_string(path.join(OWNER_FILE)) {
            Ok(pid) => pid
                .trim()
                .parse()
                .map(|p| !process_alive(p))
                .unwrap_or(false),
            // A directory whose owner died before writing its pid file.
            Err(_) => fs::metadata(&path)
                .and_then(|m| m.modified())
                .map(|t| t < an_hour_ago)
                .unwrap_or(false),
        };
        if !stale {
            continue;
        }
        if let Ok(pidfile) = fs::read_to_string(path.join("data/postmaster.pid")) {
            if let Some(pm) = pidfile.lines().next().map(str::trim) {
                let comm = fs::read_to_string(format!("/proc/{pm}/comm")).unwrap_or_default();
                if comm.trim() == "postgres" {
                    let _ = Command::new("kill")
                        .args(["-QUIT", pm])
                        .stderr(Stdio::null())
                        .status();
                    for _ in 0..50 {
                        if !pm.parse().is_ok_and(process_alive) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&path);
    }
}

/// Copy a directory tree, keeping permission bits (the server insists on
/// 0700 for its data directory).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(std::io::Error::other)?;
        let dest = to.join(rel);
        let meta = entry.metadata().map_err(std::io::Error::other)?;
        if meta.is_dir() {
            if !dest.is_dir() {
                fs::create_dir(&dest)?;
            }
            fs::set_permissions(&dest, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        } else if meta.is_file() {
            fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

fn chown_tree(path: &Path, r: RunAs) -> std::io::Result<()> {
    for entry in walkdir::WalkDir::new(path) {
        let entry = entry.map_err(std::io::Error::other)?;
        std::os::unix::fs::lchown(entry.path(), Some(r.uid), Some(r.gid))?;
    }
    Ok(())
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_server_answers() {
        let srv = crate::db::test_support::server();
        let mut c = srv.connect("postgres").unwrap();
        let listen: String = c.query_one("show listen_addresses", &[]).unwrap().get(0);
        assert_eq!(listen, "");
        let fsync: String = c.query_one("show fsync", &[]).unwrap().get(0);
        assert_eq!(fsync, "off");
        assert!(srv
            .socket_dir()
            .join(format!(".s.PGSQL.{}", srv.port()))
            .exists());
    }

    #[test]
    fn concurrent_starts_build_one_template_then_clean_up() {
        let cache = tempfile::tempdir().unwrap();
        let opts = Options {
            cache_dir: Some(cache.path().to_path_buf()),
            temp_dir: None,
        };
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let opts = opts.clone();
                std::thread::spawn(move || Embedded::start_with(&opts))
            })
            .collect();
        let servers: Vec<Embedded> = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect();
        let names: Vec<String> = fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec![format!("pg-{}", servers[0].version())],
            "no staging leftovers"
        );

        // A start from the warm cache; both servers are independent.
        let started = std::time::Instant::now();
        let third = Embedded::start_with(&opts).unwrap();
        eprintln!("start from cache: {:?}", started.elapsed());
        let dirs: Vec<PathBuf> = servers
            .iter()
            .chain([&third])
            .map(|s| s.socket_dir().to_path_buf())
            .collect();
        for s in servers.iter().chain([&third]) {
            let mut c = s.connect("postgres").unwrap();
            c.batch_execute("create table x (id int)").unwrap();
        }
        // The first starts run on the clusters they initialized for the
        // cache (moved, not copied back): the cache must not see their
        // changes.
        let fourth = Embedded::start_with(&opts).unwrap();
        let n: i64 = fourth
            .connect("postgres")
            .unwrap()
            .query_one("select count(*) from pg_class where relname = 'x'", &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "the template cache was changed by a running cluster");
        drop(fourth);
        drop(servers);
        drop(third);
        for d in dirs {
            assert!(!d.exists(), "{} left behind", d.display());
        }
    }

    #[test]
    fn stale_directories_of_dead_processes_are_reaped() {
        let base = tempfile::tempdir().unwrap();
        let stale = base.path().join(format!("{DIR_PREFIX}stale"));
        fs::create_dir_all(stale.join("data")).unwrap();
        // A pid far above any pid_max in use.
        fs::write(stale.join(OWNER_FILE), "2147483646").unwrap();
        let live = base.path().join(format!("{DIR_PREFIX}live"));
        fs::create_dir_all(&live).unwrap();
        fs::write(live.join(OWNER_FILE), std::process::id().to_string()).unwrap();
        reap_stale(base.path());
        assert!(!stale.exists());
        assert!(live.exists());
    }

    /// The child side of `killed_owner_leaves_nothing_behind`; does nothing
    /// unless that test started this process.
    #[test]
    fn hold_cluster_until_killed() {
        if std::env::var_os("TOUCHPOINT_TEST_HOLD_CLUSTER").is_none() {
            return;
        }
        let srv = Embedded::start().unwrap();
        println!("CLUSTER_DIR={}", srv.socket_dir().display());
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        std::thread::sleep(Duration::from_secs(120));
    }

    #[test]
    fn killed_owner_leaves_nothing_behind() {
        use std::io::BufRead;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "db::embedded::tests::hold_cluster_until_killed",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TOUCHPOINT_TEST_HOLD_CLUSTER", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let dir = out
            .lines()
            .map_while(|l| l.ok())
            // libtest prints the test's name on the same line.
            .find_map(|l| {
                l.split_once("CLUSTER_DIR=")
                    .map(|(_, d)| PathBuf::from(d.trim()))
            })
            .expect("the child prints its cluster directory");
        let pidfile = fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
        let postmaster: u32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
        assert!(process_alive(postmaster));
        child.kill().unwrap(); // SIGKILL: no Drop runs
        child.wait().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while (dir.exists() || process_alive(postmaster)) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!process_alive(postmaster), "server still running");
        assert!(!dir.exists(), "{} left behind", dir.display());
    }

    #[test]
    fn missing_binaries_say_what_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let err = Binaries::best_of(&[empty.path().to_path_buf()]).unwrap_err();
        assert_eq!(err.diagnostic().code, "embedded-database");
        assert!(err
            .diagnostic()
            .help
            .as_deref()
            .unwrap()
            .contains("apt-get install postgresql"));
    }

    #[test]
    fn urls_encode_the_socket_directory() {
        assert_eq!(url_encode("/tmp/a b"), "/tmp/a%20b");
        assert_eq!(url_encode("t_1"), "t_1");
    }
}
