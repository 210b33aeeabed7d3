//! The one place that decides where output goes: stdout carries data (plans, exports), stderr
//! carries everything else (status lines, warnings, progress bars, JSON events). It also decides
//! colour (never with `NO_COLOR`, never on a pipe unless forced) and whether progress bars are
//! drawn (only on a terminal, only in text mode). Whatever it writes on stderr has its
//! unprintable characters made visible (see [`crate::render::escape`]): a value quoted in a warning or
//! an error cannot send commands to the terminal.

use std::io::{self, IsTerminal, Write};

use serde_json::{Map, Value};

use crate::cli::{ColorChoice, GlobalArgs, LogFormat};
use crate::render::escape::{self, visible_terminal};

#[derive(Debug, Clone)]
pub struct Printer {
    log_format: LogFormat,
    quiet: bool,
    stdout_color: bool,
    stderr_color: bool,
    stderr_terminal: bool,
    stdin_terminal: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let stdout_terminal = io::stdout().is_terminal();
        let stderr_terminal = io::stderr().is_terminal();
        let color = |terminal: bool| match global.color {
            _ if no_color => false,
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal,
        };
        Self {
            log_format: global.log_format,
            quiet: global.quiet,
            stdout_color: color(stdout_terminal),
            stderr_color: color(stderr_terminal),
            stderr_terminal,
            stdin_terminal: io::stdin().is_terminal(),
        }
    }

    /// A printer for tests and library use: no colour, no progress, text lines.
    pub fn plain() -> Self {
        Self {
            log_format: LogFormat::Text,
            quiet: false,
            stdout_color: false,
            stderr_color: false,
            stderr_terminal: false,
            stdin_terminal: false,
        }
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }

    pub fn json_events(&self) -> bool {
        self.log_format == LogFormat::Json
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether data written to stdout may carry ANSI colour.
    pub fn stdout_color(&self) -> bool {
        self.stdout_color
    }

    pub fn stderr_color(&self) -> bool {
        self.stderr_color
    }

    /// Whether stderr is a terminal (else it is a pipe or a log file).
    pub fn stderr_terminal(&self) -> bool {
        self.stderr_terminal
    }

    /// Whether progress bars may be drawn on stderr.
    pub fn progress(&self) -> bool {
        self.stderr_terminal && !self.quiet && self.log_format == LogFormat::Text
    }

    /// Whether the user can be asked a question.
    pub fn interactive(&self) -> bool {
        self.stdin_terminal && self.stderr_terminal
    }

    /// Writes data to stdout. A reader that went away (`authing-sync plan | head`) is not an
    /// error: the rest of the data is dropped and the command goes on to its real outcome.
    pub fn data(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(err),
            _ => Ok(()),
        }
    }

    /// Writes data to stdout as `write` produces it, through a buffer, so that a large plan is
    /// never one text. A reader that went away is not an error, as for [`data`](Self::data).
    pub fn data_with(
        &self,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
        match write(&mut out).and_then(|()| out.flush()) {
            Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(err),
            _ => Ok(()),
        }
    }

    /// Asks a question on stderr and reads one line of answer from stdin (blocking).
    pub fn prompt(&self, question: &str) -> io::Result<String> {
        // Stderr is not held while the answer is awaited: an interrupt's message (and the
        // exit that follows it) must not wait for a line that may never come.
        {
            let mut err = io::stderr().lock();
            err.write_all(question.as_bytes())?;
            err.flush()?;
        }
        let mut answer = String::new();
        io::stdin().read_line(&mut answer)?;
        Ok(answer)
    }

    /// A status line on stderr, or a `status` event in JSON mode; nothing when quiet.
    pub fn status(&self, message: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        self.line("status", message.as_ref());
    }

    /// A line about something that went wrong (failed operations, the summary of a failed
    /// apply) on stderr, or a `status` event in JSON mode: shown even when quiet.
    pub fn problem(&self, message: impl AsRef<str>) {
        self.line("status", message.as_ref());
    }

    /// A warning on stderr, shown even when quiet.
    pub fn warn(&self, message: impl AsRef<str>) {
        let message = message.as_ref();
        match self.log_format {
            LogFormat::Json => self.event("warning", [("message", Value::from(message))]),
            LogFormat::Text => {
                let label = if self.stderr_color {
                    "\x1b[33mwarning\x1b[0m"
                } else {
                    "warning"
                };
                self.stderr_line(&format!("{label}: {}", self.shown(message)));
            }
        }
    }

    /// A rendered diagnostic (a manifest warning) on stderr, or a `warning` event in JSON mode.
    pub fn diagnostic(&self, rendered: &str) {
        match self.log_format {
            LogFormat::Json => self.event("warning", [("message", Value::from(rendered))]),
            LogFormat::Text => self.stderr_line(&self.shown(rendered)),
        }
    }

    /// One JSON event on stderr (JSON mode only): `{"ts": ..., "event": kind, ...fields}`.
    pub fn event<const N: usize>(&self, kind: &str, fields: [(&str, Value); N]) {
        if self.log_format != LogFormat::Json {
            return;
        }
        let mut object = Map::new();
        object.insert("ts".into(), Value::from(jiff::Timestamp::now().to_string()));
        object.insert("event".into(), Value::from(kind));
        for (key, value) in fields {
            object.insert(key.into(), value);
        }
        self.write_event(Value::Object(object));
    }

    /// Writes an already built event object (JSON mode only).
    pub fn write_event(&self, event: Value) {
        if self.log_format != LogFormat::Json {
            return;
        }
        self.stderr_line(&escape::json(event.to_string()));
    }

    fn line(&self, kind: &str, message: &str) {
        match self.log_format {
            LogFormat::Json => self.event(kind, [("message", Value::from(message))]),
            LogFormat::Text => self.stderr_line(&self.shown(message)),
        }
    }

    /// Text for stderr with unprintable characters escaped, the colour this tool adds kept.
    fn shown<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        visible_terminal(text, self.stderr_color)
    }

    /// One line on stderr. A closed stderr, or a reader that went away, leaves nothing to report
    /// to: the line is dropped, never a panic.
    fn stderr_line(&self, line: &str) {
        let mut err = io::stderr().lock();
        let _ = err
            .write_all(line.as_bytes())
            .and_then(|()| err.write_all(b"\n"))
            .and_then(|()| err.flush());
    }
}
