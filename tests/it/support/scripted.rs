//! A scripted HTTP/1.1 server on loopback, for the client's tests against answers the emulator
//! never gives: it records every request and hands each to a handler that may write anything back,
//! raw bytes included (endless bodies, lying lengths). Keep-alive connections are served in a loop,
//! each on its own thread; the server lives as long as the test process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub request_line: String,
    /// Header lines as sent (`name: value`).
    pub headers: Vec<String>,
    pub body: String,
}

impl Seen {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The GraphQL document.
    pub fn query(&self) -> String {
        self.json()["query"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The GraphQL variables (`Null` if none).
    pub fn variables(&self) -> Value {
        self.json()["variables"].clone()
    }

    /// Whether this is the owner-token request (`getClientWhenSdkInit`).
    pub fn is_auth(&self) -> bool {
        self.body.contains("getClientWhenSdkInit")
    }

    /// The bearer token, if the request carries one.
    pub fn bearer(&self) -> Option<String> {
        self.headers.iter().find_map(|header| {
            let (name, value) = header.split_once(':')?;
            let value = value.trim();
            (name.eq_ignore_ascii_case("authorization") && value.len() > 7)
                .then(|| value[7..].to_string())
        })
    }
}

/// Writes the answer to one request.
pub type Handler = dyn Fn(&Seen, &mut TcpStream) -> std::io::Result<()> + Send + Sync;

/// A running scripted server.
pub struct Scripted {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    /// Listens on an ephemeral loopback port and answers every request with `handler`.
    pub fn start(
        handler: impl Fn(&Seen, &mut TcpStream) -> std::io::Result<()> + Send + Sync + 'static,
    ) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}/graphql", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let record = Arc::clone(&record);
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || serve(stream, &*handler, &record));
            }
        });
        Scripted { url, seen }
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("records").clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, record: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push(line);
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let seen = Seen {
            request_line: request_line.trim_end().into(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        record.lock().expect("records").push(seen.clone());
        if handler(&seen, &mut stream).is_err() {
            return;
        }
    }
}

/// `200 OK` with a JSON body.
pub fn respond(stream: &mut TcpStream, body: &str) -> std::io::Result<()> {
    respond_with(stream, 200, &[], body)
}

/// Any status, extra headers and a JSON body.
pub fn respond_with(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())
}
