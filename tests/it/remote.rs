//! The client against servers that misbehave or refuse: a scripted HTTP server on loopback
//! (`support::scripted`) that records what it is sent and answers with oversized, malicious or
//! plain wrong responses; and the emulator refusing credentials or expiring the owner token.

use std::io::Write;
use std::net::TcpStream;

use crate::support::scripted::{Scripted, respond};
use crate::support::{CLIENT_ID, Emulator, Sync, operation_count, read_pool, temp_dir, write_file};

/// How the scripted server answers a `users` request (the auth request is always answered with
/// a token).
#[derive(Debug, Clone, Copy)]
enum UsersAnswer {
    /// Announces a 2 GiB body.
    HugeLength,
    /// Streams chunks without end.
    EndlessChunks,
    /// A page of a million users in one body.
    AMillion,
    /// A page with more users than asked for, small enough to read.
    OversizedPage,
    /// A first page that claims nine quintillion users.
    AbsurdTotal,
    /// An error message nested a hundred thousand arrays deep.
    DeepNesting,
}

/// A server that gives the owner token, then misbehaves on `users` as told.
fn hostile(users: UsersAnswer) -> Scripted {
    Scripted::start(move |seen, stream| {
        if seen.is_auth() {
            respond(
                stream,
                r#"{"data":{"getClientWhenSdkInit":{"accessToken":"scripted-owner-token"}}}"#,
            )
        } else {
            misbehave(stream, users)
        }
    })
}

fn user(i: usize) -> String {
    format!(
        r#"{{"_id":"{i:024x}","email":"user{i}@example.com","username":"user{i}","nickname":"User {i}"}}"#
    )
}

fn misbehave(stream: &mut TcpStream, users: UsersAnswer) -> std::io::Result<()> {
    match users {
        UsersAnswer::HugeLength => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n"
            )?;
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..32_768 {
                stream.write_all(&chunk)?;
            }
            Ok(())
        }
        UsersAnswer::EndlessChunks => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )?;
            let chunk = vec![b' '; 64 * 1024];
            loop {
                write!(stream, "{:x}\r\n", chunk.len())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
            }
        }
        UsersAnswer::AMillion => {
            let list: Vec<String> = (0..1_000_000).map(user).collect();
            respond(
                stream,
                &format!(
                    r#"{{"data":{{"users":{{"totalCount":1000000,"list":[{}]}}}}}}"#,
                    list.join(",")
                ),
            )
        }
        UsersAnswer::OversizedPage => {
            let list: Vec<String> = (0..201).map(user).collect();
            respond(
                stream,
                &format!(
                    r#"{{"data":{{"users":{{"totalCount":201,"list":[{}]}}}}}}"#,
                    list.join(",")
                ),
            )
        }
        UsersAnswer::AbsurdTotal => respond(
            stream,
            &format!(
                r#"{{"data":{{"users":{{"totalCount":9000000000000000000,"list":[{}]}}}}}}"#,
                user(1)
            ),
        ),
        UsersAnswer::DeepNesting => {
            // In the error `message`, which the client reads as free-form JSON.
            let depth = 100_000;
            respond(
                stream,
                &format!(
                    r#"{{"errors":[{{"message":{}{}}}]}}"#,
                    "[".repeat(depth),
                    "]".repeat(depth)
                ),
            )
        }
    }
}

fn plan_against(url: &str, dir: &std::path::Path) -> crate::support::Sync {
    let manifest = write_file(
        dir,
        "one.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n",
    );
    Sync::new(dir)
        .args([
            "plan",
            "-f",
            &manifest,
            "--endpoint",
            url,
            "--client-id",
            "scripted",
            "--retries",
            "1",
        ])
        .env("AUTHING_SECRET", "scripted-pool-secret-0x5eed")
}

#[test]
fn the_secret_travels_only_in_a_post_body_and_the_token_as_a_bearer_header() {
    let server = hostile(UsersAnswer::OversizedPage);
    let dir = temp_dir();
    plan_against(&server.url, dir.path()).run().expect(1);
    let seen = server.seen();
    assert!(seen.len() >= 2, "{seen:?}");
    for request in &seen {
        assert_eq!(request.request_line, "POST /graphql HTTP/1.1");
        assert!(
            !request
                .headers
                .iter()
                .any(|header| header.contains("scripted-pool-secret")),
            "{request:?}"
        );
    }
    assert!(
        seen[0].body.contains("scripted-pool-secret-0x5eed"),
        "the secret is sent in the auth body"
    );
    assert!(
        seen[1]
            .headers
            .iter()
            .any(|header| header == "authorization: Bearer scripted-owner-token"),
        "{:?}",
        seen[1]
    );
    assert!(
        !seen[1].body.contains("scripted-pool-secret"),
        "only the auth call carries the secret"
    );
}

#[test]
fn a_two_gigabyte_body_is_refused_before_it_is_read() {
    let server = hostile(UsersAnswer::HugeLength);
    let dir = temp_dir();
    let run = plan_against(&server.url, dir.path()).run().expect(1);
    assert!(
        run.stderr
            .contains("response larger than 33554432 bytes, refused"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_endless_body_is_cut_off_at_the_limit() {
    let server = hostile(UsersAnswer::EndlessChunks);
    let dir = temp_dir();
    let run = plan_against(&server.url, dir.path()).run().expect(1);
    assert!(
        run.stderr.contains("larger than 33554432 bytes"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_page_of_a_million_users_is_refused() {
    let server = hostile(UsersAnswer::AMillion);
    let dir = temp_dir();
    let run = plan_against(&server.url, dir.path()).run().expect(1);
    assert!(run.stderr.contains("larger than"), "{}", run.stderr);
}

#[test]
fn a_page_with_more_users_than_asked_for_is_refused() {
    let server = hostile(UsersAnswer::OversizedPage);
    let dir = temp_dir();
    let run = plan_against(&server.url, dir.path()).run().expect(1);
    assert!(
        run.stderr
            .contains("holds 201 users, more than the 200 asked for"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_absurd_total_count_is_refused_before_it_sizes_anything() {
    let server = hostile(UsersAnswer::AbsurdTotal);
    let dir = temp_dir();
    let run = plan_against(&server.url, dir.path()).run().expect(1);
    assert!(
        run.stderr
            .contains("`totalCount` 9000000000000000000 is not believable"),
        "{}",
        run.stderr
    );
    assert_eq!(
        server.seen().len(),
        2,
        "no page beyond the first was asked for"
    );
}

#[test]
fn deeply_nested_json_is_refused_with_a_clear_error() {
    let server = hostile(UsersAnswer::DeepNesting);
    let dir = temp_dir();
    let run = plan_against(&server.url, dir.path()).run().expect(1);
    assert!(run.stderr.contains("unreadable response"), "{}", run.stderr);
    assert!(run.stderr.contains("recursion limit"), "{}", run.stderr);
}

#[tokio::test]
async fn a_wrong_secret_fails_at_once_with_a_hint_and_no_retries() {
    let emulator = Emulator::start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    let run = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest])
        .env("AUTHING_SECRET", "not-the-secret")
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("authentication failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("AUTHING_SECRET or --secret-file"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-secret"), "{}", run.stderr);
    assert!(!run.stderr.contains("retr"), "no retries: {}", run.stderr);
    let stats = emulator.stats().await;
    assert_eq!(operation_count(&stats, "getClientWhenSdkInit"), 1);
    assert_eq!(stats["total"].as_u64(), Some(1), "nothing else was sent");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
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
            "--endpoint",
            "http://users.authing.example/graphql",
            "--client-id",
            CLIENT_ID,
        ])
        .env("AUTHING_SECRET", "s")
        .run()
        .expect(1);
    assert!(
        run.stderr
            .contains("refusing plain http:// to users.authing.example"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--allow-insecure-http"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_credentials_are_named() {
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: a@example.com\n",
    );
    let no_id = Sync::new(dir.path())
        .args(["plan", "-f", &manifest])
        .run()
        .expect(1);
    assert!(
        no_id.stderr.contains("no user pool id given"),
        "{}",
        no_id.stderr
    );
    let no_secret = Sync::new(dir.path())
        .args(["plan", "-f", &manifest, "--client-id", CLIENT_ID])
        .run()
        .expect(1);
    assert!(
        no_secret.stderr.contains("no pool secret given"),
        "{}",
        no_secret.stderr
    );
    let secret_flag = Sync::new(dir.path())
        .args(["plan", "-f", &manifest, "--secret", "x"])
        .run();
    assert_eq!(
        secret_flag.code, 1,
        "a --secret flag is a usage error: {}",
        secret_flag.stderr
    );
    assert!(
        secret_flag
            .stderr
            .contains("unexpected argument '--secret'"),
        "{}",
        secret_flag.stderr
    );
}

#[tokio::test]
async fn issue_12_the_owner_token_is_renewed_before_it_expires() {
    let emulator = Emulator::builder()
        .generate(1200)
        .arg("--token-ttl")
        .arg("2")
        .start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "one.yaml",
        "version: 1\nusers:\n  - email: user1@example.com\n",
    );
    // At two requests a second, reading the six pages takes longer than the two-second token
    // lives: the run itself spans its expiry.
    let run = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--rate", "2"])
        .run()
        .expect(0);
    assert!(run.stdout.contains("Read 1200 users"), "{}", run.stdout);
    assert!(!run.stdout.contains("retr"), "no retries: {}", run.stdout);
    let stats = emulator.stats().await;
    let auth = operation_count(&stats, "getClientWhenSdkInit");
    assert!(auth >= 2, "the token was renewed: {stats}");
    // Renewed before the server refused it: every page was read once, and every request the
    // emulator received was an auth call or a page read (a refused request counts in `total`
    // only).
    assert_eq!(operation_count(&stats, "users"), 6, "{stats}");
    assert_eq!(stats["total"].as_u64(), Some(auth + 6), "{stats}");
}

fn hires(count: usize) -> String {
    let mut yaml = String::from("version: 1\nusers:\n");
    for i in 0..count {
        yaml.push_str(&format!(
            "  - email: hire{i}@example.com\n    nickname: Hire {i}\n"
        ));
    }
    yaml
}

#[tokio::test]
async fn issue_12_fifty_new_users_under_a_register_limit_are_all_created() {
    let emulator = Emulator::builder().arg("--register-limit").arg("3").start();
    let dir = temp_dir();
    let manifest = write_file(dir.path(), "hires.yaml", &hires(50));
    let apply = Sync::on(&emulator, dir.path()).apply(["-f", &manifest]);
    assert!(apply.stderr.contains("50 created"), "{}", apply.stderr);
    assert!(!apply.stderr.contains("waiting"), "{}", apply.stderr);
    let stats = emulator.stats().await;
    assert_eq!(operation_count(&stats, "createUser"), 50, "{stats}");
    assert_eq!(operation_count(&stats, "register"), 0, "{stats}");
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 50, "no duplicates");
    for i in 0..50 {
        assert_eq!(
            pool.user(&format!("hire{i}@example.com"))
                .nickname
                .as_deref(),
            Some(format!("Hire {i}").as_str())
        );
    }
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[tokio::test]
async fn issue_12_without_create_user_registrations_wait_out_the_window() {
    let emulator = Emulator::builder()
        .arg("--without-create-user")
        .arg("--register-limit")
        .arg("3")
        .arg("--register-window")
        .arg("1")
        .start();
    let dir = temp_dir();
    let manifest = write_file(dir.path(), "hires.yaml", &hires(10));
    let apply = Sync::on(&emulator, dir.path()).apply(["-f", &manifest]);
    assert!(apply.stderr.contains("10 created"), "{}", apply.stderr);
    // The pool's window (`frequentRegisterCheck.timeInterval`) is what the client waits.
    assert!(
        apply.stderr.contains(
            "creations: waiting 1s: Authing refused a registration as too frequent (2100"
        ),
        "{}",
        apply.stderr
    );
    let stats = emulator.stats().await;
    assert!(operation_count(&stats, "register") >= 10, "{stats}");
    let pool = read_pool(&emulator, false).await;
    assert_eq!(pool.users.len(), 10, "no duplicates");
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[tokio::test]
async fn issue_12_apply_and_plan_against_a_2019_whitelist_server() {
    let emulator = Emulator::builder()
        .arg("--whitelist-spelling")
        .arg("2019")
        .start();
    let dir = temp_dir();
    let manifest = write_file(
        dir.path(),
        "whitelist.yaml",
        "version: 1\nusers:\n  - email: listed@example.com\n    phone: \"13800000000\"\nwhitelist:\n  enabled: true\n  phones: [\"13800000000\", \"13700000000\"]\n",
    );
    let apply = Sync::on(&emulator, dir.path()).apply(["-f", &manifest]);
    assert!(apply.stderr.contains("1 created"), "{}", apply.stderr);
    // Read back in the 2019 spelling, independently of the client.
    let owner = crate::support::pool::owner(&emulator).await;
    let state = crate::support::pool::query(
        &owner,
        "query ($client: String!) { queryInvitationState(client: $client) { enableQrCode } }",
        serde_json::json!({"client": CLIENT_ID}),
    )
    .await;
    assert_eq!(
        state.ok("queryInvitationState")["enableQrCode"],
        serde_json::json!(true)
    );
    let list = crate::support::pool::query(
        &owner,
        "query ($client: String!) { queryInvitation(client: $client) { qrCodePhone } }",
        serde_json::json!({"client": CLIENT_ID}),
    )
    .await;
    let mut phones: Vec<String> = list
        .ok("queryInvitation")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry["qrCodePhone"].as_str().map(str::to_string))
        .collect();
    phones.sort();
    assert_eq!(phones, ["13700000000", "13800000000"]);
    let plan = Sync::on(&emulator, dir.path())
        .args(["plan", "-f", &manifest, "--detailed-exitcode"])
        .run()
        .expect(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}
