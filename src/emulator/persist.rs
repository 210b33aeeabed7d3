//! The `--state FILE`: a snapshot plus an append-only journal, so every acknowledged mutation
//! survives even `kill -9`.
//!
//! - `FILE` is a JSON snapshot (format tag, journal sequence number, the signing and RSA keys,
//!   the pool). It is only ever replaced whole: written to a temp file in the same directory,
//!   fsynced, then renamed over `FILE`, so a crash mid-write leaves the old snapshot intact.
//! - `FILE.journal` gets one JSON line per [`Event`] (`{"seq":N,"event":{...}}`), written with
//!   one `write` call before the response goes out (no fsync: the OS keeps the data when the
//!   process dies). At start the lines newer than the snapshot are replayed; a torn last line is
//!   ignored and cut off. Compaction (a new snapshot, then an empty journal) happens at graceful
//!   shutdown and whenever the journal passes [`COMPACT_AT_BYTES`].

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::event::Event;
use super::store::{Store, StoreParts, StorePartsRef};
use crate::secret::Secret;

const FORMAT: &str = "authing-sync-emulator-state";
const VERSION: u32 = 1;

/// The journal is folded into a new snapshot once it is this large.
pub const COMPACT_AT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("failed to read the state file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse the state file {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "state file {path} is not an emulator state file (format {found:?}, version {version})"
    )]
    Format {
        path: PathBuf,
        found: String,
        version: u32,
    },
    #[error("failed to write the state file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The secrets the state file keeps so tokens and encrypted passwords stay valid across a
/// restart.
#[derive(Debug, Clone)]
pub struct SavedKeys {
    pub signing_key: Secret,
    pub rsa_private_key: Secret,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotOut<'a> {
    format: &'static str,
    version: u32,
    seq: u64,
    signing_key: &'a str,
    rsa_private_key: &'a str,
    pool: StorePartsRef<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotIn {
    format: String,
    version: u32,
    seq: u64,
    signing_key: String,
    rsa_private_key: String,
    pool: StoreParts,
}

#[derive(Serialize, Deserialize)]
struct JournalLine<'a> {
    seq: u64,
    event: std::borrow::Cow<'a, Event>,
}

/// What [`Persistence::open`] found.
pub struct Opened {
    pub persistence: Persistence,
    pub store: Store,
}

/// An open state file and its journal.
pub struct Persistence {
    path: PathBuf,
    journal_path: PathBuf,
    journal: File,
    journal_bytes: u64,
    compact_at: u64,
    seq: u64,
    keys: SavedKeys,
}

impl std::fmt::Debug for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persistence")
            .field("path", &self.path)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

impl Persistence {
    /// Loads `path` (if it exists) and replays its journal. A new state file gets the keys
    /// `new_keys` makes and is written at once, so the keys are durable before any token exists.
    pub fn open(path: &Path, new_keys: impl FnOnce() -> SavedKeys) -> Result<Opened, PersistError> {
        let journal_path = journal_path(path);
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| PersistError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let (keys, mut store, snapshot_seq, fresh) = match read_snapshot(path)? {
            Some(snapshot) => (
                SavedKeys {
                    signing_key: Secret::from(snapshot.signing_key),
                    rsa_private_key: Secret::from(snapshot.rsa_private_key),
                },
                Store::from_parts(snapshot.pool),
                snapshot.seq,
                false,
            ),
            None => (new_keys(), Store::default(), 0, true),
        };
        let (seq, good_len) = replay(&journal_path, snapshot_seq, &mut store)?;
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let journal = options
            .open(&journal_path)
            .map_err(|source| PersistError::Write {
                path: journal_path.clone(),
                source,
            })?;
        journal
            .set_len(good_len)
            .map_err(|source| PersistError::Write {
                path: journal_path.clone(),
                source,
            })?;
        let mut persistence = Persistence {
            path: path.to_path_buf(),
            journal_path,
            journal,
            journal_bytes: good_len,
            compact_at: COMPACT_AT_BYTES,
            seq: seq.max(snapshot_seq),
            keys,
        };
        if fresh {
            persistence.snapshot(&store)?;
        }
        Ok(Opened { persistence, store })
    }

    pub fn keys(&self) -> &SavedKeys {
        &self.keys
    }

    /// Appends events to the journal in one write.
    pub fn record(&mut self, events: &[Event]) -> Result<(), PersistError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut buffer = Vec::new();
        for event in events {
            self.seq += 1;
            let line = JournalLine {
                seq: self.seq,
                event: std::borrow::Cow::Borrowed(event),
            };
            serde_json::to_writer(&mut buffer, &line).map_err(|source| PersistError::Write {
                path: self.journal_path.clone(),
                source: source.into(),
            })?;
            buffer.push(b'\n');
        }
        self.journal
            .write_all(&buffer)
            .map_err(|source| PersistError::Write {
                path: self.journal_path.clone(),
                source,
            })?;
        self.journal_bytes += buffer.len() as u64;
        Ok(())
    }

    pub fn compaction_due(&self) -> bool {
        self.journal_bytes >= self.compact_at
    }

    /// Writes a new snapshot atomically, then empties the journal.
    pub fn snapshot(&mut self, store: &Store) -> Result<(), PersistError> {
        let write_error = |source: std::io::Error| PersistError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(write_error)?;
        let temp = tempfile::NamedTempFile::new_in(&dir).map_err(write_error)?;
        {
            let mut writer = BufWriter::with_capacity(1 << 20, temp.as_file());
            let snapshot = SnapshotOut {
                format: FORMAT,
                version: VERSION,
                seq: self.seq,
                signing_key: self.keys.signing_key.expose(),
                rsa_private_key: self.keys.rsa_private_key.expose(),
                pool: store.parts(),
            };
            serde_json::to_writer(&mut writer, &snapshot)
                .map_err(|source| write_error(source.into()))?;
            writer.write_all(b"\n").map_err(write_error)?;
            writer.flush().map_err(write_error)?;
        }
        temp.as_file().sync_all().map_err(write_error)?;
        temp.persist(&self.path)
            .map_err(|error| write_error(error.error))?;
        if let Ok(dir) = File::open(&dir) {
            let _ = dir.sync_all();
        }
        self.journal
            .set_len(0)
            .map_err(|source| PersistError::Write {
                path: self.journal_path.clone(),
                source,
            })?;
        self.journal_bytes = 0;
        Ok(())
    }
}

fn read_snapshot(path: &Path) -> Result<Option<SnapshotIn>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let snapshot: SnapshotIn =
        serde_json::from_slice(&bytes).map_err(|source| PersistError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    if snapshot.format != FORMAT || snapshot.version != VERSION {
        return Err(PersistError::Format {
            path: path.to_path_buf(),
            found: snapshot.format,
            version: snapshot.version,
        });
    }
    Ok(Some(snapshot))
}

/// Applies the journal lines newer than `after`. Returns the last sequence number seen and the
/// length of the well-formed prefix (a torn or garbled tail is ignored from there on).
fn replay(path: &Path, after: u64, store: &mut Store) -> Result<(u64, u64), PersistError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok((after, 0)),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut good_len = 0u64;
    let mut last_seq = after;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| PersistError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 || line.last() != Some(&b'\n') {
            break;
        }
        let Ok(entry) = serde_json::from_slice::<JournalLine<'_>>(&line) else {
            break;
        };
        if entry.seq > after {
            store.apply(&entry.event);
        }
        last_seq = last_seq.max(entry.seq);
        good_len += read as u64;
    }
    Ok((last_seq, good_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::store::UserRecord;

    fn keys() -> SavedKeys {
        SavedKeys {
            signing_key: Secret::new("signing"),
            rsa_private_key: Secret::new("rsa"),
        }
    }

    fn put(id: &str) -> Event {
        Event::PutUser {
            id: id.into(),
            user: Box::new(UserRecord {
                email: Some(format!("{id}@example.com")),
                ..UserRecord::default()
            }),
        }
    }

    #[test]
    fn journal_survives_without_a_snapshot_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pool.json");
        {
            let mut opened = Persistence::open(&path, keys).expect("open");
            assert_eq!(opened.store.user_count(), 0);
            let events = [put("a"), put("b")];
            opened.persistence.record(&events).expect("record");
            // Simulate a crash mid-write: half a line at the end, never completed.
        }
        let journal = journal_path(&path);
        let mut file = OpenOptions::new()
            .append(true)
            .open(&journal)
            .expect("journal");
        file.write_all(br#"{"seq":3,"event":{"op":"put_us"#)
            .expect("torn");
        drop(file);

        let mut opened = Persistence::open(&path, keys).expect("reopen");
        assert_eq!(opened.store.user_count(), 2);
        assert_eq!(opened.persistence.keys().signing_key.expose(), "signing");
        // The torn tail was cut, so the next append starts on a clean line.
        opened.persistence.record(&[put("c")]).expect("record");
        drop(opened);
        let opened = Persistence::open(&path, keys).expect("reopen again");
        assert_eq!(opened.store.user_count(), 3);
    }

    #[test]
    fn snapshot_folds_the_journal_and_is_not_replayed_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pool.json");
        let mut opened = Persistence::open(&path, keys).expect("open");
        let mut store = opened.store;
        let events = [
            Event::Generate { count: 3 },
            Event::Mail {
                mail: crate::emulator::store::MailRecord {
                    kind: "resetPassword".into(),
                    email: "user1@example.com".into(),
                    at: 1,
                },
            },
        ];
        opened.persistence.record(&events).expect("record");
        for event in &events {
            store.apply(event);
        }
        opened.persistence.snapshot(&store).expect("snapshot");
        assert_eq!(
            std::fs::metadata(journal_path(&path)).expect("meta").len(),
            0
        );
        let again = Persistence::open(&path, keys).expect("reopen");
        assert_eq!(again.store.user_count(), 3);
        assert_eq!(again.store.mailbox().len(), 1);
    }

    #[test]
    fn compaction_becomes_due_as_the_journal_grows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pool.json");
        let opened = Persistence::open(&path, keys).expect("open");
        let (mut persistence, mut store) = (opened.persistence, opened.store);
        persistence.compact_at = 200;
        let mut written = 0;
        while !persistence.compaction_due() {
            let event = put(&format!("u{written}"));
            persistence
                .record(std::slice::from_ref(&event))
                .expect("record");
            store.apply(&event);
            written += 1;
        }
        assert!(written > 1);
        persistence.snapshot(&store).expect("snapshot");
        assert!(!persistence.compaction_due());
        drop(persistence);
        let again = Persistence::open(&path, keys).expect("reopen");
        assert_eq!(again.store.user_count(), written);
    }

    #[test]
    fn creates_missing_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".authing-sync").join("local-pool.json");
        let mut opened = Persistence::open(&path, keys).expect("open");
        opened.persistence.record(&[put("a")]).expect("record");
        assert!(path.exists());
        assert!(journal_path(&path).exists());
    }

    /// A snapshot and journal exactly as the first release of the emulator wrote them (before
    /// the v3 fields): every later field is optional, so such a pool still loads whole.
    #[test]
    fn loads_state_files_of_the_first_format() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pool.json");
        let snapshot = r#"{"format":"authing-sync-emulator-state","version":1,"seq":2,"signingKey":"signing","rsaPrivateKey":"rsa","pool":{"users":{"5c2a3d000000000000000001":{"email":"user1@example.com","username":"user1","nickname":"User 1","company":"Example","emailVerified":false,"signedUp":1546272001},"65f000000000000000000abc":{"email":"ada@example.com","phone":"13900000001","emailVerified":true,"phoneVerified":true,"blocked":true,"password":{"salt":"c2FsdA","hash":"aGFzaA"},"signedUp":1700000000,"lastLogin":1700000100,"loginsCount":3,"lastIp":"127.0.0.1","registerMethod":"default:username-password","tokenExpiredAt":1701296100,"updatedAt":1700000200,"profile":{"unionid":null,"openid":null,"oauth":null,"browser":null,"device":null,"name":"Ada Lovelace","givenName":"Ada","familyName":"Lovelace","middleName":null,"profile":null,"preferredUsername":null,"website":null,"gender":"F","birthdate":"1815-12-10","zoneinfo":null,"locale":null,"address":null,"formatted":null,"streetAddress":null,"locality":"London","region":null,"postalCode":null,"country":"GB"}}},"mfa":[{"id":"65f0000000000000000000ff","userId":"65f000000000000000000abc","userPoolId":"5c9f7e1a2b3c4d5e6f708192","enable":true,"shareKey":"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"}],"whitelist":[{"phone":"13900000001","createdAt":1700000000,"updatedAt":1700000000}],"whitelistState":{"enabled":true,"createdAt":1700000000,"updatedAt":1700000000},"mailbox":[{"kind":"resetPassword","email":"ada@example.com","at":1700000300}]}}
"#;
        let journal = concat!(
            r#"{"seq":3,"event":{"op":"put_user","id":"65f000000000000000000abd","user":{"email":"bob@example.com","emailVerified":false,"signedUp":1700000400,"profile":{"givenName":"Bob"}}}}"#,
            "\n",
            r#"{"seq":4,"event":{"op":"remove_users","ids":["5c2a3d000000000000000001"]}}"#,
            "\n",
        );
        std::fs::write(&path, snapshot).expect("snapshot");
        std::fs::write(journal_path(&path), journal).expect("journal");
        let opened = Persistence::open(&path, keys).expect("open");
        let store = &opened.store;
        assert_eq!(store.user_count(), 2);
        let ada = store.user("65f000000000000000000abc").expect("ada");
        assert_eq!(ada.profile().given_name.as_deref(), Some("Ada"));
        assert_eq!(ada.profile().locality.as_deref(), Some("London"));
        assert!(ada.phone_verified && ada.blocked && ada.password.is_some());
        assert_eq!(
            store.id_by_phone("13900000001").map(String::as_str),
            Some("65f000000000000000000abc")
        );
        let bob = store.user("65f000000000000000000abd").expect("bob");
        assert_eq!(bob.profile().given_name.as_deref(), Some("Bob"));
        assert!(store.mfa_of("65f000000000000000000abc").is_some());
        assert!(store.whitelist_state().enabled);
        assert_eq!(store.mailbox().len(), 1);
    }

    #[test]
    fn refuses_a_foreign_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pool.json");
        std::fs::write(&path, "{\"hello\": 1}").expect("write");
        assert!(Persistence::open(&path, keys).is_err());
    }
}
