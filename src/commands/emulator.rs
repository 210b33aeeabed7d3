//! `authing-sync emulator`: run the Authing-compatible server until SIGTERM or Ctrl-C, then
//! shut down gracefully (the `--state` file is written on the way out).

use crate::cli::EmulatorArgs;
use crate::emulator::{Config, Dialect, Emulator};
use crate::exit::{Error, Outcome};
use crate::printer::Printer;
use crate::secret::Secret;

pub async fn run(args: &EmulatorArgs, printer: &Printer) -> Result<Outcome, Error> {
    let config = Config {
        listen: args.listen,
        client_id: args.client_id.clone(),
        secret: Secret::new(args.secret.as_str()),
        state: args.state.clone(),
        generate: args.generate,
        generate_phones: args.generate_phones,
        latency_ms: args.latency_ms,
        fault_rate: args.fault_rate,
        fault_seed: args.fault_seed,
        rate_limit: args.rate_limit,
        log_requests: args.log_requests,
        token_ttl_secs: args
            .token_ttl
            .unwrap_or(crate::emulator::DEFAULT_TOKEN_TTL_SECS),
        management_token_ttl_secs: args
            .token_ttl
            .unwrap_or(crate::emulator::DEFAULT_MANAGEMENT_TOKEN_TTL_SECS),
        register_limit: args.register_limit,
        register_window_secs: args.register_window,
        dialect: Dialect {
            create_user: !args.without_create_user,
            whitelist_spelling: args.whitelist_spelling.into(),
        },
    };
    // Installed before the address is printed, so a SIGTERM sent as soon as the address is read
    // is a graceful stop, never the default kill.
    let stop = StopSignal::install();
    let emulator = Emulator::start(config).await?;
    printer
        .data(&format!("listening on {}\n", emulator.graphql_url()))
        .map_err(Error::Output)?;
    stop.wait().await;
    emulator.shutdown().await?;
    Ok(Outcome::Success)
}

/// Ctrl-C and, on Unix, SIGTERM.
struct StopSignal {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignal {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignal {
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            StopSignal {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some(mut terminate) = self.terminate {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
