//! The MFA cache on disk: `<cache-dir>/mfa-<api>-<pool id>.json`, one file per pool and API.
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
//! Nothing else is in it: no secret, no email, no name. Loading never fails: a file that cannot
//! be read, is not such a file, comes from another version, names another pool, or contradicts
//! itself (an id twice, a group newer than the file) is ignored as a whole with a warning, and
//! the plan reads every switch it would have given. Writing goes through `atomic`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::UserId;

use super::{Known, MfaCache};

/// What the `format` field says.
pub const FORMAT: &str = "authing-sync-mfa-cache";
/// The version of the file's shape this build reads and writes.
pub const VERSION: u32 = 1;

/// Which pool, through which API, a cache belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// `v1` (GraphQL) or `v3` (management REST).
    pub api: String,
    /// The endpoint as the saved plans name it (`local` for the embedded emulator).
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
            endpoint: endpoint.into(),
            pool: pool.into(),
        }
    }

    /// The file's name: the API and the pool id, with anything but ASCII letters, digits, `-`
    /// and `_` replaced (two pools whose ids differ only there share a name; the file's own
    /// key tells them apart).
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
        format!("mfa-{}-{}.json", clean(&self.api), clean(&self.pool))
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
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
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
        assert_eq!(written, dir.path().join("mfa-v1-pool-a.json"));
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
        assert_eq!(key.file_name(), "mfa-v1-______etc_passwd.json");
    }
}
