//! `--api v3` end to end: the real binary against the emulator's v3 face, the pool read back
//! with plain GraphQL (v1), independently of the client under test. The same manifests as v1,
//! the same plan and exit codes, a second plan empty, export round trips (through both APIs);
//! the fewest calls from the emulator's stats; what v3 cannot do refused at plan time with the
//! manifest place and nothing sent; a creation batch refused as a whole reported per user and
//! converging on a re-run; v3 answers the emulator never gives (a scripted server).

use serde_json::{Value, json};

use crate::support::scripted::{Scripted, respond};
use crate::support::{
    Api, CLIENT_ID, Emulator, Sync, encrypt_password, operation_count, pool, read_pool, temp_dir,
    write_file, writes,
};

/// Users and whitelist phones only: what both APIs do.
const MANIFEST: &str = r#"version: 1
users:
  - email: user1@example.com
  - email: user2@example.com
    nickname: Second User
    company: Example Two
  - email: user3@example.com
    blocked: true
    gender: F
    locality: Paris
  - email: User4@Example.com
    email_verified: true
  - email: user5@example.com
    phone: "+1 415-555-0100"
  - email: user6@example.com
  - email: user7@example.com
  - email: user8@example.com
  - email: user9@example.com
  - email: user10@example.com
  - email: new1@example.com
    username: new1
    nickname: New One
    email_verified: true
    blocked: true
    password: ${NEW1_PASSWORD}
  - email: new2@example.com
    nickname: New Two
    phone: "13800000002"
whitelist:
  phones: ["13800000002", "+86 139-0000-0001"]
prune:
  enabled: true
  max_deletes: 5
  protect: [user12@example.com]
  scope: "*@example.com"
"#;

/// The lines of a plan that do not depend on the API (the cost line names its requests).
fn plan_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|line| !line.contains("API call"))
        .collect()
}

async fn seeded(users: u64) -> Emulator {
    let emulator = Emulator::builder().generate(users).start();
    pool::whitelist_add(&emulator, "13700000000").await;
    emulator
}

#[tokio::test]
async fn v3_plans_applies_and_exports_like_v1_with_the_same_manifest() {
    let on_v1 = seeded(12).await;
    let on_v3 = seeded(12).await;
    let dir = temp_dir();
    let manifest = write_file(dir.path(), "pool.yaml", MANIFEST);
    let plan = |emulator: &Emulator, api| {
        Sync::on_api(emulator, dir.path(), api)
            .args(["plan", "-f", &manifest, "--detailed-exitcode"])
            .env("NEW1_PASSWORD", "first-day-password-1")
            .run()
    };
    let v1 = plan(&on_v1, Api::V1).expect(2);
    let v3 = plan(&on_v3, Api::V3).expect(2);
    assert!(
        v3.stdout
            .contains("Plan: 2 to create, 4 to update, 1 to delete, MFA +0 -0, whitelist +2 -1"),
        "{}",
        v3.stdout
    );
    assert_eq!(plan_lines(&v1.stdout), plan_lines(&v3.stdout));

    let apply = Sync::on_api(&on_v3, dir.path(), Api::V3)
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .env("NEW1_PASSWORD", "first-day-password-1")
        .run()
        .expect(0);
    assert!(apply.stderr.contains("Apply complete"), "{}", apply.stderr);
    assert!(!format!("{}{}", apply.stdout, apply.stderr).contains("first-day-password-1"));

    // Read back through v1, not through the client under test.
    let pool = read_pool(&on_v3, false).await;
    assert_eq!(pool.users.len(), 13, "12 generated, 2 created, 1 deleted");
    let second = pool.user("user2@example.com");
    assert_eq!(
        (second.nickname.as_deref(), second.company.as_deref()),
        (Some("Second User"), Some("Example Two"))
    );
    assert!(pool.user("user3@example.com").blocked);
    assert!(pool.user("user4@example.com").email_verified);
    assert_eq!(
        pool.user("user5@example.com").phone.as_deref(),
        Some("+14155550100")
    );
    let new1 = pool.user("new1@example.com");
    assert_eq!(new1.username.as_deref(), Some("new1"));
    assert!(new1.email_verified && new1.blocked);
    assert_eq!(
        pool.user("new2@example.com").phone.as_deref(),
        Some("13800000002")
    );
    assert!(!pool.has("user11@example.com") && pool.has("user12@example.com"));
    assert_eq!(pool.whitelist, ["13800000002", "13900000001"]);
    assert!(!pool.whitelist_enabled, "v3 never touches the switch");
    let raw = pool::raw_users(&on_v3, "email gender locality").await;
    let third = raw
        .iter()
        .find(|user| user["email"] == "user3@example.com")
        .expect("user3");
    assert_eq!(
        (&third["gender"], &third["locality"]),
        (&json!("F"), &json!("Paris"))
    );

    // The declared password is the one the user can log in with (blocked users cannot, so
    // unblock first through v1).
    let owner = pool::owner(&on_v3).await;
    pool::query(
        &owner,
        "mutation ($id: String!, $client: String!) { updateUser(options: {_id: $id, registerInClient: $client, blocked: false}) { _id } }",
        json!({"id": new1.id, "client": CLIENT_ID}),
    )
    .await;
    let public_key = on_v3.public_key().await;
    let login = on_v3
        .gql()
        .query(
            "mutation ($email: String, $password: String, $registerInClient: String!) { login(email: $email, password: $password, registerInClient: $registerInClient) { _id } }",
            json!({"email": "new1@example.com", "password": encrypt_password(&public_key, "first-day-password-1"), "registerInClient": CLIENT_ID}),
        )
        .await;
    assert_eq!(login.ok("login")["_id"], Value::from(new1.id.clone()));
    pool::query(
        &owner,
        "mutation ($id: String!, $client: String!) { updateUser(options: {_id: $id, registerInClient: $client, blocked: true}) { _id } }",
        json!({"id": new1.id, "client": CLIENT_ID}),
    )
    .await;

    // A second plan is empty, through either API.
    for api in [Api::V3, Api::V1] {
        let again = plan(&on_v3, api).expect(0);
        assert!(
            again.stdout.starts_with("No changes."),
            "{api:?}: {}",
            again.stdout
        );
    }

    // Export through v3, plan it back through both APIs: no changes.
    Sync::on_api(&on_v3, dir.path(), Api::V3)
        .args(["export", "--with-whitelist", "--out", "exported.yaml"])
        .run()
        .expect(0);
    let exported = std::fs::read_to_string(dir.path().join("exported.yaml")).expect("export");
    assert!(
        !exported.contains("enabled:"),
        "v3 cannot read the switch:\n{exported}"
    );
    assert!(exported.contains("locality: \"Paris\""), "{exported}");
    for api in [Api::V3, Api::V1] {
        let run = Sync::on_api(&on_v3, dir.path(), api)
            .args([
                "plan",
                "-f",
                "exported.yaml",
                "--prune",
                "--detailed-exitcode",
            ])
            .run()
            .expect(0);
        assert!(
            run.stdout.starts_with("No changes."),
            "{api:?}: {}",
            run.stdout
        );
    }
    // And the CSV export of v3 equals v1's.
    let csv = |api| {
        Sync::on_api(&on_v3, dir.path(), api)
            .args(["export", "--format", "csv"])
            .run()
            .expect(0)
            .stdout
    };
    assert_eq!(csv(Api::V3), csv(Api::V1));
}

#[tokio::test]
async fn v3_reads_creates_and_deletes_with_the_fewest_calls() {
    let emulator = Emulator::builder().generate(120).start();
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nprune:\n  enabled: true\n  max_deletes: 60\nusers:\n");
    for i in 1..=60 {
        yaml.push_str(&format!("  - email: user{i}@example.com\n"));
    }
    for i in 1..=3 {
        yaml.push_str(&format!(
            "  - email: user{i}x@example.com\n    mfa: false\n"
        ));
    }
    for i in 1..=117 {
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    nickname: Hire {i}\n    email_verified: true\n"
        ));
    }
    let manifest = write_file(dir.path(), "pool.yaml", &yaml);
    let run = Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .run()
        .expect(0);
    assert!(
        run.stdout
            .contains("Plan: 120 to create, 0 to update, 60 to delete"),
        "{}",
        run.stdout
    );
    let stats = emulator.stats().await;
    let count = |name| operation_count(&stats, name);
    // Reading 120 users: 1 token + ceil(120/50) pages; no MFA read (the three users whose MFA
    // is managed are new).
    assert_eq!(count("get-management-token"), 1, "{stats}");
    assert_eq!(count("list-users"), 3, "{stats}");
    assert_eq!(count("get-user-mfa-info"), 0, "{stats}");
    // 120 creations: ceil(120/50) batches; 60 deletions: ceil(60/50) batches; nothing else.
    assert_eq!(count("create-users-batch"), 3, "{stats}");
    assert_eq!(count("delete-users-batch"), 2, "{stats}");
    assert_eq!(
        stats["total"].as_u64(),
        Some(1 + 3 + 3 + 2),
        "nothing else was sent: {stats}"
    );
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 180);
    assert!(pool.user("hire117@example.com").email_verified);

    // The MFA of managed users is read, one call each, and only theirs.
    let before = emulator.stats().await;
    Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
    let after = emulator.stats().await;
    let delta = |name| operation_count(&after, name) - operation_count(&before, name);
    assert_eq!(delta("get-user-mfa-info"), 3, "{after}");
    assert_eq!(delta("list-users"), 180_u64.div_ceil(50), "{after}");
    assert_eq!(delta("get-management-token"), 1, "{after}");
}

#[tokio::test]
async fn what_v3_cannot_do_is_refused_at_plan_time_with_the_place_and_nothing_sent() {
    let emulator = seeded(3).await;
    let dir = temp_dir();
    let switch = write_file(
        dir.path(),
        "switch.yaml",
        "version: 1\nwhitelist:\n  enabled: true\n  phones: []\nusers:\n  - email: user1@example.com\n    gender: other\n",
    );
    let before = emulator.stats().await["total"].as_u64();
    for args in [
        vec!["plan", "-f", &switch],
        vec!["apply", "-f", &switch, "--auto-approve"],
    ] {
        let run = Sync::on_api(&emulator, dir.path(), Api::V3)
            .args(args)
            .run()
            .expect(1);
        assert!(run.stderr.contains("switch.yaml:3:3"), "{}", run.stderr);
        assert!(run.stderr.contains("switch.yaml:7:5"), "{}", run.stderr);
        assert!(run.stderr.contains("whitelist switch"), "{}", run.stderr);
        assert!(run.stderr.contains("takes only M, F"), "{}", run.stderr);
    }
    assert_eq!(
        emulator.stats().await["total"].as_u64(),
        before,
        "nothing was sent"
    );
    // validate says so offline with --api v3, and only then.
    Sync::new(dir.path())
        .args(["validate", "-f", &switch])
        .run()
        .expect(0);
    let validate = Sync::new(dir.path())
        .args(["validate", "-f", &switch, "--api", "v3"])
        .run()
        .expect(1);
    assert!(
        validate.stderr.contains("switch.yaml:3:3"),
        "{}",
        validate.stderr
    );
    // CSV places name the cell.
    let csv = write_file(
        dir.path(),
        "hr.csv",
        "email,nickname,gender\nuser1@example.com,One,male\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", &csv, "--api", "v3"])
        .run()
        .expect(1);
    assert!(run.stderr.contains("hr.csv:2:23"), "{}", run.stderr);

    // An MFA change is known once the pool is read: refused then, before any write.
    let mfa = write_file(
        dir.path(),
        "mfa.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    nickname: Changed\n    mfa: true\n  - email: user2@example.com\n    mfa: false\n",
    );
    let writes_before = writes(&emulator.stats().await);
    let run = Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["apply", "-f", &mfa, "--auto-approve"])
        .run()
        .expect(1);
    assert!(run.stderr.contains("mfa.yaml:5:5"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("mfa.yaml:7"),
        "no change, no refusal: {}",
        run.stderr
    );
    assert_eq!(
        writes(&emulator.stats().await),
        writes_before,
        "nothing written"
    );
    // The same manifest through v1 is fine.
    Sync::on_api(&emulator, dir.path(), Api::V1)
        .args(["plan", "-f", &mfa])
        .run()
        .expect(0);
    // --send-reset-email has no v3 call: refused before connecting.
    let run = Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["apply", "-f", &mfa, "--auto-approve", "--send-reset-email"])
        .run()
        .expect(1);
    assert!(run.stderr.contains("--send-reset-email"), "{}", run.stderr);
}

#[tokio::test]
async fn a_creation_conflict_is_refused_before_any_batch_and_the_fixed_manifest_converges() {
    let emulator = seeded(2).await;
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nusers:\n");
    for i in 1..=6 {
        // hire4 asks for a username that user1 holds.
        let username = if i == 4 {
            "user1".to_string()
        } else {
            format!("hire{i}")
        };
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    username: {username}\n"
        ));
    }
    let manifest = write_file(dir.path(), "hires.yaml", &yaml);
    // A conflict the plan can see is a plan error naming the holder (issue 14, item 5): the
    // batch is never sent. (A batch refused as a whole for a reason the plan cannot see is then
    // sent again user by user; no emulator answer reaches that path any more.)
    let run = Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["apply", "-f", &manifest, "--auto-approve"])
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("hire4@example.com") && run.stderr.contains("user1@example.com"),
        "the error names the creation and the holder:\n{}",
        run.stderr
    );
    let stats = emulator.stats().await;
    assert_eq!(operation_count(&stats, "create-users-batch"), 0, "{stats}");
    assert_eq!(operation_count(&stats, "create-user"), 0, "{stats}");
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 2);

    let fixed = write_file(
        dir.path(),
        "hires.yaml",
        &yaml.replace("username: user1", "username: hire4"),
    );
    Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["apply", "-f", &fixed, "--auto-approve"])
        .run()
        .expect(0);
    Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["plan", "-f", &fixed, "--detailed-exitcode"])
        .run()
        .expect(0);
}

/// The base URL of a scripted server (v3 paths are appended to it).
fn base(server: &Scripted) -> String {
    server.url.trim_end_matches("/graphql").to_string()
}

#[tokio::test]
async fn a_v3_error_is_read_from_the_envelope_even_under_http_200() {
    // The token is granted; the listing answers HTTP 200 with statusCode 403.
    let server = Scripted::start(|seen, stream| {
        let path = seen
            .request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default();
        let body = if path.starts_with("/api/v3/get-management-token") {
            json!({"statusCode": 200, "message": "操作成功", "data": {"access_token": "opaque-token", "expires_in": 7200}})
        } else {
            json!({"statusCode": 403, "apiCode": 2333, "message": "没有权限", "requestId": "r1"})
        };
        respond(stream, &body.to_string())
    });
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    let run = Sync::new(dir.path())
        .args([
            "plan",
            "-f",
            &manifest,
            "--api",
            "v3",
            "--endpoint",
            &base(&server),
        ])
        .args(["--client-id", CLIENT_ID])
        .env("AUTHING_SECRET", "pool-secret-for-the-test")
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("list-users") && run.stderr.contains("statusCode 403"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("pool-secret-for-the-test"));
    let seen = server.seen();
    let token = &seen[0];
    assert!(
        token
            .request_line
            .starts_with("POST /api/v3/get-management-token")
    );
    assert_eq!(token.json()["accessKeyId"], CLIENT_ID);
    let list = &seen[1];
    assert!(
        list.request_line.starts_with("POST /api/v3/list-users"),
        "{list:?}"
    );
    assert_eq!(list.bearer().as_deref(), Some("opaque-token"));
    assert!(
        list.headers
            .iter()
            .any(|header| header
                .eq_ignore_ascii_case(&format!("x-authing-userpool-id: {CLIENT_ID}"))),
        "{list:?}"
    );
    assert_eq!(list.json()["options"]["pagination"]["limit"], 50);
    assert_eq!(seen.len(), 2, "a permanent refusal is not retried");

    // A wrong secret: the token call fails in its envelope, and that is fatal at once.
    let refused = Scripted::start(|_, stream| {
        respond(
            stream,
            &json!({"statusCode": 401, "message": "accessKeyId 或 accessKeySecret 错误"})
                .to_string(),
        )
    });
    let run = Sync::new(dir.path())
        .args([
            "plan",
            "-f",
            &manifest,
            "--api",
            "v3",
            "--endpoint",
            &base(&refused),
        ])
        .args(["--client-id", CLIENT_ID])
        .env("AUTHING_SECRET", "wrong")
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("authentication failed"),
        "{}",
        run.stderr
    );
    assert_eq!(refused.seen().len(), 1);
}

#[tokio::test]
async fn a_user_created_without_a_photo_through_v3_can_be_given_one_later() {
    // v3 gives a new user the default avatar: that is no copy of a declared photo.
    let emulator = seeded(0).await;
    let dir = temp_dir();
    let bare = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: ph4@example.com\n",
    );
    Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["apply", "-f", &bare, "--auto-approve"])
        .run()
        .expect(0);
    let with_photo = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: ph4@example.com\n    photo: https://example.com/p4.png\n",
    );
    let plan = Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["plan", "-f", &with_photo, "--detailed-exitcode"])
        .run()
        .expect(2);
    assert!(plan.stdout.contains("photo"), "{}", plan.stdout);
    Sync::on_api(&emulator, dir.path(), Api::V3)
        .args(["apply", "-f", &with_photo, "--auto-approve"])
        .run()
        .expect(0);
    for api in [Api::V3, Api::V1] {
        Sync::on_api(&emulator, dir.path(), api)
            .args(["plan", "-f", &with_photo, "--detailed-exitcode"])
            .run()
            .expect(0);
    }
}

#[tokio::test]
async fn a_lower_case_gender_is_read_as_its_upper_case_letter_on_both_apis() {
    let dir = temp_dir();
    let yaml = write_file(
        dir.path(),
        "pool.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    gender: m\n  - email: new1@example.com\n    gender: \" f \"\n",
    );
    let csv = write_file(
        dir.path(),
        "hr.csv",
        "email,gender\nuser2@example.com, f \n",
    );
    for api in [Api::V3, Api::V1] {
        let emulator = seeded(2).await;
        Sync::on_api(&emulator, dir.path(), api)
            .args(["apply", "-f", &yaml, "-f", &csv, "--auto-approve"])
            .run()
            .expect(0);
        let raw = pool::raw_users(&emulator, "email gender").await;
        let gender = |email: &str| {
            raw.iter()
                .find(|user| user["email"] == email)
                .map(|user| user["gender"].clone())
                .unwrap_or_default()
        };
        assert_eq!(gender("user1@example.com"), json!("M"), "{api:?}");
        assert_eq!(gender("user2@example.com"), json!("F"), "{api:?}");
        assert_eq!(gender("new1@example.com"), json!("F"), "{api:?}");
        // Through either API, a second plan sees no change.
        for again in [Api::V3, Api::V1] {
            let run = Sync::on_api(&emulator, dir.path(), again)
                .args(["plan", "-f", &yaml, "-f", &csv, "--detailed-exitcode"])
                .run()
                .expect(0);
            assert!(
                run.stdout.starts_with("No changes."),
                "{api:?} then {again:?}: {}",
                run.stdout
            );
        }
    }
    // What v3 does not take is still refused on v3 (`u` as the `U` it means), and kept on v1.
    let other = write_file(
        dir.path(),
        "other.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n    gender: male\n  - email: user2@example.com\n    gender: u\n",
    );
    let run = Sync::new(dir.path())
        .args(["validate", "-f", &other, "--api", "v3"])
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("other.yaml:4:5: `gender: male`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("other.yaml:6:5: `gender: U`"),
        "{}",
        run.stderr
    );
    Sync::new(dir.path())
        .args(["validate", "-f", &other, "--api", "v1"])
        .run()
        .expect(0);
}

/// A scripted v3 pool for the answers the emulator never gives: `create-users-batch` refused as
/// a whole when any of its users has a username the server will not take (`400 参数 username
/// 格式错误`, the shape `authing-v3-facts.md` §3 lists for a refused parameter; the emulator now
/// refuses nothing the plan cannot see), `create-user` refusing only that user, and
/// `delete-users-batch` refused as a whole when it holds a user the server keeps.
#[derive(Default)]
struct BatchRefuser {
    users: Vec<Value>,
    next: u64,
    /// Paths in arrival order, with the number of users a batch carried.
    calls: Vec<(String, usize)>,
}

/// The username the scripted server refuses, and the user it will not delete.
const REFUSED_USERNAME: &str = "bad name!";
const KEPT_ID: &str = "u-kept";

impl BatchRefuser {
    fn answer(&mut self, path: &str, body: &Value) -> Value {
        let ok = |data: Value| json!({"statusCode": 200, "message": "操作成功", "data": data});
        let refused = json!({"statusCode": 400, "apiCode": 2000, "message": "参数 username 格式错误", "requestId": "r-batch"});
        let bad = |user: &Value| user["username"] == REFUSED_USERNAME;
        match path {
            "/api/v3/get-management-token" => {
                ok(json!({"access_token": "scripted-token", "expires_in": 7200}))
            }
            "/api/v3/list-users" => {
                let wanted: Option<Vec<Value>> =
                    body["advancedFilter"][0]["value"].as_array().cloned();
                let page = body["options"]["pagination"]["page"].as_u64().unwrap_or(1) as usize;
                let matching: Vec<Value> = self
                    .users
                    .iter()
                    .filter(|user| {
                        wanted
                            .as_ref()
                            .is_none_or(|ids| ids.contains(&user["userId"]))
                    })
                    .cloned()
                    .collect();
                let list: Vec<Value> = matching
                    .iter()
                    .skip((page - 1) * 50)
                    .take(50)
                    .cloned()
                    .collect();
                ok(json!({"totalCount": matching.len(), "list": list}))
            }
            "/api/v3/create-users-batch" => {
                let list = body["list"].as_array().cloned().unwrap_or_default();
                self.calls.last_mut().expect("recorded").1 = list.len();
                if list.iter().any(bad) {
                    return refused;
                }
                let created: Vec<Value> = list.iter().map(|user| self.create(user)).collect();
                ok(Value::from(created))
            }
            "/api/v3/create-user" => {
                if bad(body) {
                    return refused;
                }
                ok(self.create(body))
            }
            "/api/v3/delete-users-batch" => {
                let ids = body["userIds"].as_array().cloned().unwrap_or_default();
                self.calls.last_mut().expect("recorded").1 = ids.len();
                if ids.iter().any(|id| id == KEPT_ID) {
                    return json!({"statusCode": 400, "apiCode": 2000, "message": "参数 userIds 格式错误", "requestId": "r-delete"});
                }
                self.users.retain(|user| !ids.contains(&user["userId"]));
                ok(json!({"success": true}))
            }
            other => json!({"statusCode": 404, "message": format!("no {other} here")}),
        }
    }

    fn create(&mut self, body: &Value) -> Value {
        self.next += 1;
        let mut user = json!({
            "userId": format!("u-new-{}", self.next),
            "status": "Activated",
            "gender": "U",
            "emailVerified": false,
            "phoneVerified": false,
        });
        for key in ["email", "username", "nickname"] {
            if let Some(value) = body.get(key) {
                user[key] = value.clone();
            }
        }
        self.users.push(user.clone());
        user
    }

    fn count(&self, path: &str) -> usize {
        self.calls
            .iter()
            .filter(|(seen, _)| seen.ends_with(path))
            .count()
    }
}

#[tokio::test]
async fn a_creation_batch_refused_as_a_whole_is_sent_user_by_user_and_the_rerun_converges() {
    let fake = std::sync::Arc::new(std::sync::Mutex::new(BatchRefuser::default()));
    fake.lock().expect("fake").users = vec![
        json!({"userId": "u-old-1", "email": "old1@example.com", "status": "Activated", "gender": "U"}),
        json!({"userId": "u-old-2", "email": "old2@example.com", "status": "Activated", "gender": "U"}),
        json!({"userId": KEPT_ID, "email": "kept@example.com", "status": "Activated", "gender": "U"}),
    ];
    let serving = std::sync::Arc::clone(&fake);
    let server = Scripted::start(move |seen, stream| {
        let path = seen
            .request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut fake = serving.lock().expect("fake");
        fake.calls.push((path.clone(), 0));
        let answer = fake.answer(&path, &seen.json());
        drop(fake);
        respond(stream, &answer.to_string())
    });
    let dir = temp_dir();
    let mut yaml = String::from("version: 1\nprune:\n  enabled: true\nusers:\n");
    for i in 1..=4 {
        let username = if i == 3 {
            REFUSED_USERNAME.to_string()
        } else {
            format!("hire{i}")
        };
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    username: \"{username}\"\n    nickname: Hire {i}\n"
        ));
    }
    let manifest = write_file(dir.path(), "hires.yaml", &yaml);
    let apply = |manifest: &str| {
        Sync::new(dir.path())
            .args(["apply", "-f", manifest, "--auto-approve"])
            .args(["--api", "v3", "--endpoint", &base(&server)])
            .args(["--client-id", CLIENT_ID, "--retries", "1"])
            .env("AUTHING_SECRET", "pool-secret-for-the-test")
            .run()
    };

    let run = apply(&manifest).expect(4);
    let said = &run.stderr;
    // The one user refused on its own is named, with the operation and the server's words.
    assert!(
        said.contains("create-user") && said.contains("hire3@example.com"),
        "{said}"
    );
    assert!(said.contains("参数 username 格式错误"), "{said}");
    assert!(said.contains("3 created"), "{said}");
    {
        let fake = fake.lock().expect("fake");
        // One batch of the four, refused; then each user alone.
        assert_eq!(fake.count("/create-users-batch"), 1, "{:?}", fake.calls);
        assert_eq!(fake.count("/create-user"), 4, "{:?}", fake.calls);
        let emails: Vec<&str> = fake
            .users
            .iter()
            .filter_map(|user| user["email"].as_str())
            .filter(|email| email.starts_with("hire"))
            .collect();
        assert_eq!(
            emails.len(),
            3,
            "the others landed, the refused one did not: {emails:?}"
        );
        assert!(!emails.contains(&"hire3@example.com"));
    }
    // The deletion batch held a user the server keeps: refused as a whole, its users read
    // again and sent one per call; only the kept one is reported, by name.
    assert!(
        said.contains("delete-users-batch kept@example.com: statusCode 400"),
        "{said}"
    );
    assert!(!said.contains("delete old1@example.com"), "{said}");
    assert!(said.contains("2 deleted"), "{said}");
    {
        let fake = fake.lock().expect("fake");
        let batches: Vec<usize> = fake
            .calls
            .iter()
            .filter(|(path, _)| path.ends_with("/delete-users-batch"))
            .map(|(_, users)| *users)
            .collect();
        assert_eq!(batches, [3, 1, 1, 1], "{:?}", fake.calls);
        assert!(
            fake.users
                .iter()
                .all(|user| user["email"] != "old1@example.com"
                    && user["email"] != "old2@example.com")
        );
    }

    // The same manifest again: only the refused user is tried again, nothing made twice.
    let before = fake.lock().expect("fake").calls.len();
    let again = apply(&manifest).expect(4);
    assert!(
        again
            .stdout
            .contains("Plan: 1 to create, 0 to update, 1 to delete"),
        "{}",
        again.stdout
    );
    {
        let fake = fake.lock().expect("fake");
        let creations: Vec<&(String, usize)> = fake.calls[before..]
            .iter()
            .filter(|(path, _)| path.contains("create-user"))
            .collect();
        assert_eq!(
            creations,
            [
                &("/api/v3/create-users-batch".to_string(), 1),
                &("/api/v3/create-user".to_string(), 0)
            ],
            "{:?}",
            fake.calls
        );
    }

    assert!(again.stderr.contains("0 created"), "{}", again.stderr);

    // Fixed (and the kept user declared): the re-run converges, and a plan after it is empty.
    let fixed = write_file(
        dir.path(),
        "hires.yaml",
        &format!(
            "{}  - email: kept@example.com\n",
            yaml.replace(REFUSED_USERNAME, "hire3")
        ),
    );
    let done = apply(&fixed).expect(0);
    assert!(done.stderr.contains("1 created"), "{}", done.stderr);
    let plan = Sync::new(dir.path())
        .args(["plan", "-f", &fixed, "--detailed-exitcode"])
        .args(["--api", "v3", "--endpoint", &base(&server)])
        .args(["--client-id", CLIENT_ID])
        .env("AUTHING_SECRET", "pool-secret-for-the-test")
        .run()
        .expect(0);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
    let fake = fake.lock().expect("fake");
    // (The users created one per call land in any order.)
    let mut emails: Vec<&str> = fake
        .users
        .iter()
        .filter_map(|user| user["email"].as_str())
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        [
            "hire1@example.com",
            "hire2@example.com",
            "hire3@example.com",
            "hire4@example.com",
            "kept@example.com",
        ]
    );
}

#[tokio::test]
async fn every_refusal_that_needs_no_pool_comes_at_once_before_any_request() {
    let emulator = seeded(3).await;
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "all.yaml",
        "version: 1\nwhitelist:\n  enabled: true\nusers:\n  - email: user1@example.com\n    gender: other\n    mfa: true\n  - email: user2@example.com\n    mfa: false\n",
    );
    let csv = write_file(
        dir.path(),
        "hr.csv",
        "email,gender,mfa\nuser3@example.com,x,true\n",
    );
    let before = emulator.stats().await["total"].as_u64();
    let run = Sync::on_api(&emulator, dir.path(), Api::V3)
        .args([
            "apply",
            "-f",
            &manifest,
            "-f",
            &csv,
            "--auto-approve",
            "--send-reset-email",
        ])
        .run()
        .expect(1);
    let said = &run.stderr;
    assert!(said.contains("(4 problems)"), "{said}");
    for place in [
        "all.yaml:3:3",
        "all.yaml:6:5",
        "hr.csv:2:19",
        "--send-reset-email:",
    ] {
        assert!(said.contains(place), "{place}: {said}");
    }
    // The `mfa` declarations the pool decides are listed in the same round.
    assert!(said.contains("once the pool is read"), "{said}");
    for place in ["all.yaml:7:5", "all.yaml:9:5", "hr.csv:2:21"] {
        assert!(said.contains(place), "{place}: {said}");
    }
    assert_eq!(
        emulator.stats().await["total"].as_u64(),
        before,
        "nothing was sent"
    );
    // The flag alone is refused the same way, before connecting.
    let plain = write_file(
        dir.path(),
        "plain.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n",
    );
    let run = Sync::on_api(&emulator, dir.path(), Api::V3)
        .args([
            "apply",
            "-f",
            &plain,
            "--auto-approve",
            "--send-reset-email",
        ])
        .run()
        .expect(1);
    assert!(run.stderr.contains("(1 problem)"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("once the pool is read"),
        "{}",
        run.stderr
    );
    assert_eq!(emulator.stats().await["total"].as_u64(), before);
}
