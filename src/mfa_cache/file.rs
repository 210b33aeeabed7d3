//! The MFA cache on disk: `<cache-dir>/mfa-<api>-<pool id>-<endpoint hash>.json`, one file per
//! pool, endpoint and API.
//!
//! The file names its pool (API, endpoint and pool id) and holds the switches grouped by the
//! run that read or wrote them, each group with its time, each user id once:
//!
//! ```json
//! {"format":"authing-sync-mfa-cache","version":1,"api":"v1","endpoint":"https://…/graphql",
//!  "pool":"5f…","generation":12,
//!  "groups":[{"generation":11,"at":"2026-11-27T02:15:03Z","on":["5f…"],"off":["60…"]}]}
//! ```
//!
//! Nothing else is in it: no secret, no email, no name. The endpoint is kept as scheme, host,
//! port and path only ([`sanitise_endpoint`]): a query string or user info (`?apikey=…`,
//! `user:pass@`) is never stored, hashed into the name or printed. Loading never fails: a file
//! that cannot be read, is larger than [`MAX_BYTES`], is not such a file, comes from another
//! version, names another pool, or contradicts itself (an id twice, a group newer than the file,
//! a run number with no room for the next run) is ignored as a whole with a warning, and the
//! plan reads every switch it would have given. Writing goes through `atomic`; [`writable`]
//! says beforehand whether it can succeed.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::UserId;

use super::{Known, MfaCache};

/// What the `format` field says.
pub const FORMAT: &str = "authing-sync-mfa-cache";
/// The version of the file's shape this build reads and writes.
pub const VERSION: u32 = 1;
/// The largest cache file read (a file per user id takes well under 100 bytes a user, so this
/// holds millions of users); a larger one is ignored as corrupt without being read.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The endpoint as scheme, host, port and path ([`crate::secret::endpoint_without_secrets`]).
pub fn sanitise_endpoint(endpoint: &str) -> String {
    crate::secret::endpoint_without_secrets(endpoint)
}

/// Which pool, through which API, a cache belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// `v1` (GraphQL) or `v3` (management REST).
    pub api: String,
    /// The endpoint without query or user info ([`sanitise_endpoint`]; `local` for the embedded
    /// emulator).
    pub endpoint: String,
    /// The user pool id.
    pub pool: String,
}

impl CacheKey {
    pub fn new(
        api: impl Into<String>,
        endpoint: impl Into<String>,
        pool: impl Into<String>,
    ) -> Self {
        Self {
            api: api.into(),
            endpoint: sanitise_endpoint(&endpoint.into()),
            pool: pool.into(),
        }
    }

    /// The file's name: the API, the pool id (anything but ASCII letters, digits, `-` and `_`
    /// replaced) and a short hash of the endpoint, so two endpoints serving pools with the same
    /// id keep two files. Two pools whose ids differ only in replaced characters share a name;
    /// the file's own key tells them apart.
    pub fn file_name(&self) -> String {
        let clean = |text: &str| -> String {
            text.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.endpoint.as_bytes());
        let hash: String = digest[..6]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("mfa-{}-{}-{hash}.json", clean(&self.api), clean(&self.pool))
    }

    fn describe(&self) -> String {
        format!("pool {} at {} ({} API)", self.pool, self.endpoint, self.api)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    format: String,
    version: u32,
    api: String,
    endpoint: String,
    pool: String,
    generation: u64,
    groups: Vec<Group>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    generation: u64,
    at: String,
    #[serde(default)]
    on: Vec<String>,
    #[serde(default)]
    off: Vec<String>,
}

/// Where the cache of `key` lives under `dir`.
pub fn path(dir: &Path, key: &CacheKey) -> PathBuf {
    dir.join(key.file_name())
}

/// The cache of `key` under `dir`, and a warning when a file was there but could not be trusted.
/// A missing file is an empty cache without a warning.
pub fn load(dir: &Path, key: &CacheKey) -> (MfaCache, Option<String>) {
    let path = path(dir, key);
    let ignored = |why: String| {
        (
            MfaCache::empty(key.clone()),
            Some(format!(
                "ignored the MFA cache {}: {why}; the MFA switches it would have given are read from the pool, and the cache is written anew",
                path.display()
            )),
        )
    };
    let bytes = match read_capped(&path, MAX_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return ignored(format!(
                "it is larger than {} MiB, far more than any pool needs",
                MAX_BYTES / (1024 * 1024)
            ));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return (MfaCache::empty(key.clone()), None);
        }
        Err(err) => return ignored(format!("it could not be read ({err})")),
    };
    match parse(&bytes, key) {
        Ok(cache) => (cache, None),
        Err(why) => ignored(why),
    }
}

/// The file's bytes, or `None` when it holds more than `limit` (never read past it).
fn read_capped(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() > limit {
        return Ok(None);
    }
    // The size can change between the two calls, and a FIFO has none: the reader is bounded.
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Whether a cache can be saved under `dir`: it is (or can be created as) a directory in which
/// a file can be written. The error names the path and says what is wrong with it.
pub fn writable(dir: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() && std::fs::metadata(dir).is_err() => {
            let target = std::fs::read_link(dir)
                .map(|target| format!(" to {}", target.display()))
                .unwrap_or_default();
            return Err(format!(
                "the cache directory {} is a dangling symbolic link{target}",
                dir.display()
            ));
        }
        Ok(_) if !dir.is_dir() => {
            return Err(format!(
                "the cache directory {} is not a directory",
                dir.display()
            ));
        }
        _ => {}
    }
    std::fs::create_dir_all(dir).map_err(|err| {
        format!(
            "the cache directory {} cannot be created ({err})",
            dir.display()
        )
    })?;
    tempfile::NamedTempFile::new_in(dir)
        .and_then(|mut probe| {
            std::io::Write::write_all(&mut probe, b"{}\n")?;
            probe.as_file().sync_all()
        })
        .map_err(|err| {
            format!(
                "no file can be written in the cache directory {} ({err})",
                dir.display()
            )
        })
}

/// The cache in `bytes`, or why it is not to be trusted.
fn parse(bytes: &[u8], key: &CacheKey) -> Result<MfaCache, String> {
    // The format is checked before the shape, so another tool's JSON is named as such.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        format!(
            "it is not a cache file (line {}, column {}: {err})",
            err.line(),
            err.column()
        )
    })?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
        return Err("it is not an authing-sync MFA cache".into());
    }
    if let Some(version) = value.get("version").and_then(serde_json::Value::as_u64)
        && version != u64::from(VERSION)
    {
        return Err(format!(
            "it was written in cache version {version}, and this build reads version {VERSION}"
        ));
    }
    let file: CacheFile =
        serde_json::from_value(value).map_err(|err| format!("it is not a cache file ({err})"))?;
    let found = CacheKey::new(file.api, file.endpoint, file.pool);
    if &found != key {
        return Err(format!(
            "it belongs to {}, not to {}",
            found.describe(),
            key.describe()
        ));
    }
    if file.generation == u64::MAX {
        return Err(format!(
            "its run number {} leaves no room for the next run",
            file.generation
        ));
    }
    let mut entries = HashMap::new();
    for group in file.groups {
        if group.generation > file.generation {
            return Err(format!(
                "a group of run {} is newer than the file's run {}",
                group.generation, file.generation
            ));
        }
        let at: Timestamp = group
            .at
            .parse()
            .map_err(|err| format!("`{}` is not a time ({err})", group.at))?;
        for (ids, enabled) in [(group.on, true), (group.off, false)] {
            for id in ids {
                if id.is_empty() || id.chars().any(char::is_control) {
                    return Err(format!("{id:?} is not a user id"));
                }
                let known = Known {
                    enabled,
                    generation: group.generation,
                    at,
                };
                if entries.insert(UserId::new(id.clone()), known).is_some() {
                    return Err(format!("the user id {id} appears twice"));
                }
            }
        }
    }
    Ok(MfaCache::from_parts(found, file.generation, entries))
}

/// Writes the cache under `dir` (created if missing), atomically; returns the file's path.
pub fn save(dir: &Path, cache: &MfaCache) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = path(dir, cache.key());
    crate::atomic::write(&path, &to_bytes(cache))?;
    Ok(path)
}

fn to_bytes(cache: &MfaCache) -> Vec<u8> {
    /// Per (generation, time): the ids on, the ids off.
    type Ids<'a> = (Vec<&'a str>, Vec<&'a str>);
    let mut groups: BTreeMap<(u64, Timestamp), Ids<'_>> = BTreeMap::new();
    let mut newest = cache.loaded_generation;
    for (id, known) in cache.entries() {
        newest = newest.max(known.generation);
        let group = groups.entry((known.generation, known.at)).or_default();
        if known.enabled {
            group.0.push(id.as_str());
        } else {
            group.1.push(id.as_str());
        }
    }
    let key = cache.key();
    let file = CacheFile {
        format: FORMAT.into(),
        version: VERSION,
        api: key.api.clone(),
        endpoint: key.endpoint.clone(),
        pool: key.pool.clone(),
        generation: newest,
        groups: groups
            .into_iter()
            .map(|((generation, at), (mut on, mut off))| {
                on.sort_unstable();
                off.sort_unstable();
                Group {
                    generation,
                    at: at.to_string(),
                    on: on.into_iter().map(str::to_string).collect(),
                    off: off.into_iter().map(str::to_string).collect(),
                }
            })
            .collect(),
    };
    let mut bytes = serde_json::to_vec(&file).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CacheKey {
        CacheKey::new("v1", "http://127.0.0.1:4000/graphql", "pool-a")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn sample() -> MfaCache {
        let mut cache = MfaCache::from_parts(key(), 3, HashMap::new());
        cache.record(UserId::new("u1"), true, at("2026-11-27T02:00:00Z"));
        cache.record(UserId::new("u2"), false, at("2026-11-27T02:00:00Z"));
        cache.record(UserId::new("u3"), false, at("2026-11-27T03:00:00Z"));
        cache
    }

    #[test]
    fn a_saved_cache_loads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let cache = sample();
        let written = save(dir.path(), &cache).unwrap();
        assert_eq!(written, dir.path().join(key().file_name()));
        let (loaded, warning) = load(dir.path(), &key());
        assert_eq!(warning, None);
        assert_eq!(
            loaded.get(&UserId::new("u1")),
            cache.get(&UserId::new("u1"))
        );
        assert_eq!(loaded.len(), 3);
        // The next run records under the generation after the one saved.
        assert_eq!(loaded.generation(), 5);
        let text = std::fs::read_to_string(&written).unwrap();
        assert!(text.contains(r#""on":["u1"],"off":["u2"]"#), "{text}");
    }

    #[test]
    fn a_missing_file_is_an_empty_cache_without_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, warning) = load(&dir.path().join("nowhere"), &key());
        assert!(cache.is_empty());
        assert_eq!(warning, None);
    }

    fn refused(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path(), &key()), text).unwrap();
        let (cache, warning) = load(dir.path(), &key());
        assert!(cache.is_empty(), "{text}");
        let warning = warning.unwrap_or_else(|| panic!("no warning for {text}"));
        assert!(warning.contains("ignored the MFA cache"), "{warning}");
        warning
    }

    #[test]
    fn a_cache_that_cannot_be_trusted_is_ignored_whole_with_a_warning() {
        let good = String::from_utf8(to_bytes(&sample())).unwrap();
        assert!(refused("{\"format\": ").contains("not a cache file"));
        assert!(refused(&good[..good.len() / 2]).contains("not a cache file"));
        assert!(refused("[1, 2, 3]").contains("not an authing-sync MFA cache"));
        assert!(refused(r#"{"format":"terraform"}"#).contains("not an authing-sync MFA cache"));
        assert!(refused(&good.replace("\"version\":1", "\"version\":9")).contains("version 9"));
        assert!(
            refused(&good.replace("pool-a", "pool-b")).contains("belongs to pool pool-b"),
            "another pool's cache"
        );
        assert!(refused(&good.replace("\"v1\"", "\"v3\"")).contains("(v3 API)"));
        assert!(refused(&good.replace("127.0.0.1:4000", "10.0.0.1")).contains("belongs to"));
        assert!(refused(&good.replace("\"u3\"", "\"u1\"")).contains("appears twice"));
        assert!(refused(&good.replace("2026-11-27T03", "yesterday")).contains("not a time"));
        assert!(
            refused(&good.replace("\"generation\":4,\"groups\"", "\"generation\":1,\"groups\""))
                .contains("newer than the file")
        );
        assert!(refused(&good.replace("\"u2\"", "\"\"")).contains("not a user id"));
        assert!(
            refused(&good.replace("\"groups\"", "\"extra\":1,\"groups\""))
                .contains("not a cache file")
        );
    }

    #[test]
    fn file_names_never_leave_the_directory() {
        let key = CacheKey::new("v1", "local", "../../etc/passwd");
        let name = key.file_name();
        assert!(name.starts_with("mfa-v1-______etc_passwd-"), "{name}");
        assert!(!name.contains('/'), "{name}");
    }

    #[test]
    fn two_endpoints_with_the_same_pool_id_keep_two_files() {
        let a = CacheKey::new("v1", "https://a.example.com/graphql", "pool1");
        let b = CacheKey::new("v1", "https://b.example.com/graphql", "pool1");
        assert_ne!(a.file_name(), b.file_name());
        // The credential-like parts never make a different file.
        let a_key = CacheKey::new("v1", "https://a.example.com/graphql?apikey=1", "pool1");
        assert_eq!(a.file_name(), a_key.file_name());
        let dir = tempfile::tempdir().unwrap();
        let mut one = MfaCache::empty(a.clone());
        one.record(UserId::new("u1"), true, at("2026-11-27T02:00:00Z"));
        save(dir.path(), &one).unwrap();
        save(dir.path(), &MfaCache::empty(b.clone())).unwrap();
        let (loaded, warning) = load(dir.path(), &a);
        assert_eq!((loaded.len(), warning), (1, None), "b did not overwrite a");
    }

    #[test]
    fn credentials_in_the_endpoint_are_never_stored_or_printed() {
        let secret = "https://user:pw@h.example.com:8443/graphql?apikey=SECRET123#frag";
        assert_eq!(
            sanitise_endpoint(secret),
            "https://h.example.com:8443/graphql"
        );
        assert_eq!(sanitise_endpoint("local"), "local");
        assert_eq!(sanitise_endpoint("weird?apikey=SECRET123"), "weird");
        let dir = tempfile::tempdir().unwrap();
        let key = CacheKey::new("v1", secret, "pool-a");
        let written = save(dir.path(), &MfaCache::empty(key)).unwrap();
        let text = std::fs::read_to_string(&written).unwrap();
        assert!(
            !text.contains("SECRET123") && !text.contains("pw@"),
            "{text}"
        );
        // A warning naming the pool shows the sanitised endpoint only.
        let other = CacheKey::new("v1", "https://x.example.com/?token=TOPSECRET", "pool-a");
        std::fs::copy(&written, path(dir.path(), &other)).unwrap();
        let (_, warning) = load(dir.path(), &other);
        let warning = warning.unwrap();
        assert!(warning.contains("belongs to"), "{warning}");
        assert!(!warning.contains("SECRET"), "{warning}");
    }

    #[test]
    fn a_run_number_with_no_room_for_the_next_is_corrupt() {
        let good = String::from_utf8(to_bytes(&sample())).unwrap();
        let max = u64::MAX;
        let text = good.replace(
            "\"generation\":4,\"groups\"",
            &format!("\"generation\":{max},\"groups\""),
        );
        assert!(refused(&text).contains("no room for the next run"));
        // Just below is still a cache, and the next run records above it.
        let below = max - 1;
        let text = good.replace(
            "\"generation\":4,\"groups\"",
            &format!("\"generation\":{below},\"groups\""),
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path(), &key()), text).unwrap();
        let (cache, warning) = load(dir.path(), &key());
        assert_eq!(warning, None);
        assert_eq!(cache.generation(), max);
    }

    #[test]
    fn a_file_larger_than_the_cap_is_ignored_unread() {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(path(dir.path(), &key())).unwrap();
        // Sparse: nothing is written, and nothing may be read.
        file.set_len(MAX_BYTES + 1).unwrap();
        let (cache, warning) = load(dir.path(), &key());
        assert!(cache.is_empty());
        let warning = warning.unwrap();
        assert!(warning.contains("larger than 256 MiB"), "{warning}");
        // The bounded reader stops at the limit whatever the metadata says.
        std::fs::write(dir.path().join("small"), b"0123456789").unwrap();
        assert_eq!(read_capped(&dir.path().join("small"), 9).unwrap(), None);
        assert_eq!(
            read_capped(&dir.path().join("small"), 10)
                .unwrap()
                .map(|b| b.len()),
            Some(10)
        );
    }

    #[test]
    fn a_cache_directory_that_cannot_be_written_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(writable(&dir.path().join("new/deeper")), Ok(()));
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let why = writable(&file).unwrap_err();
        assert!(
            why.contains("is not a directory") && why.contains("a-file"),
            "{why}"
        );
        let under = writable(&file.join("sub")).unwrap_err();
        assert!(
            under.contains("cannot be created") && under.contains("a-file/sub"),
            "{under}"
        );
        let link = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let why = writable(&link).unwrap_err();
        assert!(
            why.contains("dangling symbolic link") && why.contains("nowhere"),
            "{why}"
        );
    }
}
